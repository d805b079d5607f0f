"""Forward-progress bookkeeping of pybullet_envs walkers and the Hebbian paper's early stop.

pybullet_envs (WalkerBase.calc_potential) scores a step by the drop of the potential
``-|target - xy| / dt``: the distance to a target 1 km along +x, divided by the control period. Summed
over an episode this is the Hebbian paper's "distance" (enajx/HebbianMetaLearning adds up
``env.unwrapped.rewards[1]``), so one paper unit is ``dt = 0.0165`` m of approach to the target, measured
on the centroid pybullet_envs uses (see docs/simulation.md for the conversion to metres).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class WalkProgress:
    """Potential-based progress towards ``target_xy``, in metres per ``dt`` (the paper's units)."""

    def __init__(self, target_xy: tuple[float, float], dt: float) -> None:
        if not dt > 0:
            raise ValueError(f"WalkProgress needs dt > 0, got {dt!r}")
        self.target_xy = (float(target_xy[0]), float(target_xy[1]))
        self.dt = float(dt)
        self.potential = 0.0
        self.total = 0.0

    def _potential(self, xy) -> float:
        return -math.hypot(self.target_xy[0] - xy[0], self.target_xy[1] - xy[1]) / self.dt

    def reset(self, xy) -> None:
        """Start counting from ``xy``; the total goes back to 0."""
        self.potential = self._potential(xy)
        self.total = 0.0

    def rebase(self, xy) -> None:
        """Measure from ``xy`` on without counting the jump (e.g. after a respawned body's centroid moved)."""
        self.potential = self._potential(xy)

    def update(self, xy) -> float:
        """Progress since the last call (paper units), added to ``total``."""
        old, self.potential = self.potential, self._potential(xy)
        progress = self.potential - old
        self.total += progress
        return progress


@dataclass
class EarlyStop:
    """The Hebbian paper's stop rule (fitness_functions.py): once more than ``grace`` policy steps have
    run, stop when the robot has fallen or progress was negative on more than ``patience`` steps in a row."""

    grace: int = 200
    patience: int = 30
    negative_run: int = 0

    def reset(self) -> None:
        self.negative_run = 0

    def update(self, step_index: int, progress: float, fallen: bool) -> bool:
        """``step_index`` counts policy steps from 0 (the reference's ``t``). True means stop now."""
        if step_index <= self.grace:
            return False
        self.negative_run = self.negative_run + 1 if progress < 0.0 else 0
        return fallen or self.negative_run > self.patience
