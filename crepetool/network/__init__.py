"""The network: CREPE of any capacity K/32, its weights and where they come from.

Data flows one way: a name, ``official-NAME`` or a path -> :mod:`.resolver` (with
:mod:`.keras` for the original CREPE's files, :mod:`.provenance` for the record of where
they came from) -> :class:`.weights.Weights` (a state dict and its metadata, read and
written by :mod:`.weights`) -> :func:`.loading.load_model` -> :class:`.model.Crepe`, which
reads normalised frames or a :class:`.span.FrameSpan` (raw frames as the samples they cover,
whose conv1 runs once per group of frames: :mod:`.shared`), and whose conv2..conv6 run in
the frequency domain (:mod:`.spectral`), at a chosen arithmetic
(:mod:`.precision`), or as ONNX (:mod:`.export`). :mod:`.presets` holds the capacities and
layer geometry (torch-free); :mod:`.summary` describes a file for ``inspect``.

Nothing here knows of audio, prediction options or the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crepetool.lazy import exports

#: Each public name and the module (under this package) that defines it.
_PUBLIC = {
    "Crepe": "model",
    "FrameSpan": "span",
    "Weights": "weights",
    "load_model": "loading",
    "resolve_device": "loading",
    "weights_of": "resolver",
    "parse_capacity": "presets",
    "ContextStage": "context",
}
__all__ = [
    "ContextStage",
    "Crepe",
    "FrameSpan",
    "Weights",
    "load_model",
    "parse_capacity",
    "resolve_device",
    "weights_of",
]

__getattr__, __dir__ = exports(__name__, _PUBLIC)

if TYPE_CHECKING:
    from crepetool.network.context import ContextStage
    from crepetool.network.loading import load_model, resolve_device
    from crepetool.network.model import Crepe
    from crepetool.network.presets import parse_capacity
    from crepetool.network.resolver import weights_of
    from crepetool.network.span import FrameSpan
    from crepetool.network.weights import Weights
