"""Episode runners: ``(policy, env, seed, **args) -> (fitness, info)``."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from training.seeding import policy_seed

FITNESS = ("reward", "distance")


def run_episode(
    policy: Any,
    env: Any,
    seed: int,
    max_steps: int | None = None,
    fitness: str = "reward",
    solved_distance: float | None = None,
    solved_window: int = 50,
) -> tuple[float, dict[str, Any]]:
    """One episode: the env is reset with ``seed``, the policy with ``policy_seed(seed)``.

    ``fitness="reward"`` returns the sum of rewards; ``"distance"`` returns the env's last
    ``info["distance"]`` (forward progress along +x, as the quadruped envs report it). The episode
    ends when the env terminates or truncates, or after ``max_steps`` steps.

    With ``solved_distance`` set, ``info["solved"]`` tells whether the robot moved forward
    monotonically: the final distance is at least ``solved_distance`` and the distance sampled every
    ``solved_window`` steps (and at the last step) never decreases; ``info["backstep"]`` is the control
    step of the first sample that decreased (0: none), to tell a slow start from a robot that turns back.
    An env that reports ``fallen`` (the quadrupeds) also gives ``info["fell"]``: whether the env ended
    the episode with the robot down, and ``info["down"]``: the fraction of steps it was down (e.g. the
    Ant's torso at or below 0.26 m). An env that reports its distance in metres (the quadrupeds) gives
    it as ``info["distance_m"]`` whatever the fitness.
    """
    if fitness not in FITNESS:
        raise ValueError(f"fitness must be one of {FITNESS}, got {fitness!r}")
    obs, info = env.reset(seed=seed)
    policy.reset(policy_seed(seed))
    total, steps, down, samples = 0.0, 0, 0, []
    while max_steps is None or steps < max_steps:
        obs, reward, terminated, truncated, info = env.step(policy.act(obs))
        total += float(reward)
        steps += 1
        down += bool(info.get("fallen", False))
        if solved_distance is not None and steps % solved_window == 0:
            samples.append(_distance(info))
        if terminated or truncated:
            break
    out: dict[str, Any] = {"steps": steps, "reward": total}
    if "fallen" in info:
        out["fell"] = bool(terminated and info["fallen"])
        out["down"] = down / steps
    if solved_distance is not None:
        samples.append(_distance(info))
        back = next((i for i, (a, b) in enumerate(itertools.pairwise(samples), 1) if b < a), None)
        out["solved"] = bool(samples[-1] >= solved_distance and back is None)
        out["backstep"] = 0 if back is None else min((back + 1) * solved_window, steps)
    if isinstance(info.get("distance"), dict) and "metres" in info["distance"]:
        out["distance_m"] = _distance(info, "metres")
    return (_distance(info) if fitness == "distance" else total), out


def _distance(info: dict[str, Any], unit: str = "paper_units") -> float:
    """``info["distance"]``: a number, or a mapping of units (paper units preferred, else metres)."""
    if "distance" not in info:
        raise ValueError("this runner needs the env to report info['distance']")
    d = info["distance"]
    if isinstance(d, dict):
        return float(d.get(unit, d.get("metres", np.nan)))
    return float(d)
