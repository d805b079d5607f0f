"""Conversions between ROS messages and the values the plain classes use. Imports only message types.

Incoming sensor messages become tuples of floats (what ``SensorCache`` stores), not arrays: a few numbers
per message, read on every control step.

Odometry follows REP 105 / nav_msgs: the pose is in ``header.frame_id`` (the world), the twist in
``child_frame_id`` (the base); ``RobotState`` wants the linear velocity in the world frame, so it is rotated.
"""

from __future__ import annotations

import array
import math
from collections.abc import Sequence

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from nav_msgs.msg import Odometry
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Float64MultiArray

from wann_ros.sim.observation import rotate

DIAG_LEVELS = {"ok": DiagnosticStatus.OK, "warn": DiagnosticStatus.WARN, "error": DiagnosticStatus.ERROR}


def reliable_qos(latched: bool, depth: int = 10) -> QoSProfile:
    """RELIABLE QoS; ``latched`` = TRANSIENT_LOCAL (late subscribers get the last ``depth`` messages)."""
    durability = DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE
    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE, durability=durability)


def to_time(seconds: float) -> Time:
    sec = int(np.floor(seconds))
    return Time(sec=sec, nanosec=min(999_999_999, round((seconds - sec) * 1e9)))


def to_seconds(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def doubles(values: Sequence[float]) -> array.array:
    """A typed array for a ``float64[]`` field: messages check a list element by element, not this."""
    return array.array("d", np.asarray(values, dtype=np.float64).tobytes())


def joint_state_msg(
    stamp: float, names: Sequence[str], pos: np.ndarray, vel: np.ndarray, effort: np.ndarray | None = None
) -> JointState:
    msg = JointState()
    msg.header.stamp = to_time(stamp)
    msg.name = list(names)
    msg.position = doubles(pos)
    msg.velocity = doubles(vel)
    if effort is not None:
        msg.effort = doubles(effort)
    return msg


def imu_msg(stamp: float, frame: str, quat_xyzw: np.ndarray, ang_vel: np.ndarray, lin_acc: np.ndarray) -> Imu:
    msg = Imu()
    msg.header.stamp = to_time(stamp)
    msg.header.frame_id = frame
    o = msg.orientation
    o.x, o.y, o.z, o.w = (float(x) for x in quat_xyzw)
    w = msg.angular_velocity
    w.x, w.y, w.z = (float(x) for x in ang_vel)
    a = msg.linear_acceleration
    a.x, a.y, a.z = (float(x) for x in lin_acc)
    return msg


def imu_values(msg: Imu) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Orientation (x, y, z, w) and angular velocity."""
    o, w = msg.orientation, msg.angular_velocity
    return (o.x, o.y, o.z, o.w), (w.x, w.y, w.z)


def odom_msg(
    stamp: float,
    frame: str,
    child: str,
    pos: np.ndarray,
    quat_xyzw: np.ndarray,
    lin_vel_world: np.ndarray,
    ang_vel_base: np.ndarray,
) -> Odometry:
    msg = Odometry()
    msg.header.stamp = to_time(stamp)
    msg.header.frame_id = frame
    msg.child_frame_id = child
    p, o = msg.pose.pose.position, msg.pose.pose.orientation
    p.x, p.y, p.z = (float(x) for x in pos)
    o.x, o.y, o.z, o.w = (float(x) for x in quat_xyzw)
    v_base = rotate(quat_xyzw, lin_vel_world, inverse=True)
    lv, av = msg.twist.twist.linear, msg.twist.twist.angular
    lv.x, lv.y, lv.z = (float(x) for x in v_base)
    av.x, av.y, av.z = (float(x) for x in ang_vel_base)
    return msg


def odom_values(msg: Odometry) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Base position and linear velocity, both in the world frame (NaN velocity for a bad orientation)."""
    pose = msg.pose.pose
    p, o = pose.position, pose.orientation
    lv = msg.twist.twist.linear
    x, y, z, w = o.x, o.y, o.z, o.w
    n = math.sqrt(x * x + y * y + z * z + w * w)
    if math.isfinite(n) and n > 0:
        v_world = rotate((x / n, y / n, z / n, w / n), (lv.x, lv.y, lv.z))
    else:
        v_world = (math.nan, math.nan, math.nan)
    return (p.x, p.y, p.z), v_world


def array_msg(values: Sequence[float]) -> Float64MultiArray:
    return Float64MultiArray(data=doubles(values))


def diagnostic_array(
    stamp: float, name: str, hardware_id: str, level: str, message: str, values: dict[str, object]
) -> DiagnosticArray:
    status = DiagnosticStatus(
        level=DIAG_LEVELS[level],
        name=name,
        message=message,
        hardware_id=hardware_id,
        values=[KeyValue(key=k, value=str(v)) for k, v in values.items()],
    )
    msg = DiagnosticArray(status=[status])
    msg.header.stamp = to_time(stamp)
    return msg
