"""Frames as the samples their windows cover: the network's input where frames overlap.

``count`` frames ``hop`` samples apart cover ``(count - 1) * hop + 1024`` samples; at a 10 ms hop a
frame shares 864 of its 1,024 samples with the next. Handed over as that stretch of samples, the
frames cost 6.4 times less to move (to a Ray worker, say), and the network can run conv1 once over
the stretch instead of once per frame (:mod:`crepetool.network.shared`). Frame ``i`` is
``samples[i * hop : i * hop + 1024]``, raw: the network normalises each frame itself
(:func:`normalise_frames`), as torchcrepe does.
"""

from __future__ import annotations

import dataclasses

import torch

from crepetool.units import WINDOW_SIZE


def normalise_frames(batch: torch.Tensor) -> torch.Tensor:
    """Mean-centred, unit standard deviation, in place, as torchcrepe does: Tensor [shape=(n, 1024)]."""
    return normalised_with_statistics(batch)[0]


def normalised_with_statistics(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`normalise_frames` (in place), and each frame's mean and standard deviation (at least
    1e-10): (Tensor [shape=(n, 1024)], Tensor [shape=(n,)], Tensor [shape=(n,)])."""
    mean = batch.mean(dim=1, keepdim=True)
    batch -= mean
    deviation = torch.clamp(batch.std(dim=1, keepdim=True), min=1e-10)
    batch /= deviation
    return batch, mean[:, 0], deviation[:, 0]


def span_length(count: int, hop: int) -> int:
    """Samples that ``count`` frames ``hop`` apart cover (0 for no frame)."""
    return (count - 1) * hop + WINDOW_SIZE if count > 0 else 0


@dataclasses.dataclass(frozen=True)
class FrameSpan:
    """Frames ``hop`` samples apart as the raw 16 kHz samples their windows cover.

    Arguments
        samples (Tensor [shape=(span_length(count, hop),)]), float32
        hop (int): samples between frames
    """

    samples: torch.Tensor
    hop: int

    def __post_init__(self) -> None:
        if self.hop < 1:
            raise ValueError(f"a hop must be at least one sample, not {self.hop}")
        if span_length(self.count, self.hop) != self.samples.numel():
            raise ValueError(f"{self.samples.numel()} samples are not whole frames {self.hop} apart")

    @property
    def count(self) -> int:
        """Frames in the span."""
        size = self.samples.numel()
        return 0 if size < WINDOW_SIZE else (size - WINDOW_SIZE) // self.hop + 1

    def windows(self) -> torch.Tensor:
        """The raw frames, a view: Tensor [shape=(count, 1024)]."""
        if not self.count:
            return self.samples.new_zeros(0, WINDOW_SIZE)
        return self.samples.unfold(0, WINDOW_SIZE, self.hop)

    def frames(self) -> torch.Tensor:
        """The network's per-frame input, normalised: Tensor [shape=(count, 1024)], a new tensor."""
        return normalise_frames(self.windows().clone())

    def split(self, size: int) -> list[FrameSpan]:
        """Spans of ``size`` frames (the last may be shorter), in order."""
        return [self.slice(first, min(first + size, self.count)) for first in range(0, self.count, size)]

    def slice(self, first: int, last: int) -> FrameSpan:
        """Frames ``first`` to ``last - 1``."""
        start = first * self.hop
        return FrameSpan(self.samples[start : start + span_length(last - first, self.hop)], self.hop)

    def to(self, device: str | torch.device) -> FrameSpan:
        return FrameSpan(self.samples.to(device), self.hop)
