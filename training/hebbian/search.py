"""The ``hebbian`` search: OpenAI-ES over the flat Hebbian coefficient vector (Najarro & Risi 2020).

A candidate is the flat rule vector of :class:`~wann_ros.policies.hebbian.HebbianPolicy` (A, B, C, D,
eta per synapse: 61,440 numbers for 28->128->64->8). Every episode the runner resets the policy with a
seed derived from the episode seed, so the initial weights are redrawn from ``U(-0.1, 0.1)`` each
episode, reproducibly; a mirrored pair shares its episodes (and so its initial weights). The fitness is
the mean over the task's morphologies (ant: standard and right_front; left_front is held out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from training.algorithm import Search
from training.builders import mlp_sizes, policy_spec_for
from training.hebbian.config import HebbianConfig
from training.hebbian.mirror import mirror_tying
from training.seeding import strategy_seed
from training.strategies import OpenAIES
from training.tasks import make_task
from wann_ros.policies.hebbian import HebbianPolicy, hebbian_param_count
from wann_ros.policies.spec import PolicySpec

BUILDER = "training.hebbian.search:hebbian_mlp"


def hebbian_mlp(
    candidate: np.ndarray,
    env: Any,
    hidden: Sequence[int] = (128, 64),
    symmetry: str | None = None,
    **options: Any,
) -> HebbianPolicy:
    """Builder: a flat coefficient vector -> a HebbianPolicy on ``env``'s observation/action layout.

    With ``symmetry="mirror"`` the vector holds one rule per mirrored synapse pair
    (:mod:`training.hebbian.mirror`) and the policy gets the expanded per-synapse rules."""
    spec = policy_spec_for(env, "hebbian")
    sizes = mlp_sizes(spec, hidden)
    flat = np.asarray(candidate, dtype=np.float64)
    if symmetry is not None:
        flat = mirror_tying(spec, sizes).expand(flat)
    n = hebbian_param_count(sizes, options.get("rule_mode", "synapse"))
    if flat.shape != (n,):
        raise ValueError(
            f"Hebbian network {sizes} ({options.get('rule_mode', 'synapse')} rules) needs "
            f"{n} coefficients, got shape {flat.shape}"
        )
    return HebbianPolicy.from_flat(flat, sizes, spec, **options)


class HebbianSearch(Search):
    """ES over the coefficients; mirrored pairs see the same episodes (common random numbers)."""

    def __init__(self, config: HebbianConfig, strategy: OpenAIES, **kwargs: Any) -> None:
        super().__init__(strategy, **kwargs)
        self.config = config

    def seed_keys(self, n_candidates: int) -> Sequence[int] | None:
        if self.config.mirrored_seeds:
            return OpenAIES.pair_keys(n_candidates)
        return None


def network_layout(task: Any, hidden: Sequence[int]) -> tuple[PolicySpec, list[int]]:
    """The spec and layer sizes of the network on ``task``'s env (input and output from its spec)."""
    env = task.make_env(0)
    try:
        spec = policy_spec_for(env, "hebbian")
    finally:
        env.close()
    return spec, mlp_sizes(spec, hidden)


def initial_coefficients(
    config: HebbianConfig, spec: PolicySpec, sizes: Sequence[int], seed: np.random.SeedSequence
) -> np.ndarray:
    """The ES starting mean: the rules of ``config.init_rules`` (a warm start, e.g. to evolve an existing
    policy on under a weight constraint; with ``symmetry`` their closest mirror-tied rules), else random
    (the reference code starts from ``N(0, 1)``)."""
    tying = None if config.symmetry is None else mirror_tying(spec, sizes)
    dim = hebbian_param_count(sizes, config.rule_mode) if tying is None else tying.size
    if config.init_rules is not None:
        from wann_ros.formats import load_policy

        policy = load_policy(config.init_rules)
        if not isinstance(policy, HebbianPolicy):
            raise ValueError(f"init_rules: {config.init_rules} holds a {policy.kind!r} policy, not Hebbian")
        if list(policy.layer_sizes) != list(sizes) or policy.options.rule_mode != config.rule_mode:
            raise ValueError(
                f"init_rules: {config.init_rules} is a {list(policy.layer_sizes)} network with "
                f"{policy.options.rule_mode!r} rules; this search needs {list(sizes)} with "
                f"{config.rule_mode!r}"
            )
        return policy.to_flat() if tying is None else tying.project(policy.to_flat())
    rng = np.random.default_rng(seed)
    if config.coeff_init == "uniform":
        return rng.uniform(-config.coeff_std, config.coeff_std, dim)
    return rng.normal(0.0, config.coeff_std, dim)


def make_search(config: HebbianConfig, task_name: str, seed: int) -> HebbianSearch:
    runner_args = {} if config.max_steps is None else {"max_steps": config.max_steps}
    task = make_task(
        task_name,
        BUILDER,
        {"hidden": list(config.hidden), "symmetry": config.symmetry, **config.plasticity()},
        morphologies=config.morphologies,
        runner_args=runner_args,
        env_kwargs=config.env_options(),
    )
    spec, sizes = network_layout(task, config.hidden)
    init_seq, strategy_seq = strategy_seed(seed).spawn(2)
    start = initial_coefficients(config, spec, sizes, init_seq)
    strategy = OpenAIES.from_config(start, config, strategy_seq)
    return HebbianSearch(
        config, strategy, task=task, episodes=config.episodes, generations=config.generations
    )
