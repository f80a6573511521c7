"""``predict --engine ray``: the files of a batch spread over a Ray cluster.

Each Ray worker is an actor that loads the model once (its weights travel through Ray's
object store) and runs :func:`crepetool.prediction.runner.run_job` on the files it is given: the
same pipeline, writers and atomic renames as the local engine, so the outputs are
byte for byte the same and resuming, skipping and the one-line report of a bad file
behave as they do locally. Outputs are written where the worker runs: on a multi-node
cluster the inputs and outputs must be on a filesystem every node sees (NFS, a bucket
mount). A worker that dies in the middle of a file is restarted and the file retried
(``max_restarts``/``max_task_retries``); a file whose worker died more often than that is
tried once more, alone on a fresh worker (so a file that kills every worker it meets fails
alone, one line, and the files that were beside it are done). A dead worker's temporaries
are removed when the batch ends (:func:`crepetool.atomic.sweep`), and nothing appears under
an output name until a file is whole.

A file longer than :data:`SPLIT_FRAMES` is not one worker's: this process reads, resamples
and decodes it, and its network batches go to all the workers, several in flight, their
results taken back in order. The batches are the ones the local engine makes, so the
outputs are still the same, byte for byte, and one long recording uses the whole cluster.

The cluster: ``address`` (``--ray-address``), else ``RAY_ADDRESS``, else a local cluster
started for the batch on this machine (loopback only) and stopped after it.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from crepetool.errors import UserInputError
from crepetool.names import WORKER_THREADS_ENV
from crepetool.network.loading import prepared
from crepetool.network.weights import Weights
from crepetool.prediction.options import PredictOptions
from crepetool.prediction.pipeline import Network, estimate_frames, local_network
from crepetool.prediction.runner import FileResult, Job, model_info, run_job

#: Times a worker is restarted, and a file retried (or a batch, for a split file), after it dies.
RETRIES = 2
#: Files with more frames than this (10 minutes at the default hop) are split over the workers
#: batch by batch rather than given to one.
SPLIT_FRAMES = 60_000


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserInputError("--engine ray needs Ray: pip install 'crepetool[ray]'") from None
    return ray


class Worker:
    """A Ray actor's body: one model, many files."""

    def __init__(self, state_dict: dict, info: dict[str, Any], options: PredictOptions) -> None:
        import torch

        torch.set_num_threads(max(1, int(os.environ.get(WORKER_THREADS_ENV, "1"))))
        self.model = prepared(state_dict, options.device, options.conv, options.precision)
        self.info, self.options = info, options
        self._network = local_network(self.model)  # on the model's device, as predict runs it

    def run(self, job: Job, overwrite: bool) -> FileResult:
        return run_job(job, self.model, self.info, self.options, overwrite)

    def network(self, batch: Any) -> Any:
        """Probabilities of one batch of a split file: Tensor [(n, 1024)] -> [(n, 360)]."""
        return next(self._network(iter((batch,))))


def split(jobs: list[Job], options: PredictOptions) -> list[int]:
    """Indices of the jobs whose files are long enough to be split over the workers."""
    return [
        i
        for i, job in enumerate(jobs)
        if job.refusal is None and estimate_frames(job.input, options) > SPLIT_FRAMES
    ]


def cluster_network(ray: Any, pool: list[Any]) -> Network:
    """A :data:`~crepetool.prediction.pipeline.Network` over the ``pool`` of workers: batches go round
    the pool, two in flight per worker, and come back in the order they were sent."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        in_flight: collections.deque[Any] = collections.deque()
        workers = itertools.cycle(pool)
        for batch in batches:
            in_flight.append(next(workers).network.remote(batch))
            if len(in_flight) >= 2 * len(pool):
                yield ray.get(in_flight.popleft())
        while in_flight:
            yield ray.get(in_flight.popleft())

    return run


def run_jobs(
    jobs: list[Job],
    weights: Weights,
    options: PredictOptions,
    overwrite: bool,
    address: str | None = None,
    on_file: Callable[[FileResult], None] | None = None,
    workers: int | None = None,
) -> list[FileResult]:
    """Run ``jobs`` on a Ray cluster; results come back in input order.

    ``workers`` defaults to the cluster's CPUs (each worker runs torch on one thread,
    ``CREPETOOL_WORKER_THREADS`` to change it).
    """
    # Ray's driver prints its workers' deaths to stdout from a thread of its own: talk goes to
    # stderr, so stdout stays the command's data (predict --json)
    with contextlib.redirect_stdout(sys.stderr):
        return _run_on_cluster(jobs, weights, options, overwrite, address, on_file, workers)


def _run_on_cluster(
    jobs: list[Job],
    weights: Weights,
    options: PredictOptions,
    overwrite: bool,
    address: str | None,
    on_file: Callable[[FileResult], None] | None,
    workers: int | None,
) -> list[FileResult]:
    ray = _ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:  # a local cluster on loopback, for this batch only
            ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
    try:
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        long_files = set(split(jobs, options))
        size = count if long_files else min(count, len(jobs)) or 1
        dispatch = _Dispatch(ray, jobs, weights, options, overwrite)
        pool = [dispatch.worker() for _ in range(size)]
        results: list[FileResult | None] = [None] * len(jobs)
        for index in sorted(long_files):  # one at a time, each over the whole pool
            results[index] = run_job(
                jobs[index], cluster_network(ray, pool), dispatch.info, options, overwrite
            )
            if on_file is not None:
                on_file(results[index])
        dispatch.queue = iter([i for i in range(len(jobs)) if i not in long_files])
        for actor in pool:  # two files in flight per worker: the next one is ready when one ends
            dispatch.submit(actor)
            dispatch.submit(actor)
        while dispatch.pending:
            index, result = dispatch.settle_one()
            if result is not None:
                results[index] = result
                if on_file is not None:
                    on_file(result)
        return [r for r in results if r is not None]
    finally:
        if started_here:
            ray.shutdown()


class _Dispatch:
    """Files handed to workers, and what happens when a worker dies under one."""

    def __init__(self, ray: Any, jobs: list[Job], weights: Weights, options: PredictOptions, overwrite: bool):
        self.ray, self.jobs, self.options, self.overwrite = ray, jobs, options, overwrite
        self.info = model_info(weights)
        self.state = ray.put({k: v.cpu() for k, v in weights.state_dict.items()})
        self.remote = ray.remote(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)(Worker)
        self.queue: Iterator[int] = iter(())
        self.pending: dict[Any, tuple[int, Any]] = {}
        self.failures: collections.Counter[int] = collections.Counter()
        self.lone: set[Any] = set()  # workers started for one retried file

    def worker(self, lone: bool = False) -> Any:
        """A pool worker holds a CPU. A lone one holds none: the pool's workers keep theirs for
        the whole batch, so a retry that waited for a CPU would wait for ever."""
        remote = self.remote.options(num_cpus=0) if lone else self.remote
        actor = remote.remote(self.state, self.info, self.options)
        if lone:
            self.lone.add(actor)
        return actor

    def submit(self, actor: Any, index: int | None = None) -> None:
        index = next(self.queue, None) if index is None else index
        if index is not None:
            self.pending[actor.run.remote(self.jobs[index], self.overwrite)] = (index, actor)

    def settle_one(self) -> tuple[int, FileResult | None]:
        """The next file to end: its result, or None when it is tried again."""
        done, _ = self.ray.wait(list(self.pending), num_returns=1)
        index, actor = self.pending.pop(done[0])
        try:
            result = self.ray.get(done[0])
        except Exception as exc:  # its worker died more often than Ray restarts it
            self.failures[index] += 1
            if not isinstance(exc, self.ray.exceptions.RayActorError):
                self._next(actor)  # the worker lives on
            if self.failures[index] < RETRIES:
                # again, alone on a fresh worker: a file that kills every worker it meets takes
                # no other file with it, and the files that died beside it are done
                self.submit(self.worker(lone=True), index)
                return index, None
            job = self.jobs[index]
            reason = f"{job.input}: worker failed ({type(exc).__name__})"
            return index, FileResult(job.input, list(job.outputs.values()), "failed", reason)
        self._next(actor)
        return index, result

    def _next(self, actor: Any) -> None:
        """More work for a pool worker; a lone worker's one file is done, and so is it."""
        if actor in self.lone:
            self.lone.discard(actor)
            self.ray.kill(actor)
        else:
            self.submit(actor)
