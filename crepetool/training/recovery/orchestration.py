"""A recovery from end to end: the teacher resolved, batch norm re-estimated, distillation run
(several runs averaged where asked), the result scored before and after on held-out signals,
and how it was done recorded in the weights' metadata."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import torch

from crepetool.names import DISTILL, NO_RECOVERY
from crepetool.network.loading import load_model, resolve_device
from crepetool.network.model import Crepe
from crepetool.network.resolver import resolve_teacher
from crepetool.network.weights import StateDict, Weights
from crepetool.training.averaging import average
from crepetool.training.frames import mixing
from crepetool.training.heldout import HeldOut
from crepetool.training.recovery.batchnorm import recalibrate_batchnorm
from crepetool.training.recovery.distillation import distill
from crepetool.training.recovery.options import RecoveryOptions, default_steps, method_for
from crepetool.training.recovery.recordings import audio_pairs

#: Times a run's progress shows the held-out frame accuracy (1.6 s each at K=12 on 2 cores).
PROGRESS_SCORES = 5


def _distill_record(
    options: RecoveryOptions,
    done: list[int],
    teacher: dict[str, Any],
    pool: tuple[torch.Tensor, torch.Tensor] | None,
) -> dict[str, Any]:
    """What the file records of a distillation: its settings, and the steps each run took."""
    return {
        "steps": done[0] if options.runs == 1 else done,
        "batch_size": options.batch_size,
        "learning_rate": options.lr,
        "known_weight": options.known_weight,
        "bleed_share": _bleed_share(options),
        "frozen": list(options.frozen),
        "teacher": teacher,
        "audio_frames": 0 if pool is None else int(pool[0].size(0)),
    }


def _bleed_share(options: RecoveryOptions) -> float:
    return mixing.BLEED_SHARE if options.bleed_share is None else options.bleed_share


ProgressFn = Callable[[int, int, float, float | None], None]


#: Held-out sets with a teacher's tracks, by teacher file and device (the tracks cost a minute
#: of the teacher's time on a CPU; a notebook or a test suite recovers many times).
_HELD_OUT: dict[tuple[str, int, str], Any] = {}


def _held_out(teacher: Weights, model: Crepe, device: torch.device) -> Any:
    if teacher.path is None:
        return HeldOut(model)
    key = (str(teacher.path.resolve()), teacher.path.stat().st_mtime_ns, str(device))
    if key not in _HELD_OUT:
        _HELD_OUT.clear()  # one teacher at a time
        _HELD_OUT[key] = HeldOut(model)
    return _HELD_OUT[key]


def recover(
    weights: Weights,
    options: RecoveryOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    **changes: Any,
) -> Weights:
    """Recover pruned ``weights`` and record how, and how well, in the metadata.

    ``options``: :class:`RecoveryOptions` (a string is the method), keyword ``changes`` on top,
    so ``recover(w, method="bn", seed=3)`` works. With ``measure``, the student before and after and
    the teacher are scored on held-out signals (:class:`crepetool.training.heldout.HeldOut`,
    computed once per teacher file); the table lands in ``metadata["recovery"]["evaluation"]``.
    ``time_budget`` covers the whole recovery: distillation gets what the rest leaves, split
    evenly between ``runs``. ``progress(step, steps, loss, running accuracy or None)`` hears
    each distillation step, counted on across runs.
    """
    options = (options or RecoveryOptions()).replace(**changes)
    options = options.replace(method=method_for(weights, options.method))
    if options.method == NO_RECOVERY:
        return weights
    started = time.perf_counter()
    device = resolve_device(options.device)
    options = options.replace(
        steps=default_steps(weights.capacity) if options.steps is None else options.steps
    )
    pool = (
        audio_pairs(options.audio, seed=options.seed)
        if options.method == DISTILL and options.audio
        else None
    )
    teacher = resolve_teacher(options.teacher, weights)
    teacher_model = load_model(teacher.weights, device)
    held_out = _held_out(teacher.weights, teacher_model, device) if options.measure else None
    scored = time.perf_counter()
    before = held_out.score(load_model(weights.state_dict, device)) if held_out else None
    scoring = time.perf_counter() - scored  # the score after will take as long
    record: dict[str, Any] = {"method": options.method, "seed": options.seed}
    if options.time_budget is not None:
        record["time_budget"] = options.time_budget
    if options.calibrate:
        record["calibration_frames"] = options.calibration_count
    # the budget covers the whole recovery: what came before, every run and the score to come
    deadline = None if options.time_budget is None else started + options.time_budget - scoring
    seeds = [options.seed + run for run in range(options.runs)]
    runs = _Runs(weights.state_dict, teacher_model, pool, device, held_out, deadline)
    results, done = [], []
    for run, seed in enumerate(seeds):
        state_dict, steps = runs.run(
            options.replace(seed=seed),
            options.runs - run,
            _run_progress(progress, sum(done), options.runs - run - 1),
        )
        results.append(state_dict)
        done.append(steps)
    state_dict = results[0] if options.runs == 1 else average(results)
    if options.runs > 1:
        record.update(runs=options.runs, seeds=seeds)
    if options.method == DISTILL:
        record.update(_distill_record(options, done, teacher.provenance.as_dict(), pool))
    record["seconds"] = round(time.perf_counter() - started, 1)
    if held_out is not None:
        after = held_out.score(load_model(state_dict, device))
        record["evaluation"] = {"before": before, "after": after, "teacher": held_out.teacher_scores()}
    previous = weights.metadata.get("recovery")
    if isinstance(previous, dict) and previous.get("method") not in (None, "none"):
        record["previous"] = previous
    metadata = {**weights.metadata, "recovery": record}
    state_dict = {k: v.detach().cpu() for k, v in state_dict.items()}
    return Weights(state_dict, weights.capacity, metadata, None, weights.format)


@dataclasses.dataclass(frozen=True)
class _Runs:
    """What every run of one recovery shares: the cut, the teacher, the user's audio pool (or
    None), the device, the held-out set (or None) and the time all runs must end by (or None)."""

    cut: StateDict
    teacher: torch.nn.Module
    pool: tuple[torch.Tensor, torch.Tensor] | None
    device: torch.device
    held_out: Any
    deadline: float | None

    def run(self, options: RecoveryOptions, runs_left: int, progress: ProgressFn | None) -> tuple[StateDict, int]:
        """One recovery at ``options.seed``: calibration, then distillation, with this run's share
        of the time left (``runs_left`` counts this one). Returns the state dict and steps."""
        state_dict = self.cut
        if options.calibrate:
            state_dict = recalibrate_batchnorm(
                state_dict, options.calibration_count, seed=options.seed, bleed_share=options.bleed_share
            )
        if options.method != DISTILL:
            return state_dict, 0
        budget = None if self.deadline is None else (self.deadline - time.perf_counter()) / runs_left
        return self._distill(state_dict, options.replace(time_budget=budget), progress)

    def _distill(
        self, state_dict: StateDict, options: RecoveryOptions, progress: ProgressFn | None
    ) -> tuple[StateDict, int]:
        """:func:`distill`, reporting each step to ``progress`` with the steps a budget now fits,
        and the held-out frame accuracy :data:`PROGRESS_SCORES` times in the run."""
        steps = options.steps
        assert steps is not None, "recover sets the steps before any run"
        aim, held_out = steps, self.held_out

        def refitted(total: int) -> None:
            nonlocal aim
            aim = total

        def step_done(step: int, loss: float, student: Crepe) -> None:
            if progress is None:
                return
            every = max(1, steps // PROGRESS_SCORES)
            running = held_out.frame_accuracy(student) if held_out and step % every == 0 else None
            progress(step, aim, loss, running)

        return distill(
            state_dict,
            self.teacher,
            options,
            audio=self.pool,
            callback=step_done,
            device=self.device,
            refitted=refitted,
        )


def _run_progress(progress: ProgressFn | None, offset: int, runs_after: int) -> ProgressFn | None:
    """``progress`` for one of several runs: steps counted on from the runs before it, and the
    total including the runs after it (each as long as this one's aim)."""
    if progress is None or (offset == 0 and runs_after == 0):
        return progress
    return lambda step, aim, loss, running: progress(
        offset + step, offset + aim * (1 + runs_after), loss, running
    )
