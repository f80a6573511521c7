"""Training: cut a trained CREPE to K/32 and train the cut back.

    trained weights -> :mod:`.pruning` (score channels, select, slice) -> a cut model ->
    :mod:`.recovery` (batch-norm re-estimation, then distillation from a teacher on
    :mod:`.frames`, synthetic frames with known f0 put through rooms, noise and codecs)
    -> recovered weights, scored on :mod:`.heldout` signals -> :mod:`.averaging` (several
    runs of one cut into one model)

Training reads the network (:mod:`crepetool.network`), the pipeline's reader and framing
for ``--audio`` (:mod:`crepetool.prediction`) and the metrics (:mod:`crepetool.evaluation`);
nothing below imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crepetool.lazy import exports

#: Each public name and the module (under this package) that defines it.
_PUBLIC = {
    "prune": "pruning",
    "recover": "recovery",
    "RecoveryOptions": "recovery",
    "average_weights": "averaging",
}
__all__ = [
    "RecoveryOptions",
    "average_weights",
    "prune",
    "recover",
]

__getattr__, __dir__ = exports(__name__, _PUBLIC)

if TYPE_CHECKING:
    from crepetool.training.averaging import average_weights
    from crepetool.training.pruning import prune
    from crepetool.training.recovery import RecoveryOptions, recover
