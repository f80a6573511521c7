"""Voicing and smoothing options equal torchcrepe's own functions on the same arrays, in
memory and streamed, and reach the output files as documented."""

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
from crepetool.prediction import PredictOptions, framing, loudness, voicing

torchcrepe = import_torchcrepe()


def _track(frames: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    pitch = torch.from_numpy(200 * 2 ** (np.cumsum(rng.normal(0, 0.02, frames)))).float()
    periodicity = torch.from_numpy(rng.random(frames)).float()
    return pitch, periodicity


@pytest.mark.parametrize("window", [1, 3, 5, 9])
def test_filters_and_threshold_equal_torchcrepes(window: int) -> None:
    pitch, periodicity = _track()
    settings = voicing.Voicing(periodicity_threshold=0.21, median_filter=window, mean_filter=window)
    ours_pitch, ours_periodicity, voiced = voicing.apply(pitch, periodicity, settings)
    # torchcrepe's README recipe, step by step
    theirs_periodicity = torchcrepe.filter.median(periodicity[None], window)
    theirs_pitch = torchcrepe.threshold.At(0.21)(pitch[None].clone(), theirs_periodicity)
    theirs_pitch = torchcrepe.filter.mean(theirs_pitch, window)[0]
    assert torch.equal(ours_periodicity, theirs_periodicity[0])
    assert torch.equal(
        voiced, ~torch.isnan(torchcrepe.threshold.At(0.21)(pitch[None].clone(), theirs_periodicity)[0])
    )
    assert torch.allclose(ours_pitch[voiced], theirs_pitch[voiced])
    assert torch.equal(ours_pitch[~voiced], pitch[~voiced])  # unvoiced frames keep the decoded pitch


def _speech_in_silence(rate: int = 16000) -> np.ndarray:
    t = np.arange(2 * rate) / rate
    tone = sum(np.sin(2 * np.pi * 180 * h * t) / h for h in range(1, 8))
    envelope = np.where((t > 0.5) & (t < 1.4), 0.3, 0.0005)  # a quiet floor, then a loud stretch
    return (envelope * tone + 1e-4 * np.random.default_rng(1).normal(size=t.size)).astype(np.float32)


def test_loudness_and_silence_equal_torchcrepes() -> None:
    audio = torch.from_numpy(_speech_in_silence())
    raw = torch.cat(list(framing.frames(audio, 160, normalise=False)))
    ours = loudness.loudness(raw, float(loudness.spectrum_db(raw).max()))
    theirs = torchcrepe.loudness.a_weighted(audio[None], 16000, 160)[0]
    assert ours.shape == theirs.shape
    assert torch.allclose(ours, theirs, atol=2e-3)
    periodicity = torch.rand(ours.numel(), generator=torch.Generator().manual_seed(0))
    silenced = torchcrepe.threshold.Silence(-60.0)(periodicity[None], audio[None], 16000, 160)[0]
    _, ours_periodicity, _ = voicing.apply(
        torch.full_like(periodicity, 200.0), periodicity, voicing.Voicing(silence_db=-60.0), ours
    )
    assert torch.equal(ours_periodicity, silenced)
    assert 0 < int((silenced == 0).sum()) < ours.numel()  # some frames silent, some not


def test_streamed_files_equal_in_memory_with_every_option(cli, tmp_path: Path) -> None:
    path = tmp_path / "take.wav"
    soundfile.write(str(path), _speech_in_silence(22050), 22050, subtype="FLOAT")
    options = PredictOptions(periodicity_threshold=0.3, silence_db=-60.0, median_filter=3, mean_filter=3)
    reference = prediction.predict(path, weights=load_model("tiny"), options=options)
    code, _, err = cli(
        "predict", path, "-w", "tiny", "-f", "csv", "-f", "pt",
        "--periodicity-threshold", "0.3", "--silence", "-60", "--median-filter", "3", "--mean-filter", "3",
    )  # fmt: skip
    assert code == 0, err
    saved = torch.load(tmp_path / "take.f0.pt", weights_only=True)
    cents = 1200 * torch.log2(saved["pitch"][0].double() / reference.pitch[0].double())
    assert cents.abs().max() <= 0.01
    assert torch.equal(saved["voiced"], reference.voiced)
    assert (saved["periodicity"] - reference.periodicity).abs().max() <= 1e-6
    rows = np.loadtxt(tmp_path / "take.f0.csv", delimiter=",", skiprows=1)
    voiced = reference.voiced[0].numpy()
    assert (rows[~voiced, 1] == 0).all() and (rows[voiced, 1] > 0).all()
    assert 0 < voiced.sum() < voiced.size
    assert math.isclose(rows[voiced, 1].mean(), float(reference.pitch[0][voiced].mean()), rel_tol=1e-4)
