"""Distillation: the cut network trained to imitate a teacher on fresh synthetic frames with known
f0 (:mod:`crepetool.training.frames`) and on the user's own recordings, if any (minutes)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from crepetool.network.loading import load_model
from crepetool.network.model import Crepe
from crepetool.network.weights import StateDict, Weights
from crepetool.training import frames as training_frames
from crepetool.training.recovery import conv1 as inherited_conv1
from crepetool.training.recovery.options import RecoveryOptions, default_steps

#: Under a time budget, :func:`distill` re-fits its schedule to the pace every this many steps.
PACE_STEPS = 10


def fitted_steps(budget: float, elapsed: float, done: int, steps: int) -> int:
    """Steps that fit in ``budget`` seconds at the pace of ``done`` steps in ``elapsed``, at
    most ``steps`` and at least one more than done."""
    return max(done + 1, min(steps, int(budget * done / max(elapsed, 1e-9))))


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
    options: RecoveryOptions | None = None,
    *,
    audio: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = None,
    device: torch.device | str = "cpu",
    callback: Callable[[int, float, Crepe], None] | None = None,
    refitted: Callable[[int], None] | None = None,
    **changes: Any,
) -> tuple[StateDict, int]:
    """Train the pruned ``state_dict`` to imitate ``teacher`` on fresh synthetic frames.

    ``options`` (:class:`RecoveryOptions`, keyword ``changes`` on top: ``distill(sd, t, steps=3)``).
    Each step draws ``fresh_share * batch_size`` new frames from
    :func:`crepetool.training.frames.frames` (seeded), plus ``audio_share`` as many frames of
    the user's ``audio`` when given: normalised frames, Tensor [shape=(N, 1024)], or a pair
    ``(degraded, clean)`` of them (:func:`crepetool.training.recovery.recordings.audio_pairs`:
    the student sees row i of ``degraded``, the teacher labels row i of ``clean``), and
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
    options = (options or RecoveryOptions()).replace(**changes)
    student = load_model(state_dict, device, options.conv)
    steps = default_steps(student.capacity) if options.steps is None else options.steps
    if not options.frozen_norm:
        student.train()
    for name in options.frozen:
        for parameter in getattr(student, name).parameters():
            parameter.requires_grad_(False)
    teacher_model = load_model(
        teacher, device, None if isinstance(teacher, torch.nn.Module) else options.conv
    )
    # a frozen conv1's output is a fixed function of the frame: computed once per frame (the
    # replay reuses it) or taken from the teacher's own conv1 where the student's is a cut of it
    conv1 = inherited_conv1.InheritedConv1(student, teacher_model) if "conv1" in options.frozen else None
    labeller = _Labeller(teacher_model, options, audio, device, conv1)
    trained = [parameter for parameter in student.parameters() if parameter.requires_grad]
    optimiser = torch.optim.Adam(trained, lr=options.lr)
    schedule = _Schedule(optimiser, steps, options.time_budget)
    fresh = max(1, round(options.batch_size * options.fresh_share))
    replay: tuple[torch.Tensor, torch.Tensor] | None = None
    done = 0
    while done < steps:
        inputs, target = labeller(fresh)
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


class _Labeller:
    """A step's new frames and their targets, drawn from one seeded stream: the synthetic frames,
    the user's ``audio`` (a pair of Tensors [shape=(N, 1024)], degraded and clean, or None) and the teacher's labels, on
    ``device``; with a frozen conv1 (``conv1``), the student's conv1 output instead of frames."""

    def __init__(
        self,
        teacher: Crepe,
        options: RecoveryOptions,
        audio: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None,
        device: torch.device | str,
        conv1: inherited_conv1.InheritedConv1 | None,
    ) -> None:
        if isinstance(audio, torch.Tensor):
            audio = (audio, audio)  # the same frames labelled as seen
        self.teacher, self.options, self.audio, self.device, self.conv1 = teacher, options, audio, device, conv1
        self.generator = torch.Generator().manual_seed(options.seed)

    def __call__(self, fresh: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``fresh`` new frames (and a share of the user's): inputs [n, 1024] or conv1's output
        of them, and targets [n, 360]."""
        options, generator = self.options, self.generator
        frames, f0 = training_frames.frames(fresh, generator, bleed_share=options.bleed_share)
        known = training_frames.targets(f0).float()
        # known f0 sharpens voiced targets; unvoiced frames and recordings follow the teacher alone
        weight = (options.known_weight * (f0 > 0)).float()[:, None]
        labelled = frames  # what the teacher labels: the student's frames, or their clean takes
        if self.audio is not None and self.audio[0].size(0):
            extra = max(1, round(fresh * options.audio_share))
            picks = torch.randint(0, self.audio[0].size(0), (extra,), generator=generator)
            labelled = torch.cat([frames, self.audio[1][picks]])
            frames = torch.cat([frames, self.audio[0][picks]])
            known = torch.cat([known, torch.zeros(extra, known.size(1))])
            weight = torch.cat([weight, torch.zeros(extra, 1)])
        frames, labelled = frames.to(self.device), labelled.to(self.device)
        known, weight = known.to(self.device), weight.to(self.device)
        with torch.no_grad():
            taught = self.teacher.conv1_output(labelled)
            target = weight * known + (1 - weight) * self.teacher.from_conv1(taught)
            if self.conv1 is not None and labelled is not frames:
                taught = self.teacher.conv1_output(frames)  # the frozen conv1 reads what the student sees
            inputs = frames if self.conv1 is None else self.conv1(frames, taught)
        return inputs, target
