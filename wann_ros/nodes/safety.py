"""Controller safety, ROS-free: safe command, output gate, per-input watchdog, e-stop, soft start.

All of it works on plain numpy arrays in the policy's joint order and on times in seconds, so it is tested
without ROS and shared by every way of running a policy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from wann_ros.policies.spec import ActionSpec, finite

SAFE_MODES = ("zero", "damping", "hold")


class SafetyConfigError(ValueError):
    """A safety setting is invalid; the message names it."""


@dataclass
class SafeCommand:
    """The command sent whenever the policy must not drive the robot.

    ``zero``: zero effort/velocity (for position mode: the position offset, i.e. the nominal pose).
    ``damping``: effort ``-kd * qdot`` (effort mode); for position mode the measured position, so the
    PD loop only damps motion; for velocity mode zero velocity.
    ``hold``: position mode holds the joint positions latched when the safe command was first asked for;
    effort/velocity modes fall back to ``damping``.
    Every safe command is clamped to the joint limits.
    """

    action: ActionSpec
    mode: str = "damping"
    kd: float = 1.0
    _held: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in SAFE_MODES:
            raise SafetyConfigError(f"safe_mode must be one of {SAFE_MODES}, got {self.mode!r}")
        if not (math.isfinite(self.kd) and self.kd >= 0):
            raise SafetyConfigError(f"safe damping kd must be a finite number >= 0, got {self.kd!r}")

    def release(self) -> None:
        """Forget the latched hold pose (call when the policy takes over again)."""
        self._held = None

    def __call__(self, joint_pos: Sequence[float] | None, joint_vel: Sequence[float] | None) -> np.ndarray:
        a = self.action
        n = a.size
        pos = _finite_or(joint_pos, n)
        vel = _finite_or(joint_vel, n)
        if a.mode == "effort":
            cmd = np.zeros(n) if self.mode == "zero" or vel is None else -self.kd * vel
        elif a.mode == "velocity":
            cmd = np.zeros(n)
        elif self.mode == "zero" or pos is None:
            cmd = a.offset.copy()
        elif self.mode == "hold":
            if self._held is None:
                self._held = pos.copy()
            cmd = self._held.copy()
        else:
            cmd = pos.copy()
        return np.clip(cmd, a.lower, a.upper)


def _finite_or(x: Sequence[float] | None, n: int) -> np.ndarray | None:
    if x is None:
        return None
    arr = np.asarray(x, dtype=np.float64)
    return arr if arr.shape == (n,) and np.all(np.isfinite(arr)) else None


class SafetyGate:
    """Last line before publishing: clamps to the joint limits and never lets NaN/inf through.

    A non-finite command is rejected and the last command that passed is held (the safe command
    given at construction until one has passed). Commands come out as tuples of floats: immutable, so
    the held one is shared without copies, and ready for a message's ``float64[]`` field.
    """

    def __init__(self, action: ActionSpec, initial: np.ndarray) -> None:
        self.action = action
        self.rejected = 0
        self._limits = list(zip(action.lower.tolist(), action.upper.tolist(), strict=True))
        last = np.clip(np.asarray(initial, dtype=np.float64), action.lower, action.upper)
        if last.shape != (action.size,) or not np.all(np.isfinite(last)):
            raise SafetyConfigError("initial safe command must be finite, one value per joint")
        self.last: tuple[float, ...] = tuple(last.tolist())

    def __call__(self, command: Sequence[float]) -> tuple[float, ...]:
        cmd = np.asarray(command, dtype=np.float64)
        if cmd.shape == (self.action.size,):
            values = cmd.tolist()
            if finite(values):
                limits = zip(values, self._limits, strict=True)
                self.last = tuple([lo if x < lo else hi if x > hi else x for x, (lo, hi) in limits])
                return self.last
        self.rejected += 1
        return self.last


class Watchdog:
    """Per-input staleness: stale if it never arrived or its last arrival is older than its timeout."""

    def __init__(self, timeouts: dict[str, float]) -> None:
        for name, t in timeouts.items():
            if not (math.isfinite(t) and t > 0):
                raise SafetyConfigError(f"watchdog timeout for {name!r} must be > 0 s, got {t!r}")
        self.timeouts = dict(timeouts)
        self.last: dict[str, float | None] = dict.fromkeys(timeouts)

    def feed(self, name: str, now: float) -> None:
        if name in self.last:
            self.last[name] = now

    def ages(self, now: float) -> dict[str, float]:
        """Seconds since each input last arrived (inf if never)."""
        return {k: (math.inf if t is None else max(0.0, now - t)) for k, t in self.last.items()}

    def stale(self, now: float) -> list[str]:
        """Inputs whose age (see ``ages``) exceeds their timeout."""
        timeouts = self.timeouts
        return [k for k, t in self.last.items() if t is None or now - t > timeouts[k]]


class EStop:
    """Latching emergency stop, engaged while any holder holds it.

    ``release(holder)`` drops that holder's hold only, so a source that keeps sending "not stopped"
    (e.g. a heartbeat on a topic) cannot undo an operator's stop; ``release()`` drops every hold.
    """

    def __init__(self) -> None:
        self.holds: dict[str, str] = {}  # holder -> reason

    @property
    def engaged(self) -> bool:
        return bool(self.holds)

    @property
    def reason(self) -> str:
        return "; ".join(self.holds.values())

    def engage(self, reason: str, holder: str = "operator") -> None:
        self.holds[holder] = reason

    def release(self, holder: str | None = None) -> None:
        if holder is None:
            self.holds.clear()
        else:
            self.holds.pop(holder, None)


class SoftStart:
    """Linear ramp from the safe command to the policy command over ``duration`` seconds after ``start``."""

    def __init__(self, duration: float) -> None:
        if not (math.isfinite(duration) and duration >= 0):
            raise SafetyConfigError(f"soft start duration must be >= 0 s, got {duration!r}")
        self.duration = duration
        self.t0: float | None = None

    def start(self, now: float) -> None:
        self.t0 = now

    def fraction(self, now: float) -> float:
        if self.t0 is None:
            return 0.0
        if self.duration == 0:
            return 1.0
        return float(min(1.0, max(0.0, (now - self.t0) / self.duration)))

    def blend(self, now: float, safe: np.ndarray, command: np.ndarray) -> np.ndarray:
        f = self.fraction(now)
        return safe + f * (command - safe)
