"""Distributions over colourings: a REINFORCE-trained controller and fixed colourings.

:class:`ColouringController` keeps independent categorical logits per edge (``logits[E, K]``). It is
trained by REINFORCE with a moving-average baseline and an entropy bonus: for colourings ``c_k`` with
rewards ``R_k``, advantages ``A_k = (R_k - b) / s`` (``s`` the batch's reward std, 1 when it is 0), the
ascent direction on the logits is

    mean_k A_k * (onehot(c_k) - softmax(logits)) + entropy * dH/dlogits,

followed by an Adam step; then ``b <- d * b + (1 - d) * mean(R)`` (``b`` starts at the first batch's mean).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from training.strategies.optimizers import Adam


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class ReinforceController:
    """What the colouring controllers share: colouring checks, REINFORCE advantages against the
    moving-average baseline, and the baseline's update. Subclasses set the four attributes below."""

    n_edges: int
    n_choices: int
    baseline_decay: float
    baseline: float | None

    def advantages(self, rewards: np.ndarray, n: int) -> np.ndarray:
        """``A_k = (R_k - b) / std(R)`` with the current baseline (the batch mean before the first update)."""
        r = np.asarray(rewards, dtype=np.float64)
        if r.shape != (n,) or not np.all(np.isfinite(r)):
            raise ValueError(f"controller: need {n} finite rewards, got {r!r}")
        baseline = r.mean() if self.baseline is None else self.baseline
        scale = r.std() if r.std() > 0 else 1.0
        return (r - baseline) / scale

    def _update_baseline(self, rewards: np.ndarray) -> None:
        mean = float(np.mean(rewards))
        d = self.baseline_decay
        self.baseline = mean if self.baseline is None else d * self.baseline + (1 - d) * mean

    def _check(self, colours: np.ndarray) -> np.ndarray:
        c = np.asarray(colours)
        if c.ndim != 2 or c.shape[1] != self.n_edges or not np.issubdtype(c.dtype, np.integer):
            raise ValueError(f"colourings must be integers of shape (n, {self.n_edges}), got {c.shape}")
        if c.size and (c.min() < 0 or c.max() >= self.n_choices):
            raise ValueError(f"colours must lie in 0..{self.n_choices - 1}")
        return c.astype(np.int64, copy=False)


class ColouringController(ReinforceController):
    """Independent per-edge categorical distribution over ``n_choices`` colours, trained by REINFORCE."""

    def __init__(
        self,
        n_edges: int,
        n_choices: int,
        lr: float = 0.05,
        baseline_decay: float = 0.9,
        entropy: float = 0.01,
        start: np.ndarray | None = None,
        lead: float = 0.0,
    ) -> None:
        if n_edges < 1 or n_choices < 1:
            raise ValueError(f"controller needs >= 1 edge and >= 1 choice, got {n_edges}, {n_choices}")
        self.n_edges, self.n_choices = int(n_edges), int(n_choices)
        self.baseline_decay, self.entropy_coef = float(baseline_decay), float(entropy)
        self.logits = np.zeros((self.n_edges, self.n_choices))
        if start is not None:  # start centred on a colouring: its colours lead the others by ``lead``
            self.logits[np.arange(self.n_edges), np.asarray(start)] = lead
        self.optimizer = Adam(self.logits.size, lr)
        self.baseline: float | None = None

    @property
    def probs(self) -> np.ndarray:
        return softmax(self.logits)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` colourings, shape ``(n, n_edges)``, by inverse CDF of one uniform per edge."""
        cdf = np.cumsum(self.probs, axis=1)[:, :-1]
        u = rng.random((n, self.n_edges))
        return (u[:, :, None] >= cdf[None]).sum(axis=2).astype(np.int64)

    def log_prob(self, colours: np.ndarray) -> np.ndarray:
        """Log-probability of each colouring in ``colours`` (``(n, n_edges)``) -> ``(n,)``."""
        c = self._check(colours)
        z = self.logits - self.logits.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return log_p[np.arange(self.n_edges), c].sum(axis=1)

    def entropy(self) -> float:
        """Sum over edges of the per-edge entropy (nats)."""
        p = self.probs
        return float(-(p * np.log(np.clip(p, 1e-300, None))).sum())

    def mode(self) -> np.ndarray:
        """The most likely colouring (argmax per edge)."""
        return np.argmax(self.logits, axis=1).astype(np.int64)

    def gradient(self, colours: np.ndarray, rewards: np.ndarray) -> np.ndarray:
        """Ascent direction on the logits (module docstring); does not change the controller."""
        c = self._check(colours)
        adv = self.advantages(rewards, c.shape[0])
        p = self.probs
        counts = np.zeros_like(p)
        np.add.at(
            counts,
            (np.broadcast_to(np.arange(self.n_edges), c.shape), c),
            np.broadcast_to(adv[:, None], c.shape),
        )
        grad = counts / len(adv) - adv.mean() * p
        log_p = np.log(np.clip(p, 1e-300, None))
        h = -(p * log_p).sum(axis=1, keepdims=True)
        return grad + self.entropy_coef * (-p * (log_p + h))

    def update(self, colours: np.ndarray, rewards: np.ndarray) -> None:
        """One REINFORCE step on the logits, then the baseline update."""
        grad = self.gradient(colours, rewards)
        self.logits += self.optimizer.step(grad.ravel()).reshape(self.logits.shape)
        self._update_baseline(rewards)

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": "controller",
            "logits": self.logits.copy(),
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        logits = np.array(state["logits"], dtype=np.float64)
        if state.get("kind") != "controller" or logits.shape != self.logits.shape:
            raise ValueError(f"not a controller state for {self.logits.shape} logits")
        self.logits = logits
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = None if state["baseline"] is None else float(state["baseline"])


class FixedColouring:
    """A colouring that never changes (Toeplitz, a random draw, or no colouring for dense networks)."""

    def __init__(self, colours: np.ndarray | None) -> None:
        self.colours = None if colours is None else np.asarray(colours, dtype=np.int64)

    def sample(self, n: int, rng: np.random.Generator) -> list[np.ndarray | None]:
        return [self.colours] * n

    def mode(self) -> np.ndarray | None:
        return self.colours

    def entropy(self) -> float:
        return 0.0

    def update(self, colours: Any, rewards: np.ndarray) -> None:
        """Nothing to learn."""

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "fixed"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != "fixed":
            raise ValueError("not a fixed-colouring state")
