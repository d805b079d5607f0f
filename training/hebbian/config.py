"""The ``hebbian`` algorithm's config: network, plasticity options and the OpenAI-ES settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from training.hebbian.mirror import ODD_ACTIVATIONS, SYMMETRIES
from wann_ros.policies.hebbian import INIT_DISTRIBUTIONS, RULE_MODES
from wann_ros.sim.knobs import SimKnobs
from wann_ros.sim.progress import EarlyStop

COEFF_INITS = ("normal", "uniform")


@dataclass(frozen=True)
class HebbianConfig:
    """Defaults follow Najarro & Risi (2020) on the Ant, except the population (see docs/hebbian.md)."""

    generations: int = 400
    popsize: int = 64
    episodes: int = 1  # per morphology
    # network: 28 -> hidden -> 8, no biases
    hidden: tuple[int, ...] = (128, 64)
    hidden_activation: str = "tanh"
    output_activation: str = "tanh"
    rule_mode: str = "synapse"  # "synapse" (ABCD + eta per synapse) or compact "post"/"pre" (per neuron)
    symmetry: str | None = None  # "mirror": rules tied across the robot's mirror image (half as many)
    init: str = "uniform"  # initial weights, redrawn every episode
    init_scale: float = 0.1  # U(-0.1, 0.1)
    weight_bound: float | None = None
    normalize: bool = False
    # OpenAI-ES over the coefficients
    coeff_init: str = "normal"  # starting mean: N(0, coeff_std^2) or U(-coeff_std, coeff_std)
    coeff_std: float = 1.0
    init_rules: str | None = None  # a Hebbian policy file whose rules are the starting mean instead
    sigma: float = 0.1
    lr: float = 0.2
    optimizer: str = "sgd"
    momentum: float = 0.0
    weight_decay: float = 0.0
    sigma_decay: float = 0.999
    sigma_min: float = 0.01
    lr_decay: float = 0.995
    lr_min: float = 0.001
    standardize_ranks: bool = False  # ranks scaled to unit std, as the reference code (steps ~3.4x longer)
    morphologies: tuple[str, ...] | None = None  # None: the task's own (ant: standard, right_front)
    max_steps: int | None = None  # cap on policy steps per episode (None: the env's)
    early_stop: bool = True  # the env's stop rule (30 steps in a row without progress ends an episode)
    early_stop_grace: int = EarlyStop.grace  # policy steps before the stop rule may fire (paper: 200)
    fall_height: float | None = None  # torso height (m) that counts as fallen in training (None: 0.26)
    knobs: dict[str, Any] | None = None  # SimKnobs fields for training, e.g. {motor_strength: [0.5, 1.0]}
    mirrored_seeds: bool = True  # a mirrored pair shares its episodes and initial weights

    def __post_init__(self) -> None:
        if self.generations < 1 or self.episodes < 1:
            raise ValueError("generations and episodes must be >= 1")
        if self.popsize < 2 or self.popsize % 2:
            raise ValueError(f"popsize must be even and >= 2 (mirrored pairs), got {self.popsize}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden must list positive layer sizes, got {self.hidden}")
        if self.rule_mode not in RULE_MODES:
            raise ValueError(f"rule_mode must be one of {RULE_MODES}, got {self.rule_mode!r}")
        if self.symmetry is not None:
            if self.symmetry not in SYMMETRIES or self.rule_mode != "synapse":
                raise ValueError(f"symmetry must be null or one of {SYMMETRIES}, with synapse rules")
            if self.output_activation not in ODD_ACTIVATIONS:
                raise ValueError(f"symmetry needs an odd output activation {ODD_ACTIVATIONS}")
        if self.init not in INIT_DISTRIBUTIONS or self.init == "given":
            raise ValueError(f"init must be 'uniform' or 'normal', got {self.init!r}")
        if self.coeff_init not in COEFF_INITS:
            raise ValueError(f"coeff_init must be one of {COEFF_INITS}, got {self.coeff_init!r}")
        if self.init_scale < 0 or self.coeff_std < 0:
            raise ValueError("init_scale and coeff_std must be >= 0")
        if self.weight_bound is not None and not self.weight_bound > 0:
            raise ValueError(f"weight_bound must be > 0 or null, got {self.weight_bound}")
        if self.knobs is not None:
            SimKnobs.from_mapping(self.knobs)
        if self.early_stop_grace < 0:
            raise ValueError(f"early_stop_grace must be >= 0, got {self.early_stop_grace}")
        if self.fall_height is not None and not 0.0 < self.fall_height < 0.75:
            raise ValueError(f"fall_height must be in (0, 0.75) m or null, got {self.fall_height}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1 or null, got {self.max_steps}")

        if self.init_rules is not None and not (isinstance(self.init_rules, str) and self.init_rules):
            raise ValueError(f"init_rules must be a policy file path or null, got {self.init_rules!r}")

    def env_options(self) -> dict:
        """The env kwargs this config changes from the task's (none by default)."""
        options: dict = {} if self.early_stop else {"early_stop": False}
        if self.early_stop_grace != EarlyStop.grace:
            options["early_stop_grace"] = self.early_stop_grace
        if self.fall_height is not None:
            options["fall_height"] = self.fall_height
        if self.knobs:
            options["knobs"] = SimKnobs.from_mapping(self.knobs)
        return options

    def plasticity(self) -> dict:
        """The HebbianPolicy options this config sets."""
        return {
            "rule_mode": self.rule_mode,
            "hidden_activation": self.hidden_activation,
            "output_activation": self.output_activation,
            "init": self.init,
            "init_scale": self.init_scale,
            "weight_bound": self.weight_bound,
            "normalize": self.normalize,
        }
