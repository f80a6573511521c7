"""Training the context stage (:class:`crepetool.network.context.ContextStage`) on real takes.

A pair is one recording twice: the teacher's probabilities on the clean take (the label) and a
student network's probabilities on the same take degraded as a whole (a room ringing for its
whole tail, a band, noise, a codec), frame for frame. The stage learns to give the clean take's
probabilities from the degraded take's. Frames where the teacher is unsure (its peak under
:data:`SURE`) weigh :data:`UNSURE_WEIGHT` in the loss.

    pairs -> windows of :data:`WINDOW` frames (+ REACH each side, the take's ends repeated)
      -> binary cross-entropy against the clean probabilities, per frame weighted -> Adam

``benchmarks/context.py`` builds the pairs from public recordings and writes the stage the
package ships.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import torch

from crepetool.network.context import HOP, REACH, ContextStage
from crepetool.prediction.recording import probabilities

#: A teacher's peak probability from which its label counts in full.
SURE = 0.5
#: Weight of a frame whose teacher is unsure (its label still says "no clear pitch here").
UNSURE_WEIGHT = 0.2
#: Frames a training window decides (REACH more each side are read).
WINDOW = 64


@dataclasses.dataclass
class Pair:
    """A take: ``degraded`` (Tensor [shape=(frames, 360)]), a student's probabilities on it
    degraded, and ``clean`` (Tensor [shape=(frames, 360)]), the teacher's on the clean take."""

    degraded: torch.Tensor
    clean: torch.Tensor

    def __post_init__(self) -> None:
        if self.degraded.shape != self.clean.shape:
            raise ValueError(f"a pair's frames differ: {tuple(self.degraded.shape)} and {tuple(self.clean.shape)}")

    @property
    def weight(self) -> torch.Tensor:
        """Tensor [shape=(frames,)]: 1 where the teacher is sure, :data:`UNSURE_WEIGHT` elsewhere."""
        sure = self.clean.float().max(dim=1).values >= SURE
        return torch.where(sure, 1.0, UNSURE_WEIGHT)


def pair_of(
    teacher: torch.nn.Module, student: torch.nn.Module, clean: np.ndarray, degraded: np.ndarray, hop: int = HOP
) -> Pair:
    """One take as a pair: ``teacher``'s probabilities on the ``clean`` take (16 kHz samples) as the
    label of each frame, ``student``'s on the ``degraded`` take, the same length, frame for frame."""
    if clean.shape != degraded.shape:
        raise ValueError(f"a take and its degraded copy differ in length: {clean.shape} and {degraded.shape}")
    return Pair(probabilities(student, degraded, hop), probabilities(teacher, clean, hop))


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Steps, windows per step, learning rate (dropped to a quarter for the last 30% of steps)."""

    steps: int = 1500
    batch: int = 16
    lr: float = 2e-3


def padded(rows: torch.Tensor) -> torch.Tensor:
    """``rows`` [frames, 360] with REACH copies of the first and last frame at the ends."""
    return torch.cat([rows[:1].expand(REACH, -1), rows, rows[-1:].expand(REACH, -1)])


def draw(pairs: Sequence[Pair], count: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """``count`` windows drawn at random from ``pairs``: inputs [count, WINDOW + 2 REACH, 360],
    labels [count, WINDOW, 360] and weights [count, WINDOW] (short takes are padded and the
    padding weighs 0)."""
    inputs, labels, weights = [], [], []
    for index in torch.randint(len(pairs), (count,), generator=generator).tolist():
        pair = pairs[index]
        frames = pair.clean.size(0)
        start = int(torch.randint(max(1, frames - WINDOW + 1), (1,), generator=generator))
        stop = min(frames, start + WINDOW)
        short = WINDOW - (stop - start)
        source = padded(pair.degraded.float())[start : stop + 2 * REACH]
        inputs.append(torch.cat([source, source[-1:].expand(short, -1)]))
        labels.append(torch.cat([pair.clean[start:stop].float(), pair.clean.new_zeros(short, pair.clean.size(1))]))
        weights.append(torch.cat([pair.weight[start:stop], torch.zeros(short)]))
    return torch.stack(inputs), torch.stack(labels), torch.stack(weights)


def loss(stage: ContextStage, inputs: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the stage's probabilities against the labels, frames weighted."""
    out = stage(inputs).clamp(1e-6, 1 - 1e-6)
    per_frame = torch.nn.functional.binary_cross_entropy(out, labels, reduction="none").mean(dim=2)
    return (per_frame * weights).sum() / weights.sum().clamp_min(1e-6)


def train(
    pairs: Sequence[Pair],
    schedule: Schedule = Schedule(),
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> ContextStage:
    """A context stage trained on ``pairs``; ``progress`` is called with (step, loss)."""
    if not pairs:
        raise ValueError("no pairs to train the context stage on")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    stage = ContextStage()
    optimiser = torch.optim.Adam(stage.parameters(), lr=schedule.lr)
    for step in range(schedule.steps):
        if step == int(0.7 * schedule.steps):
            for group in optimiser.param_groups:
                group["lr"] = schedule.lr / 4
        value = loss(stage, *draw(pairs, schedule.batch, generator))
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
        if progress is not None:
            progress(step, float(value.detach()))
    return stage.eval()
