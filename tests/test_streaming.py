"""Streaming prediction equals the whole-file path, stage by stage and end to end, and its
working memory does not grow with the recording."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from crepetool import audio as audio_io
from crepetool import decode, prediction, streaming
from crepetool.model import load_model
from crepetool.names import CONV_ENV
from crepetool.prediction import PredictOptions


def _chunks(signal: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    out, at, i = [], 0, 0
    while at < signal.size:
        size = sizes[i % len(sizes)]
        out.append(signal[at : at + size])
        at, i = at + size, i + 1
    return out


def _voice(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 180 * 2 ** (np.sin(2 * np.pi * 0.7 * t) / 3)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(h * phase) / h for h in range(1, 12)) * (np.sin(2 * np.pi * 0.4 * t) > -0.6)
    return (0.3 * voice + 0.01 * rng.normal(size=t.size)).astype(np.float32)


@pytest.mark.parametrize("method", ["resampy", "soxr"])
@pytest.mark.parametrize(
    ("rate", "seconds"), [(44100, 3.37), (48000, 1.01), (22050, 0.3), (8000, 2.0), (16000, 1.3)]
)
def test_block_resampling_equals_whole_file(method: str, rate: int, seconds: float) -> None:
    signal = _voice(seconds, rate)
    whole = audio_io.resample(signal, rate, method)
    for sizes in ([rate // 3], [977, 13, 4410], [signal.size + 5]):  # uneven blocks, one past the end
        resampler = streaming.BlockResampler(rate, signal.size, method)
        pieces = [resampler.push(chunk) for chunk in _chunks(signal, sizes)] + [resampler.finish()]
        streamed = np.concatenate(pieces)
        assert streamed.size == whole.size, (sizes, streamed.size, whole.size)
        assert np.abs(streamed - whole).max() <= 1e-6, sizes


def test_long_recordings_resample_in_parallel_to_the_same_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    """resampy's parallel loop for long recordings (here: 1 s and more), whole and block by
    block, gives the samples its serial loop gives; a short recording stays serial."""
    import resampy

    serial_resample, calls = resampy.resample, []

    def recorded(*args, **kwargs):
        calls.append(kwargs.get("parallel", False))
        return serial_resample(*args, **kwargs)

    monkeypatch.setattr(resampy, "resample", recorded)
    monkeypatch.setattr(audio_io, "PARALLEL_SECONDS", 1.0)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)  # a 1-core runner still takes the path
    signal = _voice(3.37, 44100)
    serial = serial_resample(signal, 44100, 16000)
    assert np.array_equal(audio_io.resample(signal, 44100), serial)
    resampler = streaming.BlockResampler(44100, signal.size)  # blocks of 1/3 s, of a 3.37 s recording
    pieces = [resampler.push(chunk) for chunk in _chunks(signal, [44100 // 3])] + [resampler.finish()]
    assert np.abs(np.concatenate(pieces) - serial).max() <= 1e-6
    assert len(calls) > 2 and all(calls)
    calls.clear()
    audio_io.resample(signal[:22050], 44100)
    assert calls == [False]


@pytest.mark.parametrize(
    ("samples", "hop"), [(300, 160), (1024, 160), (16000 * 2 + 77, 160), (5000, 80), (7001, 333)]
)
def test_framer_equals_whole_file_frames(samples: int, hop: int) -> None:
    audio = torch.from_numpy(_voice(samples / 16000, 16000))[:samples]
    whole = torch.cat(list(prediction.frames(audio, hop)))
    framer = streaming.Framer(samples, hop)
    parts = [framer.push(chunk.numpy()) for chunk in audio.split(611)] + [framer.finish()]
    streamed = prediction.normalise_frames(torch.cat(parts))
    assert streamed.shape == whole.shape
    assert torch.allclose(streamed, whole, atol=1e-6)


def _probabilities(frames: int, seed: int, silence: tuple[int, int] | None = None) -> torch.Tensor:
    """Network-like outputs: a bump on a wandering pitch, with noise; flat where silent."""
    rng = np.random.default_rng(seed)
    centre = np.clip(180 + np.cumsum(rng.normal(0, 1.5, frames)), 45, 340)
    bins = np.arange(360)
    probs = 0.9 * np.exp(-((bins[None] - centre[:, None]) ** 2) / 8) + 0.05 * rng.random((frames, 360))
    if silence is not None:
        probs[silence[0] : silence[1]] = 0.02 * rng.random((silence[1] - silence[0], 360))
    return torch.from_numpy(probs.astype(np.float32))


@pytest.mark.parametrize("fmax", [2006.0, 800.0])
def test_online_viterbi_equals_the_whole_file_decoder(fmax: float) -> None:
    probs = _probabilities(3000, 1, silence=(1000, 1400))
    pitch, periodicity = decode.decode(probs, 50.0, fmax, "viterbi")
    online = streaming.OnlineViterbi(50.0, fmax)
    parts = [online.push(chunk) for chunk in probs.split(97)] + [online.finish()]
    streamed_pitch = torch.cat([p for p, _ in parts])
    streamed_periodicity = torch.cat([q for _, q in parts])
    assert torch.equal(streamed_pitch, pitch)
    assert torch.equal(streamed_periodicity, periodicity)


def test_online_viterbi_memory_does_not_grow_with_length() -> None:
    peaks = []
    for frames in (1_000, 60_000):  # 10 s and 10 min at 10 ms
        online = streaming.OnlineViterbi(50.0, 2006.0)
        for chunk in _probabilities(frames, 2).split(512):
            online.push(chunk)
        online.finish()
        peaks.append(online.peak_undecided)
    assert peaks[1] <= max(2 * peaks[0], 600)  # bounded by the undecided stretch, not the length


def _write(path: Path, audio: np.ndarray, rate: int) -> Path:
    soundfile.write(str(path), audio, rate, subtype="FLOAT")
    return path


@pytest.mark.parametrize(
    ("rate", "seconds", "block"),
    [(16000, 0.4, 10.0), (44100, 3.3, 1.0), (22050, 2.05, 0.5), (48000, 1.7, 0.77)],
)
@pytest.mark.parametrize("decoder", ["viterbi", "weighted-argmax"])
def test_streaming_equals_in_memory_prediction(
    tmp_path: Path, rate: int, seconds: float, block: float, decoder: str
) -> None:
    path = _write(tmp_path / "voice.wav", _voice(seconds, rate, seed=3), rate)
    model = load_model("tiny")
    options = PredictOptions(decoder=decoder, batch_size=37)
    reference = prediction.predict(path, weights=model, options=options)
    pitch, periodicity, probabilities = [], [], []

    def sink(decided: streaming.Decided) -> None:
        pitch.append(decided.pitch), periodicity.append(decided.periodicity)
        probabilities.append(decided.probabilities)

    info = streaming.predict_stream(path, model, options, sink, block_seconds=block)
    streamed = torch.cat(pitch)
    assert info.frames == reference.pitch.numel() == streamed.numel()
    cents = 1200 * torch.log2(streamed.double() / reference.pitch[0].double())
    assert cents.abs().max() <= 0.01
    assert (torch.cat(periodicity) - reference.periodicity[0]).abs().max() <= 1e-6
    assert torch.cat(probabilities).shape == (info.frames, 360)


def test_shards_cover_every_file_once_and_balance_sizes(tmp_path: Path) -> None:
    from crepetool.batch import parse_shard, shard

    rng = np.random.default_rng(5)
    files = []
    for i in range(23):
        path = tmp_path / f"f{i:02d}.wav"
        path.write_bytes(b"x" * int(rng.integers(1, 10_000)))
        files.append(path)
    files.append(tmp_path / "missing.wav")
    for count in (1, 2, 3, 7, 30):
        parts = [shard(files[::-1] + files[:3], index, count) for index in range(count)]  # order, repeats
        flat = [p for part in parts for p in part]
        assert sorted(flat) == sorted(files) and len(flat) == len(set(flat))
        if count <= 3:
            loads = [sum(p.stat().st_size for p in part if p.exists()) for part in parts]
            assert max(loads) - min(loads) <= 10_000  # within one file's size
        assert parts == [shard(files, index, count) for index in range(count)]  # deterministic
    assert parse_shard("2/5") == (2, 5)
    for bad in ("5/5", "-1/3", "a/b", "3"):
        with pytest.raises(Exception, match="--shard"):
            parse_shard(bad)


def test_the_activation_file_holds_the_probabilities_behind_the_csv(cli, tmp_path: Path) -> None:
    path = _write(tmp_path / "take.wav", _voice(1.3, 22050, seed=4), 22050)
    code, _, err = cli("predict", path, "-w", "tiny", "-f", "csv", "-f", "npy")
    assert code == 0, err
    activation = np.load(tmp_path / "take.activation.npy")
    rows = np.loadtxt(tmp_path / "take.f0.csv", delimiter=",", skiprows=1)
    assert activation.dtype == np.float32 and activation.shape == (rows.shape[0], 360)
    samples = audio_io.resample(_voice(1.3, 22050, seed=4), 22050)
    expected = prediction.probabilities(load_model("tiny"), torch.from_numpy(samples.astype(np.float32)), 160)
    assert np.abs(activation - expected.numpy()).max() <= 1e-5  # the network's own outputs
    pitch, periodicity = decode.decode(torch.from_numpy(activation))  # decoding them gives the CSV
    assert np.abs(rows[:, 1] - pitch.numpy()).max() <= 0.0005 + 1e-9  # %.3f
    assert np.abs(rows[:, 2] - periodicity.numpy()).max() <= 5e-7 + 1e-9  # %.6f


_FAULTS = """
import resource, sys
if sys.argv[1] == "tuned":
    from crepetool.cli import tune_allocator
    tune_allocator()
import torch
from crepetool.model import load_model
torch.set_grad_enabled(False)
model = load_model("tiny")
frames = torch.randn(256, 1024)
model(frames), model(frames)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    model(frames)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="page-fault counts as Linux reports them")
def test_the_command_reuses_freed_activations() -> None:
    """The command's allocator policy (cli.tune_allocator): glibc reuses the freed activations of
    one batch for the next, each page faulting once, not once per batch.

    The control maps every block over 128 KiB afresh (a fixed ``MALLOC_MMAP_THRESHOLD_``, which
    also turns off glibc's own moving threshold, so its count does not depend on the run): it
    shows the count sees fresh pages. glibc's unset default is not the control, since its moving
    threshold makes its count vary between runs (10k-49k pages here)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "THP_"))}

    def faults(policy: str, conv: str) -> int:
        extra = {"MALLOC_MMAP_THRESHOLD_": "131072"} if policy == "fresh" else {}
        command = [sys.executable, "-c", _FAULTS, policy]
        run = subprocess.run(
            command, env={**env, **extra, CONV_ENV: conv}, capture_output=True, text=True, check=True
        )
        return int(run.stdout)

    pages = 3 * 256 * 128 * 256 * 4 // 4096  # conv1's output alone, three batches, in 4 KiB pages
    for conv in ("direct", "transform"):
        counts = {policy: faults(policy, conv) for policy in ("fresh", "tuned")}
        # Under the policy, three batches fault less than a third of one batch's conv1 output
        # (oneDNN's scratch buffers vary: 0-1,556 pages here).
        assert counts["fresh"] > pages and counts["tuned"] < pages // 10, (conv, counts)
