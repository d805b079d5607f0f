"""ToyReach: a tiny numpy control task that exercises the whole engine in milliseconds.

A point mass in the plane must reach a target; observation ``[position, velocity, target]`` (6),
action a force in ``[-1, 1]^2``, reward ``-|position - target|`` per step. Morphologies change the
mass (``"standard"`` 1.0, ``"heavy"`` 3.0). Used by the tests, the docs' examples and ``--task toy``.

``linear_policy`` builds a 6->2 tanh policy from 12 flat parameters (``training.builders.static_mlp``
works on it too); ``evaluate_batch`` runs many
jobs at once with the same arithmetic as the one-episode path, so it returns the same numbers.
``die_marker`` (runner argument) makes the first episode that finds no file at that path create it
and kill its process: fault injection for the tests of the worker-recovery path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np

from training.builders import policy_spec_for
from wann_ros.policies.spec import ActionSpec, ObservationSpec, ObsTerm, PolicySpec

ENV_ID = "ToyReach-v0"
MASSES = {"standard": 1.0, "heavy": 3.0}
DT, DAMPING = 0.1, 0.5
OBS_SIZE, ACT_SIZE = 6, 2


def toy_observation_spec() -> ObservationSpec:
    return ObservationSpec((ObsTerm("toy_position", 2), ObsTerm("toy_velocity", 2), ObsTerm("toy_target", 2)))


def toy_action_spec() -> ActionSpec:
    return ActionSpec(("force_x", "force_y"), "effort", np.ones(2), np.zeros(2), -np.ones(2), np.ones(2))


def _initial_state(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, 2), rng.uniform(-1.0, 1.0, 2)


def _step(pos: np.ndarray, vel: np.ndarray, action: np.ndarray, mass: np.ndarray) -> None:
    """Advance position/velocity in place (works on one state or a batch along the first axis)."""
    force = np.clip(np.nan_to_num(action), -1.0, 1.0)
    vel += (force / mass - DAMPING * vel) * DT
    pos += vel * DT


def _linear(weights: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """tanh(W obs) for one (2, 6) W or a batch (B, 2, 6); the same reduction order either way."""
    return np.tanh((weights * obs[..., None, :]).sum(axis=-1))


class ToyReachEnv(gymnasium.Env):
    """See the module docstring."""

    def __init__(self, morphology: str = "standard", horizon: int = 40) -> None:
        if morphology not in MASSES:
            raise ValueError(f"ToyReach: unknown morphology {morphology!r}; expected one of {sorted(MASSES)}")
        self.mass = MASSES[morphology]
        self.horizon = horizon
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (OBS_SIZE,), np.float64)
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, (ACT_SIZE,), np.float64)
        self.observation_spec = toy_observation_spec()
        self.action_spec = toy_action_spec()
        self.control_period = DT

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.pos, self.target = _initial_state(0 if seed is None else seed)
        self.vel = np.zeros(2)
        self.t = 0
        return self._obs(), {}

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.pos, self.vel, self.target])

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        _step(self.pos, self.vel, np.asarray(action, dtype=np.float64), np.float64(self.mass))
        self.t += 1
        reward = -float(np.sqrt(np.sum((self.pos - self.target) ** 2)))
        return self._obs(), reward, False, self.t >= self.horizon, {}


gymnasium.register(ENV_ID, entry_point=ToyReachEnv)


class LinearPolicy:
    """``tanh(W obs)``: the toy's policy (implements ``wann_ros.policies.base.Policy``)."""

    def __init__(self, weights: np.ndarray, spec: PolicySpec) -> None:
        self.weights = weights
        self.spec = spec

    def reset(self, seed: int | None = None) -> None:
        """Stateless."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        return _linear(self.weights, self.spec.observation.normalize(obs))


def linear_policy(candidate: np.ndarray, env: Any) -> LinearPolicy:
    """Builder: 12 flat parameters -> a 6->2 tanh linear policy."""
    flat = np.asarray(candidate, dtype=np.float64)
    if flat.shape != (ACT_SIZE * OBS_SIZE,):
        raise ValueError(f"ToyReach linear policy needs {ACT_SIZE * OBS_SIZE} parameters, got {flat.shape}")
    return LinearPolicy(flat.reshape(ACT_SIZE, OBS_SIZE), policy_spec_for(env, "static"))


def run_episode(policy: Any, env: Any, seed: int, die_marker: str | None = None) -> tuple[float, dict]:
    """The generic runner, plus the optional fault injection described in the module docstring."""
    from training.episodes import run_episode as generic

    if die_marker is not None:
        try:  # created atomically: of two workers that start at once, only one dies
            os.close(os.open(die_marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            os._exit(3)
    return generic(policy, env, seed)


def evaluate_batch(task: Any, candidates: Sequence[np.ndarray], jobs: Sequence[Any]) -> np.ndarray:
    """All jobs of a generation at once (no fault injection on this path); fitness per job."""
    horizon = int(task.env_kwargs.get("horizon", 40))
    names = task.morphologies or ("standard",)
    n = len(jobs)
    weights = np.stack([np.asarray(candidates[j.candidate], np.float64) for j in jobs])
    weights = weights.reshape(n, ACT_SIZE, OBS_SIZE)
    mass = np.array([MASSES[names[j.morphology]] for j in jobs])[:, None]
    starts = [_initial_state(j.seed) for j in jobs]
    pos = np.array([s[0] for s in starts])
    target = np.array([s[1] for s in starts])
    vel = np.zeros((n, 2))
    total = np.zeros(n)
    for _ in range(horizon):
        _step(pos, vel, _linear(weights, np.concatenate([pos, vel, target], axis=1)), mass)
        total += -np.sqrt(np.sum((pos - target) ** 2, axis=1))
    return total
