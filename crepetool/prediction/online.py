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

from crepetool.errors import check_choice
from crepetool.prediction.decode import (
    DECODERS,
    ViterbiStep,
    bin_range,
    decode,
    local_average,
    trace_back,
    traced,
)

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
        for t, states in traced(self._pointers, np.arange(self.states)):
            if (states == states[0]).all():
                # frame t (buffer index t) is at state states[0] on every path: decide 0..t
                return self._emit(t, int(states[0]))
        return _empty()

    def _emit(self, last: int, state: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Decide buffer frames 0..last, the frame ``last`` being at ``state``."""
        path = trace_back(self._pointers[:last], state)
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
        # the best path's state at buffer frame count - 1, traced back from the newest frame
        state = int(trace_back(self._pointers[count - 1 :], int(self._score.argmax()))[0])
        return self._emit(count - 1, state)


class PerFrameDecoder:
    """A decoder whose :attr:`Decoder.online` is ``"frame"``: each pushed frame decided at once."""

    def __init__(self, fmin: float, fmax: float, decoder: str) -> None:
        self.fmin, self.fmax, self.decoder = fmin, fmax, decoder

    def push(self, probabilities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not probabilities.numel():
            return _empty()
        return decode(probabilities, self.fmin, self.fmax, self.decoder)

    def finish(self) -> tuple[torch.Tensor, torch.Tensor]:
        return _empty()


class WholeRecordingDecoder:
    """A decoder whose :attr:`Decoder.online` is ``"whole"``: every frame decided at :meth:`finish`."""

    def __init__(self, fmin: float, fmax: float, decoder: str) -> None:
        self.fmin, self.fmax, self.decoder = fmin, fmax, decoder
        self._held: list[torch.Tensor] = []

    def push(self, probabilities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._held.append(probabilities)
        return _empty()

    def finish(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self._held:
            return _empty()
        return decode(torch.cat(self._held), self.fmin, self.fmax, self.decoder)


OnlineDecoder = OnlineViterbi | PerFrameDecoder | WholeRecordingDecoder


def decoder_for(fmin: float, fmax: float, decoder: str, check_every: int = CHECK_EVERY) -> OnlineDecoder:
    """The online form of ``decoder``, as its :data:`~crepetool.prediction.decode.DECODERS` entry
    declares; ``check_every``: frames between the Viterbi's attempts to decide."""
    check_choice("decoder", decoder, DECODERS, "--decoder")
    online = DECODERS[decoder].online
    if online == "path":
        return OnlineViterbi(fmin, fmax, check_every)
    return PerFrameDecoder(fmin, fmax, decoder) if online == "frame" else WholeRecordingDecoder(fmin, fmax, decoder)


def _empty() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.zeros(0), torch.zeros(0)
