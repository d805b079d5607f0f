"""Ray evaluation: one actor per worker (each keeps its envs), the same job-by-job load balancing.

``ray.init()`` starts a local Ray instance by default; ``address`` joins a running cluster (every
node needs this package installed). The candidates of a generation go to the object store once;
each actor call carries only job descriptions. A dead actor's jobs are re-run on a fresh actor. A task
with a vectorised batch evaluator is split into one share of consecutive candidates per actor, each one
batch call.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from typing import Any

import ray
from ray.exceptions import RayActorError, RayTaskError

from training.backends import Done, EvaluationError, describe_job, run_batch, work_chunks
from training.interrupt import check_stop
from training.tasks import EpisodeWorker, Job, Task, resolve

POLL_SECONDS = 0.2


class _Actor:
    def __init__(self, task: Task) -> None:
        self.task = task
        self.worker = EpisodeWorker(task)
        self.batch = resolve(task.batch_evaluator) if task.batch_evaluator else None

    def run(self, candidates: Sequence[Any], jobs: list[Job]) -> list[tuple[float, dict[str, Any]]]:
        if self.batch is not None:
            return run_batch(self.batch, self.task, candidates, jobs)
        return [self.worker.run(candidates[job.candidate], job) for job in jobs]


class RayBackend:
    """See the module docstring. ``workers`` defaults to the CPUs Ray reports."""

    def __init__(
        self,
        task: Task,
        workers: int | None = None,
        address: str | None = None,
        chunk_size: int = 1,
        max_deaths: int = 3,
    ) -> None:
        if not ray.is_initialized():
            ray.init(
                address=address,
                num_cpus=workers if address is None else None,
                include_dashboard=False,
                log_to_driver=False,
            )
        n = workers if workers is not None else int(ray.cluster_resources().get("CPU", 1))
        if n < 1 or chunk_size < 1 or max_deaths < 1:
            raise ValueError("ray backend: workers, chunk_size and max_deaths must be >= 1")
        self.task, self.n_workers, self.chunk_size, self.max_deaths = task, n, chunk_size, max_deaths
        self._actor_cls = ray.remote(num_cpus=1, max_restarts=0)(_Actor)
        self._actors = [self._actor_cls.remote(task) for _ in range(n)]
        self.deaths = 0

    def run(
        self, candidates: Sequence[Any], jobs: Sequence[Job], done: Done | None = None
    ) -> list[tuple[float, dict[str, Any]]]:
        ref = ray.put(candidates)
        todo = work_chunks(self.task, jobs, len(self._actors), self.chunk_size)
        results: list[tuple[float, dict[str, Any]] | None] = [None] * len(jobs)
        in_flight: dict[Any, tuple[int, list[int]]] = {}  # object ref -> (actor index, job indices)
        killed_by: Counter[int] = Counter()
        busy: set[int] = set()
        while todo or in_flight:
            check_stop()
            for a in range(len(self._actors)):
                if a not in busy and todo:
                    ids = todo.popleft()
                    in_flight[self._actors[a].run.remote(ref, [jobs[i] for i in ids])] = (a, ids)
                    busy.add(a)
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=POLL_SECONDS)
            for out in ready:
                a, ids = in_flight.pop(out)
                busy.discard(a)
                try:
                    chunk_results = ray.get(out)
                except RayActorError:
                    self._replace(a, ids, todo, killed_by, jobs)
                    continue
                except RayTaskError as exc:
                    what = describe_job(jobs[ids[0]], self.task)
                    raise EvaluationError(f"{what} (or its chunk) failed: {exc}") from exc
                for i, r in zip(ids, chunk_results, strict=True):
                    results[i] = r
                if done is not None:
                    done(len(ids))
        return [r for r in results if r is not None]

    def _replace(self, a: int, ids: list[int], todo: deque, killed_by: Counter, jobs: Sequence[Job]) -> None:
        self.deaths += 1
        killed_by.update(ids)
        worst = max(ids, key=lambda i: killed_by[i])
        if killed_by[worst] >= self.max_deaths:
            what = describe_job(jobs[worst], self.task)
            raise EvaluationError(f"{what} killed {killed_by[worst]} Ray actors")
        todo.appendleft(ids)
        self._actors[a] = self._actor_cls.remote(self.task)

    def close(self) -> None:
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
