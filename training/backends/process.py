"""A local process pool with dynamic load balancing and recovery from dead workers.

Each worker owns a pipe; the parent hands a worker its next chunk of jobs (default one episode) as
soon as it has finished the last one, so nobody waits on one slow individual. A task with a vectorised
batch evaluator is split instead into one chunk of consecutive candidates per worker, each run as one
batch call. A worker builds its
envs once and keeps them for its lifetime. When a worker dies (crash, ``os._exit``, SIGKILL), its
unfinished jobs go back to the front of the queue and a fresh worker replaces it; a job that has
killed ``max_deaths`` workers is reported instead of retried forever. Workers ignore SIGINT (the
parent decides when to stop) and exit when the parent's end of their pipe closes.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing as mp
import os
import signal
import traceback
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from training.backends import Done, EvaluationError, describe_job, run_batch, work_chunks
from training.interrupt import check_stop
from training.tasks import EpisodeWorker, Job, Task, resolve

POLL_SECONDS = 0.2


def _worker_main(task: Task, conn: Connection) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the run and sends us None. A SIGTERM to
    # the group ends us (and the forkserver); the parent then stops without respawning us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker = EpisodeWorker(task)
    batch = resolve(task.batch_evaluator) if task.batch_evaluator else None
    try:
        while True:
            try:
                msg = conn.recv()
            except EOFError:
                return
            if msg is None:
                return
            chunk_id, items = msg
            if batch is not None:
                try:
                    conn.send(("ok", chunk_id, _run_batch_chunk(batch, task, items)))
                except Exception:
                    conn.send(("error", chunk_id, None, traceback.format_exc()))
                continue
            results = []
            for job, candidate in items:
                try:
                    results.append(worker.run(candidate, job))
                except Exception:
                    conn.send(("error", chunk_id, job, traceback.format_exc()))
                    break
            else:
                conn.send(("ok", chunk_id, results))
    finally:
        worker.close()


def _run_batch_chunk(batch: Any, task: Task, items: list[tuple[Job, Any]]) -> list:
    """One call of the batch evaluator on a chunk, its candidates renumbered from 0."""
    local: dict[int, int] = {}
    candidates: list[Any] = []
    jobs = []
    for job, candidate in items:
        if job.candidate not in local:
            local[job.candidate] = len(candidates)
            candidates.append(candidate)
        jobs.append(dataclasses.replace(job, candidate=local[job.candidate]))
    return run_batch(batch, task, candidates, jobs)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    chunk: tuple[int, list[int]] | None = None  # (chunk id, job indices) being run
    dead: bool = field(default=False)


class ProcessBackend:
    """See the module docstring. ``workers`` defaults to the number of cores."""

    def __init__(
        self, task: Task, workers: int | None = None, chunk_size: int = 1, max_deaths: int = 3
    ) -> None:
        n = workers if workers is not None else os.cpu_count() or 1
        if n < 1 or chunk_size < 1 or max_deaths < 1:
            raise ValueError("process backend: workers, chunk_size and max_deaths must be >= 1")
        self.task, self.n_workers, self.chunk_size, self.max_deaths = task, n, chunk_size, max_deaths
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(["numpy", "training.tasks"])
        self._workers: list[_Worker] = []
        self._chunk_ids = itertools.count()
        self.deaths = 0  # workers lost so far (for logs and tests)

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main, args=(self.task, child), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def run(
        self, candidates: Sequence[Any], jobs: Sequence[Job], done: Done | None = None
    ) -> list[tuple[float, dict[str, Any]]]:
        while len(self._workers) < self.n_workers:
            self._workers.append(self._spawn())
        try:
            return self._run(candidates, jobs, done)
        except BaseException:
            self.close()  # workers may still hold stale jobs; the next run starts fresh ones
            raise

    def _run(
        self, candidates: Sequence[Any], jobs: Sequence[Job], done: Done | None
    ) -> list[tuple[float, dict[str, Any]]]:
        todo = work_chunks(self.task, jobs, self.n_workers, self.chunk_size)
        results: list[tuple[float, dict[str, Any]] | None] = [None] * len(jobs)
        remaining = len(jobs)
        killed_by: Counter[int] = Counter()
        while remaining:
            check_stop()
            for w in self._workers:
                if w.chunk is None and todo:
                    ids = todo.popleft()
                    w.chunk = (next(self._chunk_ids), ids)
                    self._send(w, (w.chunk[0], [(jobs[i], candidates[jobs[i].candidate]) for i in ids]))
            handles = [w.conn for w in self._workers] + [w.process.sentinel for w in self._workers]
            ready = set(wait(handles, timeout=POLL_SECONDS))
            for w in self._workers:
                if w.conn in ready or w.process.sentinel in ready:
                    finished = self._collect(w, jobs, results)
                    remaining -= finished
                    if finished and done is not None:
                        done(finished)
            dead = [w for w in self._workers if w.dead]
            if dead:
                check_stop()  # a stop signal may have taken the workers with it: stop, do not respawn
            for w in dead:
                self._replace(w, todo, killed_by, jobs)
        return [r for r in results if r is not None]

    def _send(self, w: _Worker, msg: Any) -> None:
        try:
            w.conn.send(msg)
        except (OSError, EOFError):  # broken pipe, reset or already closed
            w.dead = True

    def _collect(self, w: _Worker, jobs: Sequence[Job], results: list) -> int:
        """Read everything ``w`` has sent; mark it dead on EOF. Returns the number of jobs finished."""
        finished = 0
        try:
            while w.conn.poll():
                msg = w.conn.recv()
                if msg[0] == "error":
                    _, _, job, tb = msg
                    what = (
                        describe_job(job, self.task)
                        if job is not None
                        else f"a batch of {len(w.chunk[1])} jobs"
                    )
                    raise EvaluationError(f"{what} failed in a worker:\n{tb}")
                _, chunk_id, chunk_results = msg
                if w.chunk is None or w.chunk[0] != chunk_id:
                    continue
                for i, r in zip(w.chunk[1], chunk_results, strict=True):
                    results[i] = r
                finished += len(chunk_results)
                w.chunk = None
        except (EOFError, OSError):
            w.dead = True
        if not w.process.is_alive():
            w.dead = True
        return finished

    def _replace(self, w: _Worker, todo: deque, killed_by: Counter, jobs: Sequence[Job]) -> None:
        self.deaths += 1
        w.conn.close()
        w.process.join(timeout=1.0)
        if w.chunk is not None:
            ids = w.chunk[1]
            killed_by.update(ids)
            worst = max(ids, key=lambda i: killed_by[i])
            if killed_by[worst] >= self.max_deaths:
                raise EvaluationError(
                    f"{describe_job(jobs[worst], self.task)} killed {killed_by[worst]} workers "
                    f"(exit code {w.process.exitcode})"
                )
            todo.appendleft(ids)
        self._workers[self._workers.index(w)] = self._spawn()

    def close(self) -> None:
        for w in self._workers:
            self._send(w, None)
        for w in self._workers:
            w.process.join(timeout=2.0)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._workers = []
