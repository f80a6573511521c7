"""Pitch from audio: torchcrepe's preprocessing, crepetool's fast model, a whole-file decoder.

For given weights the network sees exactly the frames ``torchcrepe.predict``
makes (resampy to 16 kHz, 512 samples of zero padding each side, 1024-sample
windows, mean-centred and scaled to unit standard deviation), so its outputs
match torchcrepe's within float tolerance. Frames are made batch by batch,
so a long recording never holds its whole frame tensor in memory; the decoder
then sees the recording's probabilities as a whole, so results never depend
on the batch size.
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
from crepetool.model import WINDOW_SIZE, Crepe, from_state_dict
from crepetool.weights import Weights, load

SAMPLE_RATE = audio_io.SAMPLE_RATE
DEFAULT_FMIN = 50.0
DEFAULT_FMAX = 2006.0  # torchcrepe.MAX_FMAX
DEFAULT_BATCH = 512


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


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` means cuda when available, else cpu. Refuses unknown or absent devices."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise UserInputError(f"unknown device {device!r} (use cpu, cuda or cuda:N)") from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise UserInputError(f"device {device!r}: CUDA is not available here")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise UserInputError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s)")
    elif resolved.type != "cpu":
        raise UserInputError(f"device {device!r}: only cpu and cuda are supported")
    return resolved


def as_model(weights: str | Path | Weights | Crepe, device: torch.device | None = None) -> Crepe:
    """A model in eval mode from a model, Weights, a path or a bundled name.

    A given :class:`Crepe` stays on its own device unless ``device`` is given;
    anything else is loaded onto ``device`` (cpu when None).
    """
    if isinstance(weights, Crepe):
        model = weights if device is None else weights.to(device)
    else:
        loaded = weights if isinstance(weights, Weights) else load(weights)
        model = from_state_dict(loaded.state_dict).to(device or torch.device("cpu"))
    return model.eval()


def hop_at_16k(sample_rate: int, hop_length: int | None = None, step_size: float | None = None) -> int:
    """Hop in samples at 16 kHz.

    ``step_size`` (ms) gives exactly ``16 * ms`` samples; ``hop_length`` (samples at the
    input's rate) is converted as torchcrepe does, ``int(hop * 16000 / rate)``.
    Default: 10 ms.
    """
    check_options(hop_length=hop_length, step_size=step_size)
    if hop_length is not None:
        hop = int(hop_length * SAMPLE_RATE / sample_rate) if sample_rate != SAMPLE_RATE else hop_length
    else:
        hop = round(SAMPLE_RATE * (10.0 if step_size is None else step_size) / 1000)
    if hop < 1:
        raise UserInputError(
            f"the hop is under one sample at 16 kHz (hop length {hop_length} at {sample_rate} Hz)"
        )
    return hop


def check_options(
    fmin: float = DEFAULT_FMIN,
    fmax: float = DEFAULT_FMAX,
    hop_length: int | None = None,
    step_size: float | None = None,
    batch_size: int = DEFAULT_BATCH,
    decoder: str = "viterbi",
) -> None:
    """Refuse bad prediction options (UserInputError), before any work is done."""
    from crepetool.decode import DECODERS

    if not 0 < fmin < fmax:
        raise UserInputError(f"--fmin/--fmax: need 0 < fmin < fmax, got fmin {fmin} Hz and fmax {fmax} Hz")
    if hop_length is not None and step_size is not None:
        raise UserInputError("give --hop-length or --step-size, not both")
    if hop_length is not None and hop_length <= 0:
        raise UserInputError(f"--hop-length: hop length must be positive, not {hop_length}")
    if step_size is not None and not step_size > 0:
        raise UserInputError(f"--step-size: step size must be positive, not {step_size}")
    if batch_size < 1:
        raise UserInputError(f"--batch-size: batch size must be at least 1, not {batch_size}")
    if decoder not in DECODERS:
        raise UserInputError(f"--decoder: unknown decoder {decoder!r} (choose from {', '.join(DECODERS)})")


def frame_count(samples: int, hop: int) -> int:
    """torchcrepe's frame count with padding: ``1 + samples // hop``."""
    return 1 + samples // hop


def frames(audio16k: torch.Tensor, hop: int, batch_size: int = DEFAULT_BATCH) -> Iterator[torch.Tensor]:
    """Normalised network input, batch by batch.

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
        batch -= batch.mean(dim=1, keepdim=True)
        batch /= torch.clamp(batch.std(dim=1, keepdim=True), min=1e-10)
        yield batch


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
    weights: str | Path | Weights | Crepe = "full",
    *,
    hop_length: int | None = None,
    step_size: float | None = None,
    fmin: float = DEFAULT_FMIN,
    fmax: float = DEFAULT_FMAX,
    decoder: str = "viterbi",
    batch_size: int = DEFAULT_BATCH,
    device: str | torch.device | None = None,
    progress: Callable[[int], None] | None = None,
) -> Prediction:
    """Pitch and periodicity of a waveform or an audio file.

    Arguments
        audio: a path, or samples (ndarray/Tensor [shape=(time,)] or [shape=(1, time)])
            with ``sample_rate``.
        weights: ``full``, ``tiny``, a weights path, Weights or a :class:`Crepe`.
        hop_length / step_size: see :func:`hop_at_16k`.
    """
    check_options(fmin, fmax, hop_length, step_size, batch_size, decoder)
    if isinstance(audio, (str, Path)):
        samples, sample_rate = audio_io.load(audio)
    else:
        if sample_rate is None:
            raise UserInputError("sample_rate is required with raw samples")
        samples = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
        samples = samples.astype(np.float32).reshape(-1)
    hop = hop_at_16k(sample_rate, hop_length, step_size)
    # a model passed in keeps its device (predict_files placed it); otherwise cuda when available
    keep = device is None and isinstance(weights, Crepe)
    model = as_model(weights, None if keep else resolve_device(device))
    audio16k = torch.from_numpy(np.ascontiguousarray(audio_io.resample(samples, sample_rate)))
    probs = probabilities(model, audio16k, hop, batch_size, progress)
    pitch, periodicity = decode(probs, fmin, fmax, decoder)
    step = hop / SAMPLE_RATE
    time = torch.arange(pitch.numel(), dtype=torch.float64) * step
    return Prediction(pitch[None], periodicity[None], time, step, int(sample_rate), decoder)


def model_info(weights: Weights | str | Path) -> dict[str, Any]:
    if isinstance(weights, Weights):
        source = weights.metadata.get("source", {}).get("name") or weights.name
        return {"capacity": weights.capacity, "source": str(source), "file": weights.name}
    return {"source": str(weights)}
