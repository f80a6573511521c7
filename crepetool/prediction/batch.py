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

from crepetool.atomic import check_folder, sweep
from crepetool.errors import UserInputError, check_choice
from crepetool.names import ENGINES
from crepetool.network.loading import prepared, resolve_device
from crepetool.network.resolver import weights_of
from crepetool.network.weights import Weights
from crepetool.prediction import audio as audio_io
from crepetool.prediction.options import PredictOptions
from crepetool.prediction.outputs import FORMATS, output_name
from crepetool.prediction.pipeline import estimate_frames
from crepetool.prediction.runner import FileResult, Job, model_info, run_job


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


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (0 <= I < N) as (I, N); UserInputError otherwise."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise UserInputError(f"--shard: expected I/N such as 0/4, got {text!r}") from None
    if not 0 <= index < count:
        raise UserInputError(f"--shard: need 0 <= I < N, got {index}/{count}")
    return index, count


def shard(inputs: Sequence[str | Path], index: int, count: int) -> list[Path]:
    """Shard ``index`` of ``count`` of the inputs: N processes given the same list (SLURM array
    tasks, Kubernetes indexed jobs) together cover every input exactly once.

    Deterministic and balanced by size: the sorted, de-duplicated inputs are dealt, largest
    first (ties by path), each to the shard with the fewest bytes so far (ties to the lower
    shard). Returns this shard's inputs, sorted. A missing file counts 0 bytes (it is
    reported by the shard that gets it).
    """
    paths = sorted(dict.fromkeys(Path(p) for p in inputs))

    def size(path: Path) -> int:
        try:
            return path.stat().st_size
        except OSError:
            return 0

    loads = [0] * count
    mine = []
    for path in sorted(paths, key=lambda p: (-size(p), str(p))):
        target = min(range(count), key=lambda i: (loads[i], i))
        loads[target] += size(path)
        if target == index:
            mine.append(path)
    return sorted(mine)


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """``inputs`` with each folder replaced by the audio files under it, recursively and sorted
    (:data:`crepetool.names.AUDIO_SUFFIXES`), as CREPE's own CLI takes a folder. A folder with no
    audio file is refused (UserInputError), before any work."""
    expanded: list[Path] = []
    for path in map(Path, inputs):
        expanded += audio_io.find(path) if path.is_dir() else [path]
    return expanded


def output_paths(inputs: Sequence[Path], formats: Sequence[str], output_dir: Path | None) -> list[list[Path]]:
    """Output files of each input, in ``formats`` order (names: :data:`crepetool.prediction.outputs.FORMATS`)."""
    if output_dir is not None:
        resolved = [p.resolve() for p in inputs]
        root = Path(os.path.commonpath([p.parent for p in resolved])) if resolved else Path(".")
        folders = [output_dir / p.parent.relative_to(root) for p in resolved]
    else:
        folders = [p.parent for p in inputs]
    return [[folder / output_name(p.stem, fmt) for fmt in formats] for p, folder in zip(inputs, folders)]


def plan(inputs: Sequence[str | Path], formats: Sequence[str], output_dir: Path | None) -> list[Job]:
    """The jobs of a batch, in input order; an input whose outputs collide with an earlier
    input's is refused (decided here, so every engine refuses the same inputs)."""
    paths = [Path(p) for p in inputs]
    claimed: dict[Path, Path] = {}
    jobs = []
    for path, outputs in zip(paths, output_paths(paths, formats, output_dir)):
        clash = next((o for o in outputs if o.resolve() in claimed), None)
        if clash is not None:
            refusal = f"{path}: output {clash} collides with that of {claimed[clash.resolve()]}"
            jobs.append(Job(path, dict(zip(formats, outputs)), refusal))
            continue
        claimed.update((o.resolve(), path) for o in outputs)
        jobs.append(Job(path, dict(zip(formats, outputs))))
    return jobs


def predict_files(
    inputs: Sequence[str | Path],
    weights: str | Path | Weights = "full",
    options: PredictOptions | None = None,
    *,
    formats: Sequence[str] = ("csv",),
    output_dir: str | Path | None = None,
    overwrite: bool = False,
    engine: str = "local",
    ray_address: str | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_file: Callable[[FileResult], None] | None = None,
    on_frames: Callable[[int], None] | None = None,
    on_start: Callable[[Path, int], None] | None = None,
    **changes: Any,
) -> BatchSummary:
    """Predict pitch for many files; a bad file is recorded and the batch goes on.

    ``options`` (:class:`~crepetool.prediction.PredictOptions`, with keyword ``changes``
    on top) and ``formats`` are checked before any work (UserInputError). Each file is
    run through the pipeline (:func:`crepetool.prediction.pipeline.predict_frames`): memory does not grow with its
    length. ``engine="ray"`` spreads the files over a Ray cluster
    (:mod:`crepetool.prediction.distributed`, ``ray_address`` or ``RAY_ADDRESS``, else a local one)
    with the same outputs. Callbacks let a caller show progress:
    ``on_plan(files, frames)`` once, ``on_start(path, frames)``, ``on_frames(n)``,
    ``on_file(result)``.
    """
    options = (options or PredictOptions()).replace(**changes)
    formats = list(dict.fromkeys(formats))
    if not formats:
        raise UserInputError("formats: give at least one output format")
    for fmt in formats:
        check_choice("format", fmt, FORMATS, "--format")
        if FORMATS[fmt].needs is not None:
            FORMATS[fmt].needs()  # an optional extra, before any work
    check_choice("engine", engine, ENGINES, "--engine")
    loaded = weights_of(weights)
    resolve_device(options.device)  # a bad device is refused before any work
    out_dir = Path(output_dir) if output_dir is not None else None
    if out_dir is not None:
        check_folder(out_dir)  # one clear error before any work, not one per file
    jobs = plan(expand_inputs(inputs), formats, out_dir)
    folders = list(dict.fromkeys(path.parent for job in jobs for path in job.outputs.values()))
    for folder in folders:
        sweep(folder)  # what killed runs left behind
    try:
        return _run_batch(
            jobs, loaded, options, overwrite, engine, ray_address, on_plan, on_file, on_frames, on_start
        )
    finally:
        for folder in folders:
            sweep(folder)  # what a worker killed during this batch left


def _run_batch(
    jobs: list[Job],
    loaded: Weights,
    options: PredictOptions,
    overwrite: bool,
    engine: str,
    ray_address: str | None,
    on_plan: Callable[[int, int], None] | None,
    on_file: Callable[[FileResult], None] | None,
    on_frames: Callable[[int], None] | None,
    on_start: Callable[[Path, int], None] | None,
) -> BatchSummary:
    """The planned ``jobs`` on ``engine``: :func:`predict_files` after its checks."""
    if on_plan is not None:
        on_plan(len(jobs), sum(estimate_frames(job.input, options) for job in jobs if job.refusal is None))
    started = time.perf_counter()
    if engine == "ray":
        from crepetool.prediction.distributed import run_jobs

        results = run_jobs(jobs, loaded, options, overwrite, ray_address, on_file)
        return BatchSummary(results, time.perf_counter() - started)
    model = prepared(loaded, options.device, options.conv, options.precision)
    info = model_info(loaded)
    results = []
    for job in jobs:
        result = run_job(job, model, info, options, overwrite, on_start, on_frames)
        results.append(result)
        if on_file is not None:
            on_file(result)
    return BatchSummary(results, time.perf_counter() - started)
