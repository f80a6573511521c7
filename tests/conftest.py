"""Shared fixtures: bundled weights, the torchcrepe reference data, a CLI runner."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from crepetool.network import weights as weights_io
from crepetool.network.resolver import weights_of
from helpers import REFERENCE

# The interrupt tests send SIGINT as a terminal would. A suite started in the background by a
# script (``cmd &``, nohup) has SIGINT ignored, and every command the tests start would inherit
# that (crepetool then leaves it ignored, as it should): give the suite Python's default.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def full_weights() -> weights_io.Weights:
    return weights_of("full")


@pytest.fixture(scope="session")
def tiny_weights() -> weights_io.Weights:
    return weights_of("tiny")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE / "frames-crepe.npy").is_file():
        pytest.skip(f"torchcrepe reference data not found at {REFERENCE} (../shared is absent)")
    return REFERENCE


@pytest.fixture()
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``crepetool ARGS`` in-process; returns (exit status, stdout, stderr)."""
    from crepetool.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
