"""Reading and writing CREPE weights: ``.pth`` and ``.safetensors``, with metadata.

A weights file holds exactly the state dict of ``torchcrepe.Crepe`` at some
capacity: 44 tensors, no extra keys, so torchcrepe loads it with
``strict=True``. crepetool's metadata travels inside the file:

- ``.safetensors``: the header's string metadata, key ``"crepetool"``, a JSON text;
- ``.pth``: the state dict's ``_metadata`` attribute, entry ``"crepetool"``
  (``{"json": <the same JSON text>}``). ``_metadata`` is where torch keeps its own
  per-module versions; it survives ``torch.load(weights_only=True)`` and
  ``load_state_dict`` ignores entries that name no module. No sidecar file to lose.

``.pth`` files are read with ``weights_only=True`` only: a pickle that carries
code is refused, never run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from crepetool.atomic import atomic_path, check_output
from crepetool.errors import WeightsError, check_input_file
from crepetool.names import SAFETENSORS_SUFFIX
from crepetool.network.presets import CLASSIFIER_TIME_STEPS, KERNEL_SIZES, LAYER_NAMES, MAX_CAPACITY, channels
from crepetool.units import PITCH_BINS

METADATA_KEY = "crepetool"

StateDict = dict[str, torch.Tensor]


@dataclasses.dataclass
class Weights:
    """A validated CREPE state dict and what is known about it."""

    state_dict: StateDict
    capacity: int
    metadata: dict[str, Any]
    path: Path | None = None
    format: str = "pth"

    @property
    def name(self) -> str:
        return str(self.path) if self.path is not None else "<memory>"


def expected_shapes(capacity: int) -> dict[str, tuple[int, ...]]:
    """Every key of a capacity-``capacity`` state dict and its shape, in torchcrepe's order."""
    out_channels = channels(capacity)
    in_channels = [1, *out_channels[:-1]]
    shapes: dict[str, tuple[int, ...]] = {}
    for name, c_in, c_out, k in zip(LAYER_NAMES, in_channels, out_channels, KERNEL_SIZES):
        shapes[f"{name}.weight"] = (c_out, c_in, k, 1)
        shapes[f"{name}.bias"] = (c_out,)
        for buffer in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}_BN.{buffer}"] = (c_out,)
        shapes[f"{name}_BN.num_batches_tracked"] = ()
    shapes["classifier.weight"] = (PITCH_BINS, CLASSIFIER_TIME_STEPS * out_channels[-1])
    shapes["classifier.bias"] = (PITCH_BINS,)
    return shapes


def infer_capacity(state_dict: StateDict) -> int:
    """Capacity of a state dict, after checking every key and shape against it.

    Raises WeightsError (a message without the file name) when the keys or
    shapes fit no capacity 1..32.
    """
    first = state_dict.get("conv1.weight")
    if not isinstance(first, torch.Tensor) or first.dim() != 4 or first.size(0) % 32:
        raise WeightsError("not a CREPE state dict (conv1.weight missing or of no CREPE shape)")
    capacity = first.size(0) // 32
    if not 1 <= capacity <= MAX_CAPACITY:
        raise WeightsError(f"conv1 has {first.size(0)} channels: fits no capacity 1..{MAX_CAPACITY}")
    expected = expected_shapes(capacity)
    missing = [k for k in expected if k not in state_dict]
    extra = [k for k in state_dict if k not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing keys {_few(missing)}")
        if extra:
            parts.append(f"unexpected keys {_few(extra)}")
        raise WeightsError(f"not a capacity-{capacity} CREPE state dict: " + "; ".join(parts))
    for key, shape in expected.items():
        value = state_dict[key]
        if not isinstance(value, torch.Tensor):
            raise WeightsError(f"{key} is a {type(value).__name__}, not a tensor")
        if tuple(value.shape) != shape:
            raise WeightsError(
                f"{key} has shape {list(value.shape)}, capacity {capacity} needs {list(shape)}"
            )
        if key.endswith("num_batches_tracked"):
            continue
        if not value.is_floating_point():
            raise WeightsError(f"{key} has dtype {value.dtype}, expected floating point")
    return capacity


def non_finite_keys(state_dict: StateDict) -> list[str]:
    """Keys whose tensors hold NaN or infinity."""
    return [k for k, v in state_dict.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def file_wins(weights: str | Path) -> bool:
    """The one rule between a name and a path: an existing *file* named ``weights`` wins over a
    built-in name (``full``, ``official-small``, ``tiny`` for ``import-keras``); a folder never
    shadows one (``-o full`` leaves a folder named ``full`` behind)."""
    return Path(weights).is_file()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(path: str | Path, require_finite: bool = True) -> Weights:
    """Load and validate a CREPE weights file (names such as ``full``: :mod:`crepetool.network.resolver`).

    Arguments
        path: a ``.pth`` / ``.safetensors`` file.
        require_finite: refuse NaN or infinite values (``verify`` reads them to report).

    Raises WeightsError with a one-line message naming the file.
    """
    path = Path(path)
    check_input_file(path, "a weights file", WeightsError)
    fmt = "safetensors" if path.suffix.lower() == SAFETENSORS_SUFFIX else "pth"
    reader = _read_safetensors if fmt == "safetensors" else _read_pth
    try:
        state_dict, metadata = reader(path)
        capacity = infer_capacity(state_dict)
    except WeightsError as exc:
        raise WeightsError(f"{path}: {exc}") from exc
    if require_finite:
        bad = non_finite_keys(state_dict)
        if bad:
            raise WeightsError(f"{path}: NaN or infinite values in {_few(bad)}")
    state_dict = OrderedDict(
        (k, state_dict[k].float() if state_dict[k].is_floating_point() else state_dict[k])
        for k in expected_shapes(capacity)
    )
    return Weights(state_dict, capacity, metadata, path, fmt)


def _read_pth(path: Path) -> tuple[StateDict, dict[str, Any]]:
    try:
        with warnings.catch_warnings():  # e.g. "pickle protocol 4": the error below says enough
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError, zip errors...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            reason = "refused: the pickle holds objects other than tensors (it may carry code)"
        raise WeightsError(f"not a readable PyTorch state dict ({reason[:200]})") from exc
    if not isinstance(obj, dict):
        raise WeightsError(f"holds a {type(obj).__name__}, not a state dict")
    metadata: dict[str, Any] = {}
    entry = (getattr(obj, "_metadata", None) or {}).get(METADATA_KEY)
    if isinstance(entry, dict) and isinstance(entry.get("json"), str):
        metadata = _parse_metadata(entry["json"])
    return dict(obj), metadata


def _read_safetensors(path: Path) -> tuple[StateDict, dict[str, Any]]:
    from safetensors import SafetensorError
    from safetensors.torch import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
            state_dict = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"not a readable safetensors file ({str(exc).splitlines()[0][:200]})") from exc
    text = header.get(METADATA_KEY)
    return state_dict, (_parse_metadata(text) if text else {})


def _parse_metadata(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def save(
    weights: Weights | StateDict,
    path: str | Path,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write weights atomically; the suffix picks the format (``.safetensors``, else ``.pth``).

    ``metadata`` defaults to the Weights' own. Returns the path written.
    """
    path = Path(path)
    if isinstance(weights, Weights):
        state_dict = weights.state_dict
        metadata = weights.metadata if metadata is None else metadata
    else:
        state_dict = weights
    capacity = infer_capacity(state_dict)
    metadata = {**(metadata or {}), "capacity": capacity, "crepetool_version": _version()}
    text = json.dumps(metadata, sort_keys=True)
    tensors = OrderedDict((k, state_dict[k].detach().cpu().contiguous()) for k in expected_shapes(capacity))
    check_output(path, overwrite)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == SAFETENSORS_SUFFIX:
            from safetensors.torch import save_file

            save_file(tensors, str(tmp), metadata={"format": "pt", METADATA_KEY: text})
        else:
            tensors._metadata = OrderedDict({METADATA_KEY: {"json": text}})  # type: ignore[attr-defined]
            torch.save(tensors, tmp)
    return path


def convert(weights: Weights | str | Path, destination: str | Path, overwrite: bool = False) -> Path:
    """``.pth`` <-> ``.safetensors``: every tensor identical, metadata kept."""
    loaded = weights if isinstance(weights, Weights) else load(weights)
    return save(loaded, destination, overwrite=overwrite)


def parameter_count(state_dict: StateDict) -> int:
    """Trainable parameters: conv and classifier weights and biases, BN weights and biases."""
    return sum(v.numel() for k, v in state_dict.items() if k.endswith((".weight", ".bias")))


def _few(keys: list[str], limit: int = 3) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")


def _version() -> str:
    from crepetool.names import VERSION as __version__

    return __version__
