"""The controller node: a managed (lifecycle) node that runs one policy file at a fixed rate.

configure: load the file named by ``policy`` (format decided by content), wait up to ``startup_timeout``
for the sensors, refuse (log + failed transition; non-zero exit with ``autostart``) if the joint names or the
inputs do not match. activate: soft start from the safe command. Each tick (``trigger: timer``, the
default: a timer on the node clock, so ``use_sim_time`` is honoured; ``trigger: sensors`` or ``lockstep``:
each complete set of sensor messages, as soon as it is complete) runs
``ControlLoop.step`` and publishes a ``Float64MultiArray`` in the policy's joint order on
``/joint_group_<mode>_controller/commands``. deactivate: the safe command. ``~/estop`` (SetBool) latches
the safe command (until released, through cleanup and configure too); ``~/reset`` (Trigger) redraws a
Hebbian policy's weights; ``plasticity`` (true / false, "" = as the policy file says) freezes them.
SIGINT or SIGTERM: the safe command goes out (and is acknowledged by its subscribers, up to a second),
then the node shuts down.

The sensor subscriptions, the ``/estop`` topic, the control timer and the command publisher live on a
second, lean node, ``<name>_io`` (no parameter services, one QoS event handler per subscription), spun
by its own executor on the main thread (rclpy's EventsExecutor unless ``io_executor: wait_set``); the
lifecycle, parameter and service side is spun on a second thread. A wait-set executor walks every entity
of its nodes on each wake-up, so a sensor message then wakes an executor with five subscriptions instead
of one with some twenty services and event handlers. A lock keeps the two threads from touching the
control loop at the same time.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import sys
import threading
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.clock import Clock, ClockType
from rclpy.duration import Duration
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.executors import Executor, ExternalShutdownException, ShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Bool, Float64MultiArray
from std_srvs.srv import SetBool, Trigger

from wann_ros.formats import read_file_bytes, read_policy_bytes
from wann_ros.nodes import ros_msgs
from wann_ros.nodes.control_loop import POLICY_ERROR, ControlLoop, LoopConfig
from wann_ros.nodes.executors import init_ros, make_executor, spin_until_shutdown
from wann_ros.nodes.params import PARAMETER_ERRORS, ParameterError, as_number, number_parameter
from wann_ros.nodes.processes import parse_cpus, pin_process
from wann_ros.nodes.safety import EStop
from wann_ros.nodes.sensors import INPUTS, SpecMismatchError, check_joint_names
from wann_ros.policies.base import Policy

EXIT_REFUSED = 2
TRIGGERS = ("timer", "sensors")
DEFAULT_SAFE_MODE = {"effort": "damping", "position": "hold", "velocity": "zero"}
SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE
FLOAT_PARAMS = {  # name -> default; an integer value (``-p rate:=50``) is taken as well
    "rate": 0.0,  # Hz; 0 = the policy's own control rate
    "safe_kd": 1.0,
    "soft_start": 1.0,
    "input_timeout": 0.25,
    **{f"{name}_timeout": 0.0 for name in INPUTS},  # 0 = input_timeout
    "startup_timeout": 5.0,
    "diagnostics_period": 1.0,
}
CONFIGURE_PARAMS = (*FLOAT_PARAMS, "policy", "safe_mode", "command_topic")  # read at configure only
START_PARAMS = ("lockstep", "trigger", "autostart", "cpu_affinity", "io_executor")  # read at start-up only
ACK_TIMEOUT = Duration(seconds=1.0)  # how long the last safe command waits for its subscribers' acks


def plasticity_override(value: object) -> bool | None:
    """The ``plasticity`` parameter: true/false override the policy file's ``frozen``; "" keeps it (None)."""
    if isinstance(value, bool):
        return value
    if value == "":
        return None
    raise ParameterError(f"plasticity must be true, false or '' (as the policy file says), got {value!r}")


def _positive(name: str, value: float, unit: str) -> float:
    """``value`` if it is a finite number > 0; ParameterError naming ``name`` otherwise."""
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"{name} must be > 0 {unit}, got {value:g}")
    return value


class ControllerNode(LifecycleNode):
    def __init__(self, name: str = "controller", stopping: threading.Event | None = None, **kwargs) -> None:
        """``stopping``: set by a stop signal (cuts the wait for the sensors at configure short).
        A parameter of the wrong type raises ParameterError or InvalidParameterTypeException."""
        super().__init__(name, **kwargs)
        p = self.declare_parameter
        p("policy", "")
        p("seed", 0)
        p("plasticity", "", ParameterDescriptor(dynamic_typing=True))  # true | false | "" (as the file says)
        plasticity_override(self._param("plasticity"))
        p("safe_mode", "")  # zero | damping | hold; "" = damping for effort, hold for position
        for name_, default in FLOAT_PARAMS.items():
            number_parameter(self, name_, default)
        p("lockstep", False)  # the simulator waits for each command: tick on sensors, time from their stamps
        p("trigger", "timer")  # timer | sensors (one tick per complete sensor set, at the robot's rate)
        p("autostart", True)
        p("command_topic", "")  # "" = /joint_group_<mode>_controller/commands
        # e.g. "1" or "2,3": pin the node's threads to these CPUs (a core of its own on a robot)
        p("cpu_affinity", "", ParameterDescriptor(dynamic_typing=True))
        p("io_executor", "events")  # events (rclpy's EventsExecutor) | wait_set (SingleThreadedExecutor)
        self.stopping = stopping or threading.Event()
        self.estop = EStop()  # the node's, so that a latched e-stop survives cleanup and configure
        self.loop: ControlLoop | None = None
        self.file_frozen = False  # the loaded policy file's own ``frozen``
        self.sha256 = ""
        self.state_label = "unconfigured"
        self.resets = 0
        self.arrivals = dict.fromkeys(INPUTS, 0)
        self.fresh = dict.fromkeys(INPUTS, False)  # a message since the last sensor-triggered step
        self.handled = 0  # sensor-triggered steps
        self.lockstep_stamp = 0.0
        self.cmd_pub = None
        self.timer = None
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.diag_timer = None
        self.lock = threading.RLock()  # the control loop is shared by the I/O and the service thread
        lockstep = self.lockstep = self.get_parameter("lockstep").value  # fixed at start-up
        self.trigger = "sensors" if lockstep else self.get_parameter("trigger").value
        qos = ros_msgs.reliable_qos(lockstep)
        self.io = Node(  # not remapped by the process's arguments: its name must differ from ours
            f"{self.get_name()}_io",
            namespace=self.get_namespace(),
            context=self.context,
            use_global_arguments=False,
            start_parameter_services=False,
            parameter_overrides=[Parameter("start_type_description_service", value=False)],
        )
        for msg_type, topic, callback in (
            (JointState, "/joint_states", self._on_joints),
            (Imu, "/imu/data", self._on_imu),
            (Odometry, "/odom", self._on_odom),
            (Float64MultiArray, "/foot_contacts", self._on_contacts),
            (Bool, "/estop", self._on_estop_topic),
        ):
            events = SubscriptionEventCallbacks(
                incompatible_qos=lambda event, topic=topic: self._on_incompatible_qos(topic, event),
                use_default_callbacks=False,
            )
            self.io.create_subscription(
                msg_type, topic, callback, qos if msg_type is not Bool else 10, event_callbacks=events
            )
        self.create_service(SetBool, "~/estop", self._on_estop)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.add_on_set_parameters_callback(self._on_params)
        self.latest: dict[str, tuple[object, float]] = {}
        self.cmd_msg = Float64MultiArray()

    # ---- helpers -------------------------------------------------------------------------------
    def _param(self, name: str):
        return self.get_parameter(name).value

    def _number(self, name: str) -> float:
        """A parameter of FLOAT_PARAMS (checked when it was set) as a float."""
        return float(self._param(name))

    def _on_incompatible_qos(self, topic: str, event) -> None:
        policy = getattr(event.last_policy_kind, "name", event.last_policy_kind)
        self.get_logger().warning(
            f"a publisher on {topic} offers QoS incompatible with this controller's subscription "
            f"(policy {policy}); its messages will not arrive"
        )

    def _now(self) -> float:
        if self.lockstep:
            return self.lockstep_stamp
        return self.get_clock().now().nanoseconds * 1e-9

    def _received(self, name: str, msg, stamp: float | None = None) -> None:
        """Every sensor message: remembered (replayed into the loop at configure), applied, watchdog fed."""
        with self.lock:
            self.arrivals[name] += 1
            self.fresh[name] = True
            if stamp is not None and self.lockstep:
                self.lockstep_stamp = stamp  # the simulator's time: back to 0 after a /sim/reset
            now = self._now()
            self.latest[name] = (msg, now)
            if self.loop is None:
                return
            self._apply(name, msg, now)
            if self.trigger == "sensors":
                self._sensor_tick()

    def _apply(self, name: str, msg, received: float) -> None:
        sensors = self.loop.sensors
        if name == "joint_states":
            stamp = ros_msgs.to_seconds(msg.header.stamp) or received  # an unstamped message: arrival
            ok = sensors.update_joints(msg.name, msg.position, msg.velocity, stamp)
        elif name == "imu":
            ok = sensors.update_imu(*ros_msgs.imu_values(msg))
        elif name == "odom":
            ok = sensors.update_odom(*ros_msgs.odom_values(msg))
        else:
            ok = sensors.update_contacts(msg.data)
        if ok:
            self.loop.watchdog.feed(name, received)
        else:
            self.get_logger().warning(f"rejected {sensors.last_error}", throttle_duration_sec=1.0)

    # ---- sensor callbacks ----------------------------------------------------------------------
    def _on_joints(self, msg: JointState) -> None:
        self._received("joint_states", msg, ros_msgs.to_seconds(msg.header.stamp))

    def _on_imu(self, msg: Imu) -> None:
        self._received("imu", msg, ros_msgs.to_seconds(msg.header.stamp))

    def _on_odom(self, msg: Odometry) -> None:
        self._received("odom", msg, ros_msgs.to_seconds(msg.header.stamp))

    def _on_contacts(self, msg: Float64MultiArray) -> None:
        self._received("contacts", msg)

    # ---- control -------------------------------------------------------------------------------
    def _sensor_tick(self) -> None:
        """Step once per complete sensor set: every required input has a message since the last step
        (an input that dropped messages does not hold the others back once it is back)."""
        loop = self.loop
        if loop is None or not loop.active or not all(self.fresh[k] for k in loop.required):
            return
        for k in loop.required:
            self.fresh[k] = False
        self.handled += 1
        self._tick()

    def _tick(self) -> None:
        result = self.loop.step(self._now())
        self.cmd_msg.data = result.command  # one message object, refilled every tick
        self.cmd_pub.publish(self.cmd_msg)
        self.loop.finish_step()  # e.g. the Hebbian weight update, off the sensor-to-command path
        if result.source.startswith(POLICY_ERROR):
            self.get_logger().error(f"{result.source}: safe command", throttle_duration_sec=1.0)

    def _on_timer(self) -> None:
        with self.lock:
            if self.loop is not None:
                self._tick()

    def _on_watchdog_timer(self) -> None:
        """With ``trigger: sensors``: while an input is stale no sensor set completes, so the timer ticks
        the safe command in their place."""
        with self.lock:
            if self.loop is not None and self.loop.watchdog.stale(self._now()):
                self._tick()

    def _publish_safe_now(self) -> None:
        """The safe command at once, not at the next tick (not in lock-step: one command per sim step)."""
        if not self.lockstep:
            self._publish_safe()

    def _publish_safe(self) -> None:
        if self.loop is not None and self.cmd_pub is not None:
            self.cmd_pub.publish(ros_msgs.array_msg(self.loop.gate(self.loop.safe_command())))

    def _publish_diagnostics(self) -> None:
        with self.lock:
            self._publish_diagnostics_locked()

    def _publish_diagnostics_locked(self) -> None:
        loop = self.loop
        values: dict[str, object] = {"state": self.state_label, "policy": self._param("policy")}
        level, message = "ok", self.state_label
        if loop is not None:
            w = loop.stats.window()
            values.update(
                policy_sha256=self.sha256,
                kind=loop.spec.kind,
                source=loop.last_source,
                rate_hz=f"{w['rate_hz']:.2f}",
                target_rate_hz=f"{1.0 / loop.period:.2f}",
                overruns=loop.stats.overruns,
                interval_max_ms=f"{w['interval_max_ms']:.3f}",
                inference_mean_ms=f"{w['inference_mean_ms']:.4f}",
                inference_max_ms=f"{w['inference_max_ms']:.4f}",
                rejected_commands=loop.gate.rejected,
                estop=loop.estop.engaged,
            )
            now = self._now()
            for k, age in loop.watchdog.ages(now).items():
                values[f"age_{k}_s"] = f"{age:.4f}"
                values[f"rejected_{k}"] = loop.sensors.rejected[k]
            if hasattr(loop.policy, "weight_norms"):
                norms = [float(x) for x in loop.policy.weight_norms()]
                values["weight_norms"] = " ".join(f"{x:.6g}" for x in norms)
            message = f"{self.state_label}: {loop.last_source}"
            if loop.last_source not in ("policy", "ramp", "inactive"):
                level = "warn"
        msg = ros_msgs.diagnostic_array(time.time(), self.get_name(), "wann_ros", level, message, values)
        self.diag_pub.publish(msg)

    # ---- lifecycle -----------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        path = self._param("policy")
        with self.lock:
            try:
                self._configure(path)
            except InterruptedError as exc:  # a stop signal during the wait for the sensors: no refusal
                self._teardown()
                self.get_logger().info(f"configure cancelled: {exc}")
                return FAILURE
            except Exception as exc:  # every refusal is logged with its reason, never a traceback
                self._teardown()  # and leaves nothing half-built behind
                self.get_logger().error(f"refusing policy {path!r}: {type(exc).__name__}: {exc}")
                return FAILURE
        self.state_label = "inactive"
        return SUCCESS

    def _configure(self, path: str) -> None:
        """Load, check and wire up the policy at ``path``; raises with the reason if it cannot run here."""
        if not path:
            raise SpecMismatchError(
                "parameter 'policy' is empty: name a policy file (ros2 launch: policy:=FILE)"
            )
        data = read_file_bytes(path)  # hashed as loaded: a file replaced meanwhile does not mislead
        policy = read_policy_bytes(data)
        diagnostics_period = _positive("diagnostics_period", self._number("diagnostics_period"), "s")
        loop = self._new_loop(policy)
        self._check_inputs(loop, policy.spec.action.joint_names)
        self._install(loop)
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.file_frozen = bool(getattr(policy, "frozen", False))
        self._apply_plasticity(self._param("plasticity"))
        topic = self._start_io(loop, diagnostics_period)
        spec, rate = policy.spec, 1.0 / loop.period
        self.get_logger().info(
            f"configured {spec.kind} policy {path} (sha256 {self.sha256[:12]}), {spec.action.size} joints, "
            f"{spec.action.mode} commands on {topic} at {rate:g} Hz, inputs {list(loop.required)}"
        )

    def _new_loop(self, policy: Policy) -> ControlLoop:
        """A control loop for ``policy`` with the safety parameters; raises if one is invalid."""
        spec = policy.spec
        rate = _positive("rate", self._number("rate") or 1.0 / spec.control_period, "Hz")
        if self.trigger not in TRIGGERS:
            raise SpecMismatchError(f"trigger must be one of {TRIGGERS}, got {self.trigger!r}")
        mode = self._param("safe_mode") or DEFAULT_SAFE_MODE[spec.action.mode]
        timeouts = {k: self._number(f"{k}_timeout") for k in INPUTS if self._number(f"{k}_timeout") > 0}
        config = LoopConfig(
            mode, self._number("safe_kd"), self._number("soft_start"), self._number("input_timeout"), timeouts
        )
        return ControlLoop(policy, config, 1.0 / rate, self.estop)

    def _install(self, loop: ControlLoop) -> None:
        """Make ``loop`` the node's, fed with the latest messages; one trial step, then a fresh episode."""
        self.loop = loop
        for name, (msg, received) in self.latest.items():
            self._apply(name, msg, received)
        if not loop.check_policy():
            self.get_logger().warning("no good value on every input yet: the policy is first run when active")
        loop.reset(self._param("seed"))

    def _start_io(self, loop: ControlLoop, diagnostics_period: float) -> str:
        """The command publisher (its topic is returned), the control and the diagnostics timer."""
        topic = self._param("command_topic") or f"/joint_group_{loop.spec.action.mode}_controller/commands"
        self.cmd_pub = self.io.create_publisher(
            Float64MultiArray, topic, ros_msgs.reliable_qos(self.lockstep)
        )
        if not self.lockstep:  # the node clock: sim time with use_sim_time
            on_timer = self._on_timer if self.trigger == "timer" else self._on_watchdog_timer
            self.timer = self.io.create_timer(loop.period, on_timer, clock=self.get_clock())
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.diag_timer = self.create_timer(diagnostics_period, self._publish_diagnostics, clock=steady)
        return topic

    def _check_inputs(self, loop: ControlLoop, joint_names: tuple[str, ...]) -> None:
        """Wait for the inputs ``loop`` needs; SpecMismatchError if one is missing or a joint is not there."""
        self._wait_for(loop.required)
        missing = [k for k in loop.required if self.arrivals[k] == 0]
        if missing and self.stopping.is_set():
            raise InterruptedError(f"stopped by a signal while waiting for {missing}")
        timeout = self._number("startup_timeout")
        if "joint_states" in missing:
            raise SpecMismatchError(f"no message on /joint_states within startup_timeout={timeout:g} s")
        check_joint_names(joint_names, self.latest["joint_states"][0].name)
        if missing:
            raise SpecMismatchError(
                f"the policy's observation needs inputs {list(loop.required)}, but nothing arrived on "
                f"{missing} within startup_timeout={timeout:g} s"
            )

    def _wait_for(self, required: tuple[str, ...]) -> None:
        """Pump callbacks until every required input arrived or startup_timeout passed.

        Only possible while the node is not yet in an executor (autostart); a transition requested over
        the lifecycle service checks what has arrived since the node started.
        """
        if self.io.executor is not None:
            return
        deadline = time.monotonic() + self._number("startup_timeout")
        while time.monotonic() < deadline and any(self.arrivals[k] == 0 for k in required):
            if self.stopping.is_set():
                return
            rclpy.spin_once(self.io, timeout_sec=0.02)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        with self.lock:
            self.loop.activate()
            self.state_label = "active"
            self.get_logger().info("active: ramping in from the safe command")
            if self.trigger == "sensors":
                self._sensor_tick()  # answer the sensor set that arrived while inactive
        return SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        with self.lock:
            self.loop.deactivate()
            self.state_label = "inactive"
            self._publish_safe_now()
        self.get_logger().info("inactive: safe command")
        return SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._teardown()
        self.state_label = "unconfigured"
        return SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """The safe command goes out (in lock-step too: it answers the state the simulator waits on) and
        is acknowledged by the subscribers (up to ACK_TIMEOUT) before the publisher is destroyed."""
        with self.lock:
            self._publish_safe()
            if self.cmd_pub is not None:
                self.cmd_pub.wait_for_all_acked(ACK_TIMEOUT)
        self._teardown()
        self.state_label = "finalized"
        return SUCCESS

    def _teardown(self) -> None:
        with self.lock:
            if self.timer is not None:
                self.io.destroy_timer(self.timer)
            if self.diag_timer is not None:
                self.destroy_timer(self.diag_timer)
            if self.cmd_pub is not None:
                self.io.destroy_publisher(self.cmd_pub)
            self.timer = self.diag_timer = self.cmd_pub = self.loop = None

    # ---- services and parameters ---------------------------------------------------------------
    def _on_estop(self, req: SetBool.Request, res: SetBool.Response) -> SetBool.Response:
        with self.lock:
            self._set_estop(req.data, "service")
        res.success, res.message = True, "e-stop engaged (latched)" if req.data else "e-stop released"
        return res

    def _on_estop_topic(self, msg: Bool) -> None:
        with self.lock:
            self._set_estop(msg.data, "topic")

    def _set_estop(self, engage: bool, via: str) -> None:
        """Engage, or release: the service releases every hold, the topic only its own."""
        if engage:
            self.estop.engage(f"requested via {via}", holder=via)
            self._publish_safe_now()
            self.get_logger().warning(f"E-STOP engaged via {via}: safe command until released")
        elif self.estop.engaged:
            self.estop.release(None if via == "service" else via)
            if self.estop.engaged:
                self.get_logger().warning(f"e-stop release via {via} ignored: {self.estop.reason}")
            else:
                self.get_logger().info(f"e-stop released via {via}")

    def _on_reset(self, req: Trigger.Request, res: Trigger.Response) -> Trigger.Response:
        with self.lock:
            if self.loop is None:
                res.success, res.message = False, "not configured"
                return res
            self.resets += 1
            seed = self._param("seed") + self.resets
            self.loop.reset(seed)
        res.success, res.message = True, f"policy reset with seed {seed}"
        return res

    def _apply_plasticity(self, value: object) -> None:
        """Freeze or resume a plastic policy: ``plasticity`` true/false, "" = as the policy file says."""
        policy = self.loop.policy if self.loop else None
        if policy is None or not hasattr(policy, "freeze"):
            return
        override = plasticity_override(value)
        plastic = not self.file_frozen if override is None else override
        policy.unfreeze() if plastic else policy.freeze()

    def _check_param(self, name: str, value: object) -> None:
        """Refuse (ParameterError) a value of the wrong type, or a change that would not take effect now."""
        if name in START_PARAMS:
            raise ParameterError(f"{name} is fixed at start-up")
        if name in CONFIGURE_PARAMS and self.loop is not None:
            raise ParameterError(f"{name} takes effect at configure: clean up, set it, configure again")
        if name in FLOAT_PARAMS:
            as_number(name, value)
        elif name == "plasticity":
            plasticity_override(value)

    def _on_params(self, params: list[Parameter]) -> SetParametersResult:
        try:
            for prm in params:
                self._check_param(prm.name, prm.value)
        except ParameterError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        for prm in params:
            if prm.name == "plasticity":
                with self.lock:
                    self._apply_plasticity(prm.value)
        return SetParametersResult(successful=True)


def _spin_services(executor: SingleThreadedExecutor) -> None:
    """The lifecycle, parameter and service side, on its own thread until the context shuts down."""
    with contextlib.suppress(ExternalShutdownException, ShutdownException):
        executor.spin()


def _pin_to_cpus(node: ControllerNode) -> bool:
    """Pin the process to the CPUs named by ``cpu_affinity`` (if any); False, logged, if it names bad ones."""
    try:
        cpus = parse_cpus(node.get_parameter("cpu_affinity").value)
        if cpus:
            pin_process(cpus)
            node.get_logger().info(f"threads pinned to CPUs {sorted(cpus)}")
    except ValueError as exc:
        node.get_logger().fatal(f"cpu_affinity: {exc}")
        return False
    return True


def _io_executor(node: ControllerNode) -> Executor | None:
    """The executor of the sensor/command side (``io_executor``, see ``wann_ros.nodes.executors``);
    None (logged) for an unknown kind."""
    try:
        return make_executor(node.get_parameter("io_executor").value)
    except ValueError as exc:
        node.get_logger().fatal(str(exc))
        return None


def _autostart(node: ControllerNode) -> int:
    """configure and activate; EXIT_REFUSED if configure fails (0 if a stop signal cut it short)."""
    if node.trigger_configure() == SUCCESS:
        node.trigger_activate()
        return 0
    if node.stopping.is_set():
        return 0
    node.get_logger().fatal("configure failed: exiting")
    return EXIT_REFUSED


def main(args: list[str] | None = None) -> int:
    stopping = init_ros(args)
    try:
        node = ControllerNode(stopping=stopping)
    except PARAMETER_ERRORS as exc:
        print(f"controller_node: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        return EXIT_REFUSED
    code = 0
    io_executor, service_executor = _io_executor(node), SingleThreadedExecutor()
    services = threading.Thread(target=_spin_services, args=(service_executor,), name="controller-services")
    try:
        if io_executor is None or not _pin_to_cpus(node):
            code = EXIT_REFUSED
        elif node.get_parameter("autostart").value:
            code = _autostart(node)
        if code == 0:
            service_executor.add_node(node)
            io_executor.add_node(node.io)
            services.start()
            spin_until_shutdown(io_executor, stopping)
    except ExternalShutdownException:
        pass
    finally:
        service_executor.shutdown()  # wakes the service thread; it must be gone before the nodes are
        if services.is_alive():
            services.join()
        if io_executor is not None:
            io_executor.shutdown()
        if node.loop is not None and rclpy.ok():
            node.trigger_shutdown()  # the safe command, then the publisher goes
        node.io.destroy_node()
        node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
