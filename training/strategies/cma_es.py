"""CMA-ES from the ``cma`` package behind the ask/tell interface, for low-dimensional searches."""

from __future__ import annotations

from typing import Any

import numpy as np

from training.strategies.base import check_fitness


class CMAES:
    """Wraps ``cma.CMAEvolutionStrategy`` (which minimises) to maximise fitness.

    Sampling draws from a private ``numpy.random.Generator`` seeded by ``seed``, never the global
    NumPy RNG. ``cma``'s internal state is not plain data, so ``state_dict`` stores the seed and the
    fitness history and ``load_state_dict`` replays it; ``cma`` is deterministic given both, so the
    restored strategy is exactly the one that was saved (replay costs one ask/tell per generation,
    cheap in the low dimensions CMA-ES is meant for).
    """

    def __init__(self, x0: np.ndarray, popsize: int, *, sigma: float = 0.5, seed: int = 0) -> None:
        x = np.array(x0, dtype=np.float64)
        if x.ndim != 1 or x.size < 2:
            raise ValueError(f"CMAES: x0 must be a 1-D vector of length >= 2, got shape {x.shape}")
        if popsize < 2:
            raise ValueError(f"CMAES: popsize must be >= 2, got {popsize}")
        if not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"CMAES: sigma must be a positive number, got {sigma}")
        self.x0, self.popsize, self.sigma0, self.seed = x, popsize, float(sigma), int(seed)
        self._start()

    def _start(self) -> None:
        import cma  # imported on use: it pulls in matplotlib

        rng = np.random.default_rng(self.seed)

        def randn(*shape: int) -> np.ndarray:
            return rng.standard_normal(shape)

        opts = {
            "popsize": self.popsize,
            "seed": np.nan,
            "randn": randn,
            "verbose": -9,
            "verb_disp": 0,
            "verb_log": 0,
            "tolfun": 0,
            "tolx": 0,
            "tolfunhist": 0,
            "tolstagnation": np.inf,
        }
        self._es = cma.CMAEvolutionStrategy(self.x0, self.sigma0, opts)
        self._history: list[np.ndarray] = []
        self._pending: np.ndarray | None = None
        self._best: np.ndarray | None = None
        self._best_fitness = -np.inf

    @property
    def generation(self) -> int:
        return len(self._history)

    @property
    def mean(self) -> np.ndarray:
        return np.array(self._es.mean, dtype=np.float64)

    @property
    def best(self) -> np.ndarray | None:
        return self._best

    @property
    def best_fitness(self) -> float:
        return self._best_fitness

    def ask(self) -> np.ndarray:
        self._pending = np.array(self._es.ask(), dtype=np.float64)
        return self._pending

    def tell(self, fitness: np.ndarray) -> None:
        if self._pending is None:
            raise RuntimeError("CMAES.tell called without a pending ask")
        f = check_fitness(fitness, self.popsize)
        finite = np.where(np.isfinite(f), f, np.finfo(np.float64).min / 2)
        self._es.tell(list(self._pending), list(-finite))
        i = int(np.argmax(f))
        if f[i] > self._best_fitness:
            self._best_fitness, self._best = float(f[i]), self._pending[i].copy()
        self._history.append(f)
        self._pending = None

    def state_dict(self) -> dict[str, Any]:
        history = np.array(self._history).reshape(len(self._history), self.popsize)
        return {"kind": "cma_es", "seed": self.seed, "fitness_history": history}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != "cma_es" or int(state.get("seed", -1)) != self.seed:
            raise ValueError("CMA-ES state does not belong to this strategy (kind or seed differ)")
        history = np.asarray(state["fitness_history"], dtype=np.float64)
        if history.ndim != 2 or history.shape[1] != self.popsize:
            raise ValueError(f"CMA-ES state: fitness history has shape {history.shape}")
        self._start()
        for f in history:
            self.ask()
            self.tell(f)
