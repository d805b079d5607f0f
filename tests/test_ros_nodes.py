"""Controller and simulator nodes as real processes over DDS (rclpy + FastDDS on loopback)."""

import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.ros_helpers import isolate_ros_domain, make_fake_robot, spin_until, write_policy
from wann_ros.nodes.processes import node_command, parse_cpus, start_node, stop, yaml_string
from wann_ros.sim import robot_specs as rs

pytestmark = pytest.mark.ros
isolate_ros_domain()


def test_sensor_messages_become_tuples_of_floats():
    from wann_ros.nodes import ros_msgs

    q = np.array([0.0, 0.0, np.sin(np.pi / 4), np.cos(np.pi / 4)])  # yaw +90 degrees
    imu = ros_msgs.imu_msg(0.0, "base_link", q, np.array([0.1, 0.2, 0.3]), np.zeros(3))
    assert ros_msgs.imu_values(imu) == (tuple(q.tolist()), (0.1, 0.2, 0.3))
    vel_world = np.array([1.0, 0.0, 0.0])
    odom = ros_msgs.odom_msg(0.0, "world", "base", np.array([1.0, 2.0, 3.0]), q, vel_world, np.zeros(3))
    assert odom.twist.twist.linear.y == pytest.approx(-1.0)  # nav_msgs: the twist in the base frame
    pos, vel = ros_msgs.odom_values(odom)
    assert pos == (1.0, 2.0, 3.0) and type(vel) is tuple
    np.testing.assert_allclose(vel, vel_world, atol=1e-12)
    o = odom.pose.pose.orientation
    o.z = o.w = 0.0  # no orientation: the velocity cannot be rotated, so it is NaN (rejected)
    assert all(math.isnan(v) for v in ros_msgs.odom_values(odom)[1])


def test_lockstep_callbacks_publish_the_control_loop_command(ros, tmp_path):
    """In one process: each sensor set through the node's subscription callbacks (joints in another
    order, a NaN set in between) gives exactly the command of a ControlLoop fed the same values."""
    from rclpy.parameter import Parameter

    from wann_ros.formats import load_policy
    from wann_ros.nodes import ros_msgs
    from wann_ros.nodes.control_loop import ControlLoop, LoopConfig
    from wann_ros.nodes.controller import SUCCESS, ControllerNode

    policy = write_policy(tmp_path / "p.wrp")
    params = {"policy": str(policy), "lockstep": True, "soft_start": 0.0}
    node = ControllerNode(
        "lockstep_test", parameter_overrides=[Parameter(k, value=v) for k, v in params.items()]
    )
    ref = ControlLoop(load_policy(policy), LoopConfig(soft_start=0.0), rs.ANT_CONTROL_PERIOD)
    ref.reset(0)
    ref.activate()
    rng = np.random.default_rng(1)
    try:
        for k in range(6):
            t = 0.01 * (k + 1)
            quat = np.array([0.0, 0.0, np.sin(0.1 * k), np.cos(0.1 * k)])
            pos = np.full(8, np.nan) if k == 3 else rng.normal(size=8)
            vel = rng.normal(size=8)
            imu = ros_msgs.imu_msg(t, "base_link", quat, rng.normal(size=3), np.zeros(3))
            odom = ros_msgs.odom_msg(
                t, "world", "base", rng.normal(size=3), quat, rng.normal(size=3), np.zeros(3)
            )
            contacts = ros_msgs.array_msg([1.0, 0.0, 1.0, float(k % 2)])
            joints = ros_msgs.joint_state_msg(t, rs.ANT_JOINTS[::-1], pos[::-1], vel[::-1])
            for callback, msg in zip(
                (node._on_imu, node._on_odom, node._on_contacts, node._on_joints),
                (imu, odom, contacts, joints),
                strict=True,
            ):
                callback(msg)
            if k == 0:
                assert node.trigger_configure() == SUCCESS
                node.trigger_activate()  # answers the set that arrived while inactive
            ref.sensors.update_imu(*ros_msgs.imu_values(imu))
            ref.sensors.update_odom(*ros_msgs.odom_values(odom))
            ref.sensors.update_contacts(contacts.data)
            ref.sensors.update_joints(rs.ANT_JOINTS, pos, vel)
            for name in ref.required:
                ref.watchdog.feed(name, t)
            expected = ref.step(t)
            ref.finish_step()
            assert node.handled == k + 1 and node.loop.last_source == expected.source
            assert tuple(node.cmd_msg.data) == expected.command
        assert node.loop.sensors.rejected["joint_states"] == 1
    finally:
        node.io.destroy_node()
        node.destroy_node()


def run_controller(params: dict, timeout: float = 30.0) -> subprocess.CompletedProcess:
    cmd = node_command("controller_node", params)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_bad_policy_file_is_refused_with_nonzero_exit(tmp_path):
    bad = tmp_path / "bad.wrp"
    bad.write_bytes(b"not a policy at all")
    res = run_controller({"policy": str(bad), "startup_timeout": 0.5})
    assert res.returncode == 2, res.stderr
    assert "refusing policy" in res.stderr and "bad.wrp" in res.stderr


def test_cpu_affinity_values():
    first = min(os.sched_getaffinity(0))
    assert parse_cpus("") == set() and parse_cpus([]) == set()
    assert parse_cpus(str(first)) == parse_cpus(first) == parse_cpus([first]) == {first}
    with pytest.raises(ValueError, match="CPU ids separated by commas"):
        parse_cpus("one")
    with pytest.raises(ValueError, match=r"CPUs \[9999\] do not exist"):
        parse_cpus("9999")


PIN_SCRIPT = """
import os, sys, threading
from wann_ros.nodes.processes import pin_process
stop = threading.Event()
before = threading.Thread(target=stop.wait); before.start()
pin_process({int(sys.argv[1])})
after = threading.Thread(target=stop.wait); after.start()
print(sorted({tuple(sorted(os.sched_getaffinity(int(t)))) for t in os.listdir("/proc/self/task")}))
stop.set()
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to tell pinned from not")
def test_pin_process_pins_every_thread_and_later_ones():
    cpu = max(os.sched_getaffinity(0))
    cmd = [sys.executable, "-c", PIN_SCRIPT, str(cpu)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str([(cpu,)])  # main, the thread started before and the one after


def test_bad_cpu_affinity_is_refused(tmp_path):
    res = run_controller({"policy": str(write_policy(tmp_path / "p.wrp")), "cpu_affinity": 9999})
    assert res.returncode == 2
    assert "cpu_affinity: CPUs [9999] do not exist" in res.stderr


def test_bad_trigger_or_executor_is_refused(tmp_path):
    res = run_controller({"policy": str(write_policy(tmp_path / "p.wrp")), "trigger": "clock"})
    assert res.returncode == 2
    assert "trigger must be one of ('timer', 'sensors'), got 'clock'" in res.stderr
    res = run_controller({"policy": str(write_policy(tmp_path / "p.wrp")), "io_executor": "multi"})
    assert res.returncode == 2
    assert "io_executor must be one of ('events', 'wait_set'), got 'multi'" in res.stderr


def test_missing_joint_states_is_refused(tmp_path):
    res = run_controller({"policy": str(write_policy(tmp_path / "p.wrp")), "startup_timeout": 0.5})
    assert res.returncode == 2
    assert "no message on /joint_states within startup_timeout=0.5 s" in res.stderr


def test_wrong_joint_names_and_missing_inputs_are_refused(ros, tmp_path):
    robot = make_fake_robot("fake_robot_names")
    ros.add_node(robot)
    try:
        wrong = write_policy(tmp_path / "wrong.wrp", joint_names=tuple(f"leg_{i}" for i in range(8)))
        cmd = node_command("controller_node", {"policy": str(wrong), "startup_timeout": 5.0})
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert spin_until(ros, lambda: proc.poll() is not None, 30)
        assert proc.returncode == 2
        err = proc.stderr.read()
        assert "policy joints ['leg_0'," in err and "are not on the robot" in err and "hip_1" in err
        robot.enabled["odom"] = False
        good = write_policy(tmp_path / "good.wrp")
        cmd = node_command("controller_node", {"policy": str(good), "startup_timeout": 5.0})
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert spin_until(ros, lambda: proc.poll() is not None, 30)
        assert proc.returncode == 2
        assert "nothing arrived on ['odom']" in proc.stderr.read()
    finally:
        ros.remove_node(robot)
        robot.destroy_node()


@pytest.mark.parametrize(
    ("trigger", "io_executor"), [("timer", "events"), ("sensors", "events"), ("timer", "wait_set")]
)
def test_nan_sensors_stale_inputs_and_estop(ros, tmp_path, trigger, io_executor):
    """One controller run: policy commands, NaN sensors held, stale IMU -> safe within timeout, e-stop,
    a warning for a publisher with incompatible QoS. With ``trigger: sensors`` a stale input stops the
    sensor sets, and the watchdog timer must send the safe command in their place. Both I/O executors."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Float64MultiArray
    from std_srvs.srv import SetBool

    robot = make_fake_robot("fake_robot_safety")
    ros.add_node(robot)
    client = robot.create_client(SetBool, "/controller/estop")
    policy = write_policy(tmp_path / "p.wrp")
    proc = start_node(
        "controller_node",
        {
            "policy": str(policy),
            "soft_start": 0.0,
            "input_timeout": 0.2,
            "safe_kd": 3.0,
            "rate": 100.0,
            "trigger": trigger,
            "io_executor": io_executor,
        },
        tmp_path / "controller.log",
    )
    try:
        log = tmp_path / "controller.log"
        assert spin_until(ros, lambda: len(robot.commands) > 20, 20), log.read_text()
        # policy commands: finite and not the safe command (zero at rest); on a loaded machine a sensor gap
        # longer than the 0.2 s timeout may put a few safe commands among them
        recent = robot.commands_since(0)[-20:]
        assert all(np.all(np.isfinite(c)) for c in recent)
        assert sum(bool(np.any(c != 0)) for c in recent) >= 10

        # NaN joint positions: never a NaN command; the last command is held, then the watchdog trips
        robot.joint_pos = np.full(8, np.nan)
        t0 = time.monotonic()
        spin_until(ros, lambda: False, 0.5)
        during_nan = robot.commands_since(t0)
        assert len(during_nan) > 20 and all(np.all(np.isfinite(c)) for c in during_nan)
        held = [c for c in during_nan[:5]]
        assert all(np.array_equal(c, held[0]) for c in held)
        assert np.all(during_nan[-1] == 0.0)  # joint states stale (NaN for > 0.2 s): safe = -3 * 0 velocity
        robot.joint_pos = np.array([0.0, 1.0, 0.0, -1.0, 0.0, -1.0, 0.0, 1.0])

        # stale IMU: safe command (damping, -3 * velocity) within the 0.2 s timeout (+ a tick and transport)
        robot.joint_vel = np.full(8, 2.0)
        assert spin_until(ros, lambda: np.any(robot.commands[-1][1] != -6.0), 3)
        robot.enabled["imu"] = False
        t_off = time.monotonic()
        assert spin_until(ros, lambda: np.all(robot.commands[-1][1] == -6.0), 3)
        t_safe = next(t for t, c in robot.commands if t >= t_off and np.all(c == -6.0))
        assert t_safe - t_off < 0.2 + 0.1
        robot.enabled["imu"] = True
        assert spin_until(ros, lambda: np.any(robot.commands[-1][1] != -6.0), 3)

        # e-stop: safe at once, latched while sensors are fine, released on request
        assert client.wait_for_service(timeout_sec=5)
        fut = client.call_async(SetBool.Request(data=True))
        t_req = time.monotonic()
        assert spin_until(ros, fut.done, 5) and fut.result().success
        assert spin_until(ros, lambda: np.all(robot.commands[-1][1] == -6.0), 1)
        spin_until(ros, lambda: False, 0.3)
        assert all(np.all(c == -6.0) for c in robot.commands_since(time.monotonic() - 0.25))
        assert min(t for t, c in robot.commands if t >= t_req and np.all(c == -6.0)) - t_req < 0.1
        fut = client.call_async(SetBool.Request(data=False))
        assert spin_until(ros, fut.done, 5) and fut.result().success
        assert spin_until(ros, lambda: np.any(robot.commands[-1][1] != -6.0), 3)

        # a best-effort publisher cannot feed the controller's reliable subscription: it says so
        best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
        stray = robot.create_publisher(Float64MultiArray, "/foot_contacts", best_effort)
        assert spin_until(ros, lambda: "incompatible" in log.read_text(), 5), log.read_text()
        robot.destroy_publisher(stray)
    finally:
        codes = stop([proc])
        ros.remove_node(robot)
        robot.destroy_node()
    assert codes[proc.pid] == 0, (tmp_path / "controller.log").read_text()


def test_sim_and_controller_exchange_messages_and_report(ros, tmp_path):
    """Real-time sim + controller with sim time: commands flow, the robot moves, diagnostics report."""
    from wann_ros.nodes.monitor import RunMonitor

    policy = write_policy(tmp_path / "p.wrp")
    monitor = RunMonitor("/joint_group_effort_controller/commands", name="test_monitor")
    ros.add_node(monitor)
    procs = [
        start_node("sim_node", {"use_sim_time": True, "realtime_factor": 2.0}, tmp_path / "sim.log", "sim"),
        start_node("controller_node", {"policy": str(policy), "use_sim_time": True}, tmp_path / "ctl.log"),
    ]
    try:
        ok = spin_until(
            ros,
            lambda: (
                "weight_norms" in monitor.diagnostics
                and len(monitor.commands) > 50
                and len(monitor.track) > 50
            ),
            40,
        )
        assert ok, (tmp_path / "ctl.log").read_text() + (tmp_path / "sim.log").read_text()
        d = monitor.diagnostics
        from wann_ros.formats import file_sha256

        assert d["policy_sha256"] == file_sha256(policy)
        assert d["state"] == "active" and d["kind"] == "hebbian"
        assert float(d["target_rate_hz"]) == pytest.approx(1 / rs.ANT_CONTROL_PERIOD, rel=1e-3)
        assert len(d["weight_norms"].split()) == 2 and float(d["inference_mean_ms"]) > 0
        assert {"age_imu_s", "age_odom_s", "age_contacts_s", "age_joint_states_s", "overruns"} <= set(d)
        cmds = np.array(monitor.commands[-20:])
        assert np.all(np.isfinite(cmds)) and np.all(np.abs(cmds) <= rs.ANT_TORQUE_SCALE)
        assert len(monitor.track) > 50 and monitor.track[-1][0] > monitor.track[0][0]
    finally:
        codes = stop(procs)
        ros.remove_node(monitor)
        monitor.destroy_node()
    assert all(c == 0 for c in codes.values()), codes


def test_sim_node_knobs_are_read_at_start_and_fixed(ros):
    """``knobs`` (a YAML mapping in a string) reaches the world; bad knobs stop the node at start-up."""
    from rclpy.parameter import Parameter

    from wann_ros.nodes.sim import SimNode

    text = "{latency_steps: 2, gravity_tilt: [0.1, 0.1], gravity_heading: [0, 0]}"
    node = SimNode(name="knob_sim", parameter_overrides=[Parameter("knobs", value=text)])
    try:
        assert node.world.knobs.latency_steps == 2 and node.world.knobs.gravity_tilt == (0.1, 0.1)
        result = node.set_parameters([Parameter("knobs", value="{}")])[0]
        assert not result.successful and "fixed at start-up" in result.reason
    finally:
        node.world.close()
        node.destroy_node()
    for bad, message in (("{latency: 2}", r"unknown knob\(s\) \['latency'\]"), ("[2]", "YAML mapping")):
        with pytest.raises(ValueError, match=message):
            SimNode(name="bad_knob_sim", parameter_overrides=[Parameter("knobs", value=bad)])


def test_knobs_survive_the_nodes_command_line(ros):
    """The demo starts the simulator with ``-p knobs:='...'`` (yaml_string); rcl's own argument parsing must
    hand the node the text, not the mapping it would make of an unquoted ``{...}``."""
    import yaml

    from wann_ros.nodes.sim import SimNode

    tricky = "{a: 'it''s', b: [1, 2]}"
    assert yaml.safe_load(yaml_string(tricky)) == tricky
    text = "{latency_steps: 2, gravity_tilt: 0.1}"
    cmd = node_command("sim_node", {"knobs": yaml_string(text)})
    node = SimNode(name="cli_knob_sim", cli_args=cmd[cmd.index("--ros-args") :])
    try:
        assert node.get_parameter("knobs").value == text
        assert node.world.knobs.latency_steps == 2 and node.world.knobs.gravity_tilt == (0.0, 0.1)
    finally:
        node.world.close()
        node.destroy_node()
