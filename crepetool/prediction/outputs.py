"""Output files of ``predict``, written as frames are decided and renamed into place at the end.

| format | file | what |
|---|---|---|
| ``csv`` | ``NAME.f0.csv`` | CREPE's ``time,frequency,confidence`` (seconds, Hz, periodicity), rows appended as decided |
| ``pt`` | ``NAME.f0.pt`` | a dict for ``torch.load(..., weights_only=True)``: pitch [1, T], periodicity [1, T], time [T], ... |
| ``npy`` | ``NAME.activation.npy`` | CREPE's activation: float32 [T, 360], the network's probabilities (rows appended) |
| ``png`` | ``NAME.f0.png`` | ``--plot``: salience, pitch and periodicity (:mod:`crepetool.prediction.plotting`, matplotlib) |

Each writer is opened on a temporary path (:func:`crepetool.atomic.atomic_path`) and
given consecutive stretches of frames; nothing appears under the final name unless the
whole file was written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch

from crepetool.atomic import atomic_path
from crepetool.names import PLOT_FORMAT
from crepetool.units import PITCH_BINS

CSV_HEADER = "time,frequency,confidence"
CSV_FORMAT = ("%.3f", "%.3f", "%.6f")
#: The activation file's dtype: float32, little-endian, as np.save writes it on every CPU in use.
NPY_DTYPE = np.dtype("<f4")


class Writer(Protocol):
    def append(
        self,
        pitch: torch.Tensor,
        periodicity: torch.Tensor,
        probabilities: torch.Tensor | None,
        voiced: torch.Tensor | None = None,
    ) -> None: ...

    def close(self) -> None: ...


def output_name(stem: str, fmt: str) -> str:
    return stem + FORMATS[fmt].suffix


def csv_rows(
    time: np.ndarray, pitch: torch.Tensor, periodicity: torch.Tensor, voiced: torch.Tensor | None = None
) -> str:
    """CREPE's CSV rows, ``time,frequency,confidence``, frequency 0 where not ``voiced``: the text
    of every CSV crepetool writes, to a file or to a stream."""
    frequency = pitch.double() if voiced is None else torch.where(voiced, pitch.double(), 0.0)
    table = np.stack([np.asarray(time, dtype=np.float64), frequency.numpy(), periodicity.double().numpy()], axis=1)
    text = io.StringIO()
    np.savetxt(text, table, fmt=list(CSV_FORMAT), delimiter=",")
    return text.getvalue()


class CsvWriter:
    """CREPE's CSV, one row per frame, appended as frames are decided."""

    def __init__(self, path: Path, frames: int, step: float, meta: dict[str, Any]) -> None:
        self.step, self.done = step, 0
        self.handle = open(path, "w")
        self.handle.write(CSV_HEADER + "\n")

    def append(self, pitch, periodicity, probabilities, voiced=None) -> None:
        time = (self.done + np.arange(pitch.numel())) * self.step
        self.handle.write(csv_rows(time, pitch, periodicity, voiced))
        self.done += pitch.numel()

    def close(self) -> None:
        self.handle.close()


class PtWriter:
    """The ``.pt`` dict, assembled at the end (it is the size of the output)."""

    def __init__(self, path: Path, frames: int, step: float, meta: dict[str, Any]) -> None:
        self.path, self.step, self.meta = path, step, meta
        self.pitch: list[torch.Tensor] = []
        self.periodicity: list[torch.Tensor] = []
        self.voiced: list[torch.Tensor] = []

    def append(self, pitch, periodicity, probabilities, voiced=None) -> None:
        self.pitch.append(pitch.float())
        self.periodicity.append(periodicity.float())
        if voiced is not None:
            self.voiced.append(voiced)

    def close(self) -> None:
        pitch = torch.cat(self.pitch) if self.pitch else torch.zeros(0)
        payload = {
            "pitch": pitch[None],
            "periodicity": (torch.cat(self.periodicity) if self.periodicity else torch.zeros(0))[None],
            "time": (torch.arange(pitch.numel(), dtype=torch.float64) * self.step).float(),
            "hop_seconds": self.step,
            **{key: self.meta[key] for key in ("source_sample_rate", "decoder", "context", "dereverb", "model") if key in self.meta},
        }
        if self.voiced:  # with voicing options: the CSV's 0 Hz frames; pitch keeps the decoded value
            payload["voiced"] = torch.cat(self.voiced)[None]
        # through a buffer: torch.save names the archive after the (temporary) file otherwise,
        # and the same prediction must give the same bytes whoever writes it
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        self.path.write_bytes(buffer.getvalue())


class NpyWriter:
    """CREPE's ``.activation.npy``: float32 [T, 360], its header first, then rows as they come.

    Plain writes, never a memory map: on a full disk the write that fails raises ENOSPC (one
    line for that file, the batch goes on), where a mapped page the disk cannot back kills the
    whole process with SIGBUS.
    """

    def __init__(self, path: Path, frames: int, step: float, meta: dict[str, Any]) -> None:
        self.handle = open(path, "wb")
        header = {
            "descr": np.lib.format.dtype_to_descr(NPY_DTYPE),
            "fortran_order": False,
            "shape": (frames, PITCH_BINS),
        }
        np.lib.format.write_array_header_1_0(self.handle, header)
        self.frames, self.done = frames, 0

    def append(self, pitch, periodicity, probabilities, voiced=None) -> None:
        rows = np.ascontiguousarray(probabilities.float().numpy(), dtype=NPY_DTYPE)
        self.handle.write(rows.tobytes())
        self.done += rows.shape[0]

    def close(self) -> None:
        self.handle.close()  # (a failed flush raises here, and the temporary is removed)
        if self.done != self.frames:
            raise ValueError(f"activation: {self.done} rows written of the {self.frames} declared")


def _plot_writer(path: Path, frames: int, step: float, meta: dict[str, Any]) -> Any:
    from crepetool.prediction.plotting import PlotWriter  # matplotlib only when a plot is asked for

    return PlotWriter(path, frames, step, meta)


def _require_matplotlib() -> None:
    from crepetool.prediction.plotting import require_matplotlib

    require_matplotlib()


@dataclasses.dataclass(frozen=True)
class OutputFormat:
    """One output of ``predict``: its file name ending, its writer, and what it needs.

    ``voicing`` says how it meets the voicing options (threshold, silence, filters), which see the
    whole track: ``"waits"`` (rows are written once the voiced track is known), ``"redraws"``
    (written as frames come; its ``retrack(pitch, periodicity, voiced)`` gets the voiced track at
    the end) or ``"ignores"`` (what it holds does not depend on voicing). ``needs`` is checked
    before any work (an optional extra).
    """

    suffix: str
    writer: Callable[[Path, int, float, dict[str, Any]], Writer]
    voicing: Literal["waits", "redraws", "ignores"]
    needs: Callable[[], None] | None = None


#: Every output, by its name in :data:`crepetool.names.FORMATS` (and ``names.PLOT_FORMAT``):
#: adding one is one entry here and its writer.
FORMATS: dict[str, OutputFormat] = {
    "csv": OutputFormat(".f0.csv", CsvWriter, "waits"),
    "pt": OutputFormat(".f0.pt", PtWriter, "waits"),
    "npy": OutputFormat(".activation.npy", NpyWriter, "ignores"),
    PLOT_FORMAT: OutputFormat(".f0.png", _plot_writer, "redraws", _require_matplotlib),
}


@contextlib.contextmanager
def open_writers(
    outputs: dict[str, Path], frames: int, step: float, meta: dict[str, Any], stack: contextlib.ExitStack
) -> Any:
    """Writers for ``outputs`` ({format: final path}) on temporaries that ``stack`` renames into
    place when it closes without an error (and removes otherwise)."""
    writers = [
        FORMATS[fmt].writer(stack.enter_context(atomic_path(path)), frames, step, meta)
        for fmt, path in outputs.items()
    ]
    try:
        yield writers
    except BaseException:
        for writer in writers:  # release handles; the temporaries are removed by the stack
            with contextlib.suppress(Exception):
                writer.close()
        raise
    for writer in writers:
        writer.close()


def write_prediction(
    outputs: dict[str, Path], pitch: torch.Tensor, periodicity: torch.Tensor, probabilities: torch.Tensor,
    step: float, meta: dict[str, Any], voiced: torch.Tensor | None = None,
) -> None:  # fmt: skip
    """Write a whole prediction (pitch, periodicity, voiced [T]; probabilities [T, 360]) at once."""
    with contextlib.ExitStack() as stack, open_writers(outputs, pitch.numel(), step, meta, stack) as writers:
        for writer in writers:
            writer.append(pitch, periodicity, probabilities, voiced)
