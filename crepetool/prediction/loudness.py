"""torchcrepe's A-weighted loudness of raw frames, for ``--silence``: a feature of the frames
before the network, computed in the pipeline beside them (:mod:`crepetool.prediction.voicing`
then thresholds it after decoding).
"""

from __future__ import annotations

import numpy as np
import torch

from crepetool.units import SAMPLE_RATE, WINDOW_SIZE

#: torchcrepe.loudness: floor of the weighted dB, reference level, dynamic range kept.
MIN_DB, REF_DB, TOP_DB = -100.0, 20.0, 80.0


def spectrum_db(raw_frames: torch.Tensor) -> torch.Tensor:
    """``10 log10(|STFT|^2)`` of raw (unnormalised) 1024-sample frames, as librosa computes it
    for torchcrepe (periodic Hann window, amin 1e-10): Tensor [shape=(n, 513)], float64."""
    window = torch.hann_window(raw_frames.size(-1), periodic=True, dtype=torch.float64)
    power = torch.fft.rfft(raw_frames.double() * window).abs().square()
    return 10.0 * torch.log10(power.clamp(min=1e-10))


def loudness(raw_frames: torch.Tensor, max_db: float) -> torch.Tensor:
    """torchcrepe's A-weighted loudness of each frame, given the recording's loudest STFT bin
    (``max_db``, which librosa's ``top_db`` clipping needs). Tensor [shape=(n,)] dB."""
    db = torch.maximum(spectrum_db(raw_frames), torch.tensor(max_db - TOP_DB, dtype=torch.float64))
    weighted = (db + _weights()).clamp(min=MIN_DB)
    return weighted.mean(dim=1).float()


def _weights() -> torch.Tensor:
    import warnings

    import librosa

    frequencies = librosa.fft_frequencies(sr=SAMPLE_RATE, n_fft=WINDOW_SIZE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return torch.from_numpy(np.asarray(librosa.A_weighting(frequencies) - REF_DB, dtype=np.float64))
