"""The policy spec: everything besides the network that a deployable policy carries (DESIGN.md contract 1).

A spec is plain data (JSON-serialisable through ``to_dict``/``from_dict``), shared by every file format,
the training code that writes policies and the ROS nodes that run them.

Conventions:
  * ``Policy.act(obs)`` takes the *raw* observation vector made by the shared observation builder
    (``wann_ros.sim.observation.build_observation``); normalisation ``(obs - mean) / std`` then
    clipping to ``±clip`` happens inside ``act`` via :meth:`ObservationSpec.normalize`.
  * ``act`` returns the network action ``a`` (unitless, usually in [-1, 1]);
    :meth:`ActionSpec.to_command` turns it into joint commands: ``offset + scale * clip(a, -1, 1)``,
    then clamped to ``[lower, upper]``. Envs and nodes both use that one function.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

KINDS = ("wann", "chromatic", "hebbian", "static")
ACTION_MODES = ("effort", "position", "velocity")
MAX_DIM = 1 << 20  # no observation or action vector is longer than this


class PolicySpecError(ValueError):
    """A spec (or the file holding it) is malformed; the message says what is wrong."""


def finite(values: Sequence[float]) -> bool:
    """True when none of the Python floats ``values`` is NaN or inf.

    It runs several times per control step, so it is one sum: a NaN or inf anywhere makes the sum
    non-finite, so a finite sum settles it; only an overflowing sum of huge finite values falls back to
    checking each value."""
    return math.isfinite(sum(values)) or all(map(math.isfinite, values))


def all_finite(x: np.ndarray) -> bool:
    """:func:`finite` for a float array: small arrays (sensor vectors) are summed in Python, 4x faster
    than a numpy reduction."""
    if x.size <= 64:
        return finite(x.ravel().tolist())
    with np.errstate(over="ignore", invalid="ignore"):  # an overflowing sum only sends us to the exact check
        total = x.sum()
    return math.isfinite(total) or bool(np.isfinite(x).all())


def as_float(value: Any, what: str) -> float:
    """A finite real number (an int or float, not a bool) as a float; PolicySpecError otherwise.

    Values come from files, so an int may have thousands of digits: too large for a float is an error,
    never an OverflowError."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, (bool, np.bool_)):
        raise PolicySpecError(f"{what} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise PolicySpecError(f"{what} must be finite, got an integer of {value.bit_length()} bits") from None
    if not math.isfinite(number):
        raise PolicySpecError(f"{what} must be finite, got {number}")
    return number


def _vector(value: Any, size: int, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise PolicySpecError(f"{what}: expected {size} numbers ({exc})") from None
    if arr.shape != (size,):
        raise PolicySpecError(f"{what}: expected {size} values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise PolicySpecError(f"{what}: contains NaN or inf")
    return arr


@dataclass(frozen=True)
class ObsTerm:
    """One named block of the observation vector (see ``wann_ros.sim.observation`` for the term names)."""

    name: str
    size: int
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "params": dict(self.params)}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> ObsTerm:
        try:
            name, size = d["name"], d["size"]
        except (KeyError, TypeError) as exc:
            raise PolicySpecError(f"observation term needs 'name' and 'size': {d!r}") from exc
        if not isinstance(name, str) or not name:
            raise PolicySpecError(f"observation term name must be a non-empty string: {name!r}")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_DIM:
            raise PolicySpecError(f"observation term {name!r}: size must be an int in 1..{MAX_DIM}")
        params = d.get("params", {})
        if not isinstance(params, dict):
            raise PolicySpecError(f"observation term {name!r}: params must be a mapping")
        return ObsTerm(name, size, params)


@dataclass
class ObservationSpec:
    """Named terms in order, plus the normalisation applied inside ``Policy.act``."""

    terms: tuple[ObsTerm, ...]
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    clip: float | None = None

    def __post_init__(self) -> None:
        self.terms = tuple(self.terms)
        if not self.terms:
            raise PolicySpecError("observation spec has no terms")
        if self.mean is not None:
            self.mean = _vector(self.mean, self.size, "observation mean")
        if self.std is not None:
            self.std = _vector(self.std, self.size, "observation std")
            if np.any(self.std <= 0):
                raise PolicySpecError("observation std must be > 0")
        if self.clip is not None and not (math.isfinite(self.clip) and self.clip > 0):
            raise PolicySpecError(f"observation clip must be a positive finite number, got {self.clip}")

    @property
    def size(self) -> int:
        return sum(t.size for t in self.terms)

    def normalize(self, obs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Apply mean/std/clip (each optional). Works on one vector or a batch (last axis).

        ``out`` (same shape as ``obs``, float64) receives the result when any step applies, so a
        control loop can normalise without allocating; without steps ``obs`` itself is returned.
        """
        x = np.asarray(obs, dtype=np.float64)
        if self.mean is None and self.std is None and self.clip is None:
            return x
        if out is None:
            out = np.empty(x.shape)
        if self.mean is not None:
            x = np.subtract(x, self.mean, out=out)
        if self.std is not None:
            x = np.divide(x, self.std, out=out)
        if self.clip is not None:  # minimum/maximum: the same result as np.clip, several times faster
            x = np.minimum(x, self.clip, out=out)
            x = np.maximum(x, -self.clip, out=out)
        return x

    def to_dict(self) -> dict[str, Any]:
        return {
            "terms": [t.to_dict() for t in self.terms],
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
            "clip": self.clip,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> ObservationSpec:
        if not isinstance(d, dict) or not isinstance(d.get("terms"), list):
            raise PolicySpecError("observation spec needs a 'terms' list")
        if len(d["terms"]) > 4096:
            raise PolicySpecError("observation spec has absurdly many terms")
        terms = tuple(ObsTerm.from_dict(t) for t in d["terms"])
        if sum(t.size for t in terms) > MAX_DIM:
            raise PolicySpecError("observation vector is absurdly large")
        clip = d.get("clip")
        clip = None if clip is None else as_float(clip, "observation clip")
        return ObservationSpec(terms, d.get("mean"), d.get("std"), clip)


@dataclass(frozen=True)
class ActionSpec:
    """Joint names in command order, how the network action maps to commands, and the joint limits.

    A value: frozen, with read-only arrays (``dataclasses.replace`` makes a changed copy)."""

    joint_names: tuple[str, ...]
    mode: str
    scale: np.ndarray
    offset: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def __post_init__(self) -> None:
        names = tuple(self.joint_names)
        n = len(names)
        if n == 0 or n > MAX_DIM:
            raise PolicySpecError("action spec needs at least one joint name")
        if not all(isinstance(j, str) and j for j in names):
            raise PolicySpecError("joint names must be non-empty strings")
        if len(set(names)) != n:
            raise PolicySpecError("joint names must be unique")
        if self.mode not in ACTION_MODES:
            raise PolicySpecError(f"action mode must be one of {ACTION_MODES}, got {self.mode!r}")
        object.__setattr__(self, "joint_names", names)
        for name, what in (
            ("scale", "scale"),
            ("offset", "offset"),
            ("lower", "lower limit"),
            ("upper", "upper limit"),
        ):
            values = _vector(getattr(self, name), n, f"action {what}").copy()  # ours: the caller keeps theirs
            values.flags.writeable = False
            object.__setattr__(self, name, values)
        if np.any(self.lower > self.upper):
            raise PolicySpecError("action lower limit exceeds upper limit")
        rows = zip(
            self.offset.tolist(), self.scale.tolist(), self.lower.tolist(), self.upper.tolist(), strict=True
        )
        object.__setattr__(self, "_rows", list(rows))

    @property
    def size(self) -> int:
        return len(self.joint_names)

    def to_command(self, action: np.ndarray) -> np.ndarray:
        """Network action(s) ``(..., n_joints)`` -> joint commands, clamped to the limits; NaN actions
        become the offset.

        Scalar arithmetic with conditional expressions: for the few joints of a robot this is half the
        cost of the numpy ufuncs (and a sixth of builtin min/max), and it runs every control step."""
        a = np.asarray(action, dtype=np.float64)
        if a.shape[-1:] != (len(self._rows),):
            raise PolicySpecError(
                f"action shape {a.shape} does not end in the spec's {len(self._rows)} joints"
            )
        out = []
        for x, (offset, scale, lower, upper) in zip(a.ravel().tolist(), itertools.cycle(self._rows)):
            x = 0.0 if x != x else (1.0 if x > 1.0 else -1.0 if x < -1.0 else x)  # NaN -> 0, ±inf -> ±1
            c = offset + scale * x
            out.append(lower if c < lower else upper if c > upper else c)
        return np.array(out).reshape(a.shape)

    def to_dict(self) -> dict[str, Any]:
        return {
            "joint_names": list(self.joint_names),
            "mode": self.mode,
            "scale": self.scale.tolist(),
            "offset": self.offset.tolist(),
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> ActionSpec:
        keys = ("joint_names", "mode", "scale", "offset", "lower", "upper")
        if not isinstance(d, dict) or any(k not in d for k in keys):
            raise PolicySpecError(f"action spec needs the keys {keys}")
        if not isinstance(d["joint_names"], list):
            raise PolicySpecError("action joint_names must be a list")
        try:
            return ActionSpec(*(d[k] for k in keys))
        except (TypeError, ValueError) as exc:
            if isinstance(exc, PolicySpecError):
                raise
            raise PolicySpecError(f"action spec: {exc}") from exc


@dataclass
class Provenance:
    """Where a policy came from: enough to rerun the search that made it."""

    task: str = ""
    seed: int | None = None
    generation: int | None = None
    score: float | None = None
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "seed": self.seed,
            "generation": self.generation,
            "score": self.score,
            "command": self.command,
            "extra": dict(self.extra),
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Provenance:
        if not isinstance(d, dict):
            raise PolicySpecError("provenance must be a mapping")
        extra = d.get("extra", {})
        if not isinstance(extra, dict):
            raise PolicySpecError("provenance extra must be a mapping")
        score = d.get("score")  # informative only: a value that is not a number is dropped
        is_number = isinstance(score, (int, float)) and not isinstance(score, bool)
        return Provenance(
            task=str(d.get("task", "")),
            seed=d.get("seed") if isinstance(d.get("seed"), int) else None,
            generation=d.get("generation") if isinstance(d.get("generation"), int) else None,
            score=as_float(score, "provenance score") if is_number else None,
            command=str(d.get("command", "")),
            extra=extra,
        )


@dataclass
class PolicySpec:
    """Kind, observation and action layouts, control period and provenance of a policy."""

    kind: str
    observation: ObservationSpec
    action: ActionSpec
    control_period: float
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PolicySpecError(f"unknown policy kind {self.kind!r}; expected one of {KINDS}")
        if not (isinstance(self.control_period, (int, float)) and 0 < self.control_period < 10):
            raise PolicySpecError(f"control period must be in (0, 10) s, got {self.control_period!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "observation": self.observation.to_dict(),
            "action": self.action.to_dict(),
            "control_period": self.control_period,
            "provenance": self.provenance.to_dict(),
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> PolicySpec:
        if not isinstance(d, dict):
            raise PolicySpecError("policy spec must be a mapping")
        for key in ("kind", "observation", "action", "control_period"):
            if key not in d:
                raise PolicySpecError(f"policy spec is missing {key!r}")
        return PolicySpec(
            kind=d["kind"],
            observation=ObservationSpec.from_dict(d["observation"]),
            action=ActionSpec.from_dict(d["action"]),
            control_period=as_float(d["control_period"], "control_period"),
            provenance=Provenance.from_dict(d.get("provenance", {})),
        )
