"""The context stage (:class:`crepetool.network.context.ContextStage`) on probabilities as they arrive.

:class:`ContextFilter` sits between the network and the decoder. A frame leaves once the
:data:`~crepetool.network.context.REACH` frames after it have arrived; the recording's first and
last frames stand in for the context beyond its ends. Frames are computed in runs of
:data:`RUN` (the last run padded to it), so a frame's bytes do not depend on how the network
batched the recording, on the Ray engine or on a stream's blocks. A live stream with a latency
bound calls :meth:`ContextFilter.force`: the frames due now are computed with the look-ahead
they have, the frames not yet seen standing in as the recording's end does.
"""

from __future__ import annotations

import torch

from crepetool.network.context import ContextStage
from crepetool.units import PITCH_BINS

#: Frames the stage computes at a time.
RUN = 64


class ContextFilter:
    """Probabilities in, probabilities of the same frames out, :attr:`reach` frames later.

    :meth:`push` takes Tensor [shape=(n, 360)] and returns the frames now final ([m, 360], in
    order); :meth:`finish` returns the rest. Concatenated, they are the same bytes however the
    frames were pushed, and the stage over the whole recording with its ends repeated within
    float rounding.
    """

    def __init__(self, stage: ContextStage) -> None:
        self.stage = stage
        self.reach = stage.reach
        self._rows: torch.Tensor | None = None  # context kept: the frames from index _first on
        self._first = 0  # index of the first kept frame
        self._done = 0  # frames returned
        self._count = 0  # frames pushed

    @property
    def done(self) -> int:
        """Frames returned so far."""
        return self._done

    @property
    def pending(self) -> int:
        """Frames pushed and not yet returned."""
        return self._count - self._done

    def push(self, probabilities: torch.Tensor) -> torch.Tensor:
        rows = probabilities.float()
        self._count += rows.size(0)
        if self._rows is None:
            if not rows.size(0):
                return _none()
            rows = torch.cat([rows[:1].expand(self.reach, -1), rows])  # the first frame before the start
            self._first = -self.reach
        else:
            rows = torch.cat([self._rows, rows])
        self._rows = rows
        out = []
        while self._end() - self._done >= RUN + self.reach:
            out.append(self._compute(RUN, RUN))
        return torch.cat(out) if out else _none()

    def finish(self) -> torch.Tensor:
        """The frames left, the last frame standing in for what comes after it."""
        out = []
        while self.pending:
            out.append(self._compute(min(RUN, self.pending), RUN))
        return torch.cat(out) if out else _none()

    def force(self, count: int) -> torch.Tensor:
        """The oldest ``count`` pending frames now, each with the look-ahead that has arrived,
        the newest frame standing in for the rest (for a latency bound): not the bytes
        :meth:`push` would give them later."""
        count = min(count, self.pending)
        return self._compute(count, count) if count > 0 else _none()

    def _end(self) -> int:
        """Index after the last frame held."""
        assert self._rows is not None
        return self._first + self._rows.size(0)

    def _compute(self, count: int, width: int) -> torch.Tensor:
        """The next ``count`` frames, computed as ``width`` frames with their context; rows not
        held yet are the newest frame repeated."""
        assert self._rows is not None
        start = self._done - self.reach - self._first  # row of the next frame's earliest context
        window = self._rows[start : start + width + 2 * self.reach]
        short = width + 2 * self.reach - window.size(0)
        if short > 0:
            window = torch.cat([window, window[-1:].expand(short, -1)])
        with torch.no_grad():
            out = self.stage(window[None])[0]
        self._done += count
        self._trim()
        return out[:count]

    def _trim(self) -> None:
        """Drop the rows that no frame still to come reads."""
        assert self._rows is not None
        drop = self._done - self.reach - self._first
        if drop > 0:
            self._rows = self._rows[drop:]
            self._first += drop


def _none() -> torch.Tensor:
    return torch.zeros(0, PITCH_BINS)
