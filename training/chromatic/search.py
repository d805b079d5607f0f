"""``ChromaticSearch``: OpenAI-ES over the shared weights, a colouring sampled per antithetic pair.

Each generation the controller samples one colouring per antithetic pair; both members of the pair
(``theta + sigma eps`` and ``theta - sigma eps``) are evaluated under it on the same episodes. ES
updates ``theta`` from all pairs as usual; the controller is told each pair's mean fitness.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from training.algorithm import Search
from training.builders import mlp_sizes, policy_spec_for
from training.chromatic.config import ChromaticConfig
from training.chromatic.controller import ColouringController, FixedColouring
from training.chromatic.recurrent import RecurrentColouringController
from training.chromatic.structures import Candidate, Layout, toeplitz_colours
from training.chromatic.warm_start import warm_start
from training.evaluation import EvalResult
from training.seeding import strategy_seed
from training.strategies import OpenAIES
from training.strategies.base import nan_as_worst, rng_from_state
from training.tasks import Task, make_task

SWINGUP_BATCH = "training.chromatic.batch:evaluate_swingup"

Colouring = ColouringController | RecurrentColouringController | FixedColouring


def make_colouring(
    config: ChromaticConfig, layout: Layout, rng: np.random.Generator, start: np.ndarray | None = None
) -> Colouring:
    """The colouring distribution of ``config.structure`` and ``config.controller``, centred on
    ``start`` (``None``: ``rng`` draws it; ``rng`` also draws the recurrent controller's initial weights
    or the fixed random colouring)."""
    if config.structure in ("learned", "masked"):
        if start is None:
            start = rng.integers(0, layout.choices, layout.n_edges)
        if config.controller == "recurrent":
            return RecurrentColouringController(
                layout.n_edges,
                layout.choices,
                config.controller_hidden,
                config.controller_lr,
                config.baseline_decay,
                config.entropy,
                start if config.controller_init != 0 else None,  # no offset table: a pure LSTM
                config.controller_init,
                layers=[a * b for a, b in layout.shapes],
                rng=rng,
            )
        return ColouringController(
            layout.n_edges,
            layout.choices,
            config.controller_lr,
            config.baseline_decay,
            config.entropy,
            start,
            config.controller_init,
        )
    if config.structure == "random":
        return FixedColouring(rng.integers(0, layout.colors, layout.n_edges))
    if config.structure == "toeplitz":
        return FixedColouring(toeplitz_colours(layout.sizes))
    return FixedColouring(None)


class ChromaticSearch(Search):
    def __init__(
        self,
        config: ChromaticConfig,
        layout: Layout,
        strategy: OpenAIES,
        colouring: Colouring,
        rng: np.random.Generator,
        task: Task,
    ) -> None:
        super().__init__(strategy, task, config.episodes, config.generations)
        self.config, self.layout, self.colouring, self.rng = config, layout, colouring, rng
        self._pending: list[Candidate] = []
        self._best: Candidate | None = None
        self._best_fitness = -np.inf

    def ask(self) -> list[Candidate]:
        thetas = self.strategy.ask()
        half = len(thetas) // 2
        colourings = self.colouring.sample(half, self.rng)
        self._pending = [
            Candidate(np.array(t, dtype=np.float64), colourings[i % half]) for i, t in enumerate(thetas)
        ]
        return self._pending

    def seed_keys(self, n_candidates: int) -> Sequence[int]:
        return OpenAIES.pair_keys(n_candidates)

    def tell(self, result: EvalResult) -> None:
        f = nan_as_worst(result.fitness)
        half = len(f) // 2
        self.strategy.tell(result.fitness)
        pair = (f[:half] + f[half:]) / 2
        if np.all(np.isfinite(pair)):
            colours = self._pending[:half]
            if colours[0].colours is not None:
                self.colouring.update(np.stack([c.colours for c in colours]), pair)
        i = int(np.argmax(f))
        if f[i] > self._best_fitness:
            self._best, self._best_fitness = self._pending[i], float(f[i])

    def complexity(self, candidate: Candidate) -> float:
        return float(self.layout.distinct_parameters(candidate.colours))

    def best(self) -> tuple[Candidate | None, float]:
        return self._best, self._best_fitness

    def final(self) -> Candidate:
        """The ES mean under the most likely colouring: what the search converged to."""
        return Candidate(self.strategy.mean.copy(), self.colouring.mode())

    def state_dict(self) -> dict[str, Any]:
        best = (
            None
            if self._best is None
            else {"params": self._best.params.copy(), "colours": self._best.colours}
        )
        return {
            "strategy": self.strategy.state_dict(),
            "colouring": self.colouring.state_dict(),
            "rng": self.rng.bit_generator.state,
            "best": best,
            "best_fitness": self._best_fitness,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.strategy.load_state_dict(state["strategy"])
        self.colouring.load_state_dict(state["colouring"])
        self.rng = rng_from_state(state["rng"])
        best = state["best"]
        colours = None if best is None or best["colours"] is None else np.asarray(best["colours"], np.int64)
        self._best = None if best is None else Candidate(np.asarray(best["params"], np.float64), colours)
        self._best_fitness = float(state["best_fitness"])


def make_search(config: ChromaticConfig, task_name: str, seed: int) -> ChromaticSearch:
    builder_args = {
        "hidden": list(config.hidden),
        "structure": config.structure,
        "colors": config.colors,
        "hidden_activation": config.hidden_activation,
        "output_activation": config.output_activation,
        "param_scale": config.param_scale,
    }
    runner_args = {} if config.max_steps is None else {"max_steps": config.max_steps}
    task = make_task(
        task_name,
        "training.chromatic.structures:build_policy",
        builder_args,
        morphologies=config.morphologies,
        runner_args=runner_args,
        batch_evaluator=SWINGUP_BATCH if task_name == "swingup" else None,
    )
    env = task.make_env(0)
    try:
        sizes = mlp_sizes(policy_spec_for(env, "chromatic"), config.hidden)
    finally:
        env.close()
    layout = Layout.create(sizes, config.structure, config.colors)
    init_seq, es_seq, colour_seq, draw_seq = strategy_seed(seed).spawn(4)
    if config.warm_start is None:
        x0, start = np.random.default_rng(init_seq).normal(0.0, config.init_std, layout.dim), None
    else:
        x0, start = warm_start(config, layout, task)
    strategy = OpenAIES.from_config(x0, config, es_seq)
    colouring = make_colouring(config, layout, np.random.default_rng(draw_seq), start)
    return ChromaticSearch(config, layout, strategy, colouring, np.random.default_rng(colour_seq), task)
