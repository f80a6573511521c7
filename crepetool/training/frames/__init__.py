"""Training frames with known f0 for recovery, synthesised in batches (vectorised torch).

(This is what recovery trains on; the test signals that measure models live in
:mod:`crepetool.evaluation.signals`.) Each frame is one 1024-sample window at 16 kHz, labelled
with the f0 at its centre (0 when unvoiced), over CREPE's whole range. A batch flows:

    :mod:`.sources` (voices and instruments over a context before the window, on
    :mod:`.oscillators`; coloured noise for unvoiced frames) -> :mod:`.mixing` (a band from
    :mod:`.accompaniment` under a share of voiced frames; off by default)
    -> :mod:`.chain` (rooms, telephone band, codecs, clipping, quiet takes, noise) ->
    :mod:`.draw` (the window cut out and normalised; :func:`targets` for its f0)

The context (128 ms) carries a room's tail of earlier notes into the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crepetool.lazy import exports

#: Each public name and the module (under this package) that defines it.
_PUBLIC = {
    "TARGET_CENTS": "draw",
    "frames": "draw",
    "targets": "draw",
}
__all__ = [
    "TARGET_CENTS",
    "frames",
    "targets",
]

__getattr__, __dir__ = exports(__name__, _PUBLIC)

if TYPE_CHECKING:
    from crepetool.training.frames.draw import TARGET_CENTS, frames, targets
