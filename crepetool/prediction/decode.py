"""From 360 pitch-bin probabilities to pitch: argmax, weighted argmax, Viterbi.

Bins are 20 cents apart; bin ``b`` is at ``20 * b + 1997.379...`` cents above 10 Hz
(CREPE's convention). Every decoder takes probabilities of one recording,
``Tensor [shape=(frames, 360)]`` (the network's sigmoid outputs), and the bin
range ``[lo, hi)`` allowed by fmin/fmax, and returns
``(bins LongTensor [frames], pitch Tensor [frames] in Hz)``. Nothing here is
random: torchcrepe dithers bin centres with numpy's global RNG; crepetool does not.

``viterbi`` is crepetool's own. torchcrepe's transition matrix
``max(12 - |i - j|, 0)`` is normalised row by row, so the edge bins keep more
probability for staying put; with the weak contrast of softmaxed sigmoid
outputs the top bin (~2 kHz) becomes absorbing once fmax reaches it (torchcrepe's
default fmax 2006 Hz included). Here every row is divided by the same interior
normaliser (144), the states are limited to [fmin, fmax], and the recurrence is
banded: each state looks at its 23 reachable predecessors, not 360.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import numpy as np
import torch

from crepetool.errors import UserInputError, check_choice
from crepetool.names import (
    ARGMAX,
    DEFAULT_DECODER,
    DEFAULT_FMAX,
    DEFAULT_FMIN,
    TORCHCREPE_VITERBI,
    VITERBI,
    WEIGHTED_ARGMAX,
)
from crepetool.units import (
    PITCH_BINS,
    bins_to_cents,
    cents_to_frequency,
    frequency_to_bins,
)

#: Transition weight max(12 - |d|, 0) reaches 11 bins each way.
REACH = 11
#: CREPE's weighted argmax averages the argmax bin and 4 bins each side.
WINDOW = 4

Decoded = tuple[torch.Tensor, torch.Tensor]


def bin_range(fmin: float, fmax: float) -> tuple[int, int]:
    """Allowed bins ``[lo, hi)`` for ``fmin``..``fmax``, computed as torchcrepe does."""
    lo = math.floor(float(frequency_to_bins(torch.tensor(fmin, dtype=torch.float64))))
    hi = math.ceil(float(frequency_to_bins(torch.tensor(fmax, dtype=torch.float64))))
    lo, hi = max(lo, 0), min(hi, PITCH_BINS)
    if hi <= lo:
        raise ValueError(f"no pitch bin between fmin {fmin} Hz and fmax {fmax} Hz")
    return lo, hi


def check_torchcrepe_viterbi(fmin: float, fmax: float) -> None:
    """Refuse a range where torchcrepe's Viterbi goes wrong (UserInputError, exit 2).

    Its transition rows are normalised after the band of :data:`REACH` bins is cut off at the
    ends of the 360 bins, so a bin within :data:`REACH` of an end is cheaper to stay in than
    any other. Where ``fmax`` lets such a bin in (above 1,786 Hz, so the default 2,006 Hz), a
    weakly voiced stretch pulls the whole path there: every frame 2,005 Hz. ``fmin`` likewise
    below 36 Hz. Inside those bounds its output is torchcrepe's own.
    """
    lo, hi = bin_range(fmin, fmax)
    if lo >= REACH and hi <= PITCH_BINS - REACH:
        return
    low = float(cents_to_frequency(bins_to_cents(REACH)))
    high = float(cents_to_frequency(bins_to_cents(PITCH_BINS - REACH)))
    raise UserInputError(
        f"--decoder {TORCHCREPE_VITERBI}: torchcrepe's Viterbi sticks to the end of its pitch bins "
        f"outside {math.ceil(low * 10) / 10} to {math.floor(high)} Hz (--fmin {fmin:g}, --fmax {fmax:g}); "
        f"give a range inside it, or use --decoder viterbi"
    )


def _masked(probabilities: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    masked = probabilities.clone()
    masked[:, :lo] = -math.inf
    masked[:, hi:] = -math.inf
    return masked


def local_average(
    probabilities: torch.Tensor, bins: torch.Tensor, lo: int, hi: int, squash: bool
) -> torch.Tensor:
    """Pitch in Hz from the weighted average of bins ``b-4..b+4`` (inside [lo, hi)).

    ``squash`` weighs by ``sigmoid(probability)``, as torchcrepe's weighted_argmax does
    (it applies a second sigmoid); otherwise by the probability, as CREPE does.
    """
    offsets = torch.arange(-WINDOW, WINDOW + 1, device=bins.device)
    window = bins[:, None] + offsets  # shape=(frames, 9)
    inside = (window >= lo) & (window < hi)
    weights = probabilities.gather(1, window.clamp(0, PITCH_BINS - 1)).double()
    if squash:
        weights = torch.sigmoid(weights)
    weights = torch.where(inside, weights, torch.zeros_like(weights))
    cents = (weights * bins_to_cents(window)).sum(1) / weights.sum(1).clamp_min(1e-30)
    return cents_to_frequency(cents).float()


def argmax(probabilities: torch.Tensor, lo: int, hi: int) -> Decoded:
    """The most probable allowed bin, at its centre frequency."""
    bins = _masked(probabilities, lo, hi).argmax(dim=1)
    return bins, cents_to_frequency(bins_to_cents(bins)).float()


def weighted_argmax(probabilities: torch.Tensor, lo: int, hi: int) -> Decoded:
    """torchcrepe's weighted argmax (its second sigmoid included), without its dither."""
    bins = _masked(probabilities, lo, hi).argmax(dim=1)
    return bins, local_average(probabilities, bins, lo, hi, squash=True)


def viterbi(probabilities: torch.Tensor, lo: int, hi: int) -> Decoded:
    """crepetool's Viterbi path over bins [lo, hi), refined by CREPE's local average."""
    emissions = probabilities[:, lo:hi].double().cpu().numpy()
    bins = torch.from_numpy(viterbi_path(emissions) + lo).to(probabilities.device)
    return bins, local_average(probabilities, bins, lo, hi, squash=False)


class ViterbiStep:
    """One frame of the banded recurrence over ``states`` states, shared by the whole-recording
    decoder and the online one (:class:`crepetool.prediction.online.OnlineViterbi`)."""

    def __init__(self, states: int) -> None:
        offsets = np.arange(-REACH, REACH + 1)
        self.states = states
        self.log_transition = np.log((REACH + 1 - np.abs(offsets)) / 144.0)[:, None]  # shape=(23, 1)
        self.padded = np.full(states + 2 * REACH, -np.inf)
        # windows[r, j] = padded[j + r]: a view, made once (making it took half of each step)
        self.windows = np.lib.stride_tricks.sliding_window_view(self.padded, states)
        self.candidates = np.empty((2 * REACH + 1, states))
        self.columns = np.arange(states)

    def __call__(self, score: np.ndarray, emission: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The next scores and each state's best predecessor offset (0..22), ndarrays [shape=(states,)]."""
        self.padded[REACH : REACH + self.states] = score
        # candidates[r, j]: arriving at j from predecessor j + r - REACH
        candidates = np.add(self.windows, self.log_transition, out=self.candidates)
        best = candidates.argmax(axis=0)
        return candidates[best, self.columns] + emission, best


def viterbi_path(log_emissions: np.ndarray) -> np.ndarray:
    """Most likely state sequence under the band transition ``max(12 - |d|, 0) / 144``.

    Arguments
        log_emissions (ndarray [shape=(frames, states)])
            Log emission scores. The network's probabilities serve directly: the log
            of their softmax differs from them by a per-frame constant.

    Returns
        path (ndarray [shape=(frames,)], int64)

    Ties go to the lower predecessor and the lower final state, as librosa's do.
    """
    frames, states = log_emissions.shape
    step = ViterbiStep(states)
    pointers = np.empty((frames, states), dtype=np.int8)
    score = log_emissions[0].copy()
    for t in range(1, frames):
        score, pointers[t] = step(score, log_emissions[t])
    return trace_back(pointers[1:], int(score.argmax()))


def traced(pointers: Sequence[np.ndarray], states: Any) -> Iterator[tuple[int, Any]]:
    """Walk paths back from their last frame: the one back-trace of every Viterbi here.

    ``pointers[t]`` holds each state's best predecessor offset (0..22) in frame ``t + 1``;
    ``states`` is the state of the last frame (``len(pointers)``) of one path (an int) or of many
    (an int ndarray). Yields ``(t, states at frame t)`` for ``t`` from ``len(pointers) - 1`` down
    to 0.
    """
    for t in range(len(pointers) - 1, -1, -1):
        row = pointers[t]
        # many paths: one gather; one path: a Python int (a numpy scalar costs ~6x more a step)
        offset = row[states].astype(np.int64) if isinstance(states, np.ndarray) else int(row[states])
        states = states + offset - REACH
        yield t, states


def trace_back(pointers: Sequence[np.ndarray], state: int) -> np.ndarray:
    """The states of frames ``0..len(pointers)`` on the path ending at ``state`` (see :func:`traced`),
    ndarray [shape=(len(pointers) + 1,)], int64."""
    path = np.empty(len(pointers) + 1, dtype=np.int64)
    path[-1] = state
    for t, previous in traced(pointers, state):
        path[t] = previous
    return path


def viterbi_torchcrepe(probabilities: torch.Tensor, lo: int, hi: int) -> Decoded:
    """torchcrepe's own Viterbi (row-normalised transitions, librosa), without dither.

    Kept for exact reproduction of torchcrepe; :func:`check_torchcrepe_viterbi` refuses the
    ranges where it is wrong (the default fmax among them).
    """
    import librosa

    xx, yy = np.meshgrid(range(PITCH_BINS), range(PITCH_BINS))
    transition = np.maximum(12 - abs(xx - yy), 0)
    transition = transition / transition.sum(axis=1, keepdims=True)
    emissions = torch.softmax(_masked(probabilities, lo, hi), dim=1).T.cpu().numpy()
    bins = torch.from_numpy(librosa.sequence.viterbi(emissions, transition).astype(np.int64))
    bins = bins.to(probabilities.device)
    return bins, cents_to_frequency(bins_to_cents(bins)).float()


@dataclasses.dataclass(frozen=True)
class Decoder:
    """One way from bin probabilities to pitch, and how it can decide as probabilities arrive.

    ``online`` is how the pipeline and the stream run it (:mod:`crepetool.prediction.online`):
    ``"frame"``: each frame from its own probabilities, at once; ``"path"``: crepetool's Viterbi,
    a frame decided once every surviving path passes through it; ``"whole"``: only with the whole
    recording (at its end).
    """

    decode: Callable[[torch.Tensor, int, int], Decoded]
    online: Literal["frame", "path", "whole"]


#: Every decoder, by its name in :data:`crepetool.names.DECODERS`: adding one is one entry here.
DECODERS: dict[str, Decoder] = {
    VITERBI: Decoder(viterbi, "path"),
    WEIGHTED_ARGMAX: Decoder(weighted_argmax, "frame"),
    ARGMAX: Decoder(argmax, "frame"),
    TORCHCREPE_VITERBI: Decoder(viterbi_torchcrepe, "whole"),
}


def decode(
    probabilities: torch.Tensor,
    fmin: float = DEFAULT_FMIN,
    fmax: float = DEFAULT_FMAX,
    decoder: str = DEFAULT_DECODER,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pitch and periodicity of one recording.

    Arguments
        probabilities (Tensor [shape=(frames, 360)])

    Returns
        pitch (Tensor [shape=(frames,)]) in Hz, periodicity (Tensor [shape=(frames,)]):
        the probability at the decoded bin.
    """
    check_choice("decoder", decoder, DECODERS, "--decoder")
    if decoder == TORCHCREPE_VITERBI:
        check_torchcrepe_viterbi(fmin, fmax)
    lo, hi = bin_range(fmin, fmax)
    bins, pitch = DECODERS[decoder].decode(probabilities, lo, hi)
    periodicity = probabilities.gather(1, bins[:, None]).squeeze(1)
    return pitch, periodicity
