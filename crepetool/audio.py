"""Audio in: any file soundfile reads, mixed to mono, resampled to 16 kHz as torchcrepe does."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crepetool.errors import AudioError, check_input_file

SAMPLE_RATE = 16000


def load(path: str | Path) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32.

    Returns
        audio (ndarray [shape=(time,)], float32), channels averaged
        sample_rate (int), the file's own rate

    Raises AudioError (one line, naming the file) for a missing, empty, unreadable
    or sample-less file, and for NaN or infinite samples.
    """
    import soundfile

    path = Path(path)
    check_input_file(path, "an audio file", AudioError)
    try:
        audio, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError, ValueError, TypeError) as exc:
        reason = getattr(exc, "error_string", None) or str(exc).splitlines()[0] or type(exc).__name__
        raise AudioError(f"{path}: not readable audio ({reason[:160]})") from exc
    if audio.size == 0:
        raise AudioError(f"{path}: holds no samples")
    if sample_rate <= 0:
        raise AudioError(f"{path}: invalid sample rate {sample_rate}")
    if not np.isfinite(audio).all():
        raise AudioError(f"{path}: NaN or infinite samples")
    return audio.mean(axis=1, dtype=np.float32), int(sample_rate)


def resample(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """To 16 kHz with resampy's default filter, exactly as ``torchcrepe.resample`` does."""
    if sample_rate == SAMPLE_RATE:
        return audio
    import resampy

    return resampy.resample(audio, sample_rate, SAMPLE_RATE)
