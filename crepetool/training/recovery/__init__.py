"""Recovery after pruning: make a cut model track pitch again.

L1 selection alone leaves a network that tracks nothing (0% of frames within 50 cents at
12/32). :func:`recover` brings it back, in this order:

    :class:`RecoveryOptions` (:mod:`.options`: validated once; ``auto`` resolved per cut)
    -> :mod:`.batchnorm` (running statistics re-estimated on synthetic frames, seconds)
    -> :mod:`.distillation` (trained to imitate the teacher on synthetic frames with known f0 and
       the user's recordings from :mod:`.recordings`; a frozen conv1 shared with the teacher by
       :mod:`.conv1`, minutes)
    -> :mod:`.orchestration` (runs averaged, scored on :mod:`crepetool.training.heldout`, recorded
       in the weights' metadata)
"""

from crepetool.lazy import exports

__getattr__, __dir__ = exports(
    __name__,
    {
        "RecoveryOptions": "options",
        "SCHEDULE": "options",
        "FROZEN": "options",
        "CALIBRATION_FRAMES": "options",
        "default_steps": "options",
        "method_for": "options",
        "calibration_frames": "batchnorm",
        "recalibrate_batchnorm": "batchnorm",
        "distill": "distillation",
        "fitted_steps": "distillation",
        "inherited_rows": "conv1",
        "audio_pairs": "recordings",
        "degrade_take": "recordings",
        "recover": "orchestration",
    },
)
