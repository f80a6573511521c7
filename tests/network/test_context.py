"""The context stage: its shapes and keys, the shipped weights, the filter between network and
decoder (whole runs, the same bytes however the frames arrive), plain output as before, the
stream's look-ahead within its bound, and the training pairs (a degraded frame carries its clean
take's label)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crepetool.network import context
from crepetool.network.context import REACH, ContextStage
from crepetool.network.loading import load_model
from crepetool.network.weights import parameter_count
from crepetool.prediction import predict, probabilities
from crepetool.prediction.context import RUN, ContextFilter
from crepetool.prediction.decode import decode
from crepetool.prediction.stream import PitchStream
from crepetool.training import context as training
from crepetool.units import PITCH_BINS, frequency_to_bins
from helpers import ROOT


def _stage(seed: int = 0) -> ContextStage:
    """A stage with random weights (the trained one adds little on clean tones)."""
    torch.manual_seed(seed)
    stage = ContextStage().eval()
    torch.nn.init.normal_(stage.out.weight, std=0.5)
    return stage


def _whole(stage: ContextStage, rows: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return stage(training.padded(rows)[None])[0]


def _glide(seconds: float = 1.5, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    f0 = 220 * 2 ** (np.sin(2 * np.pi * 0.8 * t) * 3 / 12)
    return (0.4 * np.sin(2 * np.pi * np.cumsum(f0) / rate)).astype(np.float32)


def test_the_stage_reads_reach_frames_each_side() -> None:
    stage = _stage()
    out = stage(torch.rand(3, 10 + 2 * REACH, PITCH_BINS))
    assert out.shape == (3, 10, PITCH_BINS) and bool(((out > 0) & (out < 1)).all())
    # a frame depends on its REACH neighbours and on nothing further away
    rows = torch.rand(1, 1 + 2 * REACH + 1, PITCH_BINS)
    changed = rows.clone()
    changed[0, -1] = torch.rand(PITCH_BINS)
    first = stage(rows)[0, 0]
    assert torch.equal(first, stage(changed)[0, 0]) and not torch.equal(stage(rows)[0, 1], stage(changed)[0, 1])


def test_an_untrained_stage_passes_probabilities_through() -> None:
    rows = torch.rand(40, PITCH_BINS) * 0.98 + 0.01
    assert torch.allclose(_whole(ContextStage(), rows), rows, atol=1e-6)


def test_the_stage_keys_round_trip_through_a_file(tmp_path) -> None:
    stage = _stage(1)
    path = tmp_path / "stage.safetensors"
    context.save(stage, path, {"note": "test"})
    from safetensors.torch import load_file

    tensors = load_file(path)
    assert tensors and all(key.startswith(context.PREFIX) for key in tensors)
    again = context.from_state(tensors)
    rows = torch.rand(20, PITCH_BINS)
    assert torch.equal(_whole(stage, rows), _whole(again, rows))
    del tensors[context.PREFIX + "out.bias"]
    with pytest.raises(RuntimeError):
        context.from_state(tensors)


def test_the_shipped_stage_loads_and_says_what_it_learned_from() -> None:
    stage = context.shipped()
    assert all(bool(torch.isfinite(v).all()) for v in stage.state_dict().values())
    info = context.describe()
    total = parameter_count(stage.state_dict())
    assert info["parameters"] == total == sum(p.numel() for p in stage.parameters())
    assert total == sum(layer["parameters"] for layer in info["layers"])
    assert info["reach_frames"] == REACH
    # what it was trained on, with the licence, is in the file and in NOTICE

    notice = (ROOT / "NOTICE").read_text()
    sources = info["metadata"]["sources"].split(", ")
    assert sources and all("CC-BY-SA-3.0" in source for source in sources)
    assert all(source.split(" (")[0] in notice for source in sources)


@pytest.mark.parametrize("sizes", [[300], [1] * 300, [7] * 43, [RUN, RUN, 172], [100, 200]])
def test_the_filter_gives_the_whole_recordings_bytes_however_frames_arrive(sizes: list[int]) -> None:
    stage, rows = _stage(), torch.rand(sum(sizes), PITCH_BINS)
    filt, out, start = ContextFilter(stage), [], 0
    for size in sizes:
        out.append(filt.push(rows[start : start + size]))
        start += size
    out.append(filt.finish())
    once = ContextFilter(stage)
    reference = torch.cat([once.push(rows), once.finish()])
    assert torch.equal(torch.cat(out), reference) and filt.pending == 0
    # runs of RUN frames compute what the whole recording's one pass computes, within float rounding
    assert torch.allclose(reference, _whole(stage, rows), atol=1e-5)


def test_the_filter_holds_a_frame_until_its_look_ahead_is_in() -> None:
    filt = ContextFilter(_stage())
    assert filt.push(torch.rand(RUN + REACH - 1, PITCH_BINS)).shape == (0, PITCH_BINS)
    assert filt.push(torch.rand(1, PITCH_BINS)).shape == (RUN, PITCH_BINS)
    forced = filt.force(5)  # a latency bound: the newest frame stands in for what is not in yet
    assert forced.shape == (5, PITCH_BINS) and filt.pending == REACH - 5
    assert ContextFilter(_stage()).finish().shape == (0, PITCH_BINS)


def test_plain_output_is_the_networks_decoded_as_before() -> None:
    audio = _glide()
    model = load_model("tiny")
    plain = predict(audio, 16000, model, context=False)
    pitch, periodicity = decode(probabilities(model, audio, 160))
    assert not plain.context and torch.equal(plain.pitch[0], pitch) and torch.equal(plain.periodicity[0], periodicity)
    staged = predict(audio, 16000, model)
    assert staged.context and staged.pitch.shape == plain.pitch.shape
    # another hop: the stage was trained at 10 ms and is not run
    assert not predict(audio, 16000, model, step_size=5).context


@pytest.mark.parametrize("latency", [0.0, 60.0, 500.0])
def test_the_streams_look_ahead_stays_within_its_bound(latency: float) -> None:
    stream = PitchStream("tiny", 16000, latency_ms=latency)
    assert stream.lookahead == min(REACH, int(latency // 10))
    audio, block, seen, count = _glide(1.2), 320, [], 0
    for start in range(0, audio.size, block):
        count += len(stream.push(audio[start : start + block]))
        seen += [min(start + block, audio.size)] * (count - len(seen))
    window_end = np.arange(len(seen)) * 160 + 512  # frame i is complete at input sample 160 i + 512
    assert len(seen) > 80 and ((np.array(seen) - window_end) / 16).max() <= latency + 20


def test_a_pair_labels_each_degraded_frame_with_its_clean_frame() -> None:
    rate, half = 16000, 8000
    t = np.arange(2 * half) / rate
    clean = (0.5 * np.sin(2 * np.pi * np.where(t < 0.5, 200.0, 400.0) * t)).astype(np.float32)
    degraded = clean + np.random.default_rng(0).normal(0, 0.05, clean.size).astype(np.float32)
    model = load_model("tiny")
    pair = training.pair_of(model, model, clean, degraded)
    assert pair.clean.shape == pair.degraded.shape == (101, PITCH_BINS)
    peaks = pair.clean.argmax(dim=1)
    for frame, f0 in ((20, 200.0), (80, 400.0)):
        assert abs(int(peaks[frame]) - float(frequency_to_bins(torch.tensor(f0)))) <= 2
    assert bool((pair.weight[20:30] == 1).all())
    with pytest.raises(ValueError):
        training.pair_of(model, model, clean, degraded[:-1])


@pytest.mark.slow
def test_training_lowers_the_loss_on_a_toy_tail() -> None:
    """A degraded take: every bin raised (noise), the true peak weaker, and a stale peak where the
    previous pitch rings on. A few steps already bring the loss well down."""
    generator = torch.Generator().manual_seed(0)
    clean = torch.zeros(200, PITCH_BINS)
    truth = torch.where(torch.arange(200) < 100, 120, 160)
    clean[torch.arange(200), truth] = 0.9
    degraded = 0.5 * clean + 0.1
    degraded[100:130, 120] = 0.8  # the tail of the first pitch, stronger than the new one
    pairs = [training.Pair(degraded, clean)]
    inputs, labels, weights = training.draw(pairs, 8, generator)
    assert inputs.shape == (8, training.WINDOW + 2 * REACH, PITCH_BINS) and weights.shape == (8, training.WINDOW)
    before = float(training.loss(ContextStage(), inputs, labels, weights).detach())
    stage = training.train(pairs, training.Schedule(steps=20, batch=8, lr=3e-3))
    assert float(training.loss(stage, inputs, labels, weights).detach()) < 0.5 * before
