"""``es``: the static-weight baseline: OpenAI-ES (or CMA-ES) over the weights of a fixed MLP.

For the Ant the protocol is the Hebbian paper's baseline: 28->128->64->8 tanh without biases
(12,288 weights), fitness = mean distance over the standard and right_front morphologies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.algorithm import Algorithm, Search, register
from training.builders import mlp_sizes, policy_spec_for, static_mlp_params
from training.seeding import strategy_seed
from training.strategies import CMAES, OpenAIES
from training.tasks import make_task
from wann_ros.sim.knobs import SimKnobs

STRATEGIES = ("openai_es", "cma_es")


@dataclass(frozen=True)
class ESConfig:
    generations: int = 300
    popsize: int = 64
    episodes: int = 1  # per morphology
    strategy: str = "openai_es"
    sigma: float = 0.1
    lr: float = 0.02
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.005
    sigma_decay: float = 0.999
    sigma_min: float = 0.02
    lr_decay: float = 1.0
    lr_min: float = 0.0
    standardize_ranks: bool = False  # OpenAI-ES: ranks scaled to unit std (the Hebbian reference's step)
    init_std: float = 0.1  # initial mean ~ N(0, init_std^2)
    init_policy: str | None = None  # a static policy file whose parameters are the starting mean
    hidden: tuple[int, ...] = (128, 64)
    bias: bool = False
    hidden_activation: str = "tanh"
    output_activation: str = "tanh"
    morphologies: tuple[str, ...] | None = None  # None: the task's own
    max_steps: int | None = None  # cap on episode length (None: the env's)
    env_kwargs: dict[str, Any] | None = None  # env options for training, e.g. {gait_clock_hz: 2.0} (a1)
    knobs: dict[str, Any] | None = None  # SimKnobs fields for training, e.g. {latency_steps: [0, 2]}
    mirrored_seeds: bool = True  # a mirrored pair shares its episodes (common random numbers)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.generations < 1 or self.popsize < 2 or self.episodes < 1:
            raise ValueError("generations, episodes must be >= 1 and popsize >= 2")
        if not self.init_std >= 0:
            raise ValueError(f"init_std must be >= 0, got {self.init_std}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1 (or null: the env's), got {self.max_steps}")
        if self.init_policy is not None and not (isinstance(self.init_policy, str) and self.init_policy):
            raise ValueError(f"init_policy must be a policy file path or null, got {self.init_policy!r}")
        if self.knobs is not None:
            SimKnobs.from_mapping(self.knobs)
        if "knobs" in (self.env_kwargs or {}):
            raise ValueError("set knobs with the knobs key, not in env_kwargs")
        if self.strategy == "cma_es":
            defaults = ESConfig()
            keys = [k for k in (*OpenAIES.CONFIG_KEYS, "mirrored_seeds") if k != "sigma"]
            ignored = [k for k in keys if getattr(self, k) != getattr(defaults, k)]
            if ignored:
                raise ValueError(f"strategy cma_es uses only sigma of the OpenAI-ES keys; remove {ignored}")

    def env_options(self) -> dict[str, Any]:
        """The env kwargs this config changes from the task's: ``env_kwargs`` plus the knobs."""
        options = dict(self.env_kwargs or {})
        if self.knobs:
            options["knobs"] = SimKnobs.from_mapping(self.knobs)
        return options


class ESSearch(Search):
    def __init__(self, config: ESConfig, strategy: OpenAIES | CMAES, **kwargs) -> None:
        super().__init__(strategy, **kwargs)
        self.config = config

    def seed_keys(self, n_candidates: int) -> Sequence[int] | None:
        if self.config.mirrored_seeds and isinstance(self.strategy, OpenAIES):
            return OpenAIES.pair_keys(n_candidates)
        return None


def initial_parameters(config: ESConfig, sizes: Sequence[int]) -> np.ndarray:
    """The parameters of ``config.init_policy`` (a warm start, e.g. to refine a sample of an earlier run
    with smaller noise, or the weights a Hebbian policy grew: ``hebbian-snapshot``), checked against the
    network this search builds; with ``bias: false`` the file's biases must be zero."""
    from wann_ros.formats import load_policy
    from wann_ros.policies.activations import activation_id, activation_name
    from wann_ros.policies.static import StaticPolicy

    policy = load_policy(config.init_policy)
    if not isinstance(policy, StaticPolicy):
        raise ValueError(
            f"init_policy: {config.init_policy} holds a {policy.kind!r} policy, not a static one"
        )
    wanted = (activation_id(config.hidden_activation), activation_id(config.output_activation))
    if (
        list(policy.layer_sizes) != list(sizes)
        or (policy.hidden_activation, policy.output_activation) != wanted
    ):
        raise ValueError(
            f"init_policy: {config.init_policy} is a {list(policy.layer_sizes)} network with activations "
            f"{activation_name(policy.hidden_activation)}/{activation_name(policy.output_activation)}; this "
            f"search needs {list(sizes)} with {config.hidden_activation}/{config.output_activation}"
        )
    if config.bias:
        return policy.to_flat()
    if any(np.any(b != 0) for b in policy.biases):
        raise ValueError(
            f"init_policy: {config.init_policy} has non-zero biases, which a network with bias: false "
            "would drop; set bias: true"
        )
    return np.concatenate([w.ravel() for w in policy.weights])


def make_search(config: ESConfig, task_name: str, seed: int) -> ESSearch:
    builder_args = {
        "hidden": list(config.hidden),
        "bias": config.bias,
        "hidden_activation": config.hidden_activation,
        "output_activation": config.output_activation,
    }
    runner_args = {} if config.max_steps is None else {"max_steps": config.max_steps}
    task = make_task(
        task_name,
        "training.builders:static_mlp",
        builder_args,
        morphologies=config.morphologies,
        runner_args=runner_args,
        env_kwargs=config.env_options(),
    )
    env = task.make_env(0)
    try:
        sizes = mlp_sizes(policy_spec_for(env, "static"), config.hidden)
    finally:
        env.close()
    dim = static_mlp_params(sizes, config.bias)
    init_seq, strategy_seq = strategy_seed(seed).spawn(2)
    if config.init_policy is None:
        x0 = np.random.default_rng(init_seq).normal(0.0, config.init_std, dim)
    else:
        x0 = initial_parameters(config, sizes)
    if config.strategy == "cma_es":
        strategy: OpenAIES | CMAES = CMAES(
            x0, config.popsize, sigma=config.sigma, seed=int(strategy_seq.generate_state(1)[0])
        )
    else:
        strategy = OpenAIES.from_config(x0, config, strategy_seq)
    return ESSearch(config, strategy, task=task, episodes=config.episodes, generations=config.generations)


ALGORITHM = register(
    Algorithm(
        "es", ESConfig, make_search, "static-weight MLP, OpenAI-ES or CMA-ES", start_keys=("init_policy",)
    )
)
