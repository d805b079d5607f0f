"""The policy each robot runs by default: one table for the launch file and the demo."""

from __future__ import annotations

from pathlib import Path

SHIPPED_POLICIES = {"ant": "ant_hebbian.wrp", "a1": "a1_static.wrp"}  # robot -> file in models/


def shipped_policy(robot: str, models: Path) -> Path:
    """``models/<the robot's shipped file>``; a ValueError for a robot without one."""
    if robot not in SHIPPED_POLICIES:
        raise ValueError(
            f"no shipped policy for robot {robot!r}; robots with one: {', '.join(sorted(SHIPPED_POLICIES))}"
        )
    return models / SHIPPED_POLICIES[robot]
