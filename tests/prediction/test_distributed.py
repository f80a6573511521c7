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


@pytest.mark.slow
def test_ray_engine_equals_local_and_reports_bad_files(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crepetool.prediction import PredictOptions, distributed
    from crepetool.prediction.batch import plan

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


#: Loaded by every Python process of the test's Ray cluster (PYTHONPATH): in a Ray worker it
#: makes files named crash-* kill their worker once, after their first batch (temporaries
#: open), poison-* kill it every time, and the first batch of a split file kill its worker.
FAULTS = """
import os, sys, pathlib
if any("default_worker" in arg for arg in sys.argv) and os.environ.get("CREPETOOL_TEST_FAULTS"):
    marks = pathlib.Path(os.environ["CREPETOOL_TEST_FAULTS"])
    from crepetool.prediction import distributed, runner

    def die(*args):
        os._exit(1)

    run, network = distributed.Worker.run, distributed.Worker.network

    def faulty_run(self, job, overwrite):
        name = job.input.name
        mark = marks / name
        if name.startswith("poison") or (name.startswith("crash") and not mark.exists()):
            mark.touch()
            return runner.run_job(job, self.model, self.info, self.options, overwrite, on_frames=die)
        return run(self, job, overwrite)

    def faulty_network(self, batch_frames):
        if not (marks / "network").exists():
            (marks / "network").touch()
            die()
        return network(self, batch_frames)

    distributed.Worker.run, distributed.Worker.network = faulty_run, faulty_network
"""


@pytest.mark.slow
def test_ray_workers_killed_mid_file(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real worker processes die in the middle of files (their temporaries open): once, for two
    whole files and for a split one, the batch completes with the local engine's bytes and exit
    0; a file that kills its worker every time ends as one failed file after the retries, the
    rest done. No temporary is left either way."""
    import os

    from crepetool.prediction import distributed

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FAULTS)
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("CREPETOOL_TEST_FAULTS", str(marks))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(distributed, "SPLIT_FRAMES", 1000)
    inputs = _clips(tmp_path / "in", 3)
    for name in ("crash-a.wav", "crash-b.wav"):
        soundfile.write(
            str(tmp_path / "in" / name), 0.3 * np.sin(np.arange(32000) / 16000 * 2 * np.pi * 230), 16000
        )
        inputs.append(tmp_path / "in" / name)
    t = np.arange(11 * 16000) / 16000
    soundfile.write(str(tmp_path / "in" / "long.wav"), 0.3 * np.sin(2 * np.pi * (180 + 20 * t) * t), 16000)
    inputs.append(tmp_path / "in" / "long.wav")
    args = ["-w", "tiny", "-f", "csv", "-f", "npy"]
    assert cli("predict", *inputs, *args, "-o", tmp_path / "local")[0] == 0
    code, out, err = cli("predict", *inputs, *args, "-o", tmp_path / "ray", "--engine", "ray", "--json")
    assert code == 0, err
    assert {p.name for p in marks.iterdir()} == {"crash-a.wav", "crash-b.wav", "network"}  # they did die
    for path in (tmp_path / "local").rglob("*.*"):
        twin = tmp_path / "ray" / path.relative_to(tmp_path / "local")
        assert twin.read_bytes() == path.read_bytes(), path.name
    assert not list(tmp_path.rglob(".crepetool-*"))

    poison = tmp_path / "in" / "poison.wav"
    soundfile.write(str(poison), 0.3 * np.sin(np.arange(16000) / 16000 * 2 * np.pi * 200), 16000)
    code, out, err = cli(
        "predict", poison, *inputs[:2], *args, "-o", tmp_path / "again", "--engine", "ray", "--json"
    )
    assert code == 1, err
    summary = json.loads(out)
    assert (summary["done"], summary["failed"]) == (2, 1)
    lines = [line for line in err.splitlines() if "crepetool: error" in line]
    assert len(lines) == 1 and "poison.wav" in lines[0] and "worker failed" in lines[0], err
    assert not list(tmp_path.rglob(".crepetool-*"))
    assert not ray.is_initialized()
