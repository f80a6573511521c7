"""Audio in: any file soundfile reads, or samples in memory, as mono float32 blocks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from crepetool.errors import AudioError, check_input_file
from crepetool.names import AUDIO_SUFFIXES


def load(path: str | Path) -> tuple[np.ndarray, int]:
    """Read an audio file whole, as mono float32: the blocks of :func:`open_blocks`, joined.

    Returns
        audio (ndarray [shape=(time,)], float32), channels averaged
        sample_rate (int), the file's own rate

    Raises AudioError (one line, naming the file) for a missing, empty, unreadable
    or sample-less file, and for NaN or infinite samples.
    """
    reader = open_blocks(path)
    return np.concatenate(list(reader.blocks(reader.length))), reader.sample_rate


class BlockReader:
    """An audio file read block by block, mixed to mono float32, checked as :func:`load` checks.

    ``sample_rate`` and ``length`` (samples) come from the header before any block is read.
    NaN or infinite samples raise AudioError in the block that holds them.
    """

    def __init__(self, path: Path) -> None:
        import soundfile

        self.path = path
        try:
            info = soundfile.info(str(path))
        except (soundfile.LibsndfileError, RuntimeError, OSError, ValueError, TypeError) as exc:
            reason = getattr(exc, "error_string", None) or str(exc).splitlines()[0] or type(exc).__name__
            raise AudioError(f"{path}: not readable audio ({reason[:200]})") from exc
        self.sample_rate, self.length = int(info.samplerate), int(info.frames)
        if self.length <= 0:
            raise AudioError(f"{path}: holds no samples")
        if self.sample_rate <= 0:
            raise AudioError(f"{path}: invalid sample rate {self.sample_rate}")

    def blocks(self, size: int) -> Iterator[np.ndarray]:
        """Blocks of ``size`` samples (the last one shorter), ``length`` samples in all."""
        import soundfile

        read = 0
        with soundfile.SoundFile(str(self.path)) as handle:
            while read < self.length:
                block = handle.read(min(size, self.length - read), dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    raise AudioError(f"{self.path}: ends after {read} of {self.length} samples (truncated)")
                if not np.isfinite(block).all():
                    raise AudioError(f"{self.path}: NaN or infinite samples")
                read += block.shape[0]
                yield block.mean(axis=1, dtype=np.float32)


def open_blocks(path: str | Path) -> BlockReader:
    """Open an audio file for block-wise reading; raises AudioError as :func:`load` does."""
    path = Path(path)
    check_input_file(path, "an audio file", AudioError)
    _check_wav_chunks(path)
    return BlockReader(path)


class ArrayReader:
    """Samples already in memory, read as :class:`BlockReader` reads a file: a whole recording
    is a stream held in memory, so it goes through the same pipeline as a file.

    Arguments: samples (ndarray or Tensor [shape=(time,)] or [shape=(1, time)]), sample_rate.
    """

    path = None

    def __init__(self, samples: Any, sample_rate: int) -> None:
        if hasattr(samples, "detach"):  # a Tensor
            samples = samples.detach().cpu().numpy()
        self.samples = np.ascontiguousarray(np.asarray(samples).reshape(-1), dtype=np.float32)
        self.sample_rate, self.length = int(sample_rate), self.samples.size
        if self.length == 0:
            raise AudioError("the samples are empty")
        if self.sample_rate <= 0:
            raise AudioError(f"invalid sample rate {sample_rate}")
        if not np.isfinite(self.samples).all():
            raise AudioError("NaN or infinite samples")

    def blocks(self, size: int) -> Iterator[np.ndarray]:
        for start in range(0, self.length, size):
            yield self.samples[start : start + size]


#: What the pipeline reads from: a file or samples in memory.
Reader = BlockReader | ArrayReader


def find(folder: str | Path) -> list[Path]:
    """Audio files under ``folder`` (recursively, by extension), sorted.

    Raises AudioError for a folder that is missing or holds no audio files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AudioError(f"{folder}: not a directory (--audio takes a folder of recordings)")
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not paths:
        raise AudioError(f"{folder}: no audio files ({', '.join(AUDIO_SUFFIXES)})")
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
