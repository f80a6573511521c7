"""The user's own recordings as training pairs (``--audio DIR``): each take degraded as a whole,
the teacher labelling the clean take and the student seeing the degraded one, frame for frame.

A room rings for its whole tail over the take, so a syllable's tail reaches into the windows of
the syllables after it, as in a real room; the teacher's label of each frame comes from the clean
take, so the student learns to give, through the room, what the teacher hears without it. Each
take gets one draw (:data:`TAKE_SHARES`: a room, noise, the telephone band, a codec; some stay
as they are). Read through the prediction pipeline's reader and resampler, and framed as
``predict`` frames (a 10 ms hop), so the frames are the ones ``predict`` gives the network.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from crepetool.prediction import audio as audio_io
from crepetool.prediction.framing import frames
from crepetool.prediction.options import PredictOptions
from crepetool.prediction.resampling import resample
from crepetool.training.frames import chain
from crepetool.training.frames.oscillators import uniform
from crepetool.training.frames.sources import coloured_noise
from crepetool.units import SAMPLE_RATE

#: At most this many frames of the user's audio are kept, drawn evenly at random.
MAX_FRAMES = 20_000
#: Each take's one degradation and its chance; the rest of the takes stay clean.
TAKE_SHARES = {"room": 0.45, "noise": 0.25, "band": 0.1, "codec": 0.1}
#: A take's room: RT60 in seconds (its impulse response runs 1.2 RT60).
TAKE_RT60 = (0.2, 1.2)


def degrade_take(audio: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One take (Tensor [shape=(T,)], 16 kHz) degraded as a whole by one draw of
    :data:`TAKE_SHARES`; Tensor [shape=(T,)]."""
    x = audio[None].float()
    draw = float(torch.rand((), generator=generator))
    for kind, share in TAKE_SHARES.items():
        if draw >= share:
            draw -= share
            continue
        if kind == "room":
            rt60 = uniform((1, 1), *TAKE_RT60, generator)
            x = chain.reverberate(x, chain.room_response(rt60, generator, int(1.2 * float(rt60) * SAMPLE_RATE)))
        elif kind == "noise":
            x = chain.add_noise(x, coloured_noise(1, x.size(1), generator), uniform((1, 1), 0, 20, generator))
        elif kind == "band":
            x = chain.band_limit(x, torch.tensor([[300.0]]), torch.tensor([[3400.0]]))
        else:
            x = chain.codec(x, uniform((1, 1), 0.01, 0.05, generator), uniform((1, 1), 4000, 8000, generator))
        break
    return x[0]


def audio_pairs(
    folder: str | Path, max_frames: int = MAX_FRAMES, options: PredictOptions | None = None, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every audio file under ``folder`` (any rate, resampled as ``options`` say; predict's
    default), each degraded as a whole (:func:`degrade_take`, seeded), as normalised frames:
    ``(degraded, clean)``, each Tensor [shape=(N, 1024)], row i of both the same window.

    At most ``max_frames`` pairs, drawn at random (at most ``2 max_frames / takes`` from each
    take, so memory stays bounded however long the takes are).
    """
    options = options or PredictOptions()
    generator = torch.Generator().manual_seed(seed)
    paths = audio_io.find(folder)
    per_take = max(1, 2 * max_frames // len(paths))  # memory: a few windows of each take are kept
    degraded, clean = [], []
    for path in paths:
        samples, rate = audio_io.load(path)
        take = torch.from_numpy(np.asarray(resample(samples, rate, options.resampler), dtype=np.float32))
        hop = options.hop(SAMPLE_RATE)
        pair = torch.cat(list(frames(take, hop))), torch.cat(list(frames(degrade_take(take, generator), hop)))
        keep = torch.randperm(pair[0].size(0), generator=generator)[:per_take].sort().values
        clean.append(pair[0][keep])
        degraded.append(pair[1][keep])
    noisy, pool = torch.cat(degraded), torch.cat(clean)
    if pool.size(0) > max_frames:
        keep = torch.randperm(pool.size(0), generator=generator)[:max_frames].sort().values
        noisy, pool = noisy[keep], pool[keep]
    return noisy, pool
