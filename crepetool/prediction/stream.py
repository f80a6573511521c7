"""Pitch of a live stream, block by block, for real-time voice changers: each 10 ms of new audio
goes through the network once, and each frame comes out as soon as it is decided.

:class:`PitchStream` keeps the pipeline's state between blocks: the resampler
(:class:`~crepetool.prediction.resampling.BlockResampler`), the framer, the network and the
online Viterbi (:class:`~crepetool.prediction.online.OnlineViterbi`, which decides a frame as
soon as every surviving path agrees on it). With no latency bound, the frames it returns,
concatenated, equal :func:`crepetool.prediction.predict` on the whole recording. With
``latency_ms``, a frame whose window ended more than that long ago is decided from the best path
so far, even where the paths have not met yet. The context stage's look-ahead
(:mod:`crepetool.prediction.context`) counts against that bound: a bound shorter than its
:data:`~crepetool.network.context.REACH` frames trims it, the newest frame standing in for the
frames not yet seen (:attr:`PitchStream.lookahead`).

Voicing options work as ``predict`` applies them (median filter, threshold, mean filter); the
filters hold a frame back until the frames its windows reach are decided. ``--silence`` needs the
recording's loudest bin before any frame, so a stream refuses it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import numpy as np
import torch

from crepetool.errors import UserInputError
from crepetool.names import DEFAULT_BLOCK_MS, DEFAULT_SAMPLE_FORMAT, TORCHCREPE_VITERBI
from crepetool.network import shared
from crepetool.network.loading import prepared
from crepetool.network.model import Crepe
from crepetool.network.span import FrameSpan
from crepetool.network.weights import Weights
from crepetool.prediction import dereverb, voicing
from crepetool.prediction.framing import Framer
from crepetool.prediction.online import OnlineViterbi, decoder_for
from crepetool.prediction.options import PredictOptions
from crepetool.prediction.outputs import CSV_HEADER, csv_rows
from crepetool.prediction.pcm import RAW_FORMATS, PcmFormat, PcmReader
from crepetool.prediction.pipeline import context_filter, front_end
from crepetool.prediction.resampling import BlockResampler
from crepetool.units import SAMPLE_RATE, WINDOW_SIZE


@dataclasses.dataclass
class StreamFrames:
    """Frames decided by one call: index (from 0), time (s), pitch (Hz), periodicity, voiced;
    each Tensor [shape=(m,)]."""

    index: torch.Tensor
    time: torch.Tensor
    pitch: torch.Tensor
    periodicity: torch.Tensor
    voiced: torch.Tensor

    def __len__(self) -> int:
        return self.index.numel()


class PitchStream:
    """A live pitch tracker: :meth:`push` blocks of samples, get the frames decided so far.

    Arguments
        weights: anything :func:`crepetool.network.loading.load_model` takes.
        sample_rate: the stream's rate (resampled to 16 kHz as ``options.resampler`` says).
        options: :class:`~crepetool.prediction.options.PredictOptions` (keyword ``changes`` on top).
        latency_ms: the most a frame waits after its window is complete; None waits for the
            online Viterbi to decide it (the output then equals the whole recording's).
        exact: run the network as ``predict`` does, on whole groups of
            :data:`crepetool.network.shared.GROUP` frames (conv1 shared within each group) padded
            to whole blocks of 16 (:data:`crepetool.network.model.BATCH_MULTIPLE`), so its outputs
            equal predict's bit for bit, a group's frames waiting for the group; else run the
            frames of each block alone, as soon as their windows are in (a 20 ms block is 2 frames:
            ~8x less work, the same outputs within float rounding). None: exact without a latency
            bound, fast with one.
    """

    def __init__(
        self,
        weights: str | Path | Weights | torch.nn.Module = "full",
        sample_rate: int = SAMPLE_RATE,
        options: PredictOptions | None = None,
        *,
        latency_ms: float | None = None,
        exact: bool | None = None,
        **changes: Any,
    ) -> None:
        options = (options or PredictOptions()).replace(**changes)
        if sample_rate <= 0:
            raise UserInputError(f"the sample rate must be positive, not {sample_rate}")
        self.options, self.rate, self.hop = options, sample_rate, options.hop(sample_rate)
        self.model = prepared(weights, options.device, options.conv, options.precision)
        self._device = next(self.model.parameters()).device
        self._resampler = BlockResampler(sample_rate, None, options.resampler)
        self._front = front_end(options)
        self.latency_ms = latency_ms
        self.exact = latency_ms is None if exact is None else exact
        self._framer = Framer(None, self.hop, shared.GROUP if self.exact else 1)
        # a stream checks for agreement on every push: each frame is decided as early as it can be
        self._decoder = decoder_for(options.fmin, options.fmax, options.decoder, check_every=1)
        self._voicer = _Voicer(options.voicing)
        self._wait = decoder_wait(options, self.hop, latency_ms)
        self._context = context_filter(options, self.hop)
        # the context stage's look-ahead counts against the bound: what does not fit is trimmed
        self.lookahead = 0 if self._context is None else self._context.reach
        if self._context is not None and self._wait is not None:
            self.lookahead = min(self.lookahead, self._wait // self.hop)
            self._wait -= self.lookahead * self.hop
        self._decided = 0  # frames the decoder returned
        self._ended = False

    def push(self, samples: np.ndarray | torch.Tensor) -> StreamFrames:
        """Take a block (any length, mono, at the stream's rate); return the frames decided now."""
        self._check_open()
        block = np.asarray(samples.cpu() if isinstance(samples, torch.Tensor) else samples, dtype=np.float32)
        if block.ndim != 1:
            raise UserInputError(f"a block must be mono samples [time], not shape {tuple(block.shape)}")
        pitch, periodicity = self._decode(self._framer.push(self._front(self._resampler.push(block))))
        if self._context is not None and self._wait is not None:
            due = self._framer.next - self.lookahead - self._context.done  # frames past their look-ahead
            more = self._push_decoder(self._context.force(due))
            pitch, periodicity = torch.cat([pitch, more[0]]), torch.cat([periodicity, more[1]])
        if self._wait is not None and isinstance(self._decoder, OnlineViterbi):
            available = self._framer.pushed  # 16 kHz samples in so far
            due = (available - WINDOW_SIZE // 2 - self._wait) // self.hop + 1  # frames past the bound
            forced = self._decoder.force(due - self._decided)
            self._decided += forced[0].numel()
            pitch, periodicity = torch.cat([pitch, forced[0]]), torch.cat([periodicity, forced[1]])
        return self._voicer.push(pitch, periodicity, self.hop)

    def finish(self) -> StreamFrames:
        """The end of the stream: every frame left, decided. The stream takes nothing after it."""
        self._check_open()
        self._ended = True
        if self._resampler.pushed == 0:  # no audio at all: no frame (predict refuses an empty recording)
            return _frames(torch.zeros(0, dtype=torch.long), self.hop, torch.zeros(0), torch.zeros(0))
        pitch, periodicity = self._decode(self._framer.push(self._front(self._resampler.finish())))
        more = self._decode(self._framer.push(self._front(None)))
        pitch, periodicity = torch.cat([pitch, more[0]]), torch.cat([periodicity, more[1]])
        last_frames = self._decode(self._framer.finish())
        pitch, periodicity = torch.cat([pitch, last_frames[0]]), torch.cat([periodicity, last_frames[1]])
        if self._context is not None:
            rest = self._push_decoder(self._context.finish())
            pitch, periodicity = torch.cat([pitch, rest[0]]), torch.cat([periodicity, rest[1]])
        last = self._decoder.finish()
        self._decided += last[0].numel()
        pitch, periodicity = torch.cat([pitch, last[0]]), torch.cat([periodicity, last[1]])
        return self._voicer.push(pitch, periodicity, self.hop, final=True)

    def _check_open(self) -> None:
        if self._ended:
            raise RuntimeError("the stream has finished: start a new PitchStream")

    def _decode(self, span: FrameSpan) -> tuple[torch.Tensor, torch.Tensor]:
        if not span.count:
            return torch.zeros(0), torch.zeros(0)
        with torch.no_grad():
            if not isinstance(self.model, Crepe):
                probabilities = self.model(span.frames().to(self._device)).cpu()
            elif self.exact:
                probabilities = self.model(span.to(self._device)).cpu()
            else:  # the frames alone, not padded to a block: what a real-time caller wants
                frames = span.frames().to(self._device)
                probabilities = self.model.from_conv1(self.model.conv1_output(frames)).cpu()
        if self._context is not None:
            probabilities = self._context.push(probabilities)
        return self._push_decoder(probabilities)

    def _push_decoder(self, probabilities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pitch, periodicity = self._decoder.push(probabilities)
        self._decided += pitch.numel()
        return pitch, periodicity


def decoder_wait(options: PredictOptions, hop: int, latency_ms: float | None) -> int | None:
    """Samples at 16 kHz a frame may wait in the decoder once its window is complete (None: until
    it is decided), after the voicing filters' look-ahead; refuses what a stream cannot do."""
    if options.silence_db is not None:
        raise UserInputError("--silence: a stream cannot know the recording's loudest bin; leave it out")
    if latency_ms is None:
        return None
    if latency_ms < 0:
        raise UserInputError(f"--latency: must be 0 ms or more, not {latency_ms:g}")
    if options.decoder == TORCHCREPE_VITERBI:
        raise UserInputError(f"--latency: {TORCHCREPE_VITERBI} decides nothing before the end; use viterbi")
    held = _Voicer(options.voicing).reach * hop  # the filters hold a frame until these are decided
    if held > latency_ms * SAMPLE_RATE / 1000:
        raise UserInputError(
            f"--latency: {latency_ms:g} ms is less than the voicing filters' look-ahead "
            f"({1000 * held / SAMPLE_RATE:g} ms)"
        )
    if options.dereverb:  # the front end holds back up to a window of samples less one
        held += dereverb.HOLD
        if held > latency_ms * SAMPLE_RATE / 1000:
            raise UserInputError(
                f"--latency: {latency_ms:g} ms is less than what --dereverb holds back "
                f"({1000 * held / SAMPLE_RATE:g} ms with the voicing filters' look-ahead)"
            )
    return int(latency_ms * SAMPLE_RATE / 1000) - held


class _Voicer:
    """``predict``'s voicing (:func:`crepetool.prediction.voicing.apply`) on decided frames as they
    come: a frame is released once the frames within :attr:`reach` after it are decided, and
    computed over a stretch wide enough that the filters see what they see on the whole track."""

    def __init__(self, settings: voicing.Voicing) -> None:
        self.settings = settings
        radius = [(n or 1) // 2 for n in (settings.median_filter, settings.mean_filter)]
        self.reach = sum(radius)  # the mean filter reads voicing that the median filter made
        self._pitch = torch.zeros(0)
        self._periodicity = torch.zeros(0)
        self._first = 0  # index of the first frame held
        self._released = 0  # frames released so far

    def push(
        self, pitch: torch.Tensor, periodicity: torch.Tensor, hop: int, final: bool = False
    ) -> StreamFrames:
        self._pitch = torch.cat([self._pitch, pitch.float()])
        self._periodicity = torch.cat([self._periodicity, periodicity.float()])
        end = self._first + self._pitch.numel()  # frames decided so far
        upto = end if final else max(self._released, end - self.reach)
        if upto == self._released:
            return _frames(torch.zeros(0, dtype=torch.long), hop, torch.zeros(0), torch.zeros(0))
        if self.settings.active:
            p, q, voiced = voicing.apply(self._pitch, self._periodicity, self.settings)
        else:
            p, q, voiced = self._pitch, self._periodicity, torch.ones(self._pitch.numel(), dtype=torch.bool)
        lo, hi = self._released - self._first, upto - self._first
        frames = _frames(torch.arange(self._released, upto), hop, p[lo:hi], q[lo:hi], voiced[lo:hi])
        self._released = upto
        # keep what the filters of frames still to come read: 2 * reach frames before them
        keep = max(0, self._released - 2 * self.reach - self._first)
        self._pitch, self._periodicity = self._pitch[keep:], self._periodicity[keep:]
        self._first += keep
        return frames


def _frames(
    index: torch.Tensor,
    hop: int,
    pitch: torch.Tensor,
    periodicity: torch.Tensor,
    voiced: torch.Tensor | None = None,
) -> StreamFrames:
    voiced = torch.ones(index.numel(), dtype=torch.bool) if voiced is None else voiced
    time = index.double() * hop / SAMPLE_RATE
    return StreamFrames(index, time, pitch, periodicity, voiced)


def csv_lines(frames: StreamFrames) -> str:
    """``frames`` as CREPE's CSV rows (:func:`crepetool.prediction.outputs.csv_rows`)."""
    return csv_rows(frames.time.numpy(), frames.pitch, frames.periodicity, frames.voiced)


def stream_csv(
    source: BinaryIO,
    out: TextIO,
    weights: str | Path | Weights | torch.nn.Module = "full",
    raw: PcmFormat | None = None,
    options: PredictOptions | None = None,
    *,
    latency_ms: float | None = None,
    block_ms: float = DEFAULT_BLOCK_MS,
    raw_only: bool = False,
) -> int:
    """Read WAV or raw PCM from ``source`` (``raw``: the format without a WAV header; 16 kHz mono
    s16le by default; ``raw_only``: every stream is raw, see :class:`~crepetool.prediction.pcm.PcmReader`),
    write CREPE's CSV to ``out`` a line per frame as each is decided, flushed after every block.
    Returns the frames written."""
    if block_ms <= 0:
        raise UserInputError(f"--block: must be more than 0 ms, not {block_ms:g}")
    options = options or PredictOptions()
    decoder_wait(options, options.hop(SAMPLE_RATE), latency_ms)  # refused before anything is read
    reader = PcmReader(
        source, raw or PcmFormat(SAMPLE_RATE, 1, RAW_FORMATS[DEFAULT_SAMPLE_FORMAT]), raw_only=raw_only
    )
    tracker = PitchStream(weights, reader.format.rate, options, latency_ms=latency_ms)
    out.write(CSV_HEADER + "\n")
    out.flush()
    written = 0
    for block in reader.blocks(max(1, round(reader.format.rate * block_ms / 1000))):
        frames = tracker.push(block)
        out.write(csv_lines(frames))
        out.flush()
        written += len(frames)
    frames = tracker.finish()
    out.write(csv_lines(frames))
    out.flush()
    return written + len(frames)
