"""The one interface every policy kind implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from wann_ros.policies.spec import PolicySpec


@runtime_checkable
class Policy(Protocol):
    """A deployable policy: ``reset`` at the start of an episode, then ``act`` once per control step.

    ``act`` takes the raw observation from the shared observation builder, normalises it with
    ``spec.observation`` and returns the network action (``spec.action.to_command`` maps it to joints).
    """

    spec: PolicySpec

    def reset(self, seed: int | None = None) -> None:
        """Start an episode; stateful policies (Hebbian) redraw their state from ``seed``."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """One control step: raw observation in, network action out (float64, shape (n_joints,))."""
        ...
