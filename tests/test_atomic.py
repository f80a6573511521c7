"""Atomic outputs: whole or absent, and what killed runs left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crepetool import atomic
from crepetool.errors import UserInputError


def test_an_output_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("the writer failed")
    assert list(tmp_path.iterdir()) == []  # neither the output nor its temporary
    with atomic.atomic_path(target) as tmp:
        tmp.write_text("whole")
        assert not target.exists() and tmp.name.startswith(atomic.owned_prefix())
    assert target.read_text() == "whole" and list(tmp_path.iterdir()) == [target]


def test_an_existing_output_is_kept_without_overwrite(tmp_path: Path) -> None:
    (tmp_path / "out.txt").write_text("mine")
    with pytest.raises(UserInputError, match="exists"):
        atomic.check_output(tmp_path / "out.txt", overwrite=False)
    atomic.check_output(tmp_path / "out.txt", overwrite=True)
    assert (tmp_path / "out.txt").read_text() == "mine"


def test_sweep_removes_only_the_temporaries_of_dead_processes(tmp_path: Path) -> None:
    """A live run's temporaries (a process still running), another host's and an older
    version's unnamed ones are never touched; a dead process's go."""
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = atomic._host()
    names = {
        "live": f".crepetool-{host}-{live.pid}-abc123_x.tmp",
        "mine": f"{atomic.owned_prefix()}q1w2e3r4.tmp",
        "dead": f".crepetool-{host}-{dead.pid}-zz9y8x7w.tmp",
        "other host": f".crepetool-elsewhere.example-{dead.pid}-a1b2c3d4.tmp",
        "unnamed": ".crepetool-k3j4h5g6.tmp",
    }
    try:
        for name in names.values():
            (tmp_path / name).write_bytes(b"partial")
        removed = atomic.sweep(tmp_path)
    finally:
        live.kill()
        live.wait()
    assert [p.name for p in removed] == [names["dead"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for k, n in names.items() if k != "dead")
