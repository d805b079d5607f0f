"""The ask/tell interface shared by every strategy, and the helpers they share."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Strategy(Protocol):
    """An ask/tell search over flat parameter vectors; fitness is maximised.

    ``state_dict`` returns only numpy arrays, numbers, strings, ``None`` and nested dicts/lists of
    those (the checkpoint writer stores it without pickle); ``load_state_dict`` restores a strategy so
    that it continues exactly as the one that wrote the state.
    """

    generation: int

    def ask(self) -> np.ndarray:
        """Candidates for this generation, shape (popsize, dim)."""
        ...

    def tell(self, fitness: np.ndarray) -> None:
        """Fitness of the candidates from the last ``ask``, shape (popsize,)."""

    @property
    def mean(self) -> np.ndarray:
        """The current centre of the search distribution."""
        ...

    @property
    def best(self) -> np.ndarray | None:
        """The best candidate told so far (``None`` before the first ``tell``)."""
        ...

    @property
    def best_fitness(self) -> float:
        """Fitness of ``best`` (``-inf`` before the first ``tell``)."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def check_fitness(fitness: Any, popsize: int) -> np.ndarray:
    """Validate a fitness vector; NaN (a diverged episode) counts as the worst possible fitness."""
    f = np.asarray(fitness, dtype=np.float64)
    if f.shape != (popsize,):
        raise ValueError(f"tell: expected {popsize} fitness values, got shape {f.shape}")
    if np.any(np.isposinf(f)):
        raise ValueError("tell: fitness contains +inf")
    return nan_as_worst(f)


def nan_as_worst(fitness: Any) -> np.ndarray:
    """``fitness`` as floats with NaN (a diverged episode) replaced by ``-inf``, the worst value."""
    f = np.asarray(fitness, dtype=np.float64)
    return np.where(np.isnan(f), -np.inf, f)


def rng_from_state(state: dict[str, Any]) -> np.random.Generator:
    """A Generator restored from ``Generator.bit_generator.state`` (a JSON-friendly dict)."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    bit_generator = getattr(np.random, str(name), None)
    if not isinstance(bit_generator, type) or not issubclass(bit_generator, np.random.BitGenerator):
        raise ValueError(f"unknown bit generator in RNG state: {name!r}")
    bg = bit_generator()
    bg.state = state
    return np.random.Generator(bg)
