"""Audio in: any file soundfile reads, mixed to mono, resampled to 16 kHz as torchcrepe does."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crepetool.errors import AudioError, check_input_file

SAMPLE_RATE = 16000
#: Extensions taken when a folder of recordings is given (evaluate --audio, prune --audio).
SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")


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
    _check_wav_chunks(path)
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


def find(folder: str | Path) -> list[Path]:
    """Audio files under ``folder`` (recursively, by extension), sorted.

    Raises AudioError for a folder that is missing or holds no audio files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AudioError(f"{folder}: not a directory (--audio takes a folder of recordings)")
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not paths:
        raise AudioError(f"{folder}: no audio files ({', '.join(SUFFIXES)})")
    return paths


def _check_wav_chunks(path: Path) -> None:
    """Refuse a RIFF/WAVE file whose data chunk claims more bytes than the file holds.

    libsndfile quietly reads what is there, so a truncated download would pass as a
    shorter recording. A streamed WAV's unknown length (0 or 0xFFFFFFFF) is allowed.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return
        offset = 12
        while offset + 8 <= size:
            handle.seek(offset)
            chunk = handle.read(8)
            claimed = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                available = size - offset - 8
                if claimed not in (0, 0xFFFFFFFF) and claimed > available:
                    raise AudioError(
                        f"{path}: WAV data chunk claims {claimed} bytes but the file holds {available} "
                        "(truncated or corrupt)"
                    )
                return
            offset += 8 + claimed + (claimed & 1)


def resample(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """To 16 kHz with resampy's default filter, exactly as ``torchcrepe.resample`` does."""
    if sample_rate == SAMPLE_RATE:
        return audio
    import resampy

    return resampy.resample(audio, sample_rate, SAMPLE_RATE)
