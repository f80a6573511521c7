"""16 kHz samples to network frames: the pipeline's one framer.

Frame ``i`` is the 1024 samples centred on sample ``i * hop``, with torchcrepe's 512 samples
of zero padding each side, so a recording of ``n`` samples gives ``1 + n // hop`` frames. The
framer hands them on as :class:`~crepetool.network.span.FrameSpan`: the samples their windows
cover, raw. Network input is each frame mean-centred and scaled to unit standard deviation, as
torchcrepe normalises (:func:`crepetool.network.span.normalise_frames`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from crepetool.names import PREDICT_BATCH
from crepetool.network.span import FrameSpan, normalise_frames, span_length
from crepetool.units import WINDOW_SIZE


def frame_count(samples: int, hop: int) -> int:
    """torchcrepe's frame count with padding: ``1 + samples // hop``."""
    return 1 + samples // hop


class Framer:
    """Raw frames every ``hop`` samples of a 16 kHz stream of ``total`` samples, across block edges.

    :meth:`push` returns the frames whose windows are complete, as a
    :class:`~crepetool.network.span.FrameSpan`; :meth:`finish` the rest. With ``group``, frames
    come in whole groups of that many counted from the first (the last group may be short), so
    that a network which computes a group at a time (:mod:`crepetool.network.shared`) sees the
    same groups however the samples arrive. There are :attr:`count` frames in all; for a live
    stream (``total`` None) the count is known at :meth:`finish`, from the samples pushed.
    """

    def __init__(self, total: int | None, hop: int, group: int = 1) -> None:
        self.hop, self.total, self.group = hop, total, group
        self.count = None if total is None else frame_count(total, hop)
        self.pushed = 0  # 16 kHz samples pushed so far
        self.next = 0  # index of the next frame to make
        self._buffer = np.zeros(WINDOW_SIZE // 2, dtype=np.float32)  # the left zero padding
        self._start = -WINDOW_SIZE // 2  # global index of _buffer[0]

    def push(self, samples: np.ndarray) -> FrameSpan:
        self.pushed += samples.size
        self._buffer = np.concatenate([self._buffer, samples.astype(np.float32, copy=False)])
        return self._frames(final=False)

    def finish(self) -> FrameSpan:
        if self.count is None:
            self.total = self.pushed
            self.count = frame_count(self.pushed, self.hop)
        self._buffer = np.concatenate([self._buffer, np.zeros(WINDOW_SIZE, dtype=np.float32)])
        return self._frames(final=True)

    def _frames(self, final: bool) -> FrameSpan:
        available = self._start + self._buffer.size  # global end of what is buffered
        complete = (available - WINDOW_SIZE // 2) // self.hop + 1  # frames whose window is in
        last = self.count if final else complete if self.count is None else min(self.count, complete)
        assert last is not None
        if last != self.count:  # whole groups only, until the last frame
            last = self.next + (last - self.next) // self.group * self.group
        if last <= self.next:
            return FrameSpan(torch.zeros(0), self.hop)
        first_sample = self.next * self.hop - WINDOW_SIZE // 2 - self._start
        samples = self._buffer[first_sample : first_sample + span_length(last - self.next, self.hop)]
        batch = FrameSpan(torch.from_numpy(samples.copy()), self.hop)
        self.next = last
        drop = self.next * self.hop - WINDOW_SIZE // 2 - self._start
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._start += drop
        return batch


def frames(
    audio16k: torch.Tensor | np.ndarray, hop: int, batch_size: int = PREDICT_BATCH, normalise: bool = True
) -> Iterator[torch.Tensor]:
    """A whole 16 kHz recording's frames through :class:`Framer`, ``batch_size`` at a time.

    Arguments
        audio16k (Tensor or ndarray [shape=(time,)]) at 16 kHz
    Yields
        frames (Tensor [shape=(batch, 1024)]), normalised unless ``normalise=False``
    """
    samples = audio16k.detach().cpu().numpy() if isinstance(audio16k, torch.Tensor) else np.asarray(audio16k)
    framer = Framer(samples.size, hop)
    made = torch.cat([framer.push(samples).windows(), framer.finish().windows()])
    for batch in made.split(batch_size):
        yield normalise_frames(batch.clone()) if normalise else batch
