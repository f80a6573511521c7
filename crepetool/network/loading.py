"""From "some model" to a :class:`~crepetool.network.model.Crepe` on a device: the one loader.

:func:`load_model` takes a name, ``official-NAME``, a path, :class:`~crepetool.network.weights.Weights`,
a state dict or a module; names go through :mod:`crepetool.network.resolver`, so the network
module itself resolves nothing. :func:`resolve_device` turns ``--device`` into a torch device
or refuses it (:class:`~crepetool.errors.UserInputError`); :func:`prepared` adds the arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import torch

from crepetool.errors import UserInputError
from crepetool.names import DEFAULT_PRECISION
from crepetool.network.model import Crepe, default_layout
from crepetool.network.precision import Wrapped, with_precision
from crepetool.network.resolver import weights_of
from crepetool.network.weights import Weights, infer_capacity


def from_state_dict(
    state_dict: dict[str, torch.Tensor], layout: str | None = None, conv: str | None = None
) -> Crepe:
    """A :class:`Crepe` in eval mode holding ``state_dict`` (capacity inferred from shapes)."""
    model = Crepe(infer_capacity(state_dict), layout, conv)
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


def load_model(
    source: str | Path | Weights | dict[str, torch.Tensor] | torch.nn.Module,
    device: str | torch.device | None = None,
    conv: str | None = None,
) -> Crepe:
    """The one way from "some model" to a :class:`Crepe` in eval mode on a device.

    Arguments
        source: a bundled name (``full``, ``tiny``), a weights path, :class:`~crepetool.network.weights.Weights`,
            a state dict, a :class:`Crepe`, or any module with a CREPE state dict
            (``torchcrepe.Crepe``).
        device: where the model runs. ``None`` keeps a given :class:`Crepe` where it
            is and puts anything loaded on the CPU; otherwise see :func:`resolve_device`.
        conv: ``auto``, ``direct`` or ``transform`` (:class:`Crepe`); None keeps a given
            :class:`Crepe`'s and builds anything else with :func:`default_conv`. A given
            :class:`Crepe` of another conv is copied, never changed.
    """
    target = None if device is None else resolve_device(device)
    layout = default_layout(target)  # for a model built here; a given Crepe keeps its own
    if isinstance(source, Crepe):
        model = source
        if conv is not None and conv != source.conv:
            model = from_state_dict(source.state_dict(), source.layout, conv).to(_device_of(source))
    elif isinstance(source, torch.nn.Module):
        model = from_state_dict(source.state_dict(), layout, conv)
    elif isinstance(source, dict):
        model = from_state_dict(source, layout, conv)
    else:
        model = from_state_dict(weights_of(source).state_dict, layout, conv)
    if target is not None or not isinstance(source, Crepe):
        model = model.to(target or torch.device("cpu"))
    return model.eval()


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` means cuda when available, else cpu. Refuses unknown or absent devices."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise UserInputError(f"--device: unknown device {device!r} (use cpu, cuda or cuda:N)") from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise UserInputError(f"--device: {device!r}: CUDA is not available here")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise UserInputError(f"--device: {device!r}: only {torch.cuda.device_count()} CUDA device(s)")
    elif resolved.type != "cpu":
        raise UserInputError(f"--device: {device!r}: only cpu and cuda are supported")
    return resolved


def prepared(
    weights: str | Path | Weights | dict | torch.nn.Module,
    device: str | None = None,
    conv: str | None = None,
    precision: str = DEFAULT_PRECISION,
) -> torch.nn.Module:
    """``weights`` as a model on ``device`` at ``precision`` (:func:`load_model`, then
    :func:`crepetool.network.precision.with_precision`). A module passed in keeps its own device
    unless ``device`` is given; one already at a precision is used as it is."""
    if isinstance(weights, Wrapped):
        return weights
    keep = device is None and isinstance(weights, torch.nn.Module)
    return with_precision(load_model(weights, None if keep else resolve_device(device), conv), precision)
