"""How to recover, validated: :class:`RecoveryOptions`, the step schedule by capacity, and what
``--recover auto`` means for a given cut."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from crepetool.errors import UserInputError, check_choice
from crepetool.names import AUTO, DISTILL, NO_RECOVERY, RECOVERY_METHODS, STEPS_SCHEDULE
from crepetool.network.presets import MODULE_NAMES
from crepetool.network.resolver import source_of
from crepetool.network.weights import Weights

#: Default distillation steps by capacity: :data:`crepetool.names.STEPS_SCHEDULE`.
SCHEDULE = STEPS_SCHEDULE
#: Frames a distillation step trains on (half fresh, half replayed).
STEP_BATCH = 64
DEFAULT_LR = 1e-2
DEFAULT_KNOWN_WEIGHT = 0.8
#: Layers whose kernel and bias distillation leaves as cut. conv1 (the filterbank over raw
#: samples, a third of a step's time with its gradient): frozen, K=12 measured as well or
#: better on both dev sets in 27% less time a step (docs/recovery.md).
FROZEN: tuple[str, ...] = ("conv1",)
#: Frames of the batch-norm re-estimation that starts a recovery.
CALIBRATION_FRAMES = 2048


def method_for(weights: Weights, method: str = AUTO) -> str:
    """The recovery ``method`` means for ``weights``: ``auto`` is ``none`` when the cut removed
    nothing (its source was already this wide: a trained model at its own size measured at or
    above every distillation of it, docs/recovery.md) and ``distill`` otherwise."""
    if method != AUTO:
        return method
    source = source_of(weights)
    return NO_RECOVERY if source is not None and source.capacity == weights.capacity else DISTILL


def default_steps(capacity: int) -> int:
    """Distillation steps :func:`recover` takes by default at ``capacity`` (:data:`SCHEDULE`)."""
    return next(steps for largest, steps in SCHEDULE if capacity <= largest)


@dataclasses.dataclass(frozen=True)
class RecoveryOptions:
    """How to recover: one object from the CLI through :func:`recover` to :func:`distill`.

    Attributes
        method: ``distill`` (batch-norm re-estimation, then distillation), ``bn`` (the
            re-estimation only), ``none``, or ``auto`` (:func:`method_for`).
        teacher: anything :func:`crepetool.network.resolver.resolve_teacher` takes (``auto``: the
            model that taught best, :func:`crepetool.network.resolver.default_teacher`).
        steps: distillation steps; None is :func:`default_steps` of the capacity.
        seed: every draw (frames, batch-norm calibration, picks of the user's audio).
        audio: a folder of the user's recordings to distil on too (unlabelled: each take
            degraded whole, the teacher labelling the clean take; :mod:`.recordings`).
        device: ``cpu``, ``cuda``...; None is cuda when available.
        time_budget: seconds for the whole recovery (:func:`distill` fits its steps to it).
        measure: score before, after and the teacher on the held-out signals.
        calibrate: re-estimate batch norm first (``finetune`` continues from trained statistics).
        calibration_count: frames of that re-estimation.
        bleed_share: the share of voiced training frames mixed over a band (chords, bass,
            drums) at :data:`crepetool.training.frames.mixing.BLEED_SIR`, for vocals separated from
            music; None is :data:`crepetool.training.frames.mixing.BLEED_SHARE` (off).
        runs: recoveries from seeds ``seed``, ``seed + 1``... of ``steps`` each, averaged
            into one model (:func:`crepetool.training.averaging.average`): ``runs`` times the time.
        batch_size, lr, known_weight, audio_share, fresh_share, frozen_norm, frozen, conv: the
            distillation itself (:func:`distill`).
    """

    method: str = AUTO
    teacher: str | Path | Weights = AUTO
    steps: int | None = None
    seed: int = 0
    audio: str | Path | None = None
    device: str | None = None
    time_budget: float | None = None
    measure: bool = True
    calibrate: bool = True
    calibration_count: int = CALIBRATION_FRAMES
    bleed_share: float | None = None
    runs: int = 1
    batch_size: int = STEP_BATCH
    lr: float = DEFAULT_LR
    known_weight: float = DEFAULT_KNOWN_WEIGHT
    audio_share: float = 0.25
    fresh_share: float = 0.5
    frozen_norm: bool = True
    frozen: tuple[str, ...] = FROZEN
    conv: str | None = None

    def __post_init__(self) -> None:
        check_choice("recovery", self.method, RECOVERY_METHODS, "--recover")
        if self.bleed_share is not None and not 0.0 <= self.bleed_share <= 1.0:
            raise UserInputError(f"--bleed: the share {self.bleed_share} is not between 0 and 1")
        if self.steps is not None and self.steps < 1:
            raise UserInputError(f"--steps: must be at least 1, not {self.steps}")
        if self.runs < 1:
            raise UserInputError(f"--runs: must be at least 1, not {self.runs}")
        unknown = sorted(set(self.frozen) - set(MODULE_NAMES))
        if unknown:
            raise UserInputError(f"cannot freeze {', '.join(unknown)} (layers: {', '.join(MODULE_NAMES)})")

    def replace(self, **changes: Any) -> RecoveryOptions:
        return dataclasses.replace(self, **changes) if changes else self
