"""What an algorithm plugs into the engine, and the registry of algorithms by name.

An algorithm module (``training/<name>.py`` or package ``training/<name>/``) defines a config
dataclass and a ``make_search(config, task_name, seed) -> Search`` function, and registers them:

    ALGORITHM = register(Algorithm("es", ESConfig, make_search, "static-weight ES baseline"))

``get_algorithm(name)`` imports ``training.<name>`` on first use, so registering is all a new
algorithm has to do for ``python -m training <name> ...`` to run it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from training.evaluation import EvalResult
from training.strategies.base import Strategy
from training.tasks import Task


class Search:
    """What the run loop drives each generation: ask candidates, evaluate them on ``task``, tell.

    The defaults fit a :class:`Strategy` over flat vectors; subclass to change how candidates are
    made, told or measured (a topology search tells more than one number per candidate, say).
    """

    def __init__(self, strategy: Any, task: Task, episodes: int, generations: int) -> None:
        self.strategy: Strategy = strategy
        self.task, self.episodes, self.generations = task, episodes, generations

    @property
    def generation(self) -> int:
        """Generations completed so far."""
        return int(self.strategy.generation)

    def ask(self) -> Sequence[Any]:
        return self.strategy.ask()

    def seed_keys(self, n_candidates: int) -> Sequence[int] | None:
        """Per-candidate episode-seed keys (``None``: each candidate its own episodes)."""
        return None

    def tell(self, result: EvalResult) -> None:
        self.strategy.tell(result.fitness)

    def complexity(self, candidate: Any) -> float:
        """Size of a candidate for the run log (default: number of parameters)."""
        return float(np.size(candidate))

    def best(self) -> tuple[Any, float]:
        """The best candidate so far and its fitness."""
        return self.strategy.best, float(self.strategy.best_fitness)

    def state_dict(self) -> dict[str, Any]:
        return self.strategy.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.strategy.load_state_dict(state)


@dataclass(frozen=True)
class Algorithm:
    """``config_cls`` must have a ``generations`` field; ``commands`` adds CLI subcommands named
    ``<name>-<something>`` (e.g. ``hebbian-table``), each ``main(argv) -> exit code``;
    ``saved_defaults`` fills keys that a saved run's config lacks (settings added after it was written)
    with what that run did, so ``resume`` continues it unchanged; ``start_keys`` are config keys read only
    to build the starting point (a warm-start file), dropped by :meth:`restoring` because a checkpoint
    replaces that point."""

    name: str
    config_cls: type
    make_search: Callable[[Any, str, int], Search]
    summary: str = ""
    commands: dict[str, Callable[[list[str]], int]] = field(default_factory=dict)
    saved_defaults: dict[str, Any] = field(default_factory=dict)
    start_keys: tuple[str, ...] = ()

    def restoring(self, config: Any) -> Any:
        """``config`` for a search about to load a checkpoint: the start keys unset (their files may
        have moved since, or be relative to another directory)."""
        return replace(config, **dict.fromkeys(self.start_keys))


_REGISTRY: dict[str, Algorithm] = {}


def register(algorithm: Algorithm) -> Algorithm:
    """Add ``algorithm`` to the registry (re-registering the same name replaces it)."""
    _REGISTRY[algorithm.name] = algorithm
    return algorithm


def get_algorithm(name: str) -> Algorithm:
    """The algorithm registered as ``name``, importing ``training.<name>`` if needed."""
    if name not in _REGISTRY and name.isidentifier():
        try:
            importlib.import_module(f"training.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"training.{name}":
                raise
    if name not in _REGISTRY:
        raise ValueError(f"unknown algorithm {name!r}; available: {', '.join(available()) or 'none'}")
    return _REGISTRY[name]


def available() -> list[str]:
    """Names of all algorithms in the ``training`` package (imports each module that may hold one)."""
    import training

    for info in pkgutil.iter_modules(training.__path__):
        if info.name not in _REGISTRY and not info.name.startswith("_"):
            module = importlib.import_module(f"training.{info.name}")
            if isinstance(getattr(module, "ALGORITHM", None), Algorithm):
                register(module.ALGORITHM)
    return sorted(_REGISTRY)
