"""To 16 kHz, block by block: the pipeline's one resampler.

With resampy (torchcrepe's filter, the default), output sample ``n`` is a windowed-sinc sum
over the input around ``n * rate / 16000``. Blocks start at multiples of the rate's period
(``rate / gcd(rate, 16000)`` input samples, which map to whole output samples) and carry
enough input either side to cover the filter, so every output sample is the same sum as in
one whole-recording call (equal within float rounding; a recording pushed whole is one call,
bit for bit ``torchcrepe.resample``). soxr (many times faster, not bit-equal to torchcrepe)
has a stream of its own (``soxr.ResampleStream``).
"""

from __future__ import annotations

import math

import numpy as np

from crepetool.errors import check_choice
from crepetool.names import DEFAULT_RESAMPLER, RESAMPLERS
from crepetool.units import SAMPLE_RATE

#: Recordings at least this long resample on all of torch's threads: resampy's parallel
#: loop pays back its one-off compile within a minute of 44.1 kHz audio (docs/benchmarks.md).
PARALLEL_SECONDS = 60.0


def resampled_length(length: int, rate: int) -> int:
    """Samples at 16 kHz of ``length`` samples at ``rate``, as resampy counts them."""
    return length if rate == SAMPLE_RATE else int(length * SAMPLE_RATE / rate)


class BlockResampler:
    """Resample to 16 kHz block by block.

    Arguments
        rate: the input's sample rate. length: its total number of samples (known from the
        file's header; resampy's output length is ``int(length * 16000 / rate)``), or None for
        a live stream, whose length is what has been pushed when :meth:`finish` is called.
        method: ``resampy`` or ``soxr``.

    :meth:`push` takes input blocks in order (any sizes) and returns the 16 kHz samples
    that are final; :meth:`finish` returns the rest. Either way each output sample is the one
    a single call on the whole recording gives.
    """

    def __init__(self, rate: int, length: int | None, method: str = DEFAULT_RESAMPLER) -> None:
        check_choice("resampler", method, RESAMPLERS, "--resampler")
        self.rate, self.length, self.method = rate, length, method
        self.total = None if length is None else resampled_length(length, rate)
        self.pushed = 0  # input samples pushed so far
        self.emitted = 0
        self._finished = False
        if rate == SAMPLE_RATE:
            return
        if method == "soxr":
            import soxr

            self._soxr = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
            return
        from resampy.filters import get_filter

        window, precision, _ = get_filter("kaiser_best")
        ratio = SAMPLE_RATE / rate
        # the window holds `precision` taps per zero crossing: its half-width in input samples
        support = math.ceil(len(window) / int(precision) / min(1.0, ratio)) + 2
        divisor = math.gcd(rate, SAMPLE_RATE)
        self._period_in, self._period_out = rate // divisor, SAMPLE_RATE // divisor
        self._margin = math.ceil(support / self._period_in) * self._period_in
        self._buffer = np.zeros(0, dtype=np.float32)
        self._start = 0  # global input index of _buffer[0], a multiple of the period
        self._done_in = 0  # input samples whose outputs were emitted (a multiple of the period)

    def push(self, block: np.ndarray) -> np.ndarray:
        self.pushed += block.size
        if self.rate == SAMPLE_RATE:
            self.emitted += block.size
            return block
        if self.method == "soxr":
            out = self._soxr.resample_chunk(block, last=False)
            self.emitted += out.size
            return out
        self._buffer = np.concatenate([self._buffer, block])
        available = self._start + self._buffer.size
        if self.length is not None and available >= self.length:  # all of it is in: one call
            return self.finish()
        # outputs are final up to input index `end` once `end + margin` input samples are in
        end = (available - self._margin) // self._period_in * self._period_in
        return self._emit(end) if end > self._done_in else np.zeros(0, dtype=np.float32)

    def finish(self) -> np.ndarray:
        if self.length is None:  # a live stream ends here
            self.length, self.total = self.pushed, resampled_length(self.pushed, self.rate)
        if self.rate == SAMPLE_RATE or self._finished:
            return np.zeros(0, dtype=np.float32)
        self._finished = True
        if self.method == "soxr":
            out = self._soxr.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            self.emitted += out.size
            return out
        return self._emit(self.length, final=True)

    def _emit(self, end: int, final: bool = False) -> np.ndarray:
        begin = self._done_in
        first = max(0, begin - self._margin)  # a multiple of the period
        last = end + self._margin if not final else self.length
        if self.length is not None:
            last = min(self.length, last)
        piece = self._buffer[first - self._start : last - self._start]
        out = resampy_resample(piece, self.rate, self.length)
        # global output index of out[0] is first * 16000 / rate, an integer
        offset = first // self._period_in * self._period_out
        lo = begin // self._period_in * self._period_out
        hi = self.total if final else end // self._period_in * self._period_out
        result = out[lo - offset : hi - offset].astype(np.float32, copy=False)
        self.emitted += result.size
        self._done_in = end
        keep = max(0, end - self._margin)  # the next call's left context starts here
        self._buffer = self._buffer[keep - self._start :]
        self._start = keep
        return result


def resample(audio: np.ndarray, sample_rate: int, method: str = DEFAULT_RESAMPLER) -> np.ndarray:
    """A whole recording to 16 kHz through :class:`BlockResampler`, pushed as one block.

    Arguments: audio (ndarray [shape=(time,)]). Returns ndarray [shape=(time * 16000 / rate,)].
    """
    resampler = BlockResampler(sample_rate, audio.size, method)
    out = resampler.push(audio)
    rest = resampler.finish()
    return np.concatenate([out, rest]) if rest.size else out


def resampy_resample(audio: np.ndarray, sample_rate: int, length: int | None = None) -> np.ndarray:
    """resampy's default filter to 16 kHz, as ``torchcrepe.resample``; on torch's threads
    (resampy's parallel loop, the same samples) for a recording of :data:`PARALLEL_SECONDS`
    or more. ``length``: the whole recording's samples, where ``audio`` is a piece of it."""
    import resampy
    import torch

    threads = torch.get_num_threads()
    if threads < 2 or (audio.size if length is None else length) < PARALLEL_SECONDS * sample_rate:
        return resampy.resample(audio, sample_rate, SAMPLE_RATE)
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))  # this thread's calls only
    return resampy.resample(audio, sample_rate, SAMPLE_RATE, parallel=True)
