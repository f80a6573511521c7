"""Recovery after pruning: make a cut model track pitch again.

L1 selection alone leaves a network that tracks nothing (0% of frames within 50
cents at 12/32). Two steps bring it back:

- batch-norm re-estimation (``bn``): after channels are removed every layer's
  input statistics change, so the running mean/variance are recomputed on seeded
  synthetic frames pushed through the cut network (seconds);
- distillation (``distill``): the cut network is trained to imitate the teacher
  (``full``) on fresh synthetic frames with known f0 (:mod:`crepetool.training.frames`) and on
  the user's own recordings, if any (minutes).

:func:`recover` runs them and measures the result on held-out signals
(:mod:`crepetool.training.heldout`), recording both in the weights' metadata.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from crepetool.names import AUTO, RECOVERY_METHODS
from crepetool.network.presets import MODULE_NAMES
from crepetool.network.resolver import resolve_teacher, source_of
from crepetool.network.weights import StateDict, Weights
from crepetool.prediction.framing import frames
from crepetool.prediction.resampling import resample
from crepetool.training.averaging import average

if TYPE_CHECKING:
    from crepetool.network.model import Crepe

#: Default distillation steps by capacity: (largest K, steps), the first row whose K is at
#: least the model's. K = 5..15 are taught by official ``medium``
#: (:func:`crepetool.network.resolver.default_teacher`), whose steps cost ~2/3 of ``full``'s: 540 took
#: the time 360 did and measured better (docs/history.md). K = 9..15, cut from ``medium``, take
#: 1000: with conv1 frozen (:data:`FROZEN`) that fits ``prune`` in 5 minutes on two AVX2 cores,
#: and the step curve still rose on both dev sets from 640 to 1000 (docs/recovery.md).
#: K = 4, 16 and 24 start from the trained model of their size and ``full`` teaches them: 360.
SCHEDULE: tuple[tuple[int, int], ...] = ((4, 360), (8, 540), (15, 1000), (32, 360))
DEFAULT_STEPS = 360
#: Frames a distillation step trains on (half fresh, half replayed).
STEP_BATCH = 64
DEFAULT_LR = 1e-2
DEFAULT_KNOWN_WEIGHT = 0.8
#: Layers whose kernel and bias distillation leaves as cut. conv1 (the filterbank over raw
#: samples, a third of a step's time with its gradient): frozen, K=12 measured as well or
#: better on both dev sets in 27% less time a step (docs/recovery.md).
FROZEN: tuple[str, ...] = ("conv1",)
#: Under a time budget, :func:`distill` re-fits its schedule to the pace every this many steps.
PACE_STEPS = 10
#: Times a run's progress shows the held-out frame accuracy (1.6 s each at K=12 on 2 cores).
PROGRESS_SCORES = 5


def method_for(weights: Weights, method: str = AUTO) -> str:
    """The recovery ``method`` means for ``weights``: ``auto`` is ``none`` when the cut removed
    nothing (its source was already this wide: a trained model at its own size measured at or
    above every distillation of it, docs/recovery.md) and ``distill`` otherwise."""
    if method != AUTO:
        return method
    source = source_of(weights)
    return "none" if source is not None and source.capacity == weights.capacity else "distill"


def default_steps(capacity: int) -> int:
    """Distillation steps :func:`recover` takes by default at ``capacity`` (:data:`SCHEDULE`)."""
    return next(steps for largest, steps in SCHEDULE if capacity <= largest)


def fitted_steps(budget: float, elapsed: float, done: int, steps: int) -> int:
    """Steps that fit in ``budget`` seconds at the pace of ``done`` steps in ``elapsed``, at
    most ``steps`` and at least one more than done."""
    return max(done + 1, min(steps, int(budget * done / max(elapsed, 1e-9))))


def calibration_frames(
    count: int = 2048, seed: int = 0, chunk: int = 128, bleed_share: float | None = None
) -> torch.Tensor:
    """Seeded synthetic frames (:mod:`crepetool.training.frames`, ``bleed_share`` of the voiced
    ones over a band), normalised: Tensor [shape=(count, 1024)]."""
    from crepetool.training import frames as training_frames

    generator = torch.Generator().manual_seed(seed)
    return torch.cat(
        [
            training_frames.frames(min(chunk, count - i), generator, bleed_share=bleed_share)[0]
            for i in range(0, count, chunk)
        ]
    )


@torch.no_grad()
def recalibrate_batchnorm(
    state_dict: StateDict,
    count: int = 2048,
    seed: int = 0,
    batch_size: int = 256,
    bleed_share: float | None = None,
) -> StateDict:
    """Recompute every BN layer's running mean and variance on calibration frames
    (:func:`calibration_frames`: the statistics of the frames distillation then trains on).

    Returns a new state dict; weights and biases are unchanged.
    """
    from crepetool.network.model import load_model

    model = load_model(state_dict)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over all calibration batches
    model.train()
    for batch in calibration_frames(count, seed, bleed_share=bleed_share).split(batch_size):
        model(batch)
    for norm in norms:
        norm.momentum = 0.0
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


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
        audio: a folder of the user's recordings to distil on too (unlabelled).
        device: ``cpu``, ``cuda``...; None is cuda when available.
        time_budget: seconds for the whole recovery (:func:`distill` fits its steps to it).
        measure: score before, after and the teacher on the held-out signals.
        calibrate: re-estimate batch norm first (``finetune`` continues from trained statistics).
        calibration_count: frames of that re-estimation.
        bleed_share: the share of voiced training frames mixed over a band (chords, bass,
            drums) at :data:`crepetool.training.frames.BLEED_SIR`, for vocals separated from
            music; None is :data:`crepetool.training.frames.BLEED_SHARE` (off).
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
    calibration_count: int = 2048
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
        if self.method not in RECOVERY_METHODS:
            raise ValueError(f"unknown recovery {self.method!r} (choose from {', '.join(RECOVERY_METHODS)})")
        if self.bleed_share is not None and not 0.0 <= self.bleed_share <= 1.0:
            raise ValueError(f"bleed share {self.bleed_share} is not between 0 and 1")
        if self.runs < 1:
            raise ValueError(f"runs must be at least 1, not {self.runs}")
        unknown = sorted(set(self.frozen) - set(MODULE_NAMES))
        if unknown:
            raise ValueError(f"cannot freeze {', '.join(unknown)} (layers: {', '.join(MODULE_NAMES)})")

    def replace(self, **changes: Any) -> RecoveryOptions:
        return dataclasses.replace(self, **changes) if changes else self


class _Schedule:
    """Adam's cosine decay over ``steps``; under a time budget, re-aimed every
    :data:`PACE_STEPS` steps at the steps the pace so far fits (at most ``steps``)."""

    def __init__(self, optimiser: torch.optim.Optimizer, steps: int, budget: float | None) -> None:
        self.steps, self.total, self.budget = steps, steps, budget
        self.started = time.perf_counter()
        self.lr = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, self.total) / self.total))
        )

    def step(self, done: int, refitted: Callable[[int], None] | None) -> bool:
        """After step ``done``: whether to go on."""
        self.lr.step()
        if done >= self.total:
            return False
        if self.budget is None:
            return True
        elapsed = time.perf_counter() - self.started
        if elapsed > self.budget:
            return False
        if done % PACE_STEPS == 0:
            self.total = fitted_steps(self.budget, elapsed, done, self.steps)
            if refitted is not None:
                refitted(self.total)
        return True


def distill(
    state_dict: StateDict,
    teacher: str | Path | Weights | StateDict | torch.nn.Module,
    options: RecoveryOptions | int | None = None,
    *,
    audio: torch.Tensor | None = None,
    device: torch.device | str = "cpu",
    callback: Callable[[int, float, Crepe], None] | None = None,
    refitted: Callable[[int], None] | None = None,
    **changes: Any,
) -> tuple[StateDict, int]:
    """Train the pruned ``state_dict`` to imitate ``teacher`` on fresh synthetic frames.

    ``options`` (:class:`RecoveryOptions`, keyword ``changes`` on top; an int is the steps).
    Each step draws ``fresh_share * batch_size`` new frames from
    :func:`crepetool.training.frames.frames` (seeded), plus ``audio_share`` as many frames of
    the user's ``audio`` (Tensor [shape=(N, 1024)], normalised, unlabelled) when given, and
    replays the previous step's new frames: the teacher labels each frame once. The target is
    the teacher's 360 probabilities, mixed with CREPE's Gaussian-blurred targets (weight
    ``known_weight``) on voiced synthetic frames; the loss is binary cross-entropy, as CREPE
    was trained. Adam with a cosine learning-rate decay, fitted to ``time_budget`` when given
    (the run then ends annealed, not cut off; ``refitted(steps)`` hears each new aim). Batch
    norm keeps its (re-estimated) statistics: ``frozen_norm=False`` trains with batch
    statistics, which measured worse. ``frozen`` names layers (``conv1``...) whose kernel and
    bias stay as they are: no gradient is computed for them. ``conv``: the convolution of student and teacher (a
    teacher given as a model keeps its own). ``callback(step, loss, student)`` runs after
    each step. Returns the new state dict and the steps done; deterministic for a given seed
    and step count on CPU.
    """
    from crepetool.network.model import load_model

    if isinstance(options, int):
        options, changes = RecoveryOptions(), {"steps": options, **changes}
    options = (options or RecoveryOptions()).replace(**changes)
    steps = DEFAULT_STEPS if options.steps is None else options.steps
    student = load_model(state_dict, device, options.conv)
    if not options.frozen_norm:
        student.train()
    for name in options.frozen:
        for parameter in getattr(student, name).parameters():
            parameter.requires_grad_(False)
    teacher_model = load_model(
        teacher, device, None if isinstance(teacher, torch.nn.Module) else options.conv
    )
    generator = torch.Generator().manual_seed(options.seed)
    # a frozen conv1's output is a fixed function of the frame: computed once per frame (the
    # replay reuses it) or taken from the teacher's own conv1 where the student's is a cut of it
    conv1 = _Conv1(student, teacher_model) if "conv1" in options.frozen else None
    trained = [parameter for parameter in student.parameters() if parameter.requires_grad]
    optimiser = torch.optim.Adam(trained, lr=options.lr)
    schedule = _Schedule(optimiser, steps, options.time_budget)
    fresh = max(1, round(options.batch_size * options.fresh_share))
    replay: tuple[torch.Tensor, torch.Tensor] | None = None
    done = 0
    while done < steps:
        inputs, target = _labelled(teacher_model, fresh, generator, options, (audio, device, conv1))
        if fresh < options.batch_size:
            # the teacher labels each frame once; the student sees it in two consecutive steps
            current = (inputs, target)
            if replay is not None:
                inputs, target = torch.cat([inputs, replay[0]]), torch.cat([target, replay[1]])
            replay = current
        predicted = student(inputs) if conv1 is None else student.from_conv1(inputs)
        loss = F.binary_cross_entropy(predicted, target)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        done += 1
        if callback is not None:
            callback(done, loss.item(), student)
        if not schedule.step(done, refitted):
            break
    student.eval()
    return {k: v.detach().clone() for k, v in student.state_dict().items()}, done


def _labelled(
    teacher: Crepe,
    fresh: int,
    generator: torch.Generator,
    options: RecoveryOptions,
    context: tuple[torch.Tensor | None, torch.device | str, _Conv1 | None],
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step's new frames and their targets: [n, 1024] (with a frozen conv1, ``context``'s
    :class:`_Conv1`, the student's conv1 output of them instead), [n, 360]. ``context`` is the
    user's audio (or None), the device and that conv1."""
    from crepetool.training import frames as training_frames

    audio, device, conv1 = context
    frames, f0 = training_frames.frames(fresh, generator, bleed_share=options.bleed_share)
    known = training_frames.targets(f0).float()
    # known f0 sharpens voiced targets; unvoiced frames and recordings follow the teacher alone
    weight = (options.known_weight * (f0 > 0)).float()[:, None]
    if audio is not None and audio.size(0):
        extra = max(1, round(fresh * options.audio_share))
        picks = torch.randint(0, audio.size(0), (extra,), generator=generator)
        frames = torch.cat([frames, audio[picks]])
        known = torch.cat([known, torch.zeros(extra, known.size(1))])
        weight = torch.cat([weight, torch.zeros(extra, 1)])
    frames, known, weight = frames.to(device), known.to(device), weight.to(device)
    with torch.no_grad():
        taught = teacher.conv1_output(frames)
        target = weight * known + (1 - weight) * teacher.from_conv1(taught)
        inputs = frames if conv1 is None else conv1(frames, taught)
    return inputs, target


class _Conv1:
    """The student's frozen conv1 output of a step's frames: the teacher's channels where the
    student's conv1 is a cut of the teacher's (the kernel rows and biases found in it, equal
    bit for bit, in one layout), else the student's own."""

    def __init__(self, student: Crepe, teacher: Crepe) -> None:
        self.student, self.rows = student, shared_rows(student.conv1, teacher.conv1)
        if student.layout != teacher.layout:
            self.rows = None

    def __call__(self, frames: torch.Tensor, taught: torch.Tensor) -> torch.Tensor:
        if self.rows is None:
            return self.student.conv1_output(frames)
        chosen = taught.index_select(1, self.rows.to(taught.device))
        return chosen.contiguous(memory_format=torch.channels_last) if chosen.dim() == 4 else chosen


def shared_rows(student: torch.nn.Conv2d, teacher: torch.nn.Conv2d) -> torch.Tensor | None:
    """Which of ``teacher``'s output channels each of ``student``'s is (kernel and bias equal
    bit for bit): Tensor [shape=(student channels,)] of indices, or None where one is not."""
    kinds = [(conv.weight.shape[1:], conv.weight.dtype, conv.bias is None) for conv in (student, teacher)]
    if kinds[0] != kinds[1] or student.bias is None:
        return None

    def keys(conv: torch.nn.Conv2d) -> list[bytes]:
        rows = torch.cat([conv.weight.detach().flatten(1), conv.bias.detach()[:, None]], 1)
        return [row.double().cpu().numpy().tobytes() for row in rows]  # float64 holds bf16 exactly

    index = {key: row for row, key in enumerate(keys(teacher))}
    found = [index.get(key) for key in keys(student)]
    return None if None in found else torch.tensor(found)


def _distill_record(
    options: RecoveryOptions, done: list[int], teacher: dict[str, Any], pool: torch.Tensor | None
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
        "audio_frames": 0 if pool is None else int(pool.size(0)),
    }


def _bleed_share(options: RecoveryOptions) -> float:
    from crepetool.training import frames as training_frames

    return training_frames.BLEED_SHARE if options.bleed_share is None else options.bleed_share


ProgressFn = Callable[[int, int, float, float | None], None]


def audio_frames(folder: str | Path, max_frames: int = 20_000, hop: int = 160, seed: int = 0) -> torch.Tensor:
    """Normalised frames of every audio file under ``folder`` (any rate, resampled to 16 kHz).

    At most ``max_frames``, drawn evenly at random. Returns Tensor [shape=(N, 1024)].
    """
    from crepetool.prediction import audio as audio_io

    chunks = []
    for path in audio_io.find(folder):
        samples, rate = audio_io.load(path)
        audio16k = torch.from_numpy(resample(samples, rate).astype(np.float32))
        chunks.extend(frames(audio16k, hop))
    pool = torch.cat(chunks)
    if pool.size(0) > max_frames:
        keep = torch.randperm(pool.size(0), generator=torch.Generator().manual_seed(seed))[:max_frames]
        pool = pool[keep.sort().values]
    return pool


#: Held-out sets with a teacher's tracks, by teacher file and device (the tracks cost a minute
#: of the teacher's time on a CPU; a notebook or a test suite recovers many times).
_HELD_OUT: dict[tuple[str, int, str], Any] = {}


def _held_out(teacher: Weights, model: Crepe, device: torch.device) -> Any:
    from crepetool.training.heldout import HeldOut

    if teacher.path is None:
        return HeldOut(model)
    key = (str(teacher.path.resolve()), teacher.path.stat().st_mtime_ns, str(device))
    if key not in _HELD_OUT:
        _HELD_OUT.clear()  # one teacher at a time
        _HELD_OUT[key] = HeldOut(model)
    return _HELD_OUT[key]


def recover(
    weights: Weights,
    options: RecoveryOptions | str | None = None,
    *,
    progress: ProgressFn | None = None,
    **changes: Any,
) -> Weights:
    """Recover pruned ``weights`` and record how, and how well, in the metadata.

    ``options``: :class:`RecoveryOptions` (a string is the method), keyword ``changes`` on top,
    so ``recover(w, "bn", seed=3)`` works. With ``measure``, the student before and after and
    the teacher are scored on held-out signals (:class:`crepetool.training.heldout.HeldOut`,
    computed once per teacher file); the table lands in ``metadata["recovery"]["evaluation"]``.
    ``time_budget`` covers the whole recovery: distillation gets what the rest leaves, split
    evenly between ``runs``. ``progress(step, steps, loss, running accuracy or None)`` hears
    each distillation step, counted on across runs.
    """
    from crepetool.network.model import load_model, resolve_device

    if isinstance(options, str):
        options, changes = RecoveryOptions(), {"method": options, **changes}
    options = (options or RecoveryOptions()).replace(**changes)
    options = options.replace(method=method_for(weights, options.method))
    if options.method == "none":
        return weights
    started = time.perf_counter()
    device = resolve_device(options.device)
    options = options.replace(
        steps=default_steps(weights.capacity) if options.steps is None else options.steps
    )
    pool = (
        audio_frames(options.audio, seed=options.seed)
        if options.method == "distill" and options.audio
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
    results, done = [], []
    for run, seed in enumerate(seeds):
        state_dict, steps = _run(
            weights.state_dict,
            teacher_model,
            options.replace(seed=seed),
            (pool, device, held_out),
            (deadline, options.runs - run),
            _run_progress(progress, sum(done), options.runs - run - 1),
        )
        results.append(state_dict)
        done.append(steps)
    state_dict = results[0] if options.runs == 1 else average(results)
    if options.runs > 1:
        record.update(runs=options.runs, seeds=seeds)
    if options.method == "distill":
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


def _run(
    state_dict: StateDict,
    teacher: torch.nn.Module,
    options: RecoveryOptions,
    context: tuple[torch.Tensor | None, torch.device, Any],
    deadline: tuple[float | None, int],
    progress: ProgressFn | None,
) -> tuple[StateDict, int]:
    """One recovery at ``options.seed``: calibration, then distillation. ``context`` is the
    user's audio pool, the device and the held-out set; ``deadline`` (the time all runs must
    end by or None, and the runs left, this one included) gives this run its share of the time
    left. Returns the state dict and steps."""
    pool, device, held_out = context
    if options.calibrate:
        state_dict = recalibrate_batchnorm(
            state_dict, options.calibration_count, seed=options.seed, bleed_share=options.bleed_share
        )
    if options.method != "distill":
        return state_dict, 0
    end, runs_left = deadline
    budget = None if end is None else (end - time.perf_counter()) / runs_left
    return _distill_with_progress(
        state_dict, teacher, options.replace(time_budget=budget), pool, device, held_out, progress
    )


def _run_progress(progress: ProgressFn | None, offset: int, runs_after: int) -> ProgressFn | None:
    """``progress`` for one of several runs: steps counted on from the runs before it, and the
    total including the runs after it (each as long as this one's aim)."""
    if progress is None or (offset == 0 and runs_after == 0):
        return progress
    return lambda step, aim, loss, running: progress(
        offset + step, offset + aim * (1 + runs_after), loss, running
    )


def _distill_with_progress(
    state_dict: StateDict,
    teacher: torch.nn.Module,
    options: RecoveryOptions,
    pool: torch.Tensor | None,
    device: torch.device,
    held_out: Any,
    progress: ProgressFn | None,
) -> tuple[StateDict, int]:
    """:func:`distill`, reporting each step to ``progress`` with the steps a budget now fits,
    and the held-out frame accuracy :data:`PROGRESS_SCORES` times in the run."""
    steps = options.steps or DEFAULT_STEPS
    aim = steps

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
        state_dict, teacher, options, audio=pool, callback=step_done, device=device, refitted=refitted
    )
