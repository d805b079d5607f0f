"""Single-episode rollouts with interventions, for the adaptation studies.

An :class:`Intervention` acts at chosen steps of an episode: it may change the policy (freeze
plasticity, zero weights), the env (damage a leg) or the action sent to the robot (saturate the
actuators). :func:`trace_episode` runs one seeded episode (the policy reset exactly as in training,
``policy_seed(seed)``) and records the per-step progress, weight norms and, optionally, the weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from training.seeding import LESION_STREAM, policy_seed


class Intervention:
    """Does nothing; subclasses override :meth:`before_step` and/or :meth:`action`."""

    def before_step(self, t: int, policy: Any, env: Any) -> None:
        """Called before the policy acts at policy step ``t``."""

    def action(self, t: int, a: np.ndarray) -> np.ndarray:
        """The action actually sent at step ``t`` (default: the policy's)."""
        return a


@dataclass
class FreezeAt(Intervention):
    """Stop plasticity at step ``step`` (``None``: never)."""

    step: int | None

    def before_step(self, t: int, policy: Any, env: Any) -> None:
        if self.step is not None and t == self.step:
            policy.freeze()


@dataclass
class ZeroWeights(Intervention):
    """At step ``step`` set a random ``fraction`` of every layer's weights to zero.

    The choice is drawn from ``seed``'s own stream, independent of the env's start state on that seed.
    """

    step: int
    fraction: float = 1 / 3
    seed: int = 0

    def before_step(self, t: int, policy: Any, env: Any) -> None:
        if t != self.step:
            return
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(LESION_STREAM,)))
        lesioned = []
        for w in policy.weights:
            w[rng.random(w.shape) < self.fraction] = 0.0
            lesioned.append(w)
        policy.weights = lesioned


@dataclass
class Saturate(Intervention):
    """Pin every actuator at ``value`` (network units, +1 = full command) for ``duration`` steps."""

    step: int
    duration: int = 100
    value: float = 1.0

    def action(self, t: int, a: np.ndarray) -> np.ndarray:
        if self.step <= t < self.step + self.duration:
            return np.full_like(a, self.value)
        return a


@dataclass
class DamageAt(Intervention):
    """Damage the robot at step ``step`` (a morphology name such as ``left_front``), without reset."""

    step: int
    damage: str = "left_front"

    def before_step(self, t: int, policy: Any, env: Any) -> None:
        if t == self.step:
            env.unwrapped.apply_damage(self.damage)


@dataclass
class Trace:
    """Per-step records of one episode (``weights`` only when asked for)."""

    progress: list[float] = field(default_factory=list)  # paper units per step
    norms: list[list[float]] = field(default_factory=list)  # per layer, when the policy has weight_norms
    weights: list[np.ndarray] = field(default_factory=list)
    distance: float = 0.0
    distance_m: float = 0.0
    finite: bool = True


def flat_weights(policy: Any) -> np.ndarray:
    """All layers' current weights as one float32 vector."""
    return np.concatenate([w.ravel() for w in policy.weights]).astype(np.float32)


def trace_episode(
    policy: Any,
    env: Any,
    seed: int,
    interventions: Sequence[Intervention] = (),
    max_steps: int | None = None,
    weight_stride: int = 0,
    norm_stride: int = 1,
) -> Trace:
    """One seeded episode with ``interventions``; ``weight_stride > 0`` records the weights that often."""
    obs, info = env.reset(seed=seed)
    policy.reset(policy_seed(seed))
    trace = Trace()
    has_norms = hasattr(policy, "weight_norms")
    t = 0
    while max_steps is None or t < max_steps:
        for iv in interventions:
            iv.before_step(t, policy, env)
        if weight_stride and t % weight_stride == 0:
            trace.weights.append(flat_weights(policy))
        a = np.asarray(policy.act(obs), dtype=np.float64)
        trace.finite &= bool(np.all(np.isfinite(a)))
        for iv in interventions:
            a = iv.action(t, a)
        obs, reward, terminated, truncated, info = env.step(a)
        trace.progress.append(float(reward))
        if has_norms and (t + 1) % norm_stride == 0:  # the norms after t + 1 steps
            trace.norms.append(policy.weight_norms())
        t += 1
        if terminated or truncated:
            break
    trace.distance = float(info["distance"]["paper_units"])
    trace.distance_m = float(info["distance"]["metres"])
    if has_norms:
        trace.finite &= bool(np.all(np.isfinite(policy.weight_norms())))
    return trace


def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the ``window`` values up to and including each index (shorter at the start)."""
    x = np.asarray(x, dtype=np.float64)
    c = np.concatenate([[0.0], np.cumsum(x)])
    idx = np.arange(1, x.size + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def steps_to_recover(
    progress: np.ndarray, start: int, end: int, window: int = 50, frac: float = 0.8
) -> float:
    """Steps after ``end`` until a ``window``-step mean speed, measured after ``end``, is back to ``frac``
    of the mean over the ``window`` steps before ``start`` (the count ends with that window's last step);
    NaN if the robot was not walking forward before or never recovers."""
    progress = np.asarray(progress, dtype=np.float64)
    if start < window or end > progress.size:
        return float("nan")
    before = float(progress[start - window : start].mean())
    if before <= 0:
        return float("nan")
    speed = rolling_mean(progress, window)
    hits = (
        np.nonzero(speed[end + window - 1 :] >= frac * before)[0] if end + window - 1 < progress.size else []
    )
    return float(hits[0] + window) if len(hits) else float("nan")
