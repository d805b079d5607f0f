"""After the search: sweep the shared weight, fine-tune per-edge weights with OpenAI-ES or CMA-ES, and
measure the paper's four rows (Gaier & Ha 2019, Table 1) on the vectorised swing-up.

Episode seeds come from ``training.seeding.episode_seed`` with a stream per purpose, so every number
here is reproducible from the seed that is printed next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from training.seeding import EVAL_STREAM, FINETUNE_STREAM, SWEEP_STREAM, VALIDATION_STREAM, episode_seed
from training.strategies import CMAES, OpenAIES
from training.wann.genome import Genome
from training.wann.swingup_eval import rollout

TABLE_STREAM = EVAL_STREAM
WEIGHT_RANGE = (-2.0, 2.0)
FINETUNE_STRATEGIES = ("openai-es", "cma")


def _seeds(seed: int, stream: int, generation: int, n: int) -> np.ndarray:
    return np.array([episode_seed(seed, generation, 0, e, stream) for e in range(n)], dtype=np.int64)


def sweep_shared_weight(
    g: Genome, weights: np.ndarray, episodes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean return at every shared weight in ``weights`` over ``episodes`` common start states."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)):
        raise ValueError("sweep: weights must be a non-empty 1-D array of finite numbers")
    s = _seeds(seed, SWEEP_STREAM, 0, episodes)
    scales = np.repeat(w, episodes)[None, :]
    returns = rollout([g.to_dag()], scales, np.tile(s, w.size)[None, :])
    return w, returns.reshape(w.size, episodes).mean(axis=1)


@dataclass(frozen=True)
class Sweep:
    """Mean return at each shared weight of a grid over [-2, 2] (zero left out)."""

    weights: np.ndarray
    mean: np.ndarray
    episodes: int

    @property
    def best(self) -> tuple[float, float]:
        """The weight with the highest mean return, and that return."""
        k = int(np.argmax(self.mean))
        return float(self.weights[k]), float(self.mean[k])


def fine_sweep(g: Genome, episodes: int = 16, seed: int = 0, step: float = 0.01) -> Sweep:
    """The sweep over [-2, 2] on a grid of ``step`` that picks the tuned shared weight."""
    grid = np.round(np.arange(WEIGHT_RANGE[0], WEIGHT_RANGE[1] + step / 2, step), 10)
    w, mean = sweep_shared_weight(g, grid[grid != 0.0], episodes, seed)
    return Sweep(w, mean, episodes)


@dataclass(frozen=True)
class FinetuneResult:
    weights: np.ndarray  # one per enabled connection: the best-validated ES mean
    history: np.ndarray  # (generations,) mean return of the ES mean on its training episodes
    generations: int
    best_generation: int  # generations done when the kept mean was scored (0: the shared-weight start)
    validation: dict[int, float]  # generations done -> mean validation return of the ES mean


def finetune_edges(
    g: Genome,
    shared_weight: float,
    generations: int = 200,
    popsize: int = 64,
    episodes: int = 8,
    sigma: float = 0.1,
    lr: float = 0.02,
    seed: int = 0,
    strategy: str = "openai-es",
    validation_episodes: int = 32,
    validate_every: int = 10,
    progress: bool = False,
) -> FinetuneResult:
    """Tune one weight per enabled connection, starting from ``shared_weight`` everywhere.

    ``strategy``: ``openai-es`` (Adam on the ES gradient; ``sigma`` its noise std, ``lr`` its step) or
    ``cma`` (CMA-ES, ``sigma`` its initial step size, ``lr`` unused), as the reference's WANNTool tunes.

    Each generation evaluates the candidates and the current mean on the same ``episodes`` start states.
    At the start, every ``validate_every`` generations and at the end, the ES mean is scored on
    ``validation_episodes`` fixed start states of their own, and the best-scoring mean is returned: the
    noisy ES mean can drift below its start, the result cannot (on those states).
    ``progress`` shows a tqdm bar (stderr) with the mean's return.
    """
    if g.n_connections == 0:
        raise ValueError("fine-tuning needs at least one enabled connection")
    if validation_episodes < 1 or validate_every < 1:
        raise ValueError("validation_episodes and validate_every must be >= 1")
    if strategy not in FINETUNE_STRATEGIES:
        raise ValueError(f"fine-tuning strategy must be one of {FINETUNE_STRATEGIES}, got {strategy!r}")
    start = np.full(g.n_connections, float(shared_weight))
    if strategy == "cma":
        es: CMAES | OpenAIES = CMAES(start, popsize, sigma=sigma, seed=seed)
    else:
        es = OpenAIES(start, popsize, sigma=sigma, lr=lr, seed=seed)
    val_seeds = _seeds(seed, VALIDATION_STREAM, 0, validation_episodes)

    def validate(w: np.ndarray) -> float:
        returns = rollout([g.to_dag(w)], np.ones((1, validation_episodes)), val_seeds[None, :])
        return float(returns.mean())

    best, best_generation = np.array(es.mean, dtype=np.float64), 0
    validation = {0: validate(best)}
    history = np.empty(generations)
    bar = tqdm(range(generations), desc="fine-tune", unit="gen", disable=not progress)
    for gen in bar:
        candidates = np.asarray(es.ask(), dtype=np.float64)
        pool = np.vstack([candidates, es.mean[None, :]])
        s = _seeds(seed, FINETUNE_STREAM, gen, episodes)
        returns = rollout(
            [g.to_dag(w) for w in pool], np.ones((len(pool), episodes)), np.tile(s, (len(pool), 1))
        )
        es.tell(returns[:-1].mean(axis=1))
        history[gen] = returns[-1].mean()
        done = gen + 1
        if done % validate_every == 0 or done == generations:
            mean = np.array(es.mean, dtype=np.float64)
            validation[done] = validate(mean)
            if validation[done] > validation[best_generation]:
                best, best_generation = mean, done
        bar.set_postfix(mean_return=f"{history[gen]:.1f}", refresh=False)
    return FinetuneResult(best, history, generations, best_generation, validation)


@dataclass(frozen=True)
class Row:
    name: str
    mean: float
    std: float


def four_rows(
    g: Genome,
    shared_weight: float,
    tuned: np.ndarray | None,
    episodes: int = 100,
    seed: int = 0,
    ensemble: Sequence[float] | None = None,
) -> list[Row]:
    """The paper's rows: random individual weights, random shared weight, tuned shared weight, tuned weights.

    Random weights are drawn uniformly from [-2, 2] per episode (per edge, or one shared); all rows use
    the same ``episodes`` start states. ``tuned = None`` leaves out the tuned-weights row; ``ensemble``
    adds a row for the network driven by its mean action over those shared weights.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TABLE_STREAM, 1)))
    s = _seeds(seed, TABLE_STREAM, 0, episodes)
    n = g.n_connections
    random_edges = rng.uniform(*WEIGHT_RANGE, size=(episodes, n))
    random_shared = rng.uniform(*WEIGHT_RANGE, size=episodes)
    results = [
        (
            "random weights",
            rollout([g.to_dag(w) for w in random_edges], np.ones((episodes, 1)), s[:, None])[:, 0],
        ),
        ("random shared weight", rollout([g.to_dag()], random_shared[None, :], s[None, :])[0]),
        (
            f"tuned shared weight ({shared_weight:+.2f})",
            rollout([g.to_dag()], np.full((1, episodes), shared_weight), s[None, :])[0],
        ),
    ]
    if tuned is not None:
        results.append(("tuned weights", rollout([g.to_dag(tuned)], np.ones((1, episodes)), s[None, :])[0]))
    if ensemble is not None:
        k = len(ensemble)
        scales = np.tile(np.asarray(ensemble, dtype=np.float64), episodes)[None, :]
        results.append(
            (f"weight ensemble ({k} weights)", rollout([g.to_dag()], scales, s[None, :], ensemble=k)[0])
        )
    return [Row(name, float(r.mean()), float(r.std())) for name, r in results]


def format_rows(rows: list[Row]) -> str:
    width = max(len(r.name) for r in rows)
    return "\n".join(f"{r.name:<{width}}  {r.mean:8.1f} ± {r.std:6.1f}" for r in rows)
