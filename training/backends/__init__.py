"""Evaluation backends: run a generation's episode jobs in-process, on a process pool, or on Ray.

A backend is built for one task and keeps its workers (and their envs) alive across generations.
``run(candidates, jobs, done)`` returns one ``(fitness, info)`` per job, in job order, and calls
``done(n)`` (if given) as each ``n`` jobs finish, e.g. a progress bar's ``update``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from training.tasks import Job, Task

BACKENDS = ("serial", "process", "ray")


class EvaluationError(RuntimeError):
    """An episode raised, or kept killing its worker; the message names the job."""


Done = Callable[[int], object]  # told how many more jobs have finished


class Backend(Protocol):
    def run(
        self, candidates: Sequence[Any], jobs: Sequence[Job], done: Done | None = None
    ) -> list[tuple[float, dict[str, Any]]]: ...

    def close(self) -> None: ...


def make_backend(
    name: str, task: Task, workers: int | None = None, ray_address: str | None = None
) -> Backend:
    """``serial``, ``process`` (``workers`` processes, default all cores) or ``ray``.

    A task with a vectorised batch evaluator runs on it everywhere: serial makes one call per
    generation, process and ray one per worker, each on its share of the candidates.
    """
    if name == "serial":
        from training.backends.serial import SerialBackend

        return SerialBackend(task)
    if name == "process":
        from training.backends.process import ProcessBackend

        return ProcessBackend(task, workers)
    if name == "ray":
        from training.backends.ray_backend import RayBackend

        return RayBackend(task, workers, ray_address)
    raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")


def chunked(n_jobs: int, size: int) -> deque[list[int]]:
    """Job indices ``0..n_jobs-1`` in consecutive chunks of ``size`` (the unit handed to a worker)."""
    return deque(list(range(i, min(i + size, n_jobs))) for i in range(0, n_jobs, size))


def split_by_candidate(jobs: Sequence[Job], parts: int) -> deque[list[int]]:
    """Job indices in at most ``parts`` chunks of consecutive candidates (each candidate's jobs together)."""
    if not jobs:
        return deque()
    first, last = min(j.candidate for j in jobs), max(j.candidate for j in jobs)
    bounds = np.linspace(first, last + 1, max(1, parts) + 1)
    part = np.searchsorted(bounds, [j.candidate for j in jobs], side="right") - 1
    return deque(ids for p in range(len(bounds) - 1) if (ids := np.flatnonzero(part == p).tolist()))


def work_chunks(task: Task, jobs: Sequence[Job], workers: int, chunk_size: int) -> deque[list[int]]:
    """What a pool hands out: a share of candidates per worker for a batch task, else ``chunk_size`` jobs."""
    if task.batch_evaluator:
        return split_by_candidate(jobs, workers)
    return chunked(len(jobs), chunk_size)


def run_batch(
    evaluate: Callable[..., Any], task: Task, candidates: Sequence[Any], jobs: Sequence[Job]
) -> list[tuple[float, dict[str, Any]]]:
    """``task``'s vectorised batch evaluator on ``jobs``, checked, with its CPU time shared per job."""
    start = time.process_time()
    fitness = np.asarray(evaluate(task, candidates, jobs), dtype=np.float64)
    cpu = (time.process_time() - start) / max(1, len(jobs))
    if fitness.shape != (len(jobs),):
        raise EvaluationError(
            f"batch evaluator {task.batch_evaluator!r} returned shape {fitness.shape}, "
            f"expected ({len(jobs)},)"
        )
    return [(float(f), {"cpu_s": cpu}) for f in fitness]


def describe_job(job: Job, task: Task) -> str:
    morph = f" on {task.morphologies[job.morphology]!r}" if task.morphologies else ""
    return f"candidate {job.candidate} episode {job.episode}{morph} (seed {job.seed})"
