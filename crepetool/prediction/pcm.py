"""Audio from a byte stream that cannot seek (standard input, a pipe from ``arecord``): a WAV
header, or raw PCM, decoded block by block into mono float32.

A stream that begins with ``RIFF`` is read as WAV (PCM 16, 24 or 32-bit integers, or 32-bit
float, any channel count; a data size of 0 or 0xFFFFFFFF, as recorders write it, means "to the
end"). A stream that begins like a compressed or other container (:data:`CONTAINERS`: MP3, Ogg,
FLAC, AIFF, CAF, Matroska) is refused, since read as raw samples it would give plausible numbers;
anything else is raw samples in the format given, and with ``raw_only`` every stream is. Every
problem is an :class:`~crepetool.errors.AudioError` naming the stream.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from crepetool.errors import AudioError
from crepetool.names import SAMPLE_FORMATS

#: numpy dtype of each raw sample format (:data:`crepetool.names.SAMPLE_FORMATS`).
RAW_FORMATS: dict[str, str] = dict(zip(SAMPLE_FORMATS, ("<i2", "<i4", "<f4")))
_WAV_PCM, _WAV_FLOAT, _WAV_EXTENSIBLE = 1, 3, 0xFFFE
_UNBOUNDED = (0, 0xFFFFFFFF)
#: The first bytes of containers a stream does not decode, and their names.
CONTAINERS: dict[bytes, str] = {
    b"ID3": "MP3",
    b"OggS": "Ogg",
    b"fLaC": "FLAC",
    b"FORM": "AIFF",
    b"caff": "CAF",
    b"\x1aE\xdf\xa3": "Matroska/WebM",
}


def container_of(head: bytes) -> str | None:
    """The container ``head`` (a stream's first bytes) starts, when it is one :class:`PcmReader`
    refuses: a :data:`CONTAINERS` entry, or an MPEG audio frame's sync word."""
    for magic, name in CONTAINERS.items():
        if head.startswith(magic):
            return name
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:  # sync, a layer
        return "MPEG audio"
    return None


@dataclasses.dataclass(frozen=True)
class PcmFormat:
    """How the stream's samples are stored: rate (Hz), channels, and a numpy dtype (``<i2``,
    ``<i4``, ``<f4``, or ``i3`` for 24-bit integers)."""

    rate: int
    channels: int
    dtype: str

    @property
    def frame_bytes(self) -> int:
        return self.channels * (3 if self.dtype == "i3" else np.dtype(self.dtype).itemsize)


class PcmReader:
    """Blocks of mono float32 samples from ``stream`` (``name`` labels its errors).

    Arguments: ``raw`` is the format of a stream without a WAV header; ``raw_only`` reads every
    stream as raw samples (no header looked for, no container refused).
    """

    def __init__(self, stream: BinaryIO, raw: PcmFormat, name: str = "<stdin>", raw_only: bool = False) -> None:
        self.stream, self.name = stream, name
        head = self._read(12)
        self._pending = b""
        self._left: int | None = None  # data bytes left in a WAV with a known size
        container = None if raw_only else container_of(head)
        if container is not None:
            raise AudioError(
                f"{self.name}: this is {container}, not WAV or raw PCM: decode it first "
                "(ffmpeg -i FILE -f wav -), or give --raw to read the bytes as samples"
            )
        if head[:4] == b"RIFF" and not raw_only:
            self.format = self._wav(head)
        else:
            self.format, self._pending = raw, head

    def blocks(self, samples: int) -> Iterator[np.ndarray]:
        """Blocks of about ``samples`` samples each: ndarrays [shape=(n,)] float32, the channels
        mixed to mono. A stream that ends inside a sample raises after its whole samples."""
        frame = self.format.frame_bytes
        size = max(1, samples) * frame
        while True:
            want = size if self._left is None else min(size, self._left)
            data = self._pending + self._read(max(0, want - len(self._pending)))
            self._pending = b""
            ended = len(data) < want or (self._left is not None and self._left <= len(data))
            if self._left is not None:
                self._left -= len(data)
            whole = len(data) // frame * frame
            if whole:
                yield self._decode(data[:whole])
            if ended:
                if whole < len(data):
                    raise AudioError(
                        f"{self.name}: the stream ends inside a sample ({len(data) - whole} bytes "
                        f"past the last whole frame of {frame} bytes)"
                    )
                return
            self._pending = data[whole:]

    def _decode(self, data: bytes) -> np.ndarray:
        fmt = self.format
        if fmt.dtype == "i3":
            raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            values = (raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)) << 8 >> 8  # sign-extend
            samples = values.astype(np.float32) / 2**23
        else:
            values = np.frombuffer(data, dtype=fmt.dtype)
            scale = 1.0 if values.dtype.kind == "f" else float(2 ** (8 * values.dtype.itemsize - 1))
            samples = values.astype(np.float32) / np.float32(scale)
        return samples.reshape(-1, fmt.channels).mean(axis=1, dtype=np.float32)

    def _read(self, count: int) -> bytes:
        parts, got = [], 0
        while got < count:
            chunk = self.stream.read(count - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def _wav(self, head: bytes) -> PcmFormat:
        if len(head) < 12 or head[8:12] != b"WAVE":
            raise AudioError(f"{self.name}: a RIFF stream that is not WAVE audio")
        found: PcmFormat | None = None
        while True:
            chunk = self._read(8)
            if len(chunk) < 8:
                raise AudioError(f"{self.name}: the WAV header ends before its data chunk")
            kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if kind == b"data":
                if found is None:
                    raise AudioError(f"{self.name}: the WAV data comes before its fmt chunk")
                self._left = None if size in _UNBOUNDED else size
                return found
            body = self._read(size + (size & 1))
            if len(body) < size:
                raise AudioError(f"{self.name}: the WAV header ends inside its {kind.decode(errors='replace')!r} chunk")
            if kind == b"fmt ":
                found = self._fmt(body)

    def _fmt(self, body: bytes) -> PcmFormat:
        if len(body) < 16:
            raise AudioError(f"{self.name}: a WAV fmt chunk of {len(body)} bytes")
        tag, channels, rate = struct.unpack("<HHI", body[:8])
        bits = struct.unpack("<H", body[14:16])[0]
        if tag == _WAV_EXTENSIBLE and len(body) >= 26:
            tag = struct.unpack("<H", body[24:26])[0]
        dtypes = {(_WAV_PCM, 16): "<i2", (_WAV_PCM, 24): "i3", (_WAV_PCM, 32): "<i4", (_WAV_FLOAT, 32): "<f4"}
        dtype = dtypes.get((tag, bits))
        if dtype is None or channels < 1 or rate < 1:
            raise AudioError(
                f"{self.name}: WAV format {tag} with {bits}-bit samples, {channels} channels at {rate} Hz "
                "is not supported (PCM 16/24/32-bit or 32-bit float)"
            )
        return PcmFormat(rate, channels, dtype)
