"""One input's job, its outputs written as frames are decided: what every engine runs (local, and Ray's workers).

A job's outputs appear whole or not at all (:mod:`crepetool.atomic`); a bad file is a
failed :class:`FileResult` with one line naming it, never an exception.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from crepetool.errors import CrepetoolError
from crepetool.network.resolver import source_of
from crepetool.network.weights import Weights
from crepetool.prediction import pipeline
from crepetool.prediction.options import PredictOptions
from crepetool.prediction.outputs import FORMATS, open_writers
from crepetool.prediction.pipeline import Decided, Network, TrackInfo
from crepetool.units import SAMPLE_RATE


@dataclasses.dataclass(frozen=True)
class Job:
    """One input and its outputs ({format: path}); ``refusal`` is set when it cannot run."""

    input: Path
    outputs: dict[str, Path]
    refusal: str | None = None


@dataclasses.dataclass
class FileResult:
    input: Path
    outputs: list[Path]
    status: str  # "done", "skipped" or "failed"
    message: str = ""
    seconds: float = 0.0  # audio duration
    frames: int = 0


def model_info(weights: Weights) -> dict[str, Any]:
    """What a ``.pt`` output records of the model that made it."""
    source = getattr(source_of(weights), "name", None) or weights.name
    return {"capacity": weights.capacity, "source": str(source), "file": weights.name}


def run_job(
    job: Job,
    model: torch.nn.Module | Network,
    info: dict[str, Any],
    options: PredictOptions,
    overwrite: bool,
    on_start: Callable[[Path, int], None] | None = None,
    on_frames: Callable[[int], None] | None = None,
) -> FileResult:
    """One input, written as its frames are decided: its outputs appear whole or not at all. Every engine runs this.

    ``model``: a module, or a :data:`crepetool.prediction.pipeline.Network` running one elsewhere;
    ``info``: :func:`model_info` of its weights.
    """
    path, outputs = job.input, job.outputs
    paths = list(outputs.values())
    if job.refusal is not None:
        return FileResult(path, paths, "failed", job.refusal)
    if not overwrite and all(o.is_file() for o in paths):
        return FileResult(path, paths, "skipped", "outputs exist")
    try:
        track = _write_outputs(job, model, info, options, on_start, on_frames)
    except CrepetoolError as exc:
        message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        return FileResult(path, paths, "failed", message)
    except Exception as exc:  # a bug or a library failure on one file must not stop the batch
        return FileResult(path, paths, "failed", f"{path}: {type(exc).__name__}: {exc}".splitlines()[0])
    return FileResult(path, paths, "done", seconds=track.seconds, frames=track.frames)


def _write_outputs(
    job: Job,
    model: torch.nn.Module | Network,
    info: dict[str, Any],
    options: PredictOptions,
    on_start: Callable[[Path, int], None] | None,
    on_frames: Callable[[int], None] | None,
) -> TrackInfo:
    """Writers append decided rows as they come; with voicing options, csv and pt wait for the
    whole (output-sized) track, since smoothing sees it whole, and npy is still written as frames come."""
    path, outputs, voicing = job.input, job.outputs, options.voicing
    waits = {fmt for fmt in outputs if voicing.active and FORMATS[fmt].voicing == "waits"}
    reader = pipeline.reader_of(path)
    track = pipeline.probe(reader, options)
    if on_start is not None:
        on_start(path, track.frames)
    meta = {
        "source_sample_rate": track.sample_rate,
        "decoder": options.decoder,
        "context": options.uses_context(track.hop),
        "dereverb": options.dereverb_record,
        "model": info,
        "title": path.name,  # the picture's (each writer reads the keys it needs)
        "voicing": voicing.active,
    }
    with contextlib.ExitStack() as stack:
        opened = stack.enter_context(open_writers(outputs, track.frames, track.hop / SAMPLE_RATE, meta, stack))
        writers: dict[str, Any] = dict(zip(outputs, opened))
        held: list[Decided] = []

        def sink(decided: Decided) -> None:
            for fmt, writer in writers.items():
                if fmt not in waits:
                    writer.append(decided.pitch, decided.periodicity, decided.probabilities)
            if waits:
                held.append(dataclasses.replace(decided, probabilities=None))

        pipeline.predict_frames(reader, model, options, sink, progress=on_frames)
        if waits:
            pitch, periodicity, voiced = pipeline.apply_voicing(pipeline.join(track, held), options)
            for fmt, writer in writers.items():
                if fmt in waits:
                    writer.append(pitch, periodicity, None, voiced)
                elif FORMATS[fmt].voicing == "redraws":
                    writer.retrack(pitch, periodicity, voiced)
    return track
