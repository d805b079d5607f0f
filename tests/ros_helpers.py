"""Helpers for the ROS tests (tests/test_ros_*.py): isolated DDS domain, policy files, a fake robot node."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from wann_ros.formats import save_policy
from wann_ros.policies.hebbian import HebbianPolicy, hebbian_param_count
from wann_ros.policies.spec import ActionSpec, PolicySpec, Provenance
from wann_ros.sim import robot_specs as rs

LAYERS = (28, 16, 8)


def isolate_ros_domain() -> int:
    """Use scripts/test's ROS_DOMAIN_ID (else a random one in 10..99, clear of the ephemeral ports)
    and loopback-only discovery."""
    if "ROS_DOMAIN_ID" not in os.environ:
        os.environ["ROS_DOMAIN_ID"] = str(random.Random(os.getpid()).randrange(10, 100))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    return int(os.environ["ROS_DOMAIN_ID"])


def ant_hebbian(seed: int = 0, joint_names: tuple[str, ...] = rs.ANT_JOINTS) -> HebbianPolicy:
    act = rs.ant_action_spec()
    action = ActionSpec(joint_names, act.mode, act.scale, act.offset, act.lower, act.upper)
    spec = PolicySpec(
        "hebbian",
        rs.ant_observation_spec(),
        action,
        rs.ANT_CONTROL_PERIOD,
        Provenance(task="test", seed=seed),
    )
    rules = np.random.default_rng(seed).normal(0.0, 0.1, hebbian_param_count(LAYERS))
    return HebbianPolicy.from_flat(rules, LAYERS, spec, init_scale=0.5)


def write_policy(path: Path, seed: int = 0, joint_names: tuple[str, ...] = rs.ANT_JOINTS) -> Path:
    save_policy(ant_hebbian(seed, joint_names), path)
    return path


def spin_until(executor, condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        executor.spin_once(timeout_sec=0.02)
    return condition()


def make_fake_robot(node_name: str = "fake_robot"):
    """A node that plays the Ant's sensors at 100 Hz with settable values and records the commands."""
    from nav_msgs.msg import Odometry
    from rclpy.node import Node
    from sensor_msgs.msg import Imu, JointState
    from std_msgs.msg import Float64MultiArray

    from wann_ros.nodes import ros_msgs

    class FakeRobot(Node):
        def __init__(self) -> None:
            super().__init__(node_name)
            qos = ros_msgs.reliable_qos(latched=False)
            self.pubs = {
                "joint_states": self.create_publisher(JointState, "/joint_states", qos),
                "imu": self.create_publisher(Imu, "/imu/data", qos),
                "odom": self.create_publisher(Odometry, "/odom", qos),
                "contacts": self.create_publisher(Float64MultiArray, "/foot_contacts", qos),
            }
            self.enabled = dict.fromkeys(self.pubs, True)
            self.joint_names = list(rs.ANT_JOINTS)
            self.joint_pos = np.array([0.0, 1.0, 0.0, -1.0, 0.0, -1.0, 0.0, 1.0])
            self.joint_vel = np.zeros(8)
            self.quat = np.array([0.0, 0.0, 0.0, 1.0])
            self.commands: list[tuple[float, np.ndarray]] = []
            self.create_subscription(
                Float64MultiArray,
                "/joint_group_effort_controller/commands",
                self._on_cmd,
                ros_msgs.reliable_qos(latched=False, depth=1000),
            )
            self.create_timer(0.01, self._publish)

        def _on_cmd(self, msg) -> None:
            self.commands.append((time.monotonic(), np.asarray(msg.data, dtype=np.float64)))

        def _publish(self) -> None:
            t = time.time()
            if self.enabled["imu"]:
                imu = ros_msgs.imu_msg(t, "base_link", self.quat, np.zeros(3), np.zeros(3))
                self.pubs["imu"].publish(imu)
            if self.enabled["odom"]:
                self.pubs["odom"].publish(
                    ros_msgs.odom_msg(
                        t,
                        "world",
                        "base_link_ground_truth",
                        np.array([0.0, 0.0, 0.6]),
                        self.quat,
                        np.zeros(3),
                        np.zeros(3),
                    )
                )
            if self.enabled["contacts"]:
                self.pubs["contacts"].publish(ros_msgs.array_msg([1.0, 0.0, 1.0, 0.0]))
            if self.enabled["joint_states"]:
                self.pubs["joint_states"].publish(
                    ros_msgs.joint_state_msg(t, self.joint_names, self.joint_pos, self.joint_vel)
                )

        def commands_since(self, t0: float) -> list[np.ndarray]:
            return [c for t, c in self.commands if t >= t0]

    return FakeRobot()
