"""What a weights file holds: per-layer channels and parameter counts (``inspect``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crepetool.network import context
from crepetool.network.presets import KERNEL_SIZES, LAYER_NAMES, preset_name
from crepetool.network.provenance import Provenance
from crepetool.network.resolver import source_of, teacher_of, weights_of
from crepetool.network.weights import Weights, parameter_count


def describe(weights: str | Path | Weights) -> dict[str, Any]:
    """A JSON-ready description of CREPE weights.

    Keys: ``path``, ``format``, ``file_size`` (bytes or None), ``capacity`` (K),
    ``preset`` (name or None), ``layers`` (conv1..conv6 then classifier, each
    with its ``parameters``: a conv counts its weight, bias and its batch norm's
    weight and bias), ``parameters`` (their sum), ``buffers`` (BN running
    statistics and counters), ``source`` and ``teacher`` (where it came from and what taught it:
    :class:`~crepetool.network.provenance.Provenance` records, or None), ``metadata``, and
    ``context``: the context stage that predict runs after any model (:func:`crepetool.network.context.describe`).
    """
    w = weights_of(weights, require_finite=False)
    sd = w.state_dict
    layers: list[dict[str, Any]] = []
    for name, kernel in zip(LAYER_NAMES, KERNEL_SIZES):
        weight = sd[f"{name}.weight"]
        count = parameter_count({k: v for k, v in sd.items() if k.startswith((f"{name}.", f"{name}_BN."))})
        layers.append(
            {
                "name": name,
                "in_channels": weight.size(1),
                "out_channels": weight.size(0),
                "kernel_size": kernel,
                "parameters": count,
            }
        )
    classifier = sd["classifier.weight"]
    layers.append(
        {
            "name": "classifier",
            "in_features": classifier.size(1),
            "out_features": classifier.size(0),
            "parameters": parameter_count({k: v for k, v in sd.items() if k.startswith("classifier.")}),
        }
    )
    buffers = sum(
        v.numel() for k, v in sd.items() if k.endswith(("running_mean", "running_var", "num_batches_tracked"))
    )
    path = w.path
    return {
        "path": str(path) if path else None,
        "format": w.format,
        "file_size": path.stat().st_size if path and path.is_file() else None,
        "capacity": w.capacity,
        "preset": preset_name(w.capacity),
        "layers": layers,
        "parameters": parameter_count(sd),
        "buffers": buffers,
        "source": _record(source_of(w)),
        "teacher": _record(teacher_of(w)),
        "metadata": w.metadata,
        "context": context.describe(),
    }


def _record(provenance: Provenance | None) -> dict[str, Any] | None:
    return None if provenance is None else provenance.as_dict()
