"""In-process evaluation, using the task's vectorised batch evaluator when it has one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from training.backends import Done, EvaluationError, describe_job, run_batch
from training.interrupt import check_stop
from training.tasks import EpisodeWorker, Job, Task, resolve


class SerialBackend:
    in_process = True  # episodes run on the caller's CPU time

    def __init__(self, task: Task) -> None:
        self.task = task
        self._worker = EpisodeWorker(task)
        self._batch = resolve(task.batch_evaluator) if task.batch_evaluator else None

    def run(
        self, candidates: Sequence[Any], jobs: Sequence[Job], done: Done | None = None
    ) -> list[tuple[float, dict[str, Any]]]:
        if self._batch is not None:
            results = run_batch(self._batch, self.task, candidates, jobs)
            if done is not None:
                done(len(jobs))
            return results
        results = []
        for job in jobs:
            check_stop()
            try:
                results.append(self._worker.run(candidates[job.candidate], job))
            except Exception as exc:
                raise EvaluationError(f"{describe_job(job, self.task)} failed: {exc!r}") from exc
            if done is not None:
                done(1)
        return results

    def close(self) -> None:
        self._worker.close()
