"""``ChromaticConfig``: the ``chromatic`` algorithm's YAML keys, validated."""

from __future__ import annotations

from dataclasses import dataclass

#: how the edges of the network share weights (see docs/chromatic.md)
STRUCTURES = ("learned", "random", "toeplitz", "masked", "dense")
#: colouring controllers of the ``learned`` and ``masked`` structures (see docs/chromatic.md)
CONTROLLERS = ("independent", "recurrent")


@dataclass(frozen=True)
class ChromaticConfig:
    generations: int = 200
    structure: str = "learned"
    colors: int = 17  # P, the shared weight pool ("learned" and "random")
    hidden: tuple[int, ...] = (41,)
    popsize: int = 32  # ES candidates per generation (popsize / 2 antithetic pairs)
    episodes: int = 1  # per morphology
    # OpenAI-ES over the pool and biases (or the dense weights)
    sigma: float = 0.1
    lr: float = 0.02
    optimizer: str = "adam"
    weight_decay: float = 0.0
    sigma_decay: float = 1.0
    sigma_min: float = 0.0
    init_std: float = 0.1
    # colouring controller, trained by REINFORCE: independent per-edge categorical logits, or an
    # autoregressive LSTM over the edges (ENAS-style; training/chromatic/recurrent.py)
    controller: str = "independent"
    controller_hidden: int = 32  # LSTM hidden size of the recurrent controller
    controller_lr: float = 0.5
    baseline_decay: float = 0.9  # moving-average baseline b <- d b + (1 - d) mean(R)
    entropy: float = 0.001  # entropy bonus coefficient
    controller_init: float = 3.0  # initial logit lead of a random colouring (0: uniform start)
    hidden_activation: str = "tanh"
    output_activation: str = "tanh"
    morphologies: tuple[str, ...] | None = None  # None: the task's own
    max_steps: int | None = None
    # the policy's weights and biases are param_scale x the ES vector (sigma, lr, init_std in its units)
    param_scale: float = 1.0
    # start from the weights a Hebbian policy file grows in one episode (training/chromatic/warm_start.py):
    # ``learned`` from their k-means colouring into P classes, ``dense`` from the weights themselves
    warm_start: str | None = None
    warm_start_step: int = 400  # policy steps of plasticity before the snapshot
    warm_start_seed: int = 0
    warm_start_morphology: str = "standard"

    def __post_init__(self) -> None:
        if self.structure not in STRUCTURES:
            raise ValueError(f"structure must be one of {STRUCTURES}, got {self.structure!r}")
        if self.controller not in CONTROLLERS:
            raise ValueError(f"controller must be one of {CONTROLLERS}, got {self.controller!r}")
        if self.controller_hidden < 1:
            raise ValueError(f"controller_hidden must be >= 1, got {self.controller_hidden}")
        if self.generations < 1 or self.episodes < 1:
            raise ValueError("generations and episodes must be >= 1")
        if self.popsize < 2 or self.popsize % 2:
            raise ValueError(f"popsize must be even and >= 2 (antithetic pairs), got {self.popsize}")
        if not 1 <= self.colors <= 0xFFFF:
            raise ValueError(f"colors (the pool size P) must be in 1..65535, got {self.colors}")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden widths must be >= 1, got {self.hidden}")
        if self.init_std < 0 or self.controller_lr < 0 or self.entropy < 0:
            raise ValueError("init_std, controller_lr and entropy must be >= 0")
        if not 0 <= self.baseline_decay < 1:
            raise ValueError(f"baseline_decay must be in [0, 1), got {self.baseline_decay}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        if not self.param_scale > 0:
            raise ValueError(f"param_scale must be > 0, got {self.param_scale}")
        if self.warm_start is not None:
            if self.structure not in ("learned", "dense"):
                raise ValueError(f"warm_start needs structure learned or dense, got {self.structure!r}")
            if self.warm_start_step < 1:
                raise ValueError(f"warm_start_step must be >= 1, got {self.warm_start_step}")
