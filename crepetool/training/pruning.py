"""Structured channel pruning of CREPE: score, select, then cut.

Three separate steps, as in Torch-Pruning:

1. an *importance criterion* reads the source state dict and returns one score
   per output channel of a layer, ``Tensor [shape=(out_channels,)]``, under
   ``no_grad``, mutating nothing;
2. :func:`select` keeps the top-k scores (ties to the lower index) in ascending
   index order;
3. :func:`slice_state_dict` is the only code that cuts tensors. It checks the
   kept indices and slices each conv's output channels, its BN tensors, the
   next conv's input channels, and the classifier's columns ``h * C6 + c``
   (h = 0..3: the classifier reads conv6's output flattened as (time, channel)).

All scores are computed on the source model before anything is cut.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from crepetool.errors import UserInputError, check_choice
from crepetool.names import BN_SCALE
from crepetool.network.presets import (
    CLASSIFIER_TIME_STEPS,
    LAYER_NAMES,
    channels,
    parse_capacity,
)
from crepetool.network.resolver import Resolved, resolve_source
from crepetool.network.weights import StateDict, Weights, infer_capacity

#: A criterion: (state dict, layer name) -> scores, Tensor [shape=(out_channels,)].
Criterion = Callable[[StateDict, str], torch.Tensor]


def l1_importance(state_dict: StateDict, layer: str) -> torch.Tensor:
    """L1 norm of each output channel's whole filter."""
    return state_dict[f"{layer}.weight"].abs().sum(dim=(1, 2, 3))


def l2_importance(state_dict: StateDict, layer: str) -> torch.Tensor:
    """L2 norm of each output channel's whole filter."""
    return state_dict[f"{layer}.weight"].pow(2).sum(dim=(1, 2, 3)).sqrt()


def bn_scale_importance(state_dict: StateDict, layer: str) -> torch.Tensor:
    """|gamma| of the layer's batch norm (network slimming)."""
    return state_dict[f"{layer}_BN.weight"].abs()


def random_importance(seed: int = 0) -> Criterion:
    """Seeded random scores: the baseline every criterion should beat."""

    def importance(state_dict: StateDict, layer: str) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed * 1000 + LAYER_NAMES.index(layer))
        return torch.rand(state_dict[f"{layer}.weight"].size(0), generator=generator)

    return importance


CRITERIA: dict[str, Callable[..., Criterion] | Criterion] = {
    "l1": l1_importance,
    "l2": l2_importance,
    BN_SCALE: bn_scale_importance,
    "random": random_importance,
}


def get_criterion(name: str, seed: int = 0) -> Criterion:
    """The criterion called ``name`` (``l1``, ``l2``, ``bn``, ``random``)."""
    check_choice("criterion", name, CRITERIA, "--criterion")
    return random_importance(seed) if name == "random" else CRITERIA[name]  # type: ignore[return-value]


def select(scores: torch.Tensor, keep: int) -> torch.Tensor:
    """Indices of the ``keep`` highest scores, ties to the lower index, ascending.

    Arguments
        scores (Tensor [shape=(channels,)])
    Returns
        indices (LongTensor [shape=(keep,)])
    """
    if not 0 < keep <= scores.numel():
        raise ValueError(f"cannot keep {keep} of {scores.numel()} channels")
    order = torch.argsort(-scores.double(), stable=True)
    return order[:keep].sort().values


def slice_state_dict(state_dict: StateDict, kept: Mapping[str, torch.Tensor]) -> StateDict:
    """Cut a CREPE state dict down to the kept output channels of every conv layer.

    Arguments
        state_dict: a valid CREPE state dict of any capacity.
        kept: for each of ``conv1``..``conv6``, strictly increasing channel indices
            (LongTensor), all within the layer. Their counts must form a capacity
            (``[32, 4, 4, 4, 8, 16] * K``).

    Returns a new state dict (tensors are copies).
    """
    source_channels = channels(infer_capacity(state_dict))
    counts = []
    for layer, size in zip(LAYER_NAMES, source_channels):
        index = kept.get(layer)
        if index is None:
            raise ValueError(f"no kept channels given for {layer}")
        if index.dim() != 1 or index.numel() == 0:
            raise ValueError(f"{layer}: kept indices must be a non-empty 1-D tensor")
        if int(index.min()) < 0 or int(index.max()) >= size:
            raise ValueError(f"{layer}: kept indices outside 0..{size - 1}")
        if index.numel() > 1 and not bool((index[1:] > index[:-1]).all()):
            raise ValueError(f"{layer}: kept indices must be strictly increasing")
        counts.append(index.numel())
    if counts[0] % 32 or channels(counts[0] // 32) != counts:
        raise ValueError(f"kept channel counts {counts} form no CREPE capacity")

    out: StateDict = OrderedDict()
    previous: torch.Tensor | None = None
    for layer in LAYER_NAMES:
        index = kept[layer].long()
        weight = state_dict[f"{layer}.weight"].index_select(0, index)
        if previous is not None:
            weight = weight.index_select(1, previous)
        out[f"{layer}.weight"] = weight.contiguous()
        out[f"{layer}.bias"] = state_dict[f"{layer}.bias"].index_select(0, index)
        for name in ("weight", "bias", "running_mean", "running_var"):
            out[f"{layer}_BN.{name}"] = state_dict[f"{layer}_BN.{name}"].index_select(0, index)
        out[f"{layer}_BN.num_batches_tracked"] = state_dict[f"{layer}_BN.num_batches_tracked"].clone()
        previous = index
    assert previous is not None
    c6 = source_channels[-1]
    columns = torch.cat([h * c6 + previous for h in range(CLASSIFIER_TIME_STEPS)])
    out["classifier.weight"] = state_dict["classifier.weight"].index_select(1, columns).contiguous()
    out["classifier.bias"] = state_dict["classifier.bias"].clone()
    return out


@torch.no_grad()
def prune_state_dict(
    state_dict: StateDict, capacity: int, criterion: str | Criterion = "l1", seed: int = 0
) -> tuple[StateDict, dict[str, list[int]]]:
    """L1 (or other) channel selection of ``state_dict`` down to ``capacity``.

    Returns the pruned state dict and the kept channel indices per layer.
    """
    source_capacity = infer_capacity(state_dict)
    if capacity > source_capacity:
        raise UserInputError(f"capacity {capacity} is above the source's own capacity {source_capacity}")
    score = get_criterion(criterion, seed) if isinstance(criterion, str) else criterion
    kept = {
        layer: select(score(state_dict, layer), keep) for layer, keep in zip(LAYER_NAMES, channels(capacity))
    }
    return slice_state_dict(state_dict, kept), {k: v.tolist() for k, v in kept.items()}


def prune(
    source: str | Path | Weights | Resolved = "full",
    capacity: int | str = 12,
    criterion: str = "l1",
    seed: int = 0,
) -> Weights:
    """Cut ``source`` down to ``capacity`` by channel selection, with metadata.

    ``source`` is anything :func:`crepetool.network.resolver.resolve_source` takes (``"auto"``: the
    smallest trained model that is at least as wide, since a trained model closer to K keeps
    more of what it learnt), or what it returned. This is the bare selection;
    :func:`crepetool.training.recovery.recover` makes the result track pitch again.
    """
    k = parse_capacity(capacity) if isinstance(capacity, str) else capacity
    resolved = source if isinstance(source, Resolved) else resolve_source(source, k)
    state_dict, kept = prune_state_dict(resolved.weights.state_dict, k, criterion, seed)
    metadata: dict[str, Any] = {
        "capacity": k,
        "source": resolved.provenance.as_dict(),
        "criterion": criterion,
        "kept_channels": kept,
        "recovery": {"method": "none"},
    }
    if criterion == "random":
        metadata["criterion_seed"] = seed
    return Weights(state_dict, k, metadata)
