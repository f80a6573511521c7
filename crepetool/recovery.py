"""Recovery after pruning: make a cut model track pitch again.

L1 selection alone leaves a network that tracks nothing (0% of frames within 50
cents at 12/32). Two steps bring it back:

- batch-norm re-estimation (``bn``): after channels are removed every layer's
  input statistics change, so the running mean/variance are recomputed on seeded
  synthetic frames pushed through the cut network (seconds);
- distillation (``distill``): the cut network is trained to imitate the teacher
  (``full``) on fresh synthetic frames with known f0 (:mod:`crepetool.training_frames`) and on
  the user's own recordings, if any (minutes).

:func:`recover` runs them and measures the result on held-out signals
(:mod:`crepetool.evaluation.heldout`), recording both in the weights' metadata.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from crepetool.names import AUTO_TEACHER, RECOVERY_METHODS
from crepetool.prediction import frames
from crepetool.weights import StateDict, Weights

if TYPE_CHECKING:
    from crepetool.model import Crepe

#: Default distillation steps by capacity: (largest K, steps), the first row whose K is at
#: least the model's. K = 5..15 are taught by official ``medium`` (:func:`default_teacher`):
#: a step costs ~2/3 of one taught by ``full`` at K=12, so 540 steps take the time 360 did,
#: and at K=12 and K=8 they measured better on both evaluation sets (see the README). K = 4,
#: 16 and 24 start from the trained model of their size and ``full`` teaches them: 360.
SCHEDULE: tuple[tuple[int, int], ...] = ((4, 360), (15, 540), (32, 360))
DEFAULT_STEPS = 360
#: The narrowest trained source that :func:`default_teacher` lets teach its own cut.
AUTO_TEACHER_MIN = 16
#: Trained sources too narrow to teach, and the official model that teaches what starts from them.
TAUGHT_BY = {"official-small": "medium"}
DEFAULT_BATCH = 64
DEFAULT_LR = 1e-2
DEFAULT_KNOWN_WEIGHT = 0.8
#: Under a time budget, :func:`distill` re-fits its schedule to the pace every this many steps.
PACE_STEPS = 10


def default_steps(capacity: int) -> int:
    """Distillation steps :func:`recover` takes by default at ``capacity`` (:data:`SCHEDULE`)."""
    return next(steps for largest, steps in SCHEDULE if capacity <= largest)


def fitted_steps(budget: float, elapsed: float, done: int, steps: int) -> int:
    """Steps that fit in ``budget`` seconds at the pace of ``done`` steps in ``elapsed``, at
    most ``steps`` and at least one more than done."""
    return max(done + 1, min(steps, int(budget * done / max(elapsed, 1e-9))))


def default_teacher(weights: Weights) -> tuple[str, str | Weights]:
    """The teacher of ``teacher="auto"`` for pruned ``weights``, as (name, weights or name):
    the trained model the cut started from (``metadata["source"]``) when it is official
    ``medium`` or ``large`` and wider than ``weights``; official ``medium`` for what started
    from official ``small`` (:data:`TAUGHT_BY`); else ``full``. An official model whose
    package is not installed gives way to ``full``.

    At K=12 official ``medium`` teaches as well as ``full`` (hard set 83.26% against 83.33%,
    realistic 87.18% against 87.29%, 360 steps each) at ~2/3 of the time a step; at K=8 it
    taught 540 steps to 83.69% / 87.35% against ``full``'s 360 to 83.57% / 87.42%. K = 4, 16
    and 24, started from the trained model of their size, keep ``full``, as measured.
    """
    from crepetool.errors import UserInputError
    from crepetool.keras import import_keras

    source = weights.metadata.get("source")
    name = str(source.get("name", "")) if isinstance(source, dict) else ""
    width = source.get("capacity") if isinstance(source, dict) else None
    cut = isinstance(width, int) and max(weights.capacity + 1, AUTO_TEACHER_MIN) <= width < 32
    teacher = name.removeprefix("official-") if cut and name.startswith("official-") else TAUGHT_BY.get(name)
    if teacher is not None:
        try:
            return f"official-{teacher}", import_keras(teacher)
        except UserInputError:  # its package is not installed (or was removed since the cut)
            pass
    return "full", "full"


def calibration_frames(count: int = 2048, seed: int = 0, chunk: int = 128) -> torch.Tensor:
    """Seeded synthetic frames (:mod:`crepetool.training_frames`), normalised: Tensor [shape=(count, 1024)]."""
    from crepetool import training_frames

    generator = torch.Generator().manual_seed(seed)
    return torch.cat(
        [training_frames.frames(min(chunk, count - i), generator)[0] for i in range(0, count, chunk)]
    )


@torch.no_grad()
def recalibrate_batchnorm(
    state_dict: StateDict, count: int = 2048, seed: int = 0, batch_size: int = 256
) -> StateDict:
    """Recompute every BN layer's running mean and variance on calibration frames.

    Returns a new state dict; weights and biases are unchanged.
    """
    from crepetool.model import load_model

    model = load_model(state_dict)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over all calibration batches
    model.train()
    for batch in calibration_frames(count, seed).split(batch_size):
        model(batch)
    for norm in norms:
        norm.momentum = 0.0
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def distill(
    state_dict: StateDict,
    teacher: str | Path | Weights | StateDict | torch.nn.Module,
    steps: int = DEFAULT_STEPS,
    *,
    batch_size: int = DEFAULT_BATCH,
    lr: float = DEFAULT_LR,
    seed: int = 0,
    audio: torch.Tensor | None = None,
    known_weight: float = DEFAULT_KNOWN_WEIGHT,
    audio_share: float = 0.25,
    frozen_norm: bool = True,
    fresh_share: float = 0.5,
    time_budget: float | None = None,
    callback: Callable[[int, float, Crepe], None] | None = None,
    device: torch.device | str = "cpu",
    refitted: Callable[[int], None] | None = None,
    conv: str | None = None,
) -> tuple[StateDict, int]:
    """Train the pruned ``state_dict`` to imitate ``teacher`` on fresh synthetic frames.

    Each step draws ``fresh_share * batch_size`` new frames from
    :func:`crepetool.training_frames.frames` (seeded), plus ``audio_share`` as many frames of
    the user's ``audio`` (Tensor [shape=(N, 1024)], normalised, unlabelled) when
    given, and replays the previous step's new frames: the teacher, 6x the
    student's cost at K=12, labels each frame once. The target is the teacher's
    360 probabilities, mixed with CREPE's Gaussian-blurred targets (weight
    ``known_weight``) on voiced synthetic frames; the loss is binary cross-entropy,
    as CREPE was trained. Adam with a cosine learning-rate decay. Batch norm keeps
    its (re-estimated) statistics: ``frozen_norm=False`` trains with batch
    statistics instead, which measured worse (the running statistics lag behind).

    ``time_budget`` (seconds) fits the run to a deadline: every :data:`PACE_STEPS` steps the
    cosine decay is re-aimed at the steps that the pace so far fits in the budget (at most
    ``steps``), so a short budget still ends annealed rather than cut off at a high learning
    rate; the steps done then depend on the machine, and ``refitted(steps)`` hears each new
    aim. ``conv`` is the convolution of student and teacher (:class:`crepetool.model.Crepe`; a
    teacher given as a model keeps its own). ``callback(step, loss, student)`` runs
    after each step. Returns the new state dict and the steps done. Deterministic
    for a given seed and step count on CPU.
    """
    from crepetool import training_frames
    from crepetool.model import load_model

    student = load_model(state_dict, device, conv)
    if not frozen_norm:
        student.train()
    teacher_model = load_model(teacher, device, None if isinstance(teacher, torch.nn.Module) else conv)
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(student.parameters(), lr=lr)
    total = steps  # the cosine's length; a time budget re-aims it at the pace measured
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    )
    started, done = time.perf_counter(), 0
    fresh = max(1, round(batch_size * fresh_share))
    replay: tuple[torch.Tensor, torch.Tensor] | None = None
    for step in range(steps):
        if step >= total:
            break
        frames, f0 = training_frames.frames(fresh, generator)
        known = training_frames.targets(f0).float()
        # known f0 sharpens voiced targets; unvoiced frames and recordings follow the teacher alone
        weight = (known_weight * (f0 > 0)).float()[:, None]
        if audio is not None and audio.size(0):
            extra = max(1, round(fresh * audio_share))
            picks = torch.randint(0, audio.size(0), (extra,), generator=generator)
            frames = torch.cat([frames, audio[picks]])
            known = torch.cat([known, torch.zeros(extra, known.size(1))])
            weight = torch.cat([weight, torch.zeros(extra, 1)])
        frames, known, weight = frames.to(device), known.to(device), weight.to(device)
        with torch.no_grad():
            target = weight * known + (1 - weight) * teacher_model(frames)
        if fresh < batch_size:
            # the teacher labels each frame once; the student sees it in two consecutive steps
            current = (frames, target)
            if replay is not None:
                frames, target = torch.cat([frames, replay[0]]), torch.cat([target, replay[1]])
            replay = current
        loss = F.binary_cross_entropy(student(frames), target)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        done = step + 1
        if callback is not None:
            callback(done, loss.item(), student)
        if time_budget is not None:
            elapsed = time.perf_counter() - started
            if elapsed > time_budget:
                break
            if done % PACE_STEPS == 0:
                total = fitted_steps(time_budget, elapsed, done, steps)
                if refitted is not None:
                    refitted(total)
    student.eval()
    return {k: v.detach().clone() for k, v in student.state_dict().items()}, done


ProgressFn = Callable[[int, int, float, float | None], None]


def audio_frames(folder: str | Path, max_frames: int = 20_000, hop: int = 160, seed: int = 0) -> torch.Tensor:
    """Normalised frames of every audio file under ``folder`` (any rate, resampled to 16 kHz).

    At most ``max_frames``, drawn evenly at random. Returns Tensor [shape=(N, 1024)].
    """
    from crepetool import audio as audio_io

    chunks = []
    for path in audio_io.find(folder):
        samples, rate = audio_io.load(path)
        audio16k = torch.from_numpy(audio_io.resample(samples, rate).astype(np.float32))
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
    from crepetool.evaluation.heldout import HeldOut

    if teacher.path is None:
        return HeldOut(model)
    key = (str(teacher.path.resolve()), teacher.path.stat().st_mtime_ns, str(device))
    if key not in _HELD_OUT:
        _HELD_OUT.clear()  # one teacher at a time
        _HELD_OUT[key] = HeldOut(model)
    return _HELD_OUT[key]


def recover(
    weights: Weights,
    method: str = "distill",
    *,
    teacher: str | Path | Weights = AUTO_TEACHER,
    steps: int | None = None,
    seed: int = 0,
    audio: str | Path | None = None,
    device: str | None = None,
    time_budget: float | None = None,
    progress: ProgressFn | None = None,
    measure: bool = True,
    calibrate: bool = True,
    calibration_count: int = 2048,
) -> Weights:
    """Recover pruned ``weights`` and record how, and how well, in the metadata.

    ``method``: ``distill`` (batch-norm re-estimation, then distillation from
    ``teacher``: ``"auto"`` picks :func:`default_teacher`), ``bn`` (re-estimation only) or ``none``. ``steps`` defaults to
    :func:`default_steps` of the capacity. With ``measure``, the
    student before and after and the teacher are scored on held-out signals
    (:class:`crepetool.evaluation.heldout.HeldOut`, computed once per teacher file); the table lands in
    ``metadata["recovery"]["evaluation"]``. ``calibrate=False`` skips the
    re-estimation (``finetune`` continues from trained statistics). ``time_budget`` (seconds)
    covers the whole recovery: distillation gets what the rest leaves (:func:`distill`).
    """
    from crepetool.model import load_model, resolve_device
    from crepetool.pruning import source_info
    from crepetool.weights import load

    if method not in RECOVERY_METHODS:
        raise ValueError(f"unknown recovery {method!r} (choose from {', '.join(RECOVERY_METHODS)})")
    if method == "none":
        return weights
    resolved = resolve_device(device)
    steps = default_steps(weights.capacity) if steps is None else steps
    pool = audio_frames(audio, seed=seed) if method == "distill" and audio is not None else None
    started = time.perf_counter()
    state_dict = weights.state_dict
    record: dict[str, Any] = {"method": method, "seed": seed}
    spec: object = teacher
    if isinstance(teacher, str) and teacher == AUTO_TEACHER:
        spec, teacher = default_teacher(weights)
        record["teacher_chosen_by"] = AUTO_TEACHER
    teacher_weights = teacher if isinstance(teacher, Weights) else load(teacher)
    teacher_model = load_model(teacher_weights, resolved)
    held_out = _held_out(teacher_weights, teacher_model, resolved) if measure else None
    scored = time.perf_counter()
    before = held_out.score(load_model(state_dict, resolved)) if held_out else None
    scoring = time.perf_counter() - scored  # the score after will take as long
    if time_budget is not None:
        record["time_budget"] = time_budget
    if calibrate:
        state_dict = recalibrate_batchnorm(state_dict, calibration_count, seed=seed)
        record["calibration_frames"] = calibration_count
    if method == "distill":
        aim = steps  # the steps a time budget fits, as distill refits them: the bar's total

        def refitted(total: int) -> None:
            nonlocal aim
            aim = total

        def step_done(step: int, loss: float, student: Crepe) -> None:
            if progress is None:
                return
            every = max(1, steps // 10)
            running = held_out.frame_accuracy(student) if held_out and step % every == 0 else None
            progress(step, aim, loss, running)

        # the budget covers the whole recovery: what came before and the score to come
        left = None if time_budget is None else time_budget - (time.perf_counter() - started) - scoring
        state_dict, done = distill(
            state_dict,
            teacher_model,
            steps,
            seed=seed,
            audio=pool,
            time_budget=left,
            callback=step_done,
            device=resolved,
            refitted=refitted,
        )
        teacher_info = source_info(spec, teacher_weights)
        record.update(
            steps=done,
            batch_size=DEFAULT_BATCH,
            learning_rate=DEFAULT_LR,
            known_weight=DEFAULT_KNOWN_WEIGHT,
            teacher={**teacher_info, "sha256": teacher_info.get("sha256")},
            audio_frames=0 if pool is None else int(pool.size(0)),
        )
    record["seconds"] = round(time.perf_counter() - started, 1)
    if held_out is not None:
        after = held_out.score(load_model(state_dict, resolved))
        record["evaluation"] = {"before": before, "after": after, "teacher": held_out.teacher_scores()}
    previous = weights.metadata.get("recovery")
    if isinstance(previous, dict) and previous.get("method") not in (None, "none"):
        record["previous"] = previous
    metadata = {**weights.metadata, "recovery": record}
    state_dict = {k: v.detach().cpu() for k, v in state_dict.items()}
    return Weights(state_dict, weights.capacity, metadata, None, weights.format)
