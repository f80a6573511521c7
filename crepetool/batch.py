"""``predict`` over many files: output names, resume, atomic writes, one bad file at a time.

Outputs are ``NAME.f0.csv`` / ``NAME.f0.pt`` beside each input, or under an
output folder keeping each input's path relative to the inputs' common parent
(so two ``a.wav`` in different folders never collide and nothing lands outside
the folder). An input whose outputs all exist is skipped unless ``overwrite``:
re-running an interrupted batch finishes it.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from crepetool import audio as audio_io
from crepetool.atomic import atomic_path, check_folder
from crepetool.errors import CrepetoolError, UserInputError
from crepetool.prediction import (
    DEFAULT_BATCH,
    DEFAULT_FMAX,
    DEFAULT_FMIN,
    Prediction,
    as_model,
    check_options,
    frame_count,
    hop_at_16k,
    model_info,
    predict,
    resolve_device,
)
from crepetool.weights import Weights, load

FORMATS = ("csv", "pt")


@dataclasses.dataclass
class FileResult:
    input: Path
    outputs: list[Path]
    status: str  # "done", "skipped" or "failed"
    message: str = ""
    seconds: float = 0.0  # audio duration
    frames: int = 0


@dataclasses.dataclass
class BatchSummary:
    results: list[FileResult]
    elapsed: float

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def frames(self) -> int:
        return sum(r.frames for r in self.results)

    @property
    def audio_seconds(self) -> float:
        return sum(r.seconds for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {
            "done": self.count("done"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "audio_seconds": round(self.audio_seconds, 3),
            "frames": self.frames,
            "frames_per_second": round(self.frames / self.elapsed, 1) if self.elapsed > 0 else None,
            "failures": [
                {"input": str(r.input), "error": r.message} for r in self.results if r.status == "failed"
            ],
        }


def output_paths(inputs: Sequence[Path], formats: Sequence[str], output_dir: Path | None) -> list[list[Path]]:
    """Output files of each input, in ``formats`` order."""
    if output_dir is not None:
        resolved = [p.resolve() for p in inputs]
        root = Path(os.path.commonpath([p.parent for p in resolved])) if resolved else Path(".")
        folders = [output_dir / p.parent.relative_to(root) for p in resolved]
    else:
        folders = [p.parent for p in inputs]
    return [[folder / f"{p.stem}.f0.{fmt}" for fmt in formats] for p, folder in zip(inputs, folders)]


def write_csv(prediction: Prediction, path: Path) -> None:
    """CREPE's CSV: ``time,frequency,confidence`` (seconds, Hz, periodicity)."""
    table = np.stack(
        [
            prediction.time.numpy(),
            prediction.pitch[0].double().numpy(),
            prediction.periodicity[0].double().numpy(),
        ],
        axis=1,
    )
    with atomic_path(path) as tmp:
        np.savetxt(
            tmp,
            table,
            fmt=["%.3f", "%.3f", "%.6f"],
            delimiter=",",
            header="time,frequency,confidence",
            comments="",
        )


def write_pt(prediction: Prediction, path: Path, model: dict[str, Any]) -> None:
    """A dict that loads with ``torch.load(..., weights_only=True)``."""
    payload = {
        "pitch": prediction.pitch.cpu(),
        "periodicity": prediction.periodicity.cpu(),
        "time": prediction.time.float(),
        "step_size": prediction.step_size,
        "source_sample_rate": prediction.sample_rate,
        "decoder": prediction.decoder,
        "model": model,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def predict_files(
    inputs: Sequence[str | Path],
    weights: str | Path | Weights = "full",
    *,
    formats: Sequence[str] = ("csv",),
    output_dir: str | Path | None = None,
    hop_length: int | None = None,
    step_size: float | None = None,
    fmin: float = DEFAULT_FMIN,
    fmax: float = DEFAULT_FMAX,
    decoder: str = "viterbi",
    batch_size: int = DEFAULT_BATCH,
    device: str | None = None,
    overwrite: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
    on_frames: Callable[[int], None] | None = None,
    on_start: Callable[[Path, int], None] | None = None,
) -> BatchSummary:
    """Predict pitch for many files; a bad file is recorded and the batch goes on.

    Options are checked before any work (UserInputError). Callbacks let a caller
    show progress: ``on_start(path, frames)``, ``on_frames(n)``, ``on_file(result)``.
    """
    check_options(fmin, fmax, hop_length, step_size, batch_size, decoder)
    formats = list(dict.fromkeys(formats))
    if not formats or any(f not in FORMATS for f in formats):
        raise UserInputError(f"formats must be among {', '.join(FORMATS)}, got {formats}")
    resolved_device = resolve_device(device)
    loaded = weights if isinstance(weights, Weights) else load(weights)
    model = as_model(loaded, resolved_device)
    info = model_info(loaded)
    paths = [Path(p) for p in inputs]
    out_dir = Path(output_dir) if output_dir is not None else None
    if out_dir is not None:
        check_folder(out_dir)  # one clear error before any work, not one per file
    plans = output_paths(paths, formats, out_dir)

    started = time.perf_counter()
    results: list[FileResult] = []
    claimed: dict[Path, Path] = {}
    for path, outputs in zip(paths, plans):
        result = _one_file(
            path, outputs, claimed, model, info, overwrite, on_start, on_frames,
            hop_length=hop_length, step_size=step_size, fmin=fmin, fmax=fmax,
            decoder=decoder, batch_size=batch_size,
        )  # fmt: skip
        results.append(result)
        if on_file is not None:
            on_file(result)
    return BatchSummary(results, time.perf_counter() - started)


def _one_file(
    path: Path,
    outputs: list[Path],
    claimed: dict[Path, Path],
    model: torch.nn.Module,
    info: dict[str, Any],
    overwrite: bool,
    on_start: Callable[[Path, int], None] | None,
    on_frames: Callable[[int], None] | None,
    **options: Any,
) -> FileResult:
    for output in outputs:
        key = output.resolve()
        if key in claimed:
            return FileResult(
                path, outputs, "failed", f"{path}: output {output} collides with that of {claimed[key]}"
            )
    for output in outputs:
        claimed[output.resolve()] = path
    if not overwrite and all(o.is_file() for o in outputs):
        return FileResult(path, outputs, "skipped", "outputs exist")
    try:
        samples, rate = audio_io.load(path)
        hop = hop_at_16k(rate, options["hop_length"], options["step_size"])
        frames = frame_count(round(samples.size * audio_io.SAMPLE_RATE / rate), hop)  # for progress only
        if on_start is not None:
            on_start(path, frames)
        prediction = predict(samples, rate, model, progress=on_frames, **options)
        for output in outputs:
            if output.suffix == ".csv":
                write_csv(prediction, output)
            else:
                write_pt(prediction, output, info)
    except CrepetoolError as exc:
        message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        return FileResult(path, outputs, "failed", message)
    except Exception as exc:  # a bug or a library failure on one file must not stop the batch
        return FileResult(path, outputs, "failed", f"{path}: {type(exc).__name__}: {exc}".splitlines()[0])
    return FileResult(path, outputs, "done", seconds=samples.size / rate, frames=prediction.pitch.numel())
