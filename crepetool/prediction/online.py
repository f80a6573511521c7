"""Decoders that decide frames as probabilities arrive, for the pipeline.

:class:`OnlineViterbi` is crepetool's Viterbi (:func:`crepetool.prediction.decode.viterbi`) decided
online. Back-pointers are kept only for frames not yet decided; every :data:`CHECK_EVERY`
frames all states' paths are traced back together, and the frames before the point where
they all meet are final: every path that can still win passes there, so the whole-recording
decoder would choose the same. The probabilities of undecided frames are kept too (for
CREPE's local average and the periodicity). Working memory is the undecided stretch, a few
dozen frames in voiced audio; it does not grow with the length of the recording.
"""

from __future__ import annotations

import numpy as np
import torch

from crepetool.names import PER_FRAME_DECODERS, VITERBI
from crepetool.prediction.decode import REACH, ViterbiStep, bin_range, decode, local_average

#: Frames between attempts to decide the online Viterbi's undecided stretch.
CHECK_EVERY = 32


class OnlineViterbi:
    """crepetool's Viterbi (:func:`crepetool.prediction.decode.viterbi`), deciding frames as soon as
    every surviving path agrees on them.

    :meth:`push` takes probabilities (Tensor [shape=(n, 360)]) and returns the pitch (Hz)
    and periodicity of the frames now decided, in order (Tensors [shape=(m,)]);
    :meth:`finish` decides the rest. Concatenated, they equal ``decode(all, fmin, fmax)``.
    """

    def __init__(self, fmin: float, fmax: float, check_every: int = CHECK_EVERY) -> None:
        self.lo, self.hi = bin_range(fmin, fmax)
        self.states = self.hi - self.lo
        self.check_every = check_every
        self._step = ViterbiStep(self.states)
        self._score: np.ndarray | None = None
        self._pointers: list[np.ndarray] = []  # one int8 row per undecided frame after the first
        self._probabilities: list[torch.Tensor] = []  # rows of undecided frames
        self._since_check = 0
        self.peak_undecided = 0  # the most frames ever held (working memory, for tests)

    def push(self, probabilities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emissions = probabilities[:, self.lo : self.hi].double().cpu().numpy()
        for t in range(emissions.shape[0]):
            if self._score is None:
                self._score = emissions[t].copy()
            else:
                self._score, best = self._step(self._score, emissions[t])
                self._pointers.append(best.astype(np.int8))
        self._probabilities.extend(probabilities.cpu().unbind(0))
        self.peak_undecided = max(self.peak_undecided, len(self._probabilities))
        self._since_check += probabilities.size(0)
        if self._since_check < self.check_every:
            return _empty()
        self._since_check = 0
        return self._decide()

    def _decide(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Trace every state's path back; the frames before they all meet are final."""
        current = np.arange(self.states)
        for t in range(len(self._pointers) - 1, -1, -1):
            current = current + self._pointers[t][current].astype(np.int64) - REACH
            if (current == current[0]).all():
                # frame t (buffer index t) is at state current[0] on every path: decide 0..t
                return self._emit(t, int(current[0]))
        return _empty()

    def _emit(self, last: int, state: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Decide buffer frames 0..last, the frame ``last`` being at ``state``."""
        path = np.empty(last + 1, dtype=np.int64)
        path[last] = state
        for t in range(last, 0, -1):
            path[t - 1] = path[t] + int(self._pointers[t - 1][path[t]]) - REACH
        rows = torch.stack(self._probabilities[: last + 1])
        del self._probabilities[: last + 1]
        del self._pointers[: last + 1]
        bins = torch.from_numpy(path + self.lo)
        pitch = local_average(rows, bins, self.lo, self.hi, squash=False)
        return pitch, rows.gather(1, bins[:, None]).squeeze(1)

    def finish(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._score is None or not self._probabilities:
            return _empty()
        return self._emit(len(self._probabilities) - 1, int(self._score.argmax()))

    @property
    def undecided(self) -> int:
        """Frames pushed and not yet decided."""
        return len(self._probabilities)

    def force(self, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Decide the oldest ``count`` undecided frames now, on the best path so far (the one
        ending at the most probable state of the newest frame): for a latency bound. Frames
        decided this way may differ from the whole-recording path; later frames are decided as
        before, so the path may step more than the transitions allow where they meet."""
        count = min(count, len(self._probabilities))
        if count <= 0 or self._score is None:
            return _empty()
        state = int(self._score.argmax())
        for t in range(len(self._pointers) - 1, count - 2, -1):  # back to buffer frame count - 1
            state = state + int(self._pointers[t][state]) - REACH
        return self._emit(count - 1, state)


class FrameDecoder:
    """Per-frame decoders (argmax, weighted-argmax) need no look-ahead; the rest of the
    decoders (``viterbi-torchcrepe``) see the whole recording at :meth:`finish`."""

    def __init__(self, fmin: float, fmax: float, decoder: str) -> None:
        self.fmin, self.fmax, self.decoder = fmin, fmax, decoder
        self._held: list[torch.Tensor] = []

    def push(self, probabilities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.decoder in PER_FRAME_DECODERS:
            return (
                decode(probabilities, self.fmin, self.fmax, self.decoder)
                if probabilities.numel()
                else _empty()
            )
        self._held.append(probabilities)
        return _empty()

    def finish(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self._held:
            return _empty()
        return decode(torch.cat(self._held), self.fmin, self.fmax, self.decoder)


def decoder_for(
    fmin: float, fmax: float, decoder: str, check_every: int = CHECK_EVERY
) -> OnlineViterbi | FrameDecoder:
    """The online decoder of ``decoder``; ``check_every``: frames between the Viterbi's attempts."""
    if decoder == VITERBI:
        return OnlineViterbi(fmin, fmax, check_every)
    return FrameDecoder(fmin, fmax, decoder)


def _empty() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.zeros(0), torch.zeros(0)
