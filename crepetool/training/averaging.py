"""Weight averaging: several trainings of one cut, averaged tensor by tensor into one model.

Runs that start from the same weights and train on different frames (other seeds) end close
enough together that their mean is a model too (a "model soup", Wortsman et al., 2022), and
it tracks better than either run (docs/recovery.md). Averaging only means something for state
dicts of one cut: the same keys, the same shapes, the same kept channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from crepetool.network.weights import StateDict, Weights


def average(state_dicts: Sequence[StateDict]) -> StateDict:
    """The tensor-by-tensor mean of ``state_dicts`` of one architecture.

    Floating-point tensors are summed in float64 and cast back; integer tensors (batch norm's
    ``num_batches_tracked``) are taken from the first. Raises ``ValueError`` when the keys or
    a shape differ.
    """
    if not state_dicts:
        raise ValueError("nothing to average")
    first = state_dicts[0]
    for index, other in enumerate(state_dicts[1:], start=1):
        if other.keys() != first.keys():
            missing = sorted(set(first) ^ set(other))
            raise ValueError(
                f"state dict {index} has other tensors than the first ({', '.join(missing[:3])})"
            )
        for key, tensor in first.items():
            if other[key].shape != tensor.shape:
                raise ValueError(
                    f"{key}: shape {tuple(other[key].shape)} in state dict {index}, {tuple(tensor.shape)} in the first"
                )
    averaged = {}
    for key, tensor in first.items():
        if tensor.is_floating_point():
            total = torch.stack([s[key].to(torch.float64) for s in state_dicts]).sum(0)
            averaged[key] = (total / len(state_dicts)).to(tensor.dtype)
        else:
            averaged[key] = tensor.clone()
    return averaged


def average_weights(weights: Sequence[Weights]) -> Weights:
    """:func:`average` of the state dicts of ``weights``, which must be one cut (the same
    capacity and kept channels), with the first's metadata and an ``averaged`` record of each
    model's recovery. Raises ``ValueError`` for models that are not one cut."""
    if len(weights) < 2:
        raise ValueError("averaging needs two models or more")
    first = weights[0]
    for model in weights[1:]:
        if model.capacity != first.capacity:
            raise ValueError(f"{model.name} is {model.capacity}/32 and {first.name} {first.capacity}/32")
        if model.metadata.get("kept_channels") != first.metadata.get("kept_channels"):
            raise ValueError(
                f"{model.name} and {first.name} were cut differently (their kept channels differ)"
            )
    state_dict = average([model.state_dict for model in weights])
    averaged: list[Any] = [model.metadata.get("recovery") for model in weights]
    metadata = {**first.metadata, "recovery": {"method": "average", "averaged": averaged}}
    return Weights(state_dict, first.capacity, metadata, None, first.format)
