"""Controller and simulator nodes: stop signals, configure refusals, parameters, e-stop across cleanup.

Most tests run the node in this process (real rclpy, isolated domain) and call its sensor callbacks
directly; the stop signals and the exit codes run it as a process.
"""

import contextlib
import hashlib
import signal
import subprocess

import numpy as np
import pytest

from tests.ros_helpers import ant_hebbian, isolate_ros_domain, make_fake_robot, spin_until, write_policy
from wann_ros.formats import save_policy
from wann_ros.nodes.processes import node_command, start_node, stop
from wann_ros.sim import robot_specs as rs

pytestmark = pytest.mark.ros
isolate_ros_domain()
JOINT_POS = np.array([0.0, 1.0, 0.0, -1.0, 0.0, -1.0, 0.0, 1.0])


@contextlib.contextmanager
def controller(name: str, **params):
    """A lock-step ControllerNode in this process (no timers: it ticks on the sensor sets fed to it)."""
    from rclpy.parameter import Parameter

    from wann_ros.nodes.controller import ControllerNode

    params = {"lockstep": True, "soft_start": 0.0, **params}
    node = ControllerNode(name, parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    try:
        yield node
    finally:
        node.io.destroy_node()
        node.destroy_node()


def feed(node, t: float, contacts=(1.0, 0.0, 1.0, 0.0)) -> None:
    """One sensor set stamped ``t`` through the node's subscription callbacks (joint states last)."""
    from wann_ros.nodes import ros_msgs

    quat = np.array([0.0, 0.0, 0.0, 1.0])
    node._on_imu(ros_msgs.imu_msg(t, "base_link", quat, np.zeros(3), np.zeros(3)))
    pos = np.array([0.0, 0.0, 0.6])
    node._on_odom(ros_msgs.odom_msg(t, "world", "base", pos, quat, np.zeros(3), np.zeros(3)))
    node._on_contacts(ros_msgs.array_msg(list(contacts)))
    node._on_joints(ros_msgs.joint_state_msg(t, rs.ANT_JOINTS, JOINT_POS, np.full(8, 0.5)))


def run_node(executable: str, params: dict) -> subprocess.CompletedProcess:
    return subprocess.run(node_command(executable, params), capture_output=True, text=True, timeout=60)


# ---- stop signals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stop_signal_sends_the_safe_command_last_and_exits_cleanly(ros, tmp_path, sig):
    robot = make_fake_robot(f"fake_robot_stop_{sig.name.lower()}")
    robot.joint_vel = np.full(8, 2.0)  # the safe command (damping, safe_kd 3) is -6 N m on every joint
    ros.add_node(robot)
    params = {
        "policy": str(write_policy(tmp_path / "p.wrp")),
        "soft_start": 0.0,
        "safe_kd": 3.0,
        "rate": 100.0,
    }
    proc = start_node("controller_node", params, tmp_path / "controller.log")
    log = tmp_path / "controller.log"
    try:
        assert spin_until(ros, lambda: len(robot.commands) > 20, 20), log.read_text()
        assert np.any(robot.commands[-1][1] != -6.0)  # the policy drives
        proc.send_signal(sig)
        assert spin_until(ros, lambda: proc.poll() is not None, 10), log.read_text()
        spin_until(ros, lambda: False, 0.3)  # anything still in flight
    finally:
        stop([proc])
        ros.remove_node(robot)
        robot.destroy_node()
    assert proc.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text()
    np.testing.assert_array_equal(robot.commands[-1][1], np.full(8, -6.0))


# ---- configure ---------------------------------------------------------------------------------------
def test_bad_diagnostics_period_fails_configure_with_a_logged_reason(tmp_path):
    res = run_node(
        "controller_node", {"policy": str(write_policy(tmp_path / "p.wrp")), "diagnostics_period": 0.0}
    )
    assert res.returncode == 2, res.stderr
    assert "refusing policy" in res.stderr and "diagnostics_period must be > 0 s, got 0" in res.stderr
    assert "Traceback" not in res.stderr


def test_observation_that_does_not_fit_the_sensors_fails_configure_and_leaves_nothing(ros, tmp_path, capfd):
    from wann_ros.nodes.controller import FAILURE, SUCCESS

    policy = write_policy(tmp_path / "p.wrp")
    with controller("fit_test", policy=str(policy)) as node:
        feed(node, 0.01, contacts=(1.0, 0.0))  # a robot with two feet; the policy reads four
        assert node.trigger_configure() == FAILURE
        err = capfd.readouterr().err
        assert "refusing policy" in err and "'foot_contacts' produced 2 values but the spec says 4" in err
        assert node.loop is None and node.cmd_pub is None and node.timer is None and node.diag_timer is None
        feed(node, 0.02)
        assert node.trigger_configure() == SUCCESS  # nothing half-built left in the way
        assert node.sha256 == hashlib.sha256(policy.read_bytes()).hexdigest()


def test_integer_values_for_float_parameters(ros, tmp_path):
    from rclpy.parameter import Parameter

    from wann_ros.nodes.controller import SUCCESS
    from wann_ros.nodes.sim import SimNode

    with controller("int_test", policy=str(write_policy(tmp_path / "p.wrp")), rate=50, soft_start=2) as node:
        feed(node, 0.01)
        assert node.trigger_configure() == SUCCESS
        assert node.loop.period == pytest.approx(0.02) and node.loop.soft_start.duration == 2.0
    overrides = [Parameter("damage_time", value=10), Parameter("realtime_factor", value=2)]
    sim = SimNode(name="int_sim", parameter_overrides=overrides)
    try:
        assert sim.damage_time == 10.0 and sim.realtime_factor == 2.0
    finally:
        sim.world.close()
        sim.destroy_node()


def test_parameters_of_the_wrong_type_stop_the_node_with_exit_code_2(tmp_path):
    from rclpy.exceptions import InvalidParameterTypeException

    from wann_ros.nodes.params import PARAMETER_ERRORS

    res = run_node("controller_node", {"policy": str(write_policy(tmp_path / "p.wrp")), "rate": "fast"})
    assert res.returncode == 2 and "parameter 'rate' must be a number, got 'fast'" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert issubclass(InvalidParameterTypeException, PARAMETER_ERRORS)  # e.g. lockstep:=maybe, caught alike


# ---- e-stop, plasticity, live parameters ---------------------------------------------------------------
def test_latched_estop_survives_cleanup_and_configure(ros, tmp_path):
    from std_srvs.srv import SetBool

    from wann_ros.nodes.controller import SUCCESS

    with controller("estop_test", policy=str(write_policy(tmp_path / "p.wrp"))) as node:
        feed(node, 0.01)
        assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
        assert node._on_estop(SetBool.Request(data=True), SetBool.Response()).success
        assert node.trigger_deactivate() == SUCCESS and node.trigger_cleanup() == SUCCESS
        assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
        feed(node, 0.02)
        assert node.loop.last_source == "estop: requested via service"
        node._on_estop(SetBool.Request(data=False), SetBool.Response())
        feed(node, 0.03)
        assert node.loop.last_source == "policy"


def test_a_topic_release_does_not_undo_the_operators_estop(ros, tmp_path):
    from std_msgs.msg import Bool
    from std_srvs.srv import SetBool

    from wann_ros.nodes.controller import SUCCESS

    with controller("estop_holds", policy=str(write_policy(tmp_path / "p.wrp"))) as node:
        feed(node, 0.01)
        assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
        node._on_estop(SetBool.Request(data=True), SetBool.Response())
        node._on_estop_topic(Bool(data=False))  # e.g. a heartbeat saying "not stopped"
        feed(node, 0.02)
        assert node.loop.last_source == "estop: requested via service"
        node._on_estop_topic(Bool(data=True))
        node._on_estop(SetBool.Request(data=False), SetBool.Response())  # the operator releases all
        feed(node, 0.03)
        assert node.loop.last_source == "policy"
        node._on_estop_topic(Bool(data=True))
        node._on_estop_topic(Bool(data=False))  # the topic releases its own hold
        feed(node, 0.04)
        assert node.loop.last_source == "policy"


def test_plasticity_follows_the_policy_file_unless_set(ros, tmp_path):
    from rclpy.parameter import Parameter

    from wann_ros.nodes.controller import SUCCESS

    frozen = ant_hebbian(0)
    frozen.freeze()
    path = save_policy(frozen, tmp_path / "frozen.wrp")
    with controller("plasticity_test", policy=str(path)) as node:
        feed(node, 0.01)
        assert node.trigger_configure() == SUCCESS
        assert node.loop.policy.frozen  # the default "" keeps the file's frozen: true
        assert node.set_parameters([Parameter("plasticity", value=True)])[0].successful
        assert not node.loop.policy.frozen
        assert node.set_parameters([Parameter("plasticity", value="")])[0].successful
        assert node.loop.policy.frozen
        result = node.set_parameters([Parameter("plasticity", value="yes")])[0]
        assert not result.successful and "plasticity must be true, false or ''" in result.reason
    with controller("plasticity_off", policy=str(write_policy(tmp_path / "p.wrp")), plasticity=False) as node:
        feed(node, 0.01)
        assert node.trigger_configure() == SUCCESS and node.loop.policy.frozen


def test_parameters_that_would_be_ignored_are_refused(ros, tmp_path):
    from rclpy.parameter import Parameter

    from wann_ros.nodes.controller import SUCCESS
    from wann_ros.nodes.sim import SimNode

    def refused(node, name, value) -> str:
        result = node.set_parameters([Parameter(name, value=value)])[0]
        assert not result.successful, name
        return result.reason

    with controller("params_test", policy=str(write_policy(tmp_path / "p.wrp"))) as node:
        feed(node, 0.01)
        assert node.trigger_configure() == SUCCESS
        for name, value in (("safe_kd", 2.0), ("soft_start", 0.5), ("diagnostics_period", 0.1)):
            assert "takes effect at configure" in refused(node, name, value)
        assert "fixed at start-up" in refused(node, "trigger", "timer")
        assert node.set_parameters([Parameter("seed", value=3)])[0].successful  # read at each reset
        assert node.trigger_cleanup() == SUCCESS
        assert "must be a number" in refused(node, "safe_kd", "high")
        assert node.set_parameters([Parameter("safe_kd", value=2)])[0].successful
        assert node.trigger_configure() == SUCCESS and node.loop.safe.kd == 2.0
    sim = SimNode(name="params_sim")
    try:
        for name, value in (
            ("realtime_factor", 2.0),
            ("damage_time", 1.0),
            ("scheduled_damage", "left_front"),
        ):
            assert "fixed at start-up" in refused(sim, name, value)
        assert sim.set_parameters([Parameter("damage", value="left_front")])[0].successful
    finally:
        sim.world.close()
        sim.destroy_node()


def test_lockstep_time_goes_back_after_a_simulator_reset(ros, tmp_path):
    from wann_ros.nodes.controller import SUCCESS

    with controller("reset_test", policy=str(write_policy(tmp_path / "p.wrp"))) as node:
        feed(node, 5.0)
        assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
        assert node._now() == 5.0
        feed(node, 0.0)  # /sim/reset: sim time starts again
        assert node._now() == 0.0 and node.handled == 2


# ---- simulator damage ----------------------------------------------------------------------------------
def test_bad_scheduled_damage_stops_the_simulator_at_start():
    res = run_node("sim_node", {"scheduled_damage": "lock:knee_9", "damage_time": 1.0})
    assert res.returncode == 2 and "ant has no joint(s) ['knee_9']" in res.stderr, res.stderr
    res = run_node("sim_node", {"scheduled_damage": "left_frnt"})
    assert res.returncode == 2 and "cannot read damage 'left_frnt'" in res.stderr, res.stderr


def test_refused_scheduled_damage_is_logged(ros, capfd):
    from rclpy.parameter import Parameter

    from wann_ros.nodes.sim import SimNode
    from wann_ros.sim.damage import DamageError

    overrides = [Parameter("scheduled_damage", value="left_front"), Parameter("damage_time", value=0.0)]
    sim = SimNode(name="damage_sim", parameter_overrides=overrides)
    apply_damage = sim.world.apply_damage
    try:

        def refuse(damage):
            raise DamageError("the body cannot take it")

        sim.world.apply_damage = refuse
        sim.step()
        assert "scheduled damage 'left_front' refused: the body cannot take it" in capfd.readouterr().err
        assert sim.world.damage.morphology == ()
        sim.world.apply_damage = apply_damage
        sim.damage_done = False
        sim.step()
        assert sim.world.damage.morphology == (("front_left", 0.25),)
    finally:
        sim.world.close()
        sim.destroy_node()
