"""The dereverberating front end (``--dereverb``): nara_wpe's online WPE arithmetic, the same samples
whatever the blocks, a reverberant voice tracked better, a dry tone and a held note in a room kept,
the stream's bound, and the outputs that record it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from crepetool.errors import UserInputError
from crepetool.network.loading import load_model
from crepetool.prediction import predict, probabilities
from crepetool.prediction.decode import decode
from crepetool.prediction.dereverb import HOLD, Dereverb, Settings, dereverberate
from crepetool.prediction.stream import PitchStream

RATE = 16000


def _harmonic(phase: np.ndarray, count: int = 19) -> np.ndarray:
    return sum(np.sin(k * phase) / k * (2 if k in (2, 3) else 1) for k in range(1, count + 1))


def _syllables(seed: int, count: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Syllables of a voice: 120-250 ms glides at scattered pitches with short gaps, each a whole
    number of 10 ms frames; the f0 at each frame (0 in gaps and at each syllable's ends)."""
    rng = np.random.default_rng(seed)
    audio, truth = [], []
    for _ in range(count):
        size = int(rng.uniform(0.12, 0.25) * RATE) // 160 * 160
        t = np.arange(size) / RATE
        f0 = rng.uniform(110, 300) * 2 ** (rng.uniform(-3, 3) / 12 * t / t[-1])
        audio.append(_harmonic(2 * np.pi * np.cumsum(f0) / RATE) * np.sqrt(np.abs(np.sin(np.pi * t / t[-1]))))
        label = f0[::160].copy()
        label[:2] = label[-2:] = 0
        gap = int(rng.uniform(0.02, 0.08) * RATE) // 160 * 160
        audio.append(np.zeros(gap))
        truth += [label, np.zeros(gap // 160)]
    return np.concatenate(audio), np.concatenate(truth)


def _room(audio: np.ndarray, rt60: float, seed: int, wet: float = 2.0) -> np.ndarray:
    """A diffuse room: a direct path and decaying noise at ``wet`` times its energy."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(RATE * rt60 * 1.2)) / RATE
    tail = rng.normal(size=t.size) * 10 ** (-3 * t / rt60)
    tail[:16] = 0
    tail *= np.sqrt(wet / np.sum(tail**2))
    tail[0] = 1
    return np.convolve(audio, tail)[: audio.size]


def _rpa(model, audio: np.ndarray, truth: np.ndarray, dereverb: bool) -> float:
    audio = dereverberate(audio.astype(np.float32)) if dereverb else audio.astype(np.float32)
    pitch = decode(probabilities(model, audio, 160))[0].numpy()
    n = min(pitch.size, truth.size)
    keep = truth[:n] > 0
    return 100 * float(np.mean(np.abs(1200 * np.log2(pitch[:n][keep] / truth[:n][keep])) < 50))


def test_the_recursion_is_nara_wpes_online_wpe() -> None:
    wpe = pytest.importorskip("nara_wpe.wpe")
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(120, 257)) + 1j * rng.normal(size=(120, 257))
    reference = wpe.OnlineWPE(7, 2, 0.98, channel=1, frequency_bins=257, power_estimate=np.ones(257))
    ours = Dereverb(Settings(taps=7, delay=2, alpha=0.98))
    for frame in frames:
        expected = reference.step_frame(frame[:, None])[:, 0]
        assert np.allclose(ours._predict(frame), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("block", [1, 7, 333, 16000])
def test_the_output_does_not_depend_on_the_blocks(block: int) -> None:
    audio = _room(_syllables(0, 6)[0], 0.6, 0).astype(np.float32)
    whole = dereverberate(audio)
    wpe = Dereverb()
    parts = [wpe.push(audio[i : i + block]) for i in range(0, audio.size, block)] + [wpe.finish()]
    assert whole.shape == audio.shape and np.array_equal(np.concatenate(parts), whole)


@pytest.mark.slow
def test_a_reverberant_voice_is_tracked_better() -> None:
    model = load_model("tiny")
    gains = []
    for seed in (1, 2, 3, 4):
        audio, truth = _syllables(seed)
        roomy = _room(audio, 1.5, seed, wet=4.0)  # a far microphone in a live room
        gains.append(_rpa(model, roomy, truth, True) - _rpa(model, roomy, truth, False))
    # points of RPA: 1.2 to 5.8 measured, 3.2 on average
    assert min(gains) > 0 and np.mean(gains) >= 2.0


def test_a_dry_tone_is_unchanged() -> None:
    tone = (0.5 * np.sin(2 * np.pi * 220 * np.arange(2 * RATE) / RATE)).astype(np.float32)
    plain = predict(tone, RATE, "tiny", context=False)
    dry = predict(tone, RATE, "tiny", context=False, dereverb=True)
    cents = 1200 * torch.log2(dry.pitch / plain.pitch).abs()[0, 3:-3]
    assert float(cents.max()) < 10  # cents, every frame but the ends


@pytest.mark.slow
def test_a_held_note_in_a_room_keeps_its_score() -> None:
    model = load_model("tiny")
    rng = np.random.default_rng(0)
    notes, audio, truth = (196.0, 261.6, 329.6, 440.0), [], []
    for f0 in notes:
        t = np.arange(int(1.5 * RATE)) / RATE
        audio.append(_harmonic(2 * np.pi * f0 * t + rng.uniform(0, 6.28), 11) * np.minimum(1, t / 0.02))
        truth.append(np.r_[np.zeros(3), np.full(144, f0), np.zeros(3)])
    roomy = _room(np.concatenate(audio), 0.8, 0)
    truth = np.concatenate(truth)
    assert _rpa(model, roomy, truth, True) >= _rpa(model, roomy, truth, False) - 2.0  # points


def test_the_stream_with_dereverb_keeps_its_bound() -> None:
    audio, block, latency = _syllables(3, 8)[0].astype(np.float32) * 0.2, 320, 60.0
    stream = PitchStream("tiny", RATE, latency_ms=latency, dereverb=True)
    seen, count = [], 0
    for start in range(0, audio.size, block):
        count += len(stream.push(audio[start : start + block]))
        seen += [min(start + block, audio.size)] * (count - len(seen))
    window_end = np.arange(len(seen)) * 160 + 512
    assert len(seen) > 100 and ((np.array(seen) - window_end) / 16).max() <= latency + 20
    with pytest.raises(UserInputError, match="--dereverb"):
        PitchStream("tiny", RATE, latency_ms=1000 * HOLD / RATE - 1, dereverb=True)


def test_the_outputs_record_it(tmp_path, cli) -> None:
    import soundfile

    soundfile.write(tmp_path / "take.wav", _syllables(4, 4)[0].astype(np.float32) * 0.2, RATE)
    code, out, err = cli("predict", tmp_path / "take.wav", "-w", "tiny", "-f", "pt", "--dereverb", "--json")
    assert code == 0, err
    assert json.loads(out)["dereverb"] == {"taps": 6, "delay": 3}
    saved = torch.load(tmp_path / "take.f0.pt", weights_only=True)
    assert saved["dereverb"] == {"taps": 6, "delay": 3} and saved["context"] is True
