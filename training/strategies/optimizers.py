"""Gradient-ascent optimisers for OpenAI-ES: SGD with momentum and Adam (Salimans et al. 2017)."""

from __future__ import annotations

from typing import Any

import numpy as np


class SGD:
    """``v <- momentum * v + (1 - momentum) * g``; step ``lr * v``. ``momentum=0`` is plain SGD."""

    def __init__(self, dim: int, lr: float, momentum: float = 0.0) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr = lr
        self.momentum = momentum
        self.v = np.zeros(dim)

    def step(self, direction: np.ndarray) -> np.ndarray:
        """The parameter change for an ascent ``direction`` (already including weight decay)."""
        if self.momentum == 0.0:
            return self.lr * direction
        self.v *= self.momentum
        self.v += (1.0 - self.momentum) * direction
        return self.lr * self.v

    def state_dict(self) -> dict[str, Any]:
        return {"lr": self.lr, "v": self.v.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lr = float(state["lr"])
        self.v = _same_shape(state["v"], self.v, "SGD velocity")


class Adam:
    """Adam (Kingma & Ba) on the ascent direction, bias-corrected step size as in Salimans et al."""

    def __init__(
        self, dim: int, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise ValueError(f"Adam betas must be in [0, 1), got {beta1}, {beta2}")
        self.lr = lr
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = np.zeros(dim)
        self.v = np.zeros(dim)
        self.t = 0

    def step(self, direction: np.ndarray) -> np.ndarray:
        """The parameter change for an ascent ``direction`` (already including weight decay)."""
        self.t += 1
        a = self.lr * np.sqrt(1.0 - self.beta2**self.t) / (1.0 - self.beta1**self.t)
        self.m *= self.beta1
        self.m += (1.0 - self.beta1) * direction
        self.v *= self.beta2
        self.v += (1.0 - self.beta2) * np.square(direction)
        return a * self.m / (np.sqrt(self.v) + self.eps)

    def state_dict(self) -> dict[str, Any]:
        return {"lr": self.lr, "m": self.m.copy(), "v": self.v.copy(), "t": self.t}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lr = float(state["lr"])
        self.m = _same_shape(state["m"], self.m, "Adam first moment")
        self.v = _same_shape(state["v"], self.v, "Adam second moment")
        self.t = int(state["t"])


def _same_shape(value: Any, like: np.ndarray, what: str) -> np.ndarray:
    arr = np.array(value, dtype=np.float64)
    if arr.shape != like.shape:
        raise ValueError(f"{what}: expected shape {like.shape}, got {arr.shape}")
    return arr
