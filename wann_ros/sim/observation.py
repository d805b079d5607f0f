"""The one observation builder (DESIGN.md contract 2), numpy only.

``build_observation(spec, state)`` turns a :class:`RobotState` into the policy's observation vector,
term by term, following ``spec.terms``. The gymnasium envs, the ROS controller node and hardware
drivers all fill a ``RobotState`` and call this one function.

Every term is registered in :data:`TERMS` with the ``RobotState`` fields it reads, the params it needs
and its size. Params travel inside the policy file (``ObsTerm.params``), so a policy carries everything
its observation depends on (initial height, walk target, joint limits, default pose, scales). Joint terms
accept a ``joints`` param: the joint names to read, in order, matched by name (never by index).
A term may carry a ``clip`` param: its output is clipped to ``±clip``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from wann_ros.policies.spec import ObservationSpec, ObsTerm, PolicySpecError
from wann_ros.sim.swingup import swingup_observation

Vector = np.ndarray | tuple[float, ...]


@dataclass
class RobotState:
    """What a robot's sensors say at one instant. Fields a robot lacks stay ``None``.

    Frames: ``base_pos`` and ``base_lin_vel`` in the world frame (odometry); ``base_quat`` is the
    base orientation in the world frame as (x, y, z, w) (IMU / odometry); ``base_ang_vel`` in the base
    frame (IMU gyro). Joint arrays follow ``joint_names``. A vector field is a numpy array or a tuple of
    floats (the simulator passes pybullet's tuples on, the controller node its sensor tuples).

    ``clock`` is the policy's time in seconds since its episode started (policy steps times the control
    period), for the ``gait_clock`` term; the simulator and the controller keep it.

    ``centroid_xy`` is the planar point a walk target's heading is measured from; pybullet_envs walkers
    use the mean of their part positions (see docs/simulation.md). When ``None`` the builder uses
    ``base_pos[:2]``. ``raw_obs`` carries an observation made elsewhere (e.g. a gymnasium env whose
    observation is not built from robot state, such as BipedalWalker's lidar) for the ``raw`` term.
    """

    joint_names: tuple[str, ...]
    joint_pos: Vector
    joint_vel: Vector
    base_pos: Vector | None = None
    base_quat: Vector | None = None
    base_lin_vel: Vector | None = None
    base_ang_vel: Vector | None = None
    foot_contacts: Vector | None = None
    prev_action: Vector | None = None
    clock: float | None = None
    centroid_xy: Vector | None = None
    raw_obs: np.ndarray | None = None


# ---------------------------------------------------------------------------------------------------------
# orientation math (quaternions are (x, y, z, w), as pybullet and ROS use them)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix (body -> world) of a unit quaternion (x, y, z, w)."""
    x, y, z, w = (float(v) for v in q)
    n = x * x + y * y + z * z + w * w
    if not n > 0.0:
        raise ValueError(f"base_quat must be a non-zero quaternion, got {q!r}")
    s = 2.0 / n
    return np.array(
        [
            [1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w)],
            [s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w)],
            [s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y)],
        ]
    )


def rotate(q, v, inverse: bool = False) -> tuple[float, float, float]:
    """Vector ``v`` rotated by the unit quaternion ``q`` = (x, y, z, w): body -> world, or world -> body
    with ``inverse``. Scalar arithmetic and a tuple: it runs on every sensor message and simulation step."""
    x, y, z, w = float(q[0]), float(q[1]), float(q[2]), float(q[3])
    if inverse:
        x, y, z = -x, -y, -z
    vx, vy, vz = float(v[0]), float(v[1]), float(v[2])
    tx, ty, tz = 2.0 * (y * vz - z * vy), 2.0 * (z * vx - x * vz), 2.0 * (x * vy - y * vx)
    return (vx + w * tx + y * tz - z * ty, vy + w * ty + z * tx - x * tz, vz + w * tz + x * ty - y * tx)


def quat_to_rpy(q) -> tuple[float, float, float]:
    """Roll, pitch, yaw (extrinsic x-y-z, the convention of pybullet's getEulerFromQuaternion)."""
    x, y, z, w = (float(v) for v in q) if isinstance(q, np.ndarray) else q
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return roll, pitch, yaw


# ---------------------------------------------------------------------------------------------------------
# the terms


@dataclass(frozen=True)
class TermDef:
    """A registered observation term: which state fields it reads, its params, its size, its math.

    ``compute(state, params, size)`` returns the term's values as a list of Python floats: the vectors
    are a few dozen numbers, where float arithmetic costs less than a numpy call per operation."""

    inputs: frozenset[str]
    params: tuple[str, ...]
    size: Callable[[dict[str, Any]], int | None]
    compute: Callable[[RobotState, dict[str, Any], int], list[float]]
    doc: str
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # params -> what compute reads


def _floats(state: RobotState, name: str, term: str) -> list:
    """``state.<name>`` as Python floats (nested lists for a 2-D field)."""
    value = getattr(state, name)
    if type(value) is tuple:  # pybullet's own type: no array round trip
        return list(value)
    if value is None:
        raise PolicySpecError(f"observation term {term!r} needs RobotState.{name}, which is None")
    return np.asarray(value, dtype=np.float64).tolist()


_JOINT_INDEX_CACHE: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[int, ...]] = {}


def _joint_index(state: RobotState, params: dict[str, Any], term: str) -> tuple[int, ...] | None:
    """Indices into the state's joint arrays for the term's ``joints`` param; None: all, in order."""
    wanted = params.get("joints")
    if wanted is None:
        return None
    key = (tuple(state.joint_names), tuple(wanted))
    if key[0] == key[1]:
        return None
    idx = _JOINT_INDEX_CACHE.get(key)
    if idx is None:
        where = {name: i for i, name in enumerate(state.joint_names)}
        missing = [j for j in wanted if j not in where]
        if missing:
            raise PolicySpecError(f"observation term {term!r}: the robot has no joint(s) {missing}")
        idx = tuple(where[j] for j in wanted)
        if len(_JOINT_INDEX_CACHE) < 256:
            _JOINT_INDEX_CACHE[key] = idx
    return idx


def _joints(state: RobotState, field: str, params: dict[str, Any], term: str) -> list[float]:
    values = _floats(state, field, term)
    idx = _joint_index(state, params, term)
    return values if idx is None else [values[i] for i in idx]


def _n_joints(params: dict[str, Any]) -> int | None:
    joints = params.get("joints")
    return None if joints is None else len(joints)


def _per_joint(values: Any, n: int, what: str, term: str) -> list[float]:
    """A scalar or per-joint param as ``n`` floats."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        return [float(arr)] * n
    if arr.shape != (n,):
        raise PolicySpecError(f"observation term {term!r}: {n} joints but {arr.size} {what}")
    return arr.tolist()


def _walker_body(state: RobotState, p: dict[str, Any], _: int) -> list[float]:
    px, py, pz = _floats(state, "base_pos", "walker_body")
    vx, vy, vz = _floats(state, "base_lin_vel", "walker_body")
    x, y = (px, py) if state.centroid_xy is None else _floats(state, "centroid_xy", "walker_body")
    roll, pitch, yaw = quat_to_rpy(_floats(state, "base_quat", "walker_body"))
    tx, ty = p["target_xy"]
    angle_to_target = math.atan2(ty - y, tx - x) - yaw
    c, s = math.cos(yaw), math.sin(yaw)
    k = p["vel_scale"]
    return [
        pz - p["initial_z"],
        math.sin(angle_to_target),
        math.cos(angle_to_target),
        k * (c * vx + s * vy),
        k * (-s * vx + c * vy),
        k * vz,
        roll,
        pitch,
    ]


def _prepare_walker(p: dict[str, Any]) -> dict[str, Any]:
    return {**p, "vel_scale": float(p.get("vel_scale", 0.3))}


def _prepare_limits(p: dict[str, Any]) -> dict[str, Any]:
    lower, upper = np.asarray(p["lower"], dtype=np.float64), np.asarray(p["upper"], dtype=np.float64)
    mid, span = 0.5 * (lower + upper), upper - lower
    return {
        **p,
        "_mid_span": list(zip(mid.tolist(), span.tolist(), strict=True)),
        "vel_scale": float(p.get("vel_scale", 0.1)),
    }


def _joint_pos_vel_interleaved(state: RobotState, p: dict[str, Any], _: int) -> list[float]:
    pos = _joints(state, "joint_pos", p, "joint_pos_vel_interleaved")
    vel = _joints(state, "joint_vel", p, "joint_pos_vel_interleaved")
    mid_span, k = p["_mid_span"], p["vel_scale"]
    if len(mid_span) != len(pos):
        raise PolicySpecError(
            f"observation term 'joint_pos_vel_interleaved': {len(pos)} joints but {len(mid_span)} limits"
        )
    out = []
    for q, v, (mid, span) in zip(pos, vel, mid_span, strict=True):
        out += (2.0 * (q - mid) / span, k * v)
    return out


def _joint_pos(state: RobotState, p: dict[str, Any], _: int) -> list[float]:
    pos = _joints(state, "joint_pos", p, "joint_pos")
    offset = _per_joint(p.get("offset", 0.0), len(pos), "offsets", "joint_pos")
    scale = p.get("scale", 1.0)
    return [(q - o) * scale for q, o in zip(pos, offset, strict=True)]


def _joint_vel(state: RobotState, p: dict[str, Any], _: int) -> list[float]:
    scale = p.get("scale", 1.0)
    return [v * scale for v in _joints(state, "joint_vel", p, "joint_vel")]


def _gravity_body(state: RobotState, p: dict[str, Any], _: int) -> list[float]:
    """World gravity direction (0, 0, -1) seen in the base frame: what an IMU's accelerometer knows."""
    return (-quat_to_matrix(_floats(state, "base_quat", "gravity_body"))[2, :]).tolist()


def _roll_pitch(state: RobotState, p: dict[str, Any], _: int) -> list[float]:
    roll, pitch, _yaw = quat_to_rpy(_floats(state, "base_quat", "roll_pitch"))
    return [roll, pitch]


def _base_ang_vel(state: RobotState, p: dict[str, Any], _: int) -> list[float]:
    scale = p.get("scale", 1.0)
    return [w * scale for w in _floats(state, "base_ang_vel", "base_ang_vel")]


def _foot_contacts(state: RobotState, p: dict[str, Any], _: int) -> list[float]:
    return _floats(state, "foot_contacts", "foot_contacts")


def observed_action(action: Vector) -> np.ndarray:
    """A network action as the next observation's ``prev_action`` term sees it: NaN -> 0, clipped to
    [-1, 1] (the range ``ActionSpec.to_command`` reads). ``A1Env`` and the controller node store this."""
    return np.clip(np.nan_to_num(np.asarray(action, dtype=np.float64)), -1.0, 1.0)


def _prev_action(state: RobotState, p: dict[str, Any], size: int) -> list[float]:
    if state.prev_action is None:  # the first step of an episode: no action yet
        return [0.0] * size
    return np.asarray(state.prev_action, dtype=np.float64).ravel().tolist()


def _prepare_clock(p: dict[str, Any]) -> dict[str, Any]:
    f = p["frequency_hz"]
    if isinstance(f, bool) or not isinstance(f, (int, float)) or not (math.isfinite(f) and f > 0):
        raise PolicySpecError(f"observation term 'gait_clock': frequency_hz must be a number > 0, got {f!r}")
    return p


def _gait_clock(state: RobotState, p: dict[str, Any], _: int) -> list[float]:
    if state.clock is None:
        raise PolicySpecError("observation term 'gait_clock' needs RobotState.clock, which is None")
    phase = 2.0 * math.pi * p["frequency_hz"] * state.clock
    return [math.sin(phase), math.cos(phase)]


def _swingup_state(state: RobotState, p: dict[str, Any], _: int) -> list[float]:
    pos = _joints(state, "joint_pos", p, "swingup_state")
    vel = _joints(state, "joint_vel", p, "swingup_state")
    if len(pos) != 2:
        raise PolicySpecError("observation term 'swingup_state' needs exactly two joints (cart, pole)")
    return swingup_observation(np.array([pos[0], vel[0], pos[1], vel[1]])).tolist()


def _raw(state: RobotState, p: dict[str, Any], _: int) -> list[float]:
    return np.ravel(_floats(state, "raw_obs", "raw")).tolist()


TERMS: dict[str, TermDef] = {
    "walker_body": TermDef(
        frozenset({"base_pos", "base_quat", "base_lin_vel"}),
        ("initial_z", "target_xy"),
        lambda p: 8,
        _walker_body,
        "pybullet_envs walker 'more' block: z - initial_z, sin/cos of the angle to the target, "
        "vel_scale (0.3) * base velocity rotated by -yaw, roll, pitch",
        _prepare_walker,
    ),
    "joint_pos_vel_interleaved": TermDef(
        frozenset({"joint_pos", "joint_vel"}),
        ("lower", "upper"),
        lambda p: None if p.get("joints") is None else 2 * len(p["joints"]),
        _joint_pos_vel_interleaved,
        "per joint: position scaled to [-1, 1] between its limits, then vel_scale (0.1) * velocity",
        _prepare_limits,
    ),
    "joint_pos": TermDef(
        frozenset({"joint_pos"}), (), _n_joints, _joint_pos, "scale * (position - offset) per joint"
    ),
    "joint_vel": TermDef(frozenset({"joint_vel"}), (), _n_joints, _joint_vel, "scale * velocity per joint"),
    "gravity_body": TermDef(
        frozenset({"base_quat"}), (), lambda p: 3, _gravity_body, "unit gravity vector in the base frame"
    ),
    "roll_pitch": TermDef(frozenset({"base_quat"}), (), lambda p: 2, _roll_pitch, "base roll and pitch"),
    "base_ang_vel": TermDef(
        frozenset({"base_ang_vel"}), (), lambda p: 3, _base_ang_vel, "scale * gyro (base frame)"
    ),
    "foot_contacts": TermDef(
        frozenset({"foot_contacts"}), (), lambda p: None, _foot_contacts, "1.0 per foot touching the ground"
    ),
    "prev_action": TermDef(
        frozenset(), (), lambda p: None, _prev_action, "the previous network action (zeros at the start)"
    ),
    "gait_clock": TermDef(
        frozenset(),
        ("frequency_hz",),
        lambda p: 2,
        _gait_clock,
        "sin and cos of 2 pi frequency_hz t, t the policy's clock (s): a gait phase the policy can follow",
        _prepare_clock,
    ),
    "swingup_state": TermDef(
        frozenset({"joint_pos", "joint_vel"}),
        (),
        lambda p: 5,
        _swingup_state,
        "cart-pole [x, x_dot, cos(theta), sin(theta), theta_dot] from joints (cart, pole)",
    ),
    "raw": TermDef(frozenset({"raw_obs"}), (), lambda p: None, _raw, "RobotState.raw_obs passed through"),
}


def check_term(term: ObsTerm) -> TermDef:
    """The registered definition of ``term``; PolicySpecError if unknown, misparametrised or missized."""
    d = TERMS.get(term.name)
    if d is None:
        raise PolicySpecError(f"unknown observation term {term.name!r}; known terms: {sorted(TERMS)}")
    missing = [k for k in d.params if k not in term.params]
    if missing:
        raise PolicySpecError(f"observation term {term.name!r} is missing params {missing}")
    if "lower" in term.params and "upper" in term.params:
        try:
            lower = np.asarray(term.params["lower"], dtype=np.float64)
            upper = np.asarray(term.params["upper"], dtype=np.float64)
            ok = lower.shape == upper.shape and bool(np.all(upper > lower))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise PolicySpecError(
                f"observation term {term.name!r}: limits must be equal-length lists with upper > lower"
            )
    expected = d.size(term.params)
    if expected is not None and expected != term.size:
        raise PolicySpecError(f"observation term {term.name!r} has size {term.size}, expected {expected}")
    return d


def required_inputs(spec: ObservationSpec) -> set[str]:
    """Names of the RobotState fields the spec's terms read (``joint_names`` is always read)."""
    needed = {"joint_names"}
    for term in spec.terms:
        needed |= check_term(term).inputs
    return needed


def compile_observation(spec: ObservationSpec) -> Callable[[RobotState], np.ndarray]:
    """Validate ``spec`` once and return ``state -> observation`` (what :func:`build_observation` runs;
    loops that build many observations with one spec keep the compiled function)."""
    plan = []
    lo, hi = np.full(spec.size, -np.inf), np.full(spec.size, np.inf)
    start = 0
    for term in spec.terms:
        d = check_term(term)
        params = dict(term.params)
        if "joints" in params:
            params["joints"] = tuple(params["joints"])
        if d.prepare is not None:
            params = d.prepare(params)
        clip = term.params.get("clip")
        if clip is not None:
            lo[start : start + term.size], hi[start : start + term.size] = -float(clip), float(clip)
        plan.append((term.name, d.compute, params, term.size))
        start += term.size
    clipped = bool(np.any(np.isfinite(lo)))

    def build(state: RobotState) -> np.ndarray:
        values: list[float] = []
        for name, compute, params, size in plan:
            value = compute(state, params, size)
            if len(value) != size:
                raise PolicySpecError(
                    f"observation term {name!r} produced {len(value)} values but the spec says {size}"
                )
            values += value
        out = np.array(values)
        if clipped:  # in place; NaN stays NaN for the callers' finiteness checks
            np.maximum(out, lo, out=out)
            np.minimum(out, hi, out=out)
        return out

    return build


def build_observation(spec: ObservationSpec, state: RobotState) -> np.ndarray:
    """The raw observation vector (float64) for ``state``, term by term in ``spec.terms`` order."""
    return compile_observation(spec)(state)
