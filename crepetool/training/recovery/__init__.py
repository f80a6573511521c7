"""Recovery after pruning: make a cut model track pitch again.

L1 selection alone leaves a network that tracks nothing (0% of frames within 50 cents at
12/32). :func:`recover` brings it back, in this order:

    :class:`RecoveryOptions` (:mod:`.options`: validated once; ``auto`` resolved per cut)
    -> :mod:`.batchnorm` (running statistics re-estimated on synthetic frames, seconds)
    -> :mod:`.distillation` (trained to imitate the teacher on synthetic frames with known f0 and
       the user's recordings from :mod:`.recordings`; a frozen conv1 inherited from the teacher by
       :mod:`.conv1`, minutes)
    -> :mod:`.orchestration` (runs averaged, scored on :mod:`crepetool.training.heldout`, recorded
       in the weights' metadata)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crepetool.lazy import exports

#: Each public name and the module (under this package) that defines it.
_PUBLIC = {
    "RecoveryOptions": "options",
    "default_steps": "options",
    "method_for": "options",
    "recover": "orchestration",
}
__all__ = [
    "RecoveryOptions",
    "default_steps",
    "method_for",
    "recover",
]

__getattr__, __dir__ = exports(__name__, _PUBLIC)

if TYPE_CHECKING:
    from crepetool.training.recovery.options import RecoveryOptions, default_steps, method_for
    from crepetool.training.recovery.orchestration import recover
