"""Damage descriptions: shortened lower legs (morphology), locked joints, weak or failed motors.

A :class:`Damage` is plain data; :class:`~wann_ros.sim.world.QuadrupedWorld` applies it at reset or in the
middle of a run. Legs are named for where they are with +x forward and z up: ``front_left`` is the leg at
(+x, +y). :func:`parse_damage` reads the short text form used by the ROS simulator node, e.g.
``"right_front"``, ``"shorten:back_left=0.5"``, ``"lock:hip_1,weak:ankle_2=0.3,fail:hip_3"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LEGS = ("front_left", "front_right", "back_left", "back_right")


class DamageError(ValueError):
    """A damage description is malformed or does not fit the robot."""


def _pairs(value: Any, what: str) -> tuple[tuple[str, float], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    try:
        pairs = tuple(sorted((str(k), float(v)) for k, v in items))
    except (TypeError, ValueError) as exc:
        raise DamageError(f"{what} must map names to numbers, got {value!r}") from exc
    if len({k for k, _ in pairs}) != len(pairs):
        raise DamageError(f"{what} names a part twice: {value!r}")
    return pairs


@dataclass(frozen=True)
class Damage:
    """``shortened``: leg -> lower-leg length fraction in (0, 1]; ``locked``: joints held where they are;
    ``strength``: joint -> motor strength factor in [0, 1] (0 = failed motor)."""

    shortened: tuple[tuple[str, float], ...] = ()
    locked: tuple[str, ...] = ()
    strength: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.locked, str):  # iterating it would lock one "joint" per character
            raise DamageError(f"Damage.locked must be a list of joint names, got the string {self.locked!r}")
        shortened = _pairs(self.shortened, "Damage.shortened")
        strength = _pairs(self.strength, "Damage.strength")
        locked = tuple(sorted({str(j) for j in self.locked}))
        for leg, frac in shortened:
            if leg not in LEGS:
                raise DamageError(f"unknown leg {leg!r}; legs are {LEGS}")
            if not 0.0 < frac <= 1.0:
                raise DamageError(f"leg {leg!r}: length fraction must be in (0, 1], got {frac}")
        for joint, factor in strength:
            if not 0.0 <= factor <= 1.0:
                raise DamageError(f"joint {joint!r}: motor strength must be in [0, 1], got {factor}")
        object.__setattr__(self, "shortened", tuple((k, v) for k, v in shortened if v < 1.0))
        object.__setattr__(self, "strength", tuple((k, v) for k, v in strength if v < 1.0))
        object.__setattr__(self, "locked", locked)

    @property
    def morphology(self) -> tuple[tuple[str, float], ...]:
        """The part of the damage that changes the body (needs a respawn when it changes)."""
        return self.shortened

    def merged(self, other: Damage) -> Damage:
        """Both damages at once (``other`` wins where both name the same part)."""
        return Damage(
            {**dict(self.shortened), **dict(other.shortened)},
            self.locked + other.locked,
            {**dict(self.strength), **dict(other.strength)},
        )

    def joints(self) -> set[str]:
        """Joint names this damage refers to."""
        return set(self.locked) | {j for j, _ in self.strength}


MORPHOLOGIES: dict[str, Damage] = {
    "standard": Damage(),
    "right_front": Damage(shortened={"front_right": 0.25}),
    "left_front": Damage(shortened={"front_left": 0.25}),
}
"""The Hebbian paper's three Ant morphologies: intact, and the right-front or left-front lower leg cut
to a quarter of its length."""


def parse_damage(value: str | Damage | Mapping[str, Any] | None) -> Damage:
    """A :class:`Damage` from a preset name, the text form, a mapping of Damage fields, or None."""
    if value is None:
        return Damage()
    if isinstance(value, Damage):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"shortened", "locked", "strength"}
        if unknown:
            raise DamageError(f"unknown damage field(s) {sorted(unknown)}")
        return Damage(**value)
    if not isinstance(value, str):
        raise DamageError(f"damage must be a string, mapping or Damage, got {type(value).__name__}")
    result = Damage()
    for token in (t.strip() for t in value.split(",")):
        if not token:
            continue
        if token in MORPHOLOGIES:
            result = result.merged(MORPHOLOGIES[token])
            continue
        kind, _, arg = token.partition(":")
        name, _, number = arg.partition("=")
        try:
            if kind == "shorten" and name and number:
                result = result.merged(Damage(shortened={name: float(number)}))
            elif kind == "lock" and name and not number:
                result = result.merged(Damage(locked=(name,)))
            elif kind == "weak" and name and number:
                result = result.merged(Damage(strength={name: float(number)}))
            elif kind == "fail" and name and not number:
                result = result.merged(Damage(strength={name: 0.0}))
            else:
                raise DamageError(
                    f"cannot read damage {token!r}; use a preset {sorted(MORPHOLOGIES)} or "
                    "shorten:LEG=FRACTION, lock:JOINT, weak:JOINT=FACTOR, fail:JOINT"
                )
        except ValueError as exc:
            if isinstance(exc, DamageError):
                raise
            raise DamageError(f"cannot read the number in damage {token!r}") from exc
    return result
