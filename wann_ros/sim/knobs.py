"""Sim-to-real randomisation knobs: one dataclass, everything off by default (the paper protocol).

Ranges are ``(low, high)`` and are drawn uniformly once per episode from the episode's seeded stream, so
an episode is reproducible from its seed. With every knob off no random numbers are drawn at all.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from wann_ros.sim.int_range import int_range

Range = tuple[float, float]


@dataclass(frozen=True)
class SimKnobs:
    """``ground_friction``: lateral friction of the ground; ``mass_scale``: factor (> 0) per link on its
    mass and inertia; ``motor_strength``: factor per joint motor; ``latency_steps``: commands act this
    many control steps late (a ``(low, high)`` pair of ints: drawn per episode, both ends included);
    ``joint_pos_noise`` (rad), ``joint_vel_noise`` (rad/s), ``imu_noise`` (rad/s on the gyro, rad of
    random tilt on the orientation): Gaussian sensor noise std; ``push_force`` (N): a horizontal push on
    the base lasting one control step, every ``push_interval`` control steps; ``gravity_tilt`` (rad, a
    number t means (0, t)): gravity leans from vertical by this angle toward ``gravity_heading`` (rad
    from +x toward +y; None: uniform around z), as on a slope whose ground stays level (the legs on the
    low side carry more); ``spawn_yaw`` (rad, a number y means (-y, y)): the body starts turned by this
    yaw from its spawn heading, so it must steer toward its walk target; ``spawn_joint_noise`` (rad): each
    joint starts at its default angle + U(-n, n) instead of the robot's own start noise (Ant 0.1, A1 0.05),
    so the body settles into a random, often tilted, rest and must stand up from it."""

    ground_friction: Range | None = None
    mass_scale: Range | None = None
    motor_strength: Range | None = None
    latency_steps: int | tuple[int, int] = 0
    joint_pos_noise: float = 0.0
    joint_vel_noise: float = 0.0
    imu_noise: float = 0.0
    push_force: float = 0.0
    push_interval: int = 200
    gravity_tilt: Range | float | None = None
    gravity_heading: Range | None = None
    spawn_yaw: Range | float | None = None
    spawn_joint_noise: float = 0.0

    def __post_init__(self) -> None:
        tilt = self.gravity_tilt
        if isinstance(tilt, (int, float)):
            object.__setattr__(self, "gravity_tilt", (0.0, tilt) if tilt else None)
        yaw = self.spawn_yaw
        if isinstance(yaw, (int, float)):
            object.__setattr__(self, "spawn_yaw", (-abs(yaw), abs(yaw)) if yaw else None)
        bounds = {
            "gravity_tilt": (0.0, math.pi / 2),
            "gravity_heading": (-math.inf, math.inf),
            "spawn_yaw": (-math.pi, math.pi),
        }
        for name in ("ground_friction", "mass_scale", "motor_strength", *bounds):
            r = getattr(self, name)
            if r is None:
                continue
            if len(r) != 2 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in r):
                raise ValueError(f"SimKnobs.{name} must be a (low, high) pair of numbers, got {r!r}")
            lo, hi = bounds.get(name, (0.0, math.inf))
            if not lo <= r[0] <= r[1] < hi:
                raise ValueError(f"SimKnobs.{name} needs {lo} <= low <= high < {hi}, got {r!r}")
            object.__setattr__(self, name, (float(r[0]), float(r[1])))
        if self.mass_scale is not None and self.mass_scale[0] <= 0:  # a zero mass is a static body
            raise ValueError(f"SimKnobs.mass_scale needs low > 0, got {self.mass_scale!r}")
        if self.gravity_heading is not None and self.gravity_tilt is None:
            raise ValueError("SimKnobs.gravity_heading needs a gravity_tilt")
        low, high = int_range(self.latency_steps, "SimKnobs.latency_steps", most=100)
        object.__setattr__(self, "latency_steps", (low, high) if low < high else low)
        for name in ("joint_pos_noise", "joint_vel_noise", "imu_noise", "push_force", "spawn_joint_noise"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"SimKnobs.{name} must be a finite number >= 0, got {v!r}")
        if not isinstance(self.push_interval, int) or self.push_interval < 1:
            raise ValueError(f"SimKnobs.push_interval must be an int >= 1, got {self.push_interval!r}")

    @classmethod
    def from_mapping(cls, fields: Mapping[str, Any]) -> SimKnobs:
        """Knobs from a mapping of field names (an unknown name is refused by name)."""
        known = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(fields, Mapping):
            raise ValueError(f"knobs must be a mapping of SimKnobs fields, got {fields!r}")
        if set(fields) - known:
            raise ValueError(f"unknown knob(s) {sorted(set(fields) - known)}; knobs are {sorted(known)}")
        return cls(**fields)

    @property
    def randomises_episode(self) -> bool:
        """True if a reset draws physical parameters (friction, masses, motor strength, gravity)."""
        ranges = (self.ground_friction, self.mass_scale, self.motor_strength, self.gravity_tilt)
        return any(r is not None for r in ranges)

    @property
    def noisy(self) -> bool:
        """True if sensor readings get noise."""
        return self.joint_pos_noise > 0 or self.joint_vel_noise > 0 or self.imu_noise > 0

    @property
    def active(self) -> bool:
        """True if any knob is on."""
        moves = any(v > 0 for v in (self.latency_range[1], self.push_force, self.spawn_joint_noise))
        return self.randomises_episode or self.noisy or moves or self.spawn_yaw is not None

    @property
    def latency_range(self) -> tuple[int, int]:
        """``latency_steps`` as a ``(low, high)`` pair (equal ends: a fixed latency)."""
        lat = self.latency_steps
        return lat if isinstance(lat, tuple) else (lat, lat)


def read_knobs_yaml(text: str) -> dict[str, Any]:
    """The mapping in a YAML text such as ``"{latency_steps: 2}"`` ("" is none); the fields are checked by
    :meth:`SimKnobs.from_mapping`."""
    try:
        fields = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ValueError(f"knobs are not YAML: {exc}") from exc
    if not isinstance(fields, dict):
        raise ValueError(f"knobs must be a YAML mapping of SimKnobs fields, got {text!r}")
    return fields
