"""predict's output files: CREPE's CSV, the .pt dict."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from helpers import tone
from helpers import write_wav as _write


def test_csv_and_pt_outputs(cli, tmp_path: Path) -> None:
    wav = _write(tmp_path / "voice.wav", tone(0.5))
    code, _, err = cli("predict", wav, "-w", "tiny", "-f", "csv", "-f", "pt")
    assert code == 0, err
    with open(tmp_path / "voice.f0.csv") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["time", "frequency", "confidence"]
    assert len(rows) == 1 + 51 and rows[2][0] == "0.010"
    saved = torch.load(tmp_path / "voice.f0.pt", weights_only=True)
    assert saved["pitch"].shape == saved["periodicity"].shape == (1, 51)
    assert saved["time"].shape == (51,) and saved["hop_seconds"] == 0.01
    assert saved["source_sample_rate"] == 16000 and saved["decoder"] == "viterbi"
    assert saved["model"]["capacity"] == 4
    assert float(rows[20][1]) == pytest.approx(float(saved["pitch"][0, 19]), abs=1e-3)
