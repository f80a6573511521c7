"""predict: parity with torchcrepe, options, file formats, resume. (Bad inputs: tests/cli/test_hardening.py.)"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from crepetool import prediction
from crepetool.compat import import_torchcrepe
from crepetool.network.loading import load_model
from crepetool.prediction import decode
from crepetool.prediction.resampling import resample
from helpers import tone


@pytest.fixture(scope="module")
def speech(reference_dir) -> tuple[np.ndarray, int]:
    """1.5 s of torchcrepe's test clip (44.1 kHz), real audio."""
    audio, rate = soundfile.read(reference_dir / "test.wav", dtype="float32")
    return audio[int(2.0 * rate) : int(3.5 * rate)], rate


@pytest.mark.parametrize(
    ("rate", "channels"),
    [(48000, 1), (8000, 2), *(pytest.param(r, c, marks=pytest.mark.slow) for r, c in [(8000, 1), (22050, 1), (44100, 1), (22050, 2), (44100, 2), (48000, 2)])],
)
def test_network_and_pitch_match_torchcrepe(speech, rate: int, channels: int, monkeypatch) -> None:
    torchcrepe = import_torchcrepe()
    monkeypatch.setattr(torchcrepe.convert, "dither", lambda cents: cents)
    # torchcrepe caches weighted_argmax's bin weights, dithered, on first use: drop any cached copy
    monkeypatch.delattr(torchcrepe.decode.weighted_argmax, "weights", raising=False)
    clip, source_rate = speech
    mono = resample(clip, source_rate) if rate == 16000 else _resample_to(clip, source_rate, rate)
    if channels == 2:  # what a file would hold; crepetool mixes to mono
        stereo = np.stack([mono, 0.5 * mono], axis=1)
        mono = stereo.mean(axis=1, dtype=np.float32)
    hop = rate // 100
    model = load_model("tiny")
    ours = prediction.probabilities(
        model, torch.from_numpy(resample(mono, rate)), prediction.PredictOptions(hop_length=hop).hop(rate)
    )
    x = torch.from_numpy(mono)[None]
    with torch.no_grad():
        theirs = torch.cat([torchcrepe.infer(f, "tiny") for f in torchcrepe.preprocess(x, rate, hop, 128)])
    assert ours.shape == theirs.shape
    assert (ours - theirs).abs().max() < 1e-5
    result = prediction.predict(mono, rate, model, hop_length=hop, decoder="weighted-argmax", context=False)
    expected = torchcrepe.predict(
        x, rate, hop, model="tiny", decoder=torchcrepe.decode.weighted_argmax, batch_size=128
    )
    assert (1200 * torch.log2(result.pitch.double() / expected.double())).abs().max() < 0.1


def _resample_to(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    import resampy

    return resampy.resample(audio, rate, target).astype(np.float32)


@pytest.mark.slow
def test_defaults_on_the_reference_clip_agree_with_original_crepe(reference_dir) -> None:
    result = prediction.predict(reference_dir / "test.wav", weights="full")
    activations = torch.from_numpy(np.load(reference_dir / "activation-full.npy"))
    peak = activations.argmax(dim=1)
    crepe_pitch = decode.local_average(activations, peak, 0, 360, squash=False)  # CREPE's decoding
    voiced = activations.max(dim=1).values > 0.5
    assert result.pitch.shape == (1, 1001) and voiced.sum() > 300
    cents = 1200 * torch.log2(result.pitch[0].double() / crepe_pitch.double())
    assert (cents.abs() < 50)[voiced].float().mean() > 0.95
    assert (result.pitch[0][voiced] < 1900).all()  # torchcrepe's defaults give 2005 Hz here


def test_results_do_not_depend_on_batch_size() -> None:
    audio = tone(1.0)
    a = prediction.predict(audio, 16000, "tiny", batch_size=7)
    b = prediction.predict(audio, 16000, "tiny", batch_size=1000)
    assert torch.equal(a.pitch, b.pitch)


def test_a_model_passed_in_stays_on_its_device(monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_model("tiny")
    moves = []
    monkeypatch.setattr(model, "to", lambda *args, **kwargs: moves.append(args) or model)
    prediction.predict(tone(0.2), 16000, model)
    assert moves == []  # predict_files places the model once; predict must not move it per file
    prediction.predict(tone(0.2), 16000, model, device="cpu")
    assert moves == [(torch.device("cpu"),)]


def test_step_size_and_hop_length() -> None:
    audio = tone(1.0)
    assert prediction.predict(audio, 16000, "tiny").pitch.shape == (1, 101)
    assert prediction.predict(audio, 16000, "tiny", step_size=5).pitch.shape == (1, 201)
    low = prediction.predict(tone(1.0, 8000), 8000, "tiny", hop_length=80)
    assert low.pitch.shape == (1, 101) and math.isclose(low.hop_seconds, 0.01)
    assert abs(float(low.pitch.median()) - 220) < 220 * (2 ** (50 / 1200) - 1)


def write(path: Path, audio: np.ndarray, rate: int = 16000, subtype: str | None = None) -> Path:
    soundfile.write(path, audio, rate, subtype=subtype)
    return path
