"""Many files: shards, resume, output folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import tone
from helpers import write_wav as _write


def test_shards_cover_every_file_once_and_balance_sizes(tmp_path: Path) -> None:
    from crepetool.prediction.batch import parse_shard, shard

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


def test_resume_skips_and_overwrite_rewrites(cli, tmp_path: Path) -> None:
    wav = _write(tmp_path / "a.wav", tone(0.3))
    assert cli("predict", wav, "-w", "tiny")[0] == 0
    output = tmp_path / "a.f0.csv"
    output.write_text("sentinel")
    code, out, _ = cli("predict", wav, "-w", "tiny")
    assert code == 0 and "1 skipped" in out and output.read_text() == "sentinel"
    code, out, _ = cli("predict", wav, "-w", "tiny", "--overwrite")
    assert code == 0 and output.read_text().startswith("time,frequency,confidence")


def test_output_dir_keeps_relative_paths(cli, tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    first = _write(tmp_path / "x" / "a.wav", tone(0.2))
    second = _write(tmp_path / "y" / "a.wav", tone(0.2))
    code, _, err = cli(
        "predict", first, tmp_path / "y" / ".." / "y" / "a.wav", "-w", "tiny", "-o", tmp_path / "out"
    )
    assert code == 0, err
    assert (tmp_path / "out" / "x" / "a.f0.csv").is_file() and (tmp_path / "out" / "y" / "a.f0.csv").is_file()
    assert second.is_file()
