"""Measurement: how good a model is, on signals with known f0 or on recordings.

Everything here tracks through the prediction pipeline (:mod:`crepetool.prediction`), so it
measures what ``predict`` writes:

    :mod:`.signals` (known-f0 test signals) or recordings with ``NAME.f0.csv`` -> the pipeline
    (CREPE) or :mod:`.peers` (other trackers, moved onto CREPE's frame times) -> :mod:`.metrics`
    (raw pitch / chroma accuracy, cents, voicing, through mir_eval) -> :mod:`.verify` (checks
    that pass, fail or inform), :mod:`.evaluate` (models side by side, with frames/s) ->
    :mod:`.charts` (accuracy against speed)

Importing this package is cheap; each module imports what it needs. Nothing here trains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crepetool.lazy import exports

#: Each public name and the module (under this package) that defines it.
_PUBLIC = {
    "verify": "verify",
    "evaluate": "evaluate",
    "pitch_metrics": "metrics",
    "verify_set": "signals",
}
__all__ = [
    "evaluate",
    "pitch_metrics",
    "verify",
    "verify_set",
]

__getattr__, __dir__ = exports(__name__, _PUBLIC)

if TYPE_CHECKING:
    from crepetool.evaluation.evaluate import evaluate
    from crepetool.evaluation.metrics import pitch_metrics
    from crepetool.evaluation.signals import verify_set
    from crepetool.evaluation.verify import verify
