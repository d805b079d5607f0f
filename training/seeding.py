"""Every random number in a run comes from the run seed through ``numpy.random.SeedSequence``.

A seed sequence keyed by ``(stream, generation, candidate, episode)`` gives each episode its own
independent stream, so a result never depends on which worker ran the episode or in which order.
"""

from __future__ import annotations

import numpy as np

TRAIN_STREAM = 0  # episodes evaluated during a search
EVAL_STREAM = 1  # episodes of the evaluation harness
STRATEGY_STREAM = 2  # the strategy's sampling RNG
POLICY_STREAM = 3  # a stateful policy's per-episode draws (kept apart from the env's stream)
LESION_STREAM = 4  # the Hebbian lesion study's choice of weights to zero
SWEEP_STREAM = 10  # WANN: episodes of the shared-weight sweep
FINETUNE_STREAM = 11  # WANN: episodes of weight fine-tuning
# WANN: fine-tuning's validation start states and the search's confirmation episodes share 12 (they
# coincide only with generation 0's confirmation episodes); kept so published tuned results reproduce.
VALIDATION_STREAM = CONFIRM_STREAM = 12
WEIGHT_STREAM = 13  # WANN: the per-generation draw of shared weights


def check_seed(seed: object) -> int:
    """A run seed must be a non-negative int (bool is refused)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"a seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def episode_seed(
    run_seed: int, generation: int, candidate: int, episode: int, stream: int = TRAIN_STREAM
) -> int:
    """The seed (< 2**32) of one episode, from the run seed and where the episode sits in the run."""
    key = (stream, generation, candidate, episode)
    if any(k < 0 for k in key):
        raise ValueError(f"episode seed keys must be >= 0, got {key}")
    seq = np.random.SeedSequence(check_seed(run_seed), spawn_key=key)
    return int(seq.generate_state(1, np.uint32)[0])


def strategy_seed(run_seed: int) -> np.random.SeedSequence:
    """The seed sequence for a strategy's own RNG."""
    return np.random.SeedSequence(check_seed(run_seed), spawn_key=(STRATEGY_STREAM,))


def policy_seed(episode: int) -> int:
    """The seed a policy's ``reset`` gets in an episode whose env is seeded with ``episode``.

    gymnasium seeds an env with ``default_rng(seed)``; handing the policy the same integer would give
    it the very same stream, so the policy's draws (e.g. Hebbian initial weights) get their own.
    """
    seq = np.random.SeedSequence(check_seed(episode), spawn_key=(POLICY_STREAM,))
    return int(seq.generate_state(1, np.uint32)[0])
