"""The controller's view of the robot's sensors, ROS-free: latest good values per input, by joint name.

Inputs are the four sensor streams a policy can need (``INPUT_FIELDS`` says which ``RobotState`` fields
each one fills). Every update is checked: a message with NaN/inf or the wrong size is rejected, counted,
and marks its input as ``bad`` until a good one arrives; the last good values are kept.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from wann_ros.policies.spec import finite
from wann_ros.sim.observation import RobotState

INPUT_FIELDS: dict[str, tuple[str, ...]] = {
    "joint_states": ("joint_pos", "joint_vel"),
    "imu": ("base_quat", "base_ang_vel"),
    "odom": ("base_pos", "base_lin_vel"),
    "contacts": ("foot_contacts",),
}
INPUTS = tuple(INPUT_FIELDS)
_FIELD_INPUT = {f: name for name, fields in INPUT_FIELDS.items() for f in fields}


class SpecMismatchError(RuntimeError):
    """The policy cannot run on this robot (joint names or sensors do not match); the message says why."""


def inputs_for(names: Iterable[str]) -> tuple[str, ...]:
    """The sensor inputs (in INPUTS order) that provide ``RobotState`` fields (or input names) ``names``.

    ``joint_names`` comes with the joint states and ``prev_action`` from the controller itself.
    """
    need = set()
    for n in names:
        if n in INPUT_FIELDS:
            need.add(n)
        elif n in _FIELD_INPUT:
            need.add(_FIELD_INPUT[n])
        elif n == "joint_names":
            need.add("joint_states")
        elif n != "prev_action":
            raise SpecMismatchError(f"the policy needs {n!r}, which no sensor input of the controller gives")
    return tuple(i for i in INPUTS if i in need)


def check_joint_names(policy_joints: Sequence[str], robot_joints: Sequence[str]) -> None:
    """Refuse a policy whose joints are not all on the robot (contract 3: names, never indices)."""
    missing = [j for j in policy_joints if j not in set(robot_joints)]
    if missing:
        raise SpecMismatchError(
            f"policy joints {missing} are not on the robot; /joint_states names: {list(robot_joints)}"
        )


def _plain(values: Sequence[float]) -> Sequence[float]:
    """A numpy array as a list of Python floats (float32 elements would keep float32 arithmetic
    downstream); any other sequence (a message's array, a tuple) as it is."""
    return values.tolist() if isinstance(values, np.ndarray) else values


def _picker(index: Sequence[int]) -> Callable[[Sequence[float]], tuple[float, ...]]:
    """``values -> (values[i] for i in index)`` as a tuple, in one C call."""
    if len(index) == 1:
        i = index[0]
        return lambda values: (values[i],)
    return operator.itemgetter(*index)


class SensorCache:
    """Latest good sensor values as tuples of floats (each message is read once, no arrays on the hot
    path); joint values are stored in the policy's joint order. None until a good value arrived."""

    def __init__(self, joint_names: Sequence[str]) -> None:
        self.joint_names = tuple(joint_names)
        self.joint_pos: tuple[float, ...] | None = None
        self.joint_vel: tuple[float, ...] | None = None
        self.base_pos: tuple[float, ...] | None = None
        self.base_quat: tuple[float, ...] | None = None
        self.base_lin_vel: tuple[float, ...] | None = None
        self.base_ang_vel: tuple[float, ...] | None = None
        self.foot_contacts: tuple[float, ...] | None = None
        self.count = dict.fromkeys(INPUTS, 0)
        self.rejected = dict.fromkeys(INPUTS, 0)
        self.bad = dict.fromkeys(INPUTS, False)
        self.last_error = ""
        self._names: tuple[str, ...] = ()  # the last accepted JointState name list and its picker
        self._pick: Callable[[Sequence[float]], tuple[float, ...]] = tuple
        self._joint_stamp: float | None = None  # time of the accepted joint positions

    def _reject(self, name: str, why: str) -> bool:
        self.rejected[name] += 1
        self.bad[name] = True
        self.last_error = f"{name}: {why}"
        return False

    def _accept(self, name: str) -> bool:
        self.count[name] += 1
        self.bad[name] = False
        return True

    def update_joints(
        self, names: Sequence[str], pos: Sequence[float], vel: Sequence[float], stamp: float | None = None
    ) -> bool:
        """A JointState: names, positions and (possibly empty) velocities; any order, extra joints ok.

        Without velocities they are estimated from this and the previous accepted positions over the
        time between their ``stamp`` s (zeros for the first message, or when the time did not advance
        or is unknown)."""
        names = tuple(names)
        n = len(names)
        if len(pos) != n or len(vel) not in (0, n):
            return self._reject("joint_states", "names, positions and velocities differ in length")
        if names != self._names:  # the picker is worked out once per name list, not per message
            index = {name: i for i, name in enumerate(names)}
            missing = [j for j in self.joint_names if j not in index]
            if missing:
                return self._reject("joint_states", f"joint {missing[0]!r} missing")
            self._names = names
            self._pick = _picker([index[j] for j in self.joint_names])
        p = self._pick(_plain(pos))
        v = self._pick(_plain(vel)) if len(vel) else self._differentiate(p, stamp)
        if not (finite(p) and finite(v)):
            return self._reject("joint_states", "NaN/inf in positions or velocities")
        self.joint_pos, self.joint_vel, self._joint_stamp = p, v, stamp
        return self._accept("joint_states")

    def _differentiate(self, pos: tuple[float, ...], stamp: float | None) -> tuple[float, ...]:
        """Joint velocities by finite difference against the last accepted positions."""
        last, since = self.joint_pos, self._joint_stamp
        if last is None or stamp is None or since is None or not stamp > since:
            return (0.0,) * len(pos)
        dt = stamp - since
        return tuple([(a - b) / dt for a, b in zip(pos, last, strict=True)])

    def update_imu(self, quat_xyzw: Sequence[float], ang_vel: Sequence[float]) -> bool:
        q, w = tuple(_plain(quat_xyzw)), tuple(_plain(ang_vel))
        if len(q) != 4 or len(w) != 3 or not (finite(q) and finite(w)):
            return self._reject("imu", "orientation/angular velocity not finite")
        x, y, z, qw = q
        norm = math.sqrt(x * x + y * y + z * z + qw * qw)
        if not math.isclose(norm, 1.0, abs_tol=1e-3):
            return self._reject("imu", f"orientation quaternion has norm {norm:.4f}, not 1")
        self.base_quat, self.base_ang_vel = q, w  # not renormalised: the numbers stay the sensor's
        return self._accept("imu")

    def update_odom(self, pos: Sequence[float], lin_vel: Sequence[float]) -> bool:
        p, v = tuple(_plain(pos)), tuple(_plain(lin_vel))
        if len(p) != 3 or len(v) != 3 or not (finite(p) and finite(v)):
            return self._reject("odom", "position/velocity not finite")
        self.base_pos, self.base_lin_vel = p, v
        return self._accept("odom")

    def update_contacts(self, values: Sequence[float]) -> bool:
        c = tuple(_plain(values))
        if not c or not finite(c):
            return self._reject("contacts", "contact values empty or not finite")
        self.foot_contacts = c
        return self._accept("contacts")

    def robot_state(self, prev_action: np.ndarray | None, clock: float | None = None) -> RobotState:
        return RobotState(
            joint_names=self.joint_names,
            joint_pos=self.joint_pos,
            joint_vel=self.joint_vel,
            base_pos=self.base_pos,
            base_quat=self.base_quat,
            base_lin_vel=self.base_lin_vel,
            base_ang_vel=self.base_ang_vel,
            foot_contacts=self.foot_contacts,
            prev_action=prev_action,
            clock=clock,
        )
