"""The evaluation engine: candidates x episodes x morphologies -> fitness, on any backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from training.backends import Backend, Done
from training.seeding import TRAIN_STREAM, check_seed, episode_seed
from training.tasks import Job, Task


@dataclass
class EvalResult:
    """``fitness[c]`` is the mean of ``episode_fitness[c]`` over morphologies and episodes."""

    fitness: np.ndarray  # (candidates,)
    episode_fitness: np.ndarray  # (candidates, morphologies, episodes)
    steps: int  # env steps, summed over the runners that report ``steps``
    cpu_s: float  # CPU seconds of the episodes, in whichever processes ran them
    info: dict[str, np.ndarray]  # numeric info every runner reported, shaped like episode_fitness

    @property
    def evaluations(self) -> int:
        return int(self.episode_fitness.size)


class Evaluator:
    """Evaluates candidates on ``task``, ``episodes`` seeded episodes per morphology each.

    The seed of an episode is ``episode_seed(run_seed, generation, key, episode, stream)`` where
    ``key`` is the candidate's index, or ``seed_keys[index]`` when given (candidates sharing a key,
    such as an ES mirrored pair, then see the same episodes). Every morphology of an episode index
    uses the same seed. Results never depend on the backend or on which worker ran a job.
    """

    def __init__(
        self, task: Task, backend: Backend, episodes: int, run_seed: int, stream: int = TRAIN_STREAM
    ) -> None:
        if not isinstance(episodes, int) or episodes < 1:
            raise ValueError(f"episodes per candidate must be an int >= 1, got {episodes!r}")
        self.task, self.backend, self.episodes = task, backend, episodes
        self.run_seed, self.stream = check_seed(run_seed), stream

    def jobs(self, n_candidates: int, generation: int, seed_keys: Sequence[int] | None = None) -> list[Job]:
        keys = range(n_candidates) if seed_keys is None else seed_keys
        if len(keys) != n_candidates:
            raise ValueError(f"seed_keys has {len(keys)} entries for {n_candidates} candidates")
        return [
            Job(c, m, e, episode_seed(self.run_seed, generation, int(keys[c]), e, self.stream))
            for c in range(n_candidates)
            for e in range(self.episodes)
            for m in range(self.task.n_morphologies)
        ]

    def evaluate(
        self,
        candidates: Sequence[Any],
        generation: int,
        seed_keys: Sequence[int] | None = None,
        done: Done | None = None,
    ) -> EvalResult:
        """``done`` is told as episodes finish (see :func:`episode_bar`)."""
        n = len(candidates)
        if n == 0:
            raise ValueError("evaluate: no candidates")
        jobs = self.jobs(n, generation, seed_keys)
        results = self.backend.run(candidates, jobs, done)
        per_episode = np.empty((n, self.task.n_morphologies, self.episodes))
        keys = set.intersection(*(set(info) for _, info in results))
        info_arrays = {k: np.full(per_episode.shape, np.nan) for k in sorted(keys)}
        for job, (fitness, info) in zip(jobs, results, strict=True):
            at = (job.candidate, job.morphology, job.episode)
            per_episode[at] = fitness
            for k in list(info_arrays):
                if isinstance(info[k], (bool, int, float, np.number)):
                    info_arrays[k][at] = float(info[k])
                else:
                    del info_arrays[k]
        steps = int(np.nansum(info_arrays["steps"])) if "steps" in info_arrays else 0
        cpu = float(np.nansum(info_arrays["cpu_s"])) if "cpu_s" in info_arrays else 0.0
        return EvalResult(per_episode.mean(axis=(1, 2)), per_episode, steps, cpu, info_arrays)


def episode_bar(total: int, desc: str, enabled: bool = True) -> tqdm:
    """A tqdm bar on stderr counting finished episodes; pass its ``update`` as a backend's ``done``."""
    return tqdm(total=total, desc=desc, unit="ep", disable=not enabled, leave=False, dynamic_ncols=True)
