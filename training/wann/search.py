"""The WANN topology search as ask/tell (Gaier & Ha 2019; reference: WANNRelease/WANN ``wann.py``).

``ask`` returns the population of genomes; ``tell`` takes each individual's return at every shared
weight (averaged over the episodes), from which fitness = mean over weights and peak = max over weights.
Before breeding, the population is ranked: with probability ``prob_moo`` by non-dominated fronts and
crowding distance on (mean, -max(connections, 1)), else by ``other_ranking`` (mean alone, or fronts on
(mean, peak)); the worst ``cull_ratio`` are dropped, the best ``elite_ratio`` of the rest pass unchanged,
every other child is a tournament winner with exactly one topology mutation.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from training.strategies.base import nan_as_worst, rng_from_state
from training.wann.config import WannConfig
from training.wann.genome import Genome, minimal
from training.wann.operators import mutate
from training.wann.ranking import rank
from training.wann.sources import load_source


class WannSearch:
    """Population of WANN genomes evolved by ask/tell; fitness is maximised."""

    def __init__(
        self, config: WannConfig, n_in: int, n_out: int, seed: int | np.random.SeedSequence = 0
    ) -> None:
        self.config = config
        self.n_in, self.n_out = n_in, n_out
        self.rng = np.random.default_rng(seed)
        self.generation = 0
        self.population: list[Genome] = []
        self.fitness = np.zeros(0)
        self.peak = np.zeros(0)
        self._told = False

    def ask(self) -> list[Genome]:
        """The population to evaluate this generation (the first call draws minimal networks)."""
        if self._told:
            self.population = self._breed()
            self._told = False
        elif not self.population:
            c = self.config
            if c.init_network:
                start = self._load_init_network()
                self.population = [start] + [
                    mutate(start, self.rng, c.operator_probabilities, c.hidden_activations, c.connection_rule)
                    for _ in range(c.pop_size - 1)
                ]
            else:
                self.population = [
                    minimal(self.n_in, self.n_out, c.output_activation, c.prob_init_enable, self.rng)
                    for _ in range(c.pop_size)
                ]
        return self.population

    def _load_init_network(self) -> Genome:
        genome = load_source(self.config.init_network)[0]
        if (genome.n_in, genome.n_out) != (self.n_in, self.n_out):
            raise ValueError(
                f"init_network {self.config.init_network}: {genome.n_in} inputs and {genome.n_out} outputs, "
                f"the task has {self.n_in} and {self.n_out}"
            )
        return genome

    def tell(self, returns: np.ndarray) -> None:
        """``returns[i, k]``: mean episode return of individual ``i`` at shared weight ``k``."""
        r = np.asarray(returns, dtype=np.float64)
        shape = (len(self.population), len(self.config.weights))
        if not self.population or r.shape != shape:
            raise ValueError(f"tell: expected returns of shape {shape} for the last ask, got {r.shape}")
        if np.any(np.isposinf(r)):
            raise ValueError("tell: returns contain +inf")
        r = nan_as_worst(r)
        self.fitness, self.peak = r.mean(axis=1), r.max(axis=1)
        self._told = True
        self.generation += 1

    @property
    def n_connections(self) -> np.ndarray:
        return np.array([g.n_connections for g in self.population])

    def objectives(self) -> np.ndarray:
        """(P, 2) or (P, 1) objectives of the last told population, drawing which this generation uses."""
        floor = np.finfo(np.float64).min / 4  # -inf fitness (diverged episodes) still ranks, last
        mean = np.maximum(self.fitness, floor)
        if self.rng.random() < self.config.prob_moo:
            # an empty network counts as one connection (as in the reference): otherwise every copy of
            # it is undominated on complexity and the front fills with networks that do nothing
            second = -np.maximum(self.n_connections, 1).astype(np.float64)
        elif self.config.other_ranking == "peak":
            second = np.maximum(self.peak, floor)
        else:
            return mean[:, None]  # one objective: the fronts are the distinct means, best first
        return np.column_stack([mean, second])

    def ranks(self) -> np.ndarray:
        """Rank of each individual of the last told population (0 = best)."""
        return rank(self.objectives())

    def _breed(self) -> list[Genome]:
        c = self.config
        ordered = [self.population[i] for i in np.argsort(self.ranks(), kind="stable")]
        parents = ordered[: len(ordered) - int(np.floor(c.cull_ratio * len(ordered)))]
        n_elite = int(np.floor(len(parents) * c.elite_ratio))
        children = [g.copy() for g in parents[:n_elite]]
        winners = self.rng.integers(len(parents), size=(c.pop_size - n_elite, c.tournament_size)).min(axis=1)
        for i in winners.tolist():
            children.append(
                mutate(
                    parents[i], self.rng, c.operator_probabilities, c.hidden_activations, c.connection_rule
                )
            )
        return children

    # -- checkpointing -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-friendly state; :meth:`load_state_dict` continues exactly where this search stood."""
        return {
            "config": self.config.to_dict(),
            "n_in": self.n_in,
            "n_out": self.n_out,
            "generation": self.generation,
            "rng": self.rng.bit_generator.state,
            "population": [g.to_dict() for g in self.population],
            "fitness": self.fitness.tolist(),
            "peak": self.peak.tolist(),
            "told": self._told,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        config = replace(WannConfig.from_dict(state["config"]), generations=self.config.generations)
        if config != self.config or (state["n_in"], state["n_out"]) != (self.n_in, self.n_out):
            diff = config.differences(self.config) or [f"inputs/outputs: {state['n_in']}/{state['n_out']}"]
            raise ValueError(
                "checkpoint was written by a WANN search with different settings (other than generations); "
                f"checkpoint vs this search: {'; '.join(diff)}"
            )
        self.generation = int(state["generation"])
        self.rng = rng_from_state(state["rng"])
        self.population = [Genome.from_dict(g) for g in state["population"]]
        self.fitness = np.asarray(state["fitness"], dtype=np.float64)
        self.peak = np.asarray(state["peak"], dtype=np.float64)
        self._told = bool(state["told"])
