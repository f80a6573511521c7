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

from crepetool.lazy import exports

__getattr__, __dir__ = exports(
    __name__,
    {
        "prune": "pruning",
        "recover": "recovery",
        "RecoveryOptions": "recovery",
        "average_weights": "averaging",
    },
)
