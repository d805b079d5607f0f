"""A listening node for demos, tests and benchmarks: records odometry, commands and controller diagnostics."""

from __future__ import annotations

import math

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from rclpy.node import Node
from std_msgs.msg import Float64MultiArray

from wann_ros.nodes import ros_msgs

SENSOR_QOS = ros_msgs.reliable_qos(latched=False, depth=1000)


class RunMonitor(Node):
    """Keeps (sim time, x, y) from ``/odom``, every command, and the latest controller diagnostics values."""

    def __init__(self, command_topic: str, name: str = "run_monitor", latched_commands: bool = False) -> None:
        """``latched_commands``: also receive commands published before this node was discovered (lock-step
        controllers publish them TRANSIENT_LOCAL)."""
        super().__init__(name)
        cmd_qos = ros_msgs.reliable_qos(latched_commands, depth=1000)
        self.track: list[tuple[float, float, float]] = []
        self.commands: list[np.ndarray] = []
        self.diagnostics: dict[str, str] = {}
        self.norm_track: list[tuple[float, float]] = []
        self.create_subscription(Odometry, "/odom", self._on_odom, SENSOR_QOS)
        self.create_subscription(Float64MultiArray, command_topic, self._on_command, cmd_qos)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)

    def _on_odom(self, msg: Odometry) -> None:
        p = msg.pose.pose.position
        self.track.append((ros_msgs.to_seconds(msg.header.stamp), p.x, p.y))

    def _on_command(self, msg: Float64MultiArray) -> None:
        self.commands.append(np.asarray(msg.data, dtype=np.float64))

    def _on_diag(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.endswith("controller"):
                self.diagnostics = {kv.key: kv.value for kv in status.values}
                norm = self.weight_norm()
                if norm is not None and self.track:
                    self.norm_track.append((self.track[-1][0], norm))

    def weight_norm(self) -> float | None:
        """Norm of all of a Hebbian policy's weights (from the per-layer norms in the diagnostics)."""
        text = self.diagnostics.get("weight_norms")
        if not text:
            return None
        return math.sqrt(sum(float(x) ** 2 for x in text.split()))

    def distance(self) -> float:
        """Metres travelled along +x since the first odometry message."""
        return self.track[-1][1] - self.track[0][1] if self.track else 0.0

    def speed(self, window: float = 1.0) -> float:
        """Mean +x speed (m/s) over the last ``window`` sim seconds."""
        if len(self.track) < 2:
            return 0.0
        t1, x1, _ = self.track[-1]
        for t0, x0, _ in reversed(self.track):
            if t1 - t0 >= window:
                return (x1 - x0) / (t1 - t0)
        t0, x0, _ = self.track[0]
        return (x1 - x0) / (t1 - t0) if t1 > t0 else 0.0
