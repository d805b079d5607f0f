"""The WANN search plugged into the training engine (``python -m training wann --task swingup``).

A generation's candidates are (genome, shared weight) pairs: every genome once per weight of the
series. All pairs share the same episode seeds (one seed key), so every genome and weight sees the
same start states, as in the reference. ``tell`` folds the pair fitness back into a (genomes, weights)
table. A generation's best genome that beats the best so far is confirmed on ``best_reps`` fresh
episodes per weight before it replaces it; the best candidate is the genome at its best weight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.algorithm import Search
from training.backends.serial import SerialBackend
from training.builders import policy_spec_for
from training.evaluation import EvalResult, Evaluator
from training.seeding import CONFIRM_STREAM, WEIGHT_STREAM, strategy_seed
from training.tasks import Task, make_task
from training.wann.config import WannConfig
from training.wann.genome import Genome
from training.wann.policy import swingup_spec, to_policy
from training.wann.search import WannSearch
from training.wann.swingup_eval import N_INPUTS, N_OUTPUTS
from wann_ros.policies.wann import WannPolicy


@dataclass(frozen=True)
class WannCandidate:
    """One genome run at one shared weight."""

    genome: Genome
    weight: float


def build_swingup_policy(candidate: WannCandidate, env: Any = None) -> WannPolicy:
    """Task builder for the swing-up: the candidate as a deployable :class:`WannPolicy`."""
    return to_policy(candidate.genome, swingup_spec(), shared_weight=candidate.weight)


def build_policy(candidate: WannCandidate, env: Any) -> WannPolicy:
    """Task builder for any env that exposes its observation/action layout (see ``policy_spec_for``)."""
    return to_policy(candidate.genome, policy_spec_for(env, "wann"), shared_weight=candidate.weight)


def wann_task(task_name: str) -> tuple[Task, int, int]:
    """The engine task for ``task_name`` with the WANN builder, and the network's input/output sizes.

    The swing-up runs on the vectorised batch evaluator; other tasks run one episode at a time.
    """
    if task_name == "swingup":
        task = make_task(
            task_name,
            "training.wann.engine:build_swingup_policy",
            batch_evaluator="training.wann.swingup_eval:evaluate_jobs",
        )
        return task, N_INPUTS, N_OUTPUTS
    task = make_task(task_name, "training.wann.engine:build_policy")
    env = task.make_env(0)
    try:
        spec = policy_spec_for(env, "wann")
    finally:
        env.close()
    return task, spec.observation.size, spec.action.size


class WannRunSearch(Search):
    """:class:`WannSearch` as the engine's :class:`Search` (see the module docstring)."""

    def __init__(self, config: WannConfig, task: Task, n_in: int, n_out: int, seed: int) -> None:
        strategy = WannSearch(config, n_in, n_out, strategy_seed(seed))
        super().__init__(strategy, task, config.n_reps, config.generations)
        self.wann: WannSearch = strategy
        self.config, self.seed = config, seed
        self._best: WannCandidate | None = None
        self._best_fitness = -np.inf
        self.history: list[dict[str, float]] = []
        self._confirm = Evaluator(task, SerialBackend(task), config.best_reps, seed, stream=CONFIRM_STREAM)

    @property
    def generation(self) -> int:
        return self.wann.generation

    def generation_weights(self) -> tuple[float, ...]:
        """This generation's shared weights (``WannConfig.weight_sampling``), the same on every call."""
        key = np.random.SeedSequence(self.seed, spawn_key=(WEIGHT_STREAM, self.wann.generation))
        return self.config.generation_weights(np.random.default_rng(key))

    def ask(self) -> Sequence[WannCandidate]:
        return [WannCandidate(g, w) for g in self.wann.ask() for w in self.generation_weights()]

    def seed_keys(self, n_candidates: int) -> Sequence[int]:
        return [0] * n_candidates

    def tell(self, result: EvalResult) -> None:
        gen = self.wann.generation
        self.wann.tell(result.fitness.reshape(len(self.wann.population), len(self.config.weights)))
        elite = int(np.argmax(self.wann.fitness))
        if self.wann.fitness[elite] > self._best_fitness:
            self._offer(self.wann.population[elite], gen)
        pop = self.wann.population
        self.history.append(
            {
                "generation": gen,
                "elite_mean": float(self.wann.fitness[elite]),
                "elite_peak": float(self.wann.peak[elite]),
                "median_mean": float(np.median(self.wann.fitness)),
                "best": float(self._best_fitness),
                "median_connections": float(np.median([g.n_connections for g in pop])),
                "median_hidden": float(np.median([g.hidden_ids.size for g in pop])),
            }
        )

    def _offer(self, genome: Genome, generation: int) -> None:
        """Confirm ``genome`` on fresh episodes; it becomes the best if it still beats the best so far."""
        weights = self.config.confirm_weights
        confirm = self._confirm.evaluate(
            [WannCandidate(genome, w) for w in weights], generation, [0] * len(weights)
        )
        score = float(confirm.fitness.mean())
        if score > self._best_fitness:
            self._best = WannCandidate(genome.copy(), weights[int(np.argmax(confirm.fitness))])
            self._best_fitness = score

    def complexity(self, candidate: WannCandidate) -> float:
        return float(candidate.genome.n_connections)

    def best(self) -> tuple[WannCandidate | None, float]:
        return self._best, float(self._best_fitness)

    def state_dict(self) -> dict[str, Any]:
        return {
            "wann": self.wann.state_dict(),
            "best": None
            if self._best is None
            else {"genome": self._best.genome.to_dict(), "weight": self._best.weight},
            "best_fitness": float(self._best_fitness),
            "history": [dict(h) for h in self.history],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.wann.load_state_dict(state["wann"])
        best = state["best"]
        self._best = (
            None if best is None else WannCandidate(Genome.from_dict(best["genome"]), float(best["weight"]))
        )
        self._best_fitness = float(state["best_fitness"])
        self.history = [dict(h) for h in state["history"]]


def make_search(config: WannConfig, task_name: str, seed: int) -> WannRunSearch:
    """The engine's entry point for ``python -m training wann --task NAME``."""
    task, n_in, n_out = wann_task(task_name)
    return WannRunSearch(config, task, n_in, n_out, seed)
