"""Pitch from audio: torchcrepe's preprocessing, crepetool's fast model, a whole-file decoder.

For given weights the network sees exactly the frames ``torchcrepe.predict``
makes (resampy to 16 kHz, 512 samples of zero padding each side, 1024-sample
windows, mean-centred and scaled to unit standard deviation), so its outputs
match torchcrepe's within float tolerance. Frames are made batch by batch,
so a long recording never holds its whole frame tensor in memory; the decoder
then sees the recording's probabilities as a whole, so results never depend
on the batch size. This is the whole-recording path, for samples in memory;
files in a batch go through :mod:`crepetool.streaming`, which gives the same
numbers with memory that does not grow with the recording.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from crepetool import audio as audio_io
from crepetool.decode import decode
from crepetool.errors import UserInputError
from crepetool.model import WINDOW_SIZE, Crepe, load_model, resolve_device
from crepetool.names import (
    CONV_MODES,
    DECODERS,
    DEFAULT_BATCH,
    DEFAULT_DECODER,
    DEFAULT_FMAX,
    DEFAULT_FMIN,
    DEFAULT_PRECISION,
    DEFAULT_RESAMPLER,
    DEFAULT_STEP_MS,
    PRECISIONS,
    RESAMPLERS,
    SAMPLE_RATE,
)
from crepetool.postprocess import Voicing
from crepetool.precision import Wrapped, with_precision
from crepetool.weights import Weights


@dataclasses.dataclass
class Prediction:
    """Pitch of one recording.

    pitch (Tensor [shape=(1, frames)]) Hz; periodicity (Tensor [shape=(1, frames)]) 0..1;
    time (Tensor [shape=(frames,)]) seconds; step_size in seconds.
    """

    pitch: torch.Tensor
    periodicity: torch.Tensor
    time: torch.Tensor
    step_size: float
    sample_rate: int
    decoder: str
    voiced: torch.Tensor | None = None  # [1, frames] bool, with voicing options


@dataclasses.dataclass(frozen=True)
class PredictOptions:
    """How to predict: one object from the CLI through the batch to :func:`predict`.

    Validated once, here: a bad value raises UserInputError naming the option.

    Attributes
        hop_length: hop in samples at the input's own rate (torchcrepe's convention), or
        step_size: hop in milliseconds, exactly ``16 * ms`` samples at 16 kHz; neither means 10 ms.
        fmin, fmax: pitch range in Hz.
        decoder: one of :data:`crepetool.names.DECODERS`.
        batch_size: frames per network batch (memory, never results).
        device: ``cpu``, ``cuda``, ``cuda:N``; None is cuda when available.
        resampler: ``resampy`` (torchcrepe's, the default) or ``soxr`` (faster).
        precision: ``fp32``, ``bf16`` (CPU matrix units, or CUDA) or ``fp16`` (CUDA); see
            :mod:`crepetool.precision`.
        conv: ``auto``, ``direct`` or ``transform``: how conv2..conv6 run (:mod:`crepetool.spectral`);
            None is the model's own (``auto``, or ``CREPETOOL_CONV``).
        periodicity_threshold, silence_db, median_filter, mean_filter: voicing and smoothing
            after decoding (:mod:`crepetool.postprocess`), all off by default.
    """

    hop_length: int | None = None
    step_size: float | None = None
    fmin: float = DEFAULT_FMIN
    fmax: float = DEFAULT_FMAX
    decoder: str = DEFAULT_DECODER
    batch_size: int = DEFAULT_BATCH
    device: str | None = None
    resampler: str = DEFAULT_RESAMPLER
    precision: str = DEFAULT_PRECISION
    conv: str | None = None
    periodicity_threshold: float | None = None
    silence_db: float | None = None
    median_filter: int | None = None
    mean_filter: int | None = None

    def __post_init__(self) -> None:
        for name in ("median_filter", "mean_filter"):
            value = getattr(self, name)
            if value is not None and (value < 1 or value % 2 == 0):
                raise UserInputError(
                    f"--{name.replace('_', '-')}: the window must be an odd number of frames, not {value}"
                )
        if self.periodicity_threshold is not None and not 0 <= self.periodicity_threshold <= 1:
            raise UserInputError(
                f"--periodicity-threshold: must be within 0..1, not {self.periodicity_threshold}"
            )
        if not 0 < self.fmin < self.fmax:
            raise UserInputError(
                f"--fmin/--fmax: need 0 < fmin < fmax, got fmin {self.fmin} Hz and fmax {self.fmax} Hz"
            )
        if self.hop_length is not None and self.step_size is not None:
            raise UserInputError("give --hop-length or --step-size, not both")
        if self.hop_length is not None and self.hop_length <= 0:
            raise UserInputError(f"--hop-length: hop length must be positive, not {self.hop_length}")
        if self.step_size is not None and not self.step_size > 0:
            raise UserInputError(f"--step-size: step size must be positive, not {self.step_size}")
        if self.batch_size < 1:
            raise UserInputError(f"--batch-size: batch size must be at least 1, not {self.batch_size}")
        if self.precision not in PRECISIONS:
            raise UserInputError(
                f"--precision: unknown precision {self.precision!r} (choose from {', '.join(PRECISIONS)})"
            )
        if self.conv is not None and self.conv not in CONV_MODES:
            raise UserInputError(f"--conv: unknown mode {self.conv!r} (choose from {', '.join(CONV_MODES)})")
        if self.resampler not in RESAMPLERS:
            raise UserInputError(
                f"--resampler: unknown resampler {self.resampler!r} (choose from {', '.join(RESAMPLERS)})"
            )
        if self.decoder not in DECODERS:
            raise UserInputError(
                f"--decoder: unknown decoder {self.decoder!r} (choose from {', '.join(DECODERS)})"
            )

    def hop(self, sample_rate: int) -> int:
        """Hop in samples at 16 kHz for an input at ``sample_rate``.

        ``step_size`` gives exactly ``16 * ms`` samples; ``hop_length`` is converted as
        torchcrepe does, ``int(hop * 16000 / rate)``.
        """
        if self.hop_length is not None:
            hop = self.hop_length
            if sample_rate != SAMPLE_RATE:
                hop = int(self.hop_length * SAMPLE_RATE / sample_rate)
        else:
            hop = round(SAMPLE_RATE * (DEFAULT_STEP_MS if self.step_size is None else self.step_size) / 1000)
        if hop < 1:
            raise UserInputError(
                f"the hop is under one sample at 16 kHz (hop length {self.hop_length} at {sample_rate} Hz)"
            )
        return hop

    def model(self, weights: str | Path | Weights | dict | torch.nn.Module) -> torch.nn.Module:
        """``weights`` as a model on :attr:`device` at :attr:`precision` (see
        :func:`crepetool.model.load_model`). A module passed in keeps its own device unless
        :attr:`device` is set; one already at a precision is used as it is."""
        if isinstance(weights, Wrapped):
            return weights
        keep = self.device is None and isinstance(weights, torch.nn.Module)
        return with_precision(
            load_model(weights, None if keep else resolve_device(self.device), self.conv), self.precision
        )

    @property
    def voicing(self) -> Voicing:
        return Voicing(self.periodicity_threshold, self.silence_db, self.median_filter, self.mean_filter)

    def replace(self, **changes: Any) -> PredictOptions:
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **changes) if changes else self


def frame_count(samples: int, hop: int) -> int:
    """torchcrepe's frame count with padding: ``1 + samples // hop``."""
    return 1 + samples // hop


def frames(
    audio16k: torch.Tensor, hop: int, batch_size: int = DEFAULT_BATCH, normalise: bool = True
) -> Iterator[torch.Tensor]:
    """Normalised network input (raw windows with ``normalise=False``), batch by batch.

    Arguments
        audio16k (Tensor [shape=(time,)]) at 16 kHz
    Yields
        frames (Tensor [shape=(batch, 1024)])
    """
    total = frame_count(audio16k.numel(), hop)
    padded = torch.nn.functional.pad(audio16k[None], (WINDOW_SIZE // 2, WINDOW_SIZE // 2))[0]
    for start in range(0, total, batch_size):
        count = min(batch_size, total - start)
        chunk = padded[start * hop : (start + count - 1) * hop + WINDOW_SIZE]
        batch = chunk.unfold(0, WINDOW_SIZE, hop).clone()  # shape=(count, 1024)
        yield normalise_frames(batch) if normalise else batch


def normalise_frames(batch: torch.Tensor) -> torch.Tensor:
    """Mean-centred, unit standard deviation, in place, as torchcrepe does: Tensor [shape=(n, 1024)]."""
    batch -= batch.mean(dim=1, keepdim=True)
    batch /= torch.clamp(batch.std(dim=1, keepdim=True), min=1e-10)
    return batch


@torch.no_grad()
def probabilities(
    model: Crepe,
    audio16k: torch.Tensor,
    hop: int,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Network outputs of a 16 kHz recording: Tensor [shape=(frames, 360)] on the CPU."""
    device = next(model.parameters()).device
    outputs = []
    for batch in frames(audio16k.to(device), hop, batch_size):
        outputs.append(model(batch).cpu())
        if progress is not None:
            progress(batch.size(0))
    return torch.cat(outputs)


def predict(
    audio: np.ndarray | torch.Tensor | str | Path,
    sample_rate: int | None = None,
    weights: str | Path | Weights | torch.nn.Module = "full",
    options: PredictOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    **changes: Any,
) -> Prediction:
    """Pitch and periodicity of a waveform or an audio file.

    Arguments
        audio: a path, or samples (ndarray/Tensor [shape=(time,)] or [shape=(1, time)])
            with ``sample_rate``.
        weights: anything :func:`crepetool.model.load_model` takes. A :class:`Crepe`
            stays on its device unless ``options.device`` is set; others go to
            ``options.device`` (cuda when available).
        options: :class:`PredictOptions`; keyword ``changes`` (``fmax=1000``, ...)
            are applied on top, so ``predict(x, 16000, "tiny", fmax=1000)`` works.
        progress: called with the frame count of each network batch.
    """
    options = (options or PredictOptions()).replace(**changes)
    if isinstance(audio, (str, Path)):
        samples, sample_rate = audio_io.load(audio)
    else:
        if sample_rate is None:
            raise UserInputError("sample_rate is required with raw samples")
        samples = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
        samples = samples.astype(np.float32).reshape(-1)
    hop = options.hop(sample_rate)
    model = options.model(weights)
    audio16k = torch.from_numpy(
        np.ascontiguousarray(audio_io.resample(samples, sample_rate, options.resampler), dtype=np.float32)
    )
    probs = probabilities(model, audio16k, hop, options.batch_size, progress)
    pitch, periodicity = decode(probs, options.fmin, options.fmax, options.decoder)
    voiced = None
    if options.voicing.active:
        from crepetool import postprocess

        loudness = None
        if options.silence_db is not None:
            raw = torch.cat(list(frames(audio16k, hop, options.batch_size, normalise=False)))
            loudness = postprocess.loudness(raw, float(postprocess.spectrum_db(raw).max()))
        pitch, periodicity, mask = postprocess.apply(
            pitch.cpu(), periodicity.cpu(), options.voicing, loudness
        )
        voiced = mask[None]
    step = hop / SAMPLE_RATE
    time = torch.arange(pitch.numel(), dtype=torch.float64) * step
    return Prediction(pitch[None], periodicity[None], time, step, int(sample_rate), options.decoder, voiced)
