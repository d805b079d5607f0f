"""Short seeded WANN searches on the swing-up, side by side (``python -m training.wann.compare``).

Each variant runs the laptop settings (:data:`training.wann.config.LAPTOP`, population 64) for a few
generations per seed, on the vectorised evaluator, without the engine. Reported per run, in the terms
of the reference's log (``log/sample_stats.out``): the running maximum of the generation-best mean over
weights (the reference's "top fitness" is mostly this unconfirmed number), the first generation it
reached 500, the last generation's median fitness and median connections; plus ``confirmed``: the best
mean over weights of the last population's top ``--confirm-top`` genomes re-run on
``--confirm-episodes`` fresh episodes per weight.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from training.seeding import episode_seed
from training.wann.config import LAPTOP, PAPER_RANKING, WannConfig
from training.wann.search import WannSearch
from training.wann.swingup_eval import N_INPUTS, N_OUTPUTS, shared_weight_returns
from wann_ros.sim.swingup import SwingUpParams

VARIANTS: dict[str, dict[str, Any]] = {"default": {}, "paper-ranking": PAPER_RANKING}
CONFIRM_GENERATION = 10**6  # episode-seed generation key of the confirmation episodes (never a search one)


@dataclass(frozen=True)
class RunStats:
    """What one short search reached (see the module docstring)."""

    variant: str
    seed: int
    generations: int
    top_mean: float
    first_500: int | None
    median_mean: float
    median_connections: float
    confirmed: float
    cpu_s: float


def short_search(
    config: WannConfig,
    seed: int,
    generations: int,
    variant: str = "",
    confirm_top: int = 8,
    confirm_episodes: int = 32,
    params: SwingUpParams | None = None,
) -> RunStats:
    """Run ``generations`` of :class:`WannSearch` from ``seed`` and summarise it as :class:`RunStats`.

    ``params`` changes the swing-up (default: the paper's, 1,000-step episodes).
    """
    if generations < 1 or confirm_top < 1 or confirm_episodes < 1:
        raise ValueError("generations, confirm_top and confirm_episodes must be >= 1")
    start = time.process_time()
    search = WannSearch(config, N_INPUTS, N_OUTPUTS, seed)
    top, first = -np.inf, None
    for gen in range(generations):
        population = search.ask()
        seeds = [episode_seed(seed, gen, 0, r) for r in range(config.n_reps)]
        returns = shared_weight_returns([g.to_dag() for g in population], config.weights, seeds, params)
        search.tell(returns.mean(axis=2))
        top = max(top, float(search.fitness.max()))
        if first is None and top >= 500.0:
            first = gen
    best = np.argsort(-search.fitness, kind="stable")[:confirm_top]
    fresh = [episode_seed(seed, CONFIRM_GENERATION, 0, r) for r in range(confirm_episodes)]
    confirmed = shared_weight_returns([population[i].to_dag() for i in best], config.weights, fresh, params)
    return RunStats(
        variant=variant,
        seed=seed,
        generations=generations,
        top_mean=top,
        first_500=first,
        median_mean=float(np.median(search.fitness)),
        median_connections=float(np.median(search.n_connections)),
        confirmed=float(confirmed.mean(axis=(1, 2)).max()),
        cpu_s=time.process_time() - start,
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.wann.compare", description=__doc__.splitlines()[0])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    p.add_argument("--generations", type=int, default=150)
    p.add_argument("--confirm-top", type=int, default=8)
    p.add_argument("--confirm-episodes", type=int, default=32)
    p.add_argument("--out", default=None, help="write every run's numbers to this JSON file")
    args = p.parse_args(argv)
    runs = []
    for name in args.variants:
        config = replace(LAPTOP, **VARIANTS[name])
        for seed in args.seeds:
            stats = short_search(
                config, seed, args.generations, name, args.confirm_top, args.confirm_episodes
            )
            runs.append(stats)
            print(json.dumps(stats.__dict__), flush=True)
    for name in args.variants:
        mine = [r for r in runs if r.variant == name]
        cols = ("top_mean", "median_mean", "median_connections", "confirmed")
        means = "  ".join(f"{c} {np.mean([getattr(r, c) for r in mine]):7.1f}" for c in cols)
        reached = sum(r.first_500 is not None for r in mine)
        print(f"{name:>14}: {means}  reached 500 in {reached}/{len(mine)} seeds")
    if args.out:
        with open(args.out, "w") as f:
            json.dump([r.__dict__ for r in runs], f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
