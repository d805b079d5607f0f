"""The simulator node (default name ``sim``): a :class:`QuadrupedWorld` behind the robot's ROS interface.

Publishes each control step (stamped with sim time): ``/joint_states``, ``/imu/data`` (orientation and
gyro; no accelerometer: its covariance[0] is -1), ``/odom`` (GROUND TRUTH from the simulator: frame
``world``, child ``base_link_ground_truth``; twist in the child frame), ``/foot_contacts``
(Float64MultiArray, 1.0 per foot touching the ground, in the robot's foot order, as the policy sees them)
and ``/clock``. Applies ``/joint_group_<effort|position>_controller/commands`` (joint order:
parameter ``command_joints``, default the robot's). Damage is live: parameters ``damage``,
``locked_joints``, ``motor_strength``; ``scheduled_damage`` (checked at start-up) replaces ``damage`` at
sim time ``damage_time``. Every other parameter is fixed at start-up, among them ``knobs``: sim-to-real
knobs (:class:`SimKnobs` fields) as a YAML mapping in a string, e.g.
``"{latency_steps: 2, imu_noise: 0.01, gravity_tilt: 0.1}"``. A bad parameter stops the node with exit
code 2.

Real-time mode steps on a wall-clock schedule with the latest command. ``lockstep`` mode publishes the
state, then waits for that step's command before stepping, so a run through ROS is deterministic.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import rclpy
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import SetParametersResult
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger

from wann_ros.nodes import ros_msgs
from wann_ros.nodes.executors import init_ros
from wann_ros.nodes.params import PARAMETER_ERRORS, number_parameter
from wann_ros.sim.damage import Damage, DamageError, parse_damage
from wann_ros.sim.knobs import SimKnobs, read_knobs_yaml
from wann_ros.sim.observation import rotate
from wann_ros.sim.world import QuadrupedWorld

ODOM_FRAME, ODOM_CHILD = "world", "base_link_ground_truth"
DAMAGE_PARAMS = ("damage", "locked_joints", "motor_strength")  # live; every other parameter is fixed
EXIT_REFUSED = 2


def joint_damage(damage: str, locked_joints: str, motor_strength: str) -> Damage:
    """One :class:`Damage` from the three parameters: preset/text form, ``"j1,j2"``, ``"j1=0.3,j2=0"``."""
    total = parse_damage(damage or None)
    locked = [j.strip() for j in locked_joints.split(",") if j.strip()]
    strength: dict[str, float] = {}
    for item in (s.strip() for s in motor_strength.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        try:
            strength[name.strip()] = float(value) if sep else float("nan")
        except ValueError:
            strength[name.strip()] = float("nan")
        if not sep or not np.isfinite(strength[name.strip()]):
            raise DamageError(f"motor_strength item {item!r}: write JOINT=FACTOR with FACTOR in [0, 1]")
    return total.merged(Damage(locked=tuple(locked), strength=strength))


class SimNode(Node):
    def __init__(self, name: str = "sim", **kwargs) -> None:
        super().__init__(name, **kwargs)
        p = self.declare_parameter
        robot = p("robot", "ant").value
        self.lockstep = p("lockstep", False).value
        self.lockstep_timeout = number_parameter(self, "lockstep_timeout", 5.0)
        self.realtime_factor = number_parameter(self, "realtime_factor", 1.0)
        self.seed = p("seed", 0).value
        gui = p("gui", False).value
        for name_ in DAMAGE_PARAMS:
            p(name_, "standard" if name_ == "damage" else "")
        self.damage_time = number_parameter(self, "damage_time", -1.0)
        self.scheduled = p("scheduled_damage", "").value
        if not (self.realtime_factor > 0):
            raise ValueError(f"realtime_factor must be > 0, got {self.realtime_factor}")
        knobs = SimKnobs.from_mapping(read_knobs_yaml(p("knobs", "").value))
        self.world = QuadrupedWorld(robot, self._damage_from_params({}), knobs, gui=gui)
        if self.scheduled:  # refused now (DamageError) rather than ignored at damage_time
            self.world.check_damage(self._damage_from_params({"damage": self.scheduled}))
        self.joints = tuple(p("command_joints", list(self.world.joint_names)).value)
        unknown = set(self.joints) ^ set(self.world.joint_names)
        if unknown or len(self.joints) != len(self.world.joint_names):
            raise ValueError(f"command_joints must name each of {self.world.joint_names} once: {self.joints}")
        self.world.reset(self.seed)
        self.command = np.asarray(self.world.config.neutral_command, dtype=np.float64)
        self.command_index = [self.joints.index(j) for j in self.world.joint_names]
        self.commands_received = 0
        self.commands_rejected = 0
        self.damage_done = False
        sensor_qos = ros_msgs.reliable_qos(latched=True)
        cmd_qos = ros_msgs.reliable_qos(latched=self.lockstep)
        self.pub_joints = self.create_publisher(JointState, "/joint_states", sensor_qos)
        self.pub_imu = self.create_publisher(Imu, "/imu/data", sensor_qos)
        self.pub_odom = self.create_publisher(Odometry, "/odom", sensor_qos)
        self.pub_contacts = self.create_publisher(Float64MultiArray, "/foot_contacts", sensor_qos)
        self.pub_clock = self.create_publisher(Clock, "/clock", 10)
        mode = "effort" if self.world.config.control == "torque" else "position"
        self.command_topic = f"/joint_group_{mode}_controller/commands"
        self.create_subscription(Float64MultiArray, self.command_topic, self._on_command, cmd_qos)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.add_on_set_parameters_callback(self._on_params)
        self.get_logger().info(
            f"{robot}: {len(self.joints)} joints, control period {self.world.control_period:g} s, "
            f"{'lock-step' if self.lockstep else f'real time x{self.realtime_factor:g}'}, commands on "
            f"{self.command_topic}, damage {self.world.damage}" + (f", {knobs}" if knobs.active else "")
        )

    # ---- parameters, services, commands --------------------------------------------------------
    def _damage_from_params(self, changed: dict[str, str]) -> Damage:
        values = {k: changed.get(k, self.get_parameter(k).value) for k in DAMAGE_PARAMS}
        return joint_damage(values["damage"], values["locked_joints"], values["motor_strength"])

    def _on_params(self, params: list[Parameter]) -> SetParametersResult:
        changed = {prm.name: prm.value for prm in params if prm.name in DAMAGE_PARAMS}
        for prm in params:
            if prm.name not in DAMAGE_PARAMS and prm.name != "use_sim_time":
                return SetParametersResult(successful=False, reason=f"{prm.name} is fixed at start-up")
        if changed:
            try:
                damage = self._damage_from_params(changed)
                respawned = self.world.apply_damage(damage)
            except (DamageError, ValueError, TypeError) as exc:
                return SetParametersResult(successful=False, reason=str(exc))
            note = " (body respawned)" if respawned else ""
            self.get_logger().warning(f"t={self.world.sim_time:.3f} s: damage now {damage}{note}")
        return SetParametersResult(successful=True)

    def _on_command(self, msg: Float64MultiArray) -> None:
        data = np.asarray(msg.data, dtype=np.float64)
        self.commands_received += 1
        if data.shape != (len(self.joints),) or not np.all(np.isfinite(data)):
            self.commands_rejected += 1
            self.get_logger().error(
                f"rejected command on {self.command_topic}: need {len(self.joints)} finite values: {data}",
                throttle_duration_sec=1.0,
            )
            return
        self.command = data[self.command_index]

    def _on_reset(self, req: Trigger.Request, res: Trigger.Response) -> Trigger.Response:
        self.world.reset(self.seed)
        self.command = np.asarray(self.world.config.neutral_command, dtype=np.float64)
        self.damage_done = False
        res.success, res.message = True, f"world reset with seed {self.seed}"
        return res

    # ---- stepping ------------------------------------------------------------------------------
    def publish_state(self) -> None:
        w = self.world
        t = w.sim_time
        s = w.robot_state()
        truth = w.ground_truth()
        self.pub_clock.publish(Clock(clock=ros_msgs.to_time(t)))
        imu = ros_msgs.imu_msg(t, "base_link", s.base_quat, s.base_ang_vel, np.zeros(3))
        imu.linear_acceleration_covariance[0] = -1.0
        self.pub_imu.publish(imu)
        self.pub_odom.publish(
            ros_msgs.odom_msg(
                t,
                ODOM_FRAME,
                ODOM_CHILD,
                truth.base_pos,
                truth.base_quat,
                truth.base_lin_vel,
                _body_rate(truth),
            )
        )
        self.pub_contacts.publish(ros_msgs.array_msg(s.foot_contacts))
        self.pub_joints.publish(ros_msgs.joint_state_msg(t, w.joint_names, s.joint_pos, s.joint_vel))

    def step(self) -> None:
        w = self.world
        if not self.damage_done and self.scheduled and 0 <= self.damage_time <= w.sim_time + 1e-9:
            self.damage_done = True  # one attempt: a refusal is logged, not retried every step
            result = self.set_parameters([Parameter("damage", value=self.scheduled)])[0]
            if not result.successful:
                self.get_logger().error(f"scheduled damage {self.scheduled!r} refused: {result.reason}")
        w.step(self.command)

    def run(self, stopping: threading.Event) -> None:
        """Step until the context shuts down or ``stopping`` is set: lock-step (wait for each command) or
        real time (wall-clock schedule)."""
        period = self.world.control_period
        self.publish_state()
        next_wall = time.monotonic() + period / self.realtime_factor

        def running() -> bool:
            return rclpy.ok() and not stopping.is_set()

        while running():
            if self.lockstep:
                expected = self.commands_received + 1
                waited = time.monotonic()
                while running() and self.commands_received < expected:
                    rclpy.spin_once(self, timeout_sec=0.05)
                    if time.monotonic() - waited > self.lockstep_timeout:
                        self.get_logger().warning(f"lock-step: no command for {self.lockstep_timeout:g} s")
                        waited = time.monotonic()
            else:
                while running() and (remaining := next_wall - time.monotonic()) > 0:
                    rclpy.spin_once(self, timeout_sec=remaining)
                next_wall += period / self.realtime_factor
                if next_wall < time.monotonic() - 10 * period:  # far behind: do not try to catch up
                    next_wall = time.monotonic()
            self.step()
            self.publish_state()


def _body_rate(truth) -> tuple[float, float, float]:
    """Ground-truth angular velocity in the base frame (the odometry twist is in the child frame)."""
    return rotate(truth.base_quat, truth.base_ang_vel, inverse=True)


def main(args: list[str] | None = None) -> int:
    stopping = init_ros(args)
    try:
        node = SimNode()
    except (ValueError, DamageError, *PARAMETER_ERRORS) as exc:
        print(f"sim_node: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        return EXIT_REFUSED
    try:
        node.run(stopping)
    except ExternalShutdownException:
        pass
    finally:
        node.world.close()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
