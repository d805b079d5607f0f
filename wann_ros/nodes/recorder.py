"""A rosbag2 recorder that needs no ROS distribution: subscribes raw (serialized CDR) and writes with rosbags.

Parameters: ``output`` (bag directory, must not exist), ``storage`` (``sqlite3`` or ``mcap``), ``topics``
(names; each must be one of ``TOPIC_TYPES``).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Float64MultiArray

TOPIC_TYPES = {
    "/joint_states": JointState,
    "/imu/data": Imu,
    "/odom": Odometry,
    "/foot_contacts": Float64MultiArray,
    "/clock": Clock,
    "/diagnostics": DiagnosticArray,
    "/joint_group_effort_controller/commands": Float64MultiArray,
    "/joint_group_position_controller/commands": Float64MultiArray,
}
STORAGE = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}


class BagRecorder(Node):
    def __init__(self) -> None:
        super().__init__("bag_recorder")
        output = self.declare_parameter("output", "runs/bag").value
        storage = self.declare_parameter("storage", "sqlite3").value
        topics = self.declare_parameter("topics", list(TOPIC_TYPES)).value
        unknown = [t for t in topics if t not in TOPIC_TYPES]
        if unknown:
            raise ValueError(f"cannot record {unknown}: known topics are {list(TOPIC_TYPES)}")
        if storage not in STORAGE:
            raise ValueError(f"storage must be one of {list(STORAGE)}, got {storage!r}")
        if Path(output).exists():
            raise ValueError(f"bag directory {output} exists already; name a new one")
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        typestore = get_typestore(Stores.ROS2_KILTED)
        self.writer = Writer(output, version=9, storage_plugin=STORAGE[storage])
        self.writer.open()
        self.count = 0
        for topic in topics:
            cls = TOPIC_TYPES[topic]
            msgtype = f"{cls.__module__.split('.')[0]}/msg/{cls.__name__}"
            conn = self.writer.add_connection(topic, msgtype, typestore=typestore)
            self.create_subscription(cls, topic, lambda data, c=conn: self._write(c, data), 100, raw=True)
        self.get_logger().info(f"recording {len(topics)} topics to {output} ({storage})")

    def _write(self, connection, data: bytes) -> None:
        self.writer.write(connection, self.get_clock().now().nanoseconds, data)
        self.count += 1

    def close(self) -> None:
        self.writer.close()
        text = f"bag closed: {self.count} messages"
        if rclpy.ok():
            self.get_logger().info(text)
        else:  # after Ctrl-C the context is down and /rosout cannot take the line
            print(f"[bag_recorder] {text}", file=sys.stderr, flush=True)


def main(args: list[str] | None = None) -> int:
    rclpy.init(args=args)
    try:
        node = BagRecorder()
    except ValueError as exc:
        print(f"bag_recorder: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        # a Ctrl-C that lands inside rclpy's C++ message take surfaces as RuntimeError; after the
        # signal has shut the context down it is a normal stop, otherwise a real error
        if rclpy.ok():
            raise
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not break the cleanup
        node.close()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
