"""predict --engine ray: a local Ray cluster (loopback, started and stopped by the run) gives
the local engine's outputs byte for byte, for files given whole to a worker and for long
files split batch by batch over the workers, and reports a bad file the same way."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

ray = pytest.importorskip("ray", reason="Ray is installed by scripts/test.sh (crepetool[ray])")


def _clips(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(count):
        rate = (16000, 22050, 44100)[i % 3]
        t = np.arange(int((0.3 + 0.1 * i) * rate)) / rate
        audio = 0.3 * np.sign(np.sin(2 * np.pi * (110 + 30 * i) * t))
        path = folder / f"clip{i:02d}.wav"
        soundfile.write(str(path), audio.astype(np.float32), rate)
        paths.append(path)
    return paths


def test_ray_engine_equals_local_and_reports_bad_files(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crepetool import distributed
    from crepetool.batch import plan
    from crepetool.prediction import PredictOptions

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_DEDUP_LOGS", "0")
    inputs = _clips(tmp_path / "in", 6)
    (tmp_path / "in" / "broken.wav").write_bytes(b"RIFF not really")
    inputs.append(tmp_path / "in" / "broken.wav")
    for name, rate in (("long1.wav", 16000), ("long2.wav", 44100)):  # 1,101 frames: 3 batches each
        t = np.arange(11 * rate) / rate
        soundfile.write(str(tmp_path / "in" / name), 0.3 * np.sin(2 * np.pi * (180 + 20 * t) * t), rate)
        inputs.append(tmp_path / "in" / name)
    monkeypatch.setattr(distributed, "SPLIT_FRAMES", 1000)  # "long" here: split over the workers
    assert distributed.split(plan(inputs, ["csv"], None), PredictOptions()) == [7, 8]
    args = ["-w", "tiny", "-f", "csv", "-f", "pt", "-f", "npy"]
    code, _, err = cli("predict", *inputs, *args, "-o", tmp_path / "local")
    assert code == 1 and "broken.wav" in err
    code, out, err = cli("predict", *inputs, *args, "-o", tmp_path / "ray", "--engine", "ray", "--json")
    assert code == 1, err
    summary = json.loads(out)
    assert (summary["done"], summary["failed"]) == (8, 1) and summary["frames"] > 2202
    lines = [line for line in err.strip().splitlines() if "crepetool: error" in line]
    assert len(lines) == 1 and "broken.wav" in lines[0] and "not readable audio" in lines[0]
    local = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*") if p.is_file())
    remote = sorted(p.relative_to(tmp_path / "ray") for p in (tmp_path / "ray").rglob("*") if p.is_file())
    assert local == remote and len(local) == 3 * 8
    for name in local:  # csv, pt and npy alike
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name
    assert not ray.is_initialized()  # the local cluster was stopped
    assert not list(tmp_path.rglob(".crepetool-*"))
