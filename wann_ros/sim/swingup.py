"""Cart-pole swing-up with the WANN paper's physics (Gaier & Ha 2019), numpy only, vectorised.

The equations of motion, friction, integrator, reward and termination follow the reference
``cartpole_swingup.py`` of google/brain-tokyo-workshop (WANNRelease): explicit Euler with dt = 0.01,
positions updated with the *old* velocities, friction ``b * x_dot`` entering both accelerations, reward
``(cos(theta) + 1) / 2 * cos(x / 2.4 * pi / 2)`` computed on the new state, done when ``|x| > 2.4`` or
after 1,000 steps. ``theta = 0`` is upright; episodes start near ``theta = pi`` (hanging down).

:class:`SwingUpBatch` steps any number of independent carts in one call; the gymnasium env uses it
with ``n = 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SwingUpParams:
    """Physical constants and episode rules; defaults are the WANN paper's."""

    gravity: float = 9.82
    cart_mass: float = 0.5
    pole_mass: float = 0.5
    pole_length: float = 0.6
    force_mag: float = 10.0
    friction: float = 0.1
    dt: float = 0.01
    x_threshold: float = 2.4
    max_steps: int = 1000
    init_std: float = 0.2

    def __post_init__(self) -> None:
        for name in ("gravity", "cart_mass", "pole_mass", "pole_length", "dt", "x_threshold"):
            if not getattr(self, name) > 0:
                raise ValueError(f"SwingUpParams.{name} must be > 0, got {getattr(self, name)!r}")
        if self.max_steps < 1:
            raise ValueError(f"SwingUpParams.max_steps must be >= 1, got {self.max_steps!r}")


def swingup_accelerations(state: np.ndarray, force: np.ndarray, p: SwingUpParams) -> tuple:
    """Cart and pole accelerations for states ``(..., 4) = [x, x_dot, theta, theta_dot]`` and forces (N)."""
    x_dot, theta, theta_dot = state[..., 1], state[..., 2], state[..., 3]
    s, c = np.sin(theta), np.cos(theta)
    m_total = p.cart_mass + p.pole_mass
    m_p_l = p.pole_mass * p.pole_length
    x_acc = (
        -2.0 * m_p_l * theta_dot**2 * s
        + 3.0 * p.pole_mass * p.gravity * s * c
        + 4.0 * force
        - 4.0 * p.friction * x_dot
    ) / (4.0 * m_total - 3.0 * p.pole_mass * c**2)
    theta_acc = (
        -3.0 * m_p_l * theta_dot**2 * s * c
        + 6.0 * m_total * p.gravity * s
        + 6.0 * (force - p.friction * x_dot) * c
    ) / (4.0 * p.pole_length * m_total - 3.0 * m_p_l * c**2)
    return x_acc, theta_acc


def swingup_euler_step(state: np.ndarray, action: np.ndarray, p: SwingUpParams) -> np.ndarray:
    """One explicit Euler step; ``action`` in [-1, 1] (clipped) scales ``force_mag``."""
    force = p.force_mag * np.clip(action, -1.0, 1.0)
    x_acc, theta_acc = swingup_accelerations(state, force, p)
    new = np.empty_like(state)
    new[..., 0] = state[..., 0] + state[..., 1] * p.dt
    new[..., 2] = state[..., 2] + state[..., 3] * p.dt
    new[..., 1] = state[..., 1] + x_acc * p.dt
    new[..., 3] = state[..., 3] + theta_acc * p.dt
    return new


def swingup_observation(state: np.ndarray) -> np.ndarray:
    """``[x, x_dot, cos(theta), sin(theta), theta_dot]`` for states ``(..., 4)``."""
    state = np.asarray(state, dtype=np.float64)
    theta = state[..., 2]
    return np.stack([state[..., 0], state[..., 1], np.cos(theta), np.sin(theta), state[..., 3]], axis=-1)


def swingup_reward(state: np.ndarray, p: SwingUpParams) -> np.ndarray:
    """Upright and centred: ``(cos(theta) + 1) / 2 * cos(x / x_threshold * pi / 2)``."""
    return (np.cos(state[..., 2]) + 1.0) / 2.0 * np.cos(state[..., 0] / p.x_threshold * (np.pi / 2.0))


SeedLike = int | np.random.Generator


class SwingUpBatch:
    """``n`` independent swing-up carts stepped together. Finished carts freeze and earn 0."""

    def __init__(self, n: int, params: SwingUpParams | None = None) -> None:
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"SwingUpBatch needs n >= 1 carts, got {n!r}")
        self.n = int(n)
        self.params = params or SwingUpParams()
        self.state = np.zeros((self.n, 4))
        self.t = np.zeros(self.n, dtype=np.int64)
        self.done = np.ones(self.n, dtype=bool)

    def reset(self, seeds: SeedLike | Sequence[SeedLike]) -> np.ndarray:
        """Draw start states ``N([0, 0, pi, 0], init_std)``, one stream per cart; returns observations.

        ``seeds`` is one int (spawned into ``n`` independent streams) or ``n`` ints / Generators.
        """
        if isinstance(seeds, (int, np.integer)):
            rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seeds)).spawn(self.n)]
        else:
            seeds = list(seeds)
            if len(seeds) != self.n:
                raise ValueError(f"SwingUpBatch.reset: {self.n} carts but {len(seeds)} seeds")
            rngs = [s if isinstance(s, np.random.Generator) else np.random.default_rng(s) for s in seeds]
        loc = np.array([0.0, 0.0, np.pi, 0.0])
        self.state = np.stack([rng.normal(loc, self.params.init_std) for rng in rngs])
        self.t[:] = 0
        self.done[:] = False
        return swingup_observation(self.state)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Advance every running cart; ``actions`` shape ``(n,)`` or ``(n, 1)``. Returns obs, reward, done."""
        a = np.asarray(actions, dtype=np.float64)
        if a.shape not in ((self.n,), (self.n, 1)):
            raise ValueError(f"SwingUpBatch.step: expected actions of shape ({self.n},), got {a.shape}")
        a = np.nan_to_num(a.reshape(self.n), nan=0.0)
        running = ~self.done
        new = swingup_euler_step(self.state, a, self.params)
        self.state = np.where(running[:, None], new, self.state)
        reward = np.where(running, swingup_reward(self.state, self.params), 0.0)
        self.t += running
        out = np.abs(self.state[:, 0]) > self.params.x_threshold
        self.done |= running & (out | (self.t >= self.params.max_steps))
        return swingup_observation(self.state), reward, self.done.copy()

    @property
    def out_of_bounds(self) -> np.ndarray:
        """Carts that left the track (terminated, as opposed to reaching the step limit)."""
        return np.abs(self.state[:, 0]) > self.params.x_threshold
