"""The user's own recordings as training frames (``--audio DIR``), read through the prediction
pipeline's reader, resampler and framing, so they are the frames ``predict`` would give the
network."""

from __future__ import annotations

from pathlib import Path

import torch

from crepetool.prediction import audio as audio_io
from crepetool.prediction.options import PredictOptions
from crepetool.prediction.pipeline import spans

#: At most this many frames of the user's audio are kept, drawn evenly at random.
MAX_FRAMES = 20_000


def audio_frames(
    folder: str | Path, max_frames: int = MAX_FRAMES, options: PredictOptions | None = None, seed: int = 0
) -> torch.Tensor:
    """Normalised frames of every audio file under ``folder`` (any rate, resampled to 16 kHz as
    ``options`` say; the default is predict's, a 10 ms hop).

    At most ``max_frames``, drawn evenly at random. Returns Tensor [shape=(N, 1024)].
    """
    options = options or PredictOptions()
    chunks = [span.frames() for path in audio_io.find(folder) for span in spans(path, options) if span.count]
    pool = torch.cat(chunks)
    if pool.size(0) > max_frames:
        keep = torch.randperm(pool.size(0), generator=torch.Generator().manual_seed(seed))[:max_frames]
        pool = pool[keep.sort().values]
    return pool
