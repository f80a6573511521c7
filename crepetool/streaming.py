"""Streaming prediction: memory flat in the length of the recording, results equal to the
whole-file path (:func:`crepetool.prediction.predict`).

Each stage takes blocks and gives blocks:

- :class:`BlockResampler`: to 16 kHz block by block. With resampy, output sample ``n``
  is a windowed-sinc sum over the input around ``n * rate / 16000``; blocks start at
  multiples of the rate's period (``rate / gcd(rate, 16000)`` input samples, which map to
  whole output samples) and carry enough input either side to cover the filter, so
  every output sample is the same sum as in one whole-file call (equal within float
  rounding). soxr has a stream of its own (``soxr.ResampleStream``).
- :class:`Framer`: 1024-sample windows every ``hop`` samples with torchcrepe's 512 samples
  of zero padding, across block edges, normalised as :func:`crepetool.prediction.frames` does.
- :class:`OnlineViterbi`: crepetool's Viterbi, decided online. Back-pointers are kept
  only for frames not yet decided; every :data:`CHECK_EVERY` frames all states' paths are
  traced back together, and the frames before the point where they all meet are final:
  every path that can still win passes there, so the whole-file decoder would choose
  the same. The probabilities of undecided frames are kept too (for CREPE's local average
  and the periodicity). Working memory is the undecided stretch, a few dozen frames in
  voiced audio; it does not grow with the length of the recording.

:func:`predict_stream` chains them for one file and hands decided frames to a callback,
so writers can append rows as they are decided.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from crepetool import audio as audio_io
from crepetool.decode import REACH, ViterbiStep, bin_range, decode, local_average
from crepetool.model import WINDOW_SIZE
from crepetool.names import SAMPLE_RATE

#: Frames between attempts to decide the online Viterbi's undecided stretch.
CHECK_EVERY = 32
#: Seconds of input audio read at a time.
BLOCK_SECONDS = 10.0


# ---- resampling ---------------------------------------------------------------------------------


def resampled_length(length: int, rate: int) -> int:
    """Samples at 16 kHz of ``length`` samples at ``rate``, as resampy counts them."""
    return length if rate == SAMPLE_RATE else int(length * SAMPLE_RATE / rate)


class BlockResampler:
    """Resample to 16 kHz block by block, equal to one whole-file call of :func:`crepetool.audio.resample`.

    Arguments
        rate: the input's sample rate. length: its total number of samples (known from the
        file's header; resampy's output length is ``int(length * 16000 / rate)``).
        method: ``resampy`` or ``soxr``.

    :meth:`push` takes input blocks in order (any sizes) and returns the 16 kHz samples
    that are final; :meth:`finish` returns the rest.
    """

    def __init__(self, rate: int, length: int, method: str = "resampy") -> None:
        self.rate, self.length, self.method = rate, length, method
        self.total = resampled_length(length, rate)
        self.emitted = 0
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
        if self.rate == SAMPLE_RATE:
            self.emitted += block.size
            return block
        if self.method == "soxr":
            out = self._soxr.resample_chunk(block, last=False)
            self.emitted += out.size
            return out
        self._buffer = np.concatenate([self._buffer, block])
        available = self._start + self._buffer.size
        # outputs are final up to input index `end` once `end + margin` input samples are in
        end = (available - self._margin) // self._period_in * self._period_in
        return self._emit(end) if end > self._done_in else np.zeros(0, dtype=np.float32)

    def finish(self) -> np.ndarray:
        if self.rate == SAMPLE_RATE:
            return np.zeros(0, dtype=np.float32)
        if self.method == "soxr":
            out = self._soxr.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            self.emitted += out.size
            return out
        return self._emit(self.length, final=True)

    def _emit(self, end: int, final: bool = False) -> np.ndarray:
        begin = self._done_in
        first = max(0, begin - self._margin)  # a multiple of the period
        last = self.length if final else min(self.length, end + self._margin)
        piece = self._buffer[first - self._start : last - self._start]
        out = audio_io.resampy_resample(piece, self.rate, self.length)
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


# ---- framing ------------------------------------------------------------------------------------


class Framer:
    """Raw 1024-sample frames every ``hop`` samples of a 16 kHz stream of ``total`` samples
    (:func:`crepetool.prediction.normalise_frames` makes them network input).

    Frame ``i`` is centred on sample ``i * hop`` with zeros outside the recording, as
    torchcrepe pads; there are ``1 + total // hop`` frames. :meth:`push` returns the frames
    (Tensor [shape=(n, 1024)]) whose windows are complete; :meth:`finish` the rest.
    """

    def __init__(self, total: int, hop: int) -> None:
        self.hop, self.total = hop, total
        self.count = 1 + total // hop
        self.next = 0  # index of the next frame to make
        self._buffer = np.zeros(WINDOW_SIZE // 2, dtype=np.float32)  # the left zero padding
        self._start = -WINDOW_SIZE // 2  # global index of _buffer[0]

    def push(self, samples: np.ndarray) -> torch.Tensor:
        self._buffer = np.concatenate([self._buffer, samples.astype(np.float32, copy=False)])
        return self._frames(final=False)

    def finish(self) -> torch.Tensor:
        self._buffer = np.concatenate([self._buffer, np.zeros(WINDOW_SIZE, dtype=np.float32)])
        return self._frames(final=True)

    def _frames(self, final: bool) -> torch.Tensor:
        available = self._start + self._buffer.size  # global end of what is buffered
        last = self.count if final else min(self.count, (available - WINDOW_SIZE // 2) // self.hop + 1)
        if last <= self.next:
            return torch.zeros(0, WINDOW_SIZE)
        first_sample = self.next * self.hop - WINDOW_SIZE // 2 - self._start
        span = self._buffer[first_sample : first_sample + (last - 1 - self.next) * self.hop + WINDOW_SIZE]
        batch = torch.from_numpy(span.copy()).unfold(0, WINDOW_SIZE, self.hop).clone()  # raw windows
        self.next = last
        drop = self.next * self.hop - WINDOW_SIZE // 2 - self._start
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._start += drop
        return batch


# ---- decoding -----------------------------------------------------------------------------------


class OnlineViterbi:
    """crepetool's Viterbi (:func:`crepetool.decode.viterbi`), deciding frames as soon as
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


class FrameDecoder:
    """Per-frame decoders (argmax, weighted-argmax) need no look-ahead; the rest of the
    decoders (``viterbi-torchcrepe``) see the whole recording at :meth:`finish`."""

    def __init__(self, fmin: float, fmax: float, decoder: str) -> None:
        self.fmin, self.fmax, self.decoder = fmin, fmax, decoder
        self._held: list[torch.Tensor] = []

    def push(self, probabilities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.decoder in ("argmax", "weighted-argmax"):
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


def decoder_for(fmin: float, fmax: float, decoder: str) -> OnlineViterbi | FrameDecoder:
    return OnlineViterbi(fmin, fmax) if decoder == "viterbi" else FrameDecoder(fmin, fmax, decoder)


def _empty() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.zeros(0), torch.zeros(0)


# ---- one file -----------------------------------------------------------------------------------


@dataclasses.dataclass
class StreamInfo:
    """What is known of a file before its frames: rate, length, frames and hop at 16 kHz."""

    sample_rate: int
    length: int
    frames: int
    hop: int

    @property
    def seconds(self) -> float:
        return self.length / self.sample_rate


def estimate_frames(path: str | Path, options: object) -> int:
    """Frames a file will give (from its header, for progress bars); 0 when unreadable."""
    try:
        reader = audio_io.open_blocks(path)
        hop = options.hop(reader.sample_rate)  # type: ignore[attr-defined]
    except Exception:  # the file's own error is reported when it is processed
        return 0
    return 1 + resampled_length(reader.length, reader.sample_rate) // hop


@dataclasses.dataclass
class Decided:
    """A stretch of decided frames: pitch [m] Hz, periodicity [m], probabilities [m, 360],
    and their A-weighted loudness [m] dB when silence is thresholded."""

    pitch: torch.Tensor
    periodicity: torch.Tensor
    probabilities: torch.Tensor
    loudness: torch.Tensor | None = None


#: Called with each decided stretch, in order.
Sink = Callable[[Decided], None]


def _raw_frames(
    path: str | Path, options: object, block_seconds: float
) -> Iterator[tuple[StreamInfo, torch.Tensor]]:
    """The file's raw 1024-sample windows, block by block (with its StreamInfo)."""
    reader = audio_io.open_blocks(path)
    rate, length = reader.sample_rate, reader.length
    hop = options.hop(rate)  # type: ignore[attr-defined]
    resampler = BlockResampler(rate, length, options.resampler)  # type: ignore[attr-defined]
    framer = Framer(resampler.total, hop)
    info = StreamInfo(rate, length, framer.count, hop)
    yield info, torch.zeros(0, WINDOW_SIZE)
    for block in reader.blocks(int(block_seconds * rate)):
        yield info, framer.push(resampler.push(block))
    yield info, framer.push(resampler.finish())
    yield info, framer.finish()


def max_spectrum_db(path: str | Path, options: object, block_seconds: float = BLOCK_SECONDS) -> float:
    """The loudest STFT bin of a file in dB (a first pass, for torchcrepe's loudness)."""
    from crepetool.postprocess import spectrum_db

    loudest = -math.inf
    for _, raw in _raw_frames(path, options, block_seconds):
        if raw.size(0):
            loudest = max(loudest, float(spectrum_db(raw).max()))
    return loudest


#: Runs the network over normalised batches, yielding their probabilities in order; it may
#: look ahead (the Ray engine keeps several batches in flight on its workers).
Network = Callable[[Iterator[torch.Tensor]], Iterator[torch.Tensor]]


def local_network(model: torch.nn.Module) -> Network:
    """:data:`Network` of a model in this process: one batch at a time, on the model's device."""
    device = next(model.parameters()).device

    def run(batches: Iterator[torch.Tensor]) -> Iterator[torch.Tensor]:
        for batch in batches:
            with torch.no_grad():
                yield model(batch.to(device)).cpu()

    return run


def predict_stream(
    path: str | Path,
    model: torch.nn.Module | Network,
    options: object,
    sink: Sink,
    *,
    on_start: Callable[[StreamInfo], None] | None = None,
    progress: Callable[[int], None] | None = None,
    block_seconds: float = BLOCK_SECONDS,
) -> StreamInfo:
    """Track pitch in an audio file block by block, handing decided frames to ``sink``.

    ``options`` is a :class:`crepetool.prediction.PredictOptions`. ``model`` is a module,
    or a :data:`Network` that runs one elsewhere (the batches, and so the results, are the
    same). With ``silence_db``, a first pass finds the loudest STFT bin (torchcrepe's
    loudness clips 80 dB below it), and each decided stretch carries its frames' loudness.
    """
    from crepetool import postprocess
    from crepetool.prediction import PredictOptions, normalise_frames

    assert isinstance(options, PredictOptions)
    network = local_network(model) if isinstance(model, torch.nn.Module) else model
    max_db = max_spectrum_db(path, options, block_seconds) if options.silence_db is not None else None
    decoder = decoder_for(options.fmin, options.fmax, options.decoder)
    pending: list[torch.Tensor] = []  # probabilities given to the decoder, not yet decided
    quiet: list[torch.Tensor] = []  # their loudness, with silence_db
    info: StreamInfo | None = None

    def deliver(pitch: torch.Tensor, periodicity: torch.Tensor) -> None:
        if not pitch.numel():
            return
        count = pitch.numel()
        held = torch.cat(pending)
        pending[:] = [held[count:]]
        loud = None
        if max_db is not None:
            levels = torch.cat(quiet)
            loud, quiet[:] = levels[:count], [levels[count:]]
        sink(Decided(pitch, periodicity, held[:count], loud))

    def batches() -> Iterator[torch.Tensor]:
        nonlocal info, on_start
        for info, raw in _raw_frames(path, options, block_seconds):
            if on_start is not None:
                on_start(info)
                on_start = None
            for batch in raw.split(options.batch_size) if raw.size(0) else ():
                if max_db is not None:
                    quiet.append(postprocess.loudness(batch, max_db))
                yield normalise_frames(batch.clone())

    for probabilities in network(batches()):
        pending.append(probabilities)
        deliver(*decoder.push(probabilities))
        if progress is not None:
            progress(probabilities.size(0))  # one row per frame of the batch
    deliver(*decoder.finish())
    assert info is not None
    return info
