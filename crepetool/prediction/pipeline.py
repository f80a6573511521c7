"""The one way audio becomes pitch: read -> resample -> frame -> network -> decode online.

Each stage takes blocks and gives blocks (:mod:`crepetool.prediction.audio`, :mod:`crepetool.prediction.resampling`,
:mod:`crepetool.prediction.framing`, the network, :mod:`crepetool.prediction.online`), so memory does not grow
with the length of a recording. A file and samples held in memory are both readers, so
``crepetool predict``, :func:`crepetool.prediction.predict`, ``verify`` and ``evaluate``
run the same code and give the same numbers. :func:`predict_frames` hands decided frames
to a sink as they are decided (writers append rows); :func:`track` collects them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from crepetool.network import context, shared
from crepetool.network.model import Crepe
from crepetool.network.span import FrameSpan
from crepetool.prediction import audio, loudness, voicing
from crepetool.prediction.context import ContextFilter
from crepetool.prediction.dereverb import Dereverb
from crepetool.prediction.framing import Framer, frame_count
from crepetool.prediction.online import decoder_for
from crepetool.prediction.options import PredictOptions
from crepetool.prediction.resampling import BlockResampler, resampled_length

#: Seconds of input audio read at a time.
BLOCK_SECONDS = 10.0


@dataclasses.dataclass
class TrackInfo:
    """What is known of a recording before its frames: rate, length, frames and hop at 16 kHz."""

    sample_rate: int
    length: int
    frames: int
    hop: int

    @property
    def seconds(self) -> float:
        return self.length / self.sample_rate


@dataclasses.dataclass
class Decided:
    """A stretch of decided frames: pitch [m] Hz, periodicity [m], probabilities [m, 360],
    and their A-weighted loudness [m] dB when silence is thresholded."""

    pitch: torch.Tensor
    periodicity: torch.Tensor
    probabilities: torch.Tensor | None
    loudness: torch.Tensor | None = None


#: Called with each decided stretch, in order.
Sink = Callable[[Decided], None]
#: Runs the network over batches of raw frames (:class:`~crepetool.network.span.FrameSpan`),
#: yielding their probabilities in order; it may look ahead (the Ray engine keeps several
#: batches in flight on its workers).
Network = Callable[[Iterator[FrameSpan]], Iterator[torch.Tensor]]
#: A file's path, or a reader (a file's, or samples in memory: :class:`crepetool.prediction.audio.ArrayReader`).
Source = str | Path | audio.Reader


def reader_of(source: Source) -> audio.Reader:
    return audio.open_blocks(source) if isinstance(source, (str, Path)) else source


def local_network(model: torch.nn.Module) -> Network:
    """:data:`Network` of a model in this process: one batch at a time, on the model's device.
    crepetool's own network takes the span (its conv1 then runs once per group of frames); any
    other module, the normalised frames."""
    device = next(model.parameters()).device
    spans = isinstance(model, Crepe)

    def run(batches: Iterator[FrameSpan]) -> Iterator[torch.Tensor]:
        for batch in batches:
            with torch.no_grad():
                yield model(batch.to(device) if spans else batch.frames().to(device)).cpu()

    return run


def probe(source: Source, options: PredictOptions) -> TrackInfo:
    """What is known of a recording before its frames (from a file's header): rate, length, the
    frames it will give and the hop at 16 kHz. Raises the file's own error when it is unreadable."""
    reader = reader_of(source)
    hop = options.hop(reader.sample_rate)
    frames = frame_count(resampled_length(reader.length, reader.sample_rate), hop)
    return TrackInfo(reader.sample_rate, reader.length, frames, hop)


def spans(source: Source, options: PredictOptions, block_seconds: float = BLOCK_SECONDS) -> Iterator[FrameSpan]:
    """The recording's raw frames, block by block, in whole groups of
    :data:`crepetool.network.shared.GROUP` frames (the last may be short)."""
    reader = reader_of(source)
    rate, hop = reader.sample_rate, options.hop(reader.sample_rate)
    resampler = BlockResampler(rate, reader.length, options.resampler)
    front = front_end(options)
    framer = Framer(resampler.total, hop, shared.GROUP)
    for block in reader.blocks(int(block_seconds * rate)):
        yield framer.push(front(resampler.push(block)))
    yield framer.push(front(resampler.finish()))
    yield framer.push(front(None))
    yield framer.finish()


def front_end(options: PredictOptions) -> Callable[[np.ndarray | None], np.ndarray]:
    """What the 16 kHz samples pass through before framing: the dereverberating front end with
    ``options.dereverb`` (:mod:`crepetool.prediction.dereverb`), else nothing. Called with None
    at the end of the recording, it returns what it still holds."""
    if not options.dereverb:
        return lambda samples: np.zeros(0, np.float32) if samples is None else samples
    wpe = Dereverb(options.dereverb_settings)
    return lambda samples: wpe.finish() if samples is None else wpe.push(samples)


def network_batches(parts: Iterable[FrameSpan], batch_size: int) -> Iterator[FrameSpan]:
    """:func:`spans` cut into network batches of about ``batch_size`` frames, in whole groups of
    :data:`crepetool.network.shared.GROUP`: the network computes a group at a time, so a frame's
    bytes never depend on the batch size."""
    size = -(-batch_size // shared.GROUP) * shared.GROUP
    for span in parts:
        yield from span.split(size)


def estimate_frames(path: str | Path, options: PredictOptions) -> int:
    """Frames a file will give (from its header, for progress bars); 0 when unreadable."""
    try:
        return probe(path, options).frames
    except Exception:  # the file's own error is reported when it is processed
        return 0


def max_spectrum_db(source: Source, options: PredictOptions, block_seconds: float = BLOCK_SECONDS) -> float:
    """The loudest STFT bin of a recording in dB (a first pass, for torchcrepe's loudness)."""
    loudest = -math.inf
    for span in spans(source, options, block_seconds):
        if span.count:
            loudest = max(loudest, float(loudness.spectrum_db(span.windows()).max()))
    return loudest


class _Release:
    """Pairs what the decoder decides with the probabilities (and loudness) it was given."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.pending: list[torch.Tensor] = []  # probabilities given to the decoder, not yet decided
        self.quiet: list[torch.Tensor] = []  # their loudness, with silence_db

    def __call__(self, pitch: torch.Tensor, periodicity: torch.Tensor) -> None:
        count = pitch.numel()
        if not count:
            return
        held = torch.cat(self.pending)
        self.pending[:] = [held[count:]]
        loud = None
        if self.quiet:
            levels = torch.cat(self.quiet)
            loud, self.quiet[:] = levels[:count], [levels[count:]]
        self.sink(Decided(pitch, periodicity, held[:count], loud))


def predict_frames(
    source: Source,
    model: torch.nn.Module | Network,
    options: PredictOptions,
    sink: Sink,
    *,
    progress: Callable[[int], None] | None = None,
    block_seconds: float = BLOCK_SECONDS,
) -> TrackInfo:
    """Track pitch block by block, handing decided frames to ``sink``; returns the TrackInfo
    (:func:`probe`: a caller that opens outputs for the frames probes first).

    ``model`` is a module, or a :data:`Network` that runs one elsewhere (the batches, and so
    the results, are the same). With ``silence_db``, a first pass finds the loudest STFT bin
    (torchcrepe's loudness clips 80 dB below it), and each decided stretch carries its
    frames' loudness. ``progress`` is called with the frame count of each network batch.
    """
    reader = reader_of(source)
    info = probe(reader, options)
    network = local_network(model) if isinstance(model, torch.nn.Module) else model
    max_db = max_spectrum_db(reader, options, block_seconds) if options.silence_db is not None else None
    decoder = decoder_for(options.fmin, options.fmax, options.decoder)
    stage = context_filter(options, info.hop)
    release = _Release(sink)

    def decide(rows: torch.Tensor) -> None:
        release.pending.append(rows)
        release(*decoder.push(rows))

    def batches() -> Iterator[FrameSpan]:
        for batch in network_batches(spans(reader, options, block_seconds), options.batch_size):
            if max_db is not None:
                release.quiet.append(loudness.loudness(batch.windows(), max_db))
            yield batch

    for probabilities in network(batches()):
        decide(probabilities if stage is None else stage.push(probabilities))
        if progress is not None:
            progress(probabilities.size(0))  # one row per frame of the batch
    if stage is not None:
        decide(stage.finish())
    release(*decoder.finish())
    return info


def context_filter(options: PredictOptions, hop: int) -> ContextFilter | None:
    """The context stage between the network and the decoder, where ``options`` run it at ``hop``."""
    return ContextFilter(context.shipped()) if options.uses_context(hop) else None


@dataclasses.dataclass
class Track:
    """A whole recording's decided frames, joined (:class:`Decided`'s fields, each [frames, ...])."""

    info: TrackInfo
    pitch: torch.Tensor
    periodicity: torch.Tensor
    probabilities: torch.Tensor | None
    loudness: torch.Tensor | None


def join(info: TrackInfo, stretches: list[Decided]) -> Track:
    """The stretches a sink collected, as one :class:`Track`."""

    def cat(name: str) -> torch.Tensor | None:
        parts = [getattr(d, name) for d in stretches]
        if any(part is None for part in parts):
            return None
        return torch.cat(parts) if parts else torch.zeros(0)

    return Track(info, cat("pitch"), cat("periodicity"), cat("probabilities"), cat("loudness"))


def track(
    source: Source,
    model: torch.nn.Module | Network,
    options: PredictOptions,
    *,
    keep_probabilities: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Track:
    """A whole recording through :func:`predict_frames`, collected."""
    stretches: list[Decided] = []

    def sink(decided: Decided) -> None:
        stretches.append(decided if keep_probabilities else dataclasses.replace(decided, probabilities=None))

    info = predict_frames(source, model, options, sink, progress=progress)
    return join(info, stretches)


def apply_voicing(track: Track, options: PredictOptions) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A track's pitch, periodicity and voiced mask after ``options``' voicing and smoothing."""
    return voicing.apply(track.pitch, track.periodicity, options.voicing, track.loudness)
