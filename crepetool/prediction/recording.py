"""Pitch of one recording, in memory or in a file: the pipeline, collected.

:func:`predict` runs :func:`crepetool.prediction.pipeline.track`, the code ``crepetool predict`` runs,
so its arrays are the ones the command writes. For given weights the network sees exactly
the frames ``torchcrepe.predict`` makes (resampy to 16 kHz, 512 samples of zero padding each
side, 1024-sample windows, mean-centred and scaled to unit standard deviation), so its
outputs match torchcrepe's within float tolerance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from crepetool.errors import UserInputError
from crepetool.names import PREDICT_BATCH
from crepetool.network.loading import prepared
from crepetool.network.weights import Weights
from crepetool.prediction import audio as audio_io
from crepetool.prediction import pipeline
from crepetool.prediction.options import PredictOptions
from crepetool.units import SAMPLE_RATE

__all__ = ["PredictOptions", "Prediction", "predict", "probabilities"]


@dataclasses.dataclass
class Prediction:
    """Pitch of one recording.

    pitch (Tensor [shape=(1, frames)]) Hz; periodicity (Tensor [shape=(1, frames)]) 0..1;
    time (Tensor [shape=(frames,)]) seconds; hop_seconds: seconds between frames (the hop;
    ``--step-size`` gives it in milliseconds).
    """

    pitch: torch.Tensor
    periodicity: torch.Tensor
    time: torch.Tensor
    hop_seconds: float
    sample_rate: int
    decoder: str
    voiced: torch.Tensor | None = None  # [1, frames] bool, with voicing options
    context: bool = False  # whether the context stage ran (crepetool.network.context)


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
        weights: anything :func:`crepetool.network.loading.load_model` takes. A :class:`Crepe`
            stays on its device unless ``options.device`` is set; others go to
            ``options.device`` (cuda when available).
        options: :class:`PredictOptions`; keyword ``changes`` (``fmax=1000``, ...)
            are applied on top, so ``predict(x, 16000, "tiny", fmax=1000)`` works.
        progress: called with the frame count of each network batch.
    """
    options = (options or PredictOptions()).replace(**changes)
    if isinstance(audio, (str, Path)):
        reader: audio_io.Reader = audio_io.open_blocks(audio)
    else:
        if sample_rate is None:
            raise UserInputError("sample_rate is required with raw samples")
        reader = audio_io.ArrayReader(audio, sample_rate)
    options.hop(reader.sample_rate)  # a bad hop is refused before the model loads
    model = prepared(weights, options.device, options.conv, options.precision)
    track = pipeline.track(reader, model, options, progress=progress)
    pitch, periodicity, voiced = track.pitch, track.periodicity, None
    if options.voicing.active:
        pitch, periodicity, mask = pipeline.apply_voicing(track, options)
        voiced = mask[None]
    step = track.info.hop / SAMPLE_RATE
    time = torch.arange(pitch.numel(), dtype=torch.float64) * step
    return Prediction(
        pitch[None],
        periodicity[None],
        time,
        step,
        reader.sample_rate,
        options.decoder,
        voiced,
        options.uses_context(track.info.hop),
    )


@torch.no_grad()
def probabilities(
    model: torch.nn.Module,
    audio16k: torch.Tensor | np.ndarray,
    hop: int,
    batch_size: int = PREDICT_BATCH,
    progress: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Network outputs of a 16 kHz recording, framed and batched as the pipeline frames and
    batches it (the same bytes as predict's): Tensor [shape=(frames, 360)] on the CPU."""
    options = PredictOptions(hop_length=hop, batch_size=batch_size)
    spans = pipeline.spans(audio_io.ArrayReader(audio16k, SAMPLE_RATE), options)
    outputs = []
    for rows in pipeline.local_network(model)(pipeline.network_batches(spans, batch_size)):
        outputs.append(rows)
        if progress is not None:
            progress(rows.size(0))
    return torch.cat(outputs)
