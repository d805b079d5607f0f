"""The controller's plain classes (no ROS): safe command, gate, watchdog, e-stop, soft start, control loop."""

import array
import math

import numpy as np
import pytest

from tests.ros_helpers import ant_hebbian
from wann_ros.nodes.control_loop import POLICY_ERROR, ControlLoop, LoopConfig
from wann_ros.nodes.safety import (
    EStop,
    SafeCommand,
    SafetyConfigError,
    SafetyGate,
    SoftStart,
    Watchdog,
)
from wann_ros.nodes.sensors import SensorCache, SpecMismatchError, check_joint_names, inputs_for
from wann_ros.policies.hebbian import HebbianPolicy, hebbian_param_count
from wann_ros.policies.spec import PolicySpec, PolicySpecError, Provenance, finite
from wann_ros.sim import robot_specs as rs

ANT = rs.ant_action_spec()
A1 = rs.a1_action_spec()


def test_safe_command_effort_damps_and_clamps():
    vel = np.linspace(-1000, 1000, 8)
    cmd = SafeCommand(ANT, "damping", kd=2.0)(np.zeros(8), vel)
    np.testing.assert_allclose(cmd, np.clip(-2.0 * vel, ANT.lower, ANT.upper))
    assert np.all(SafeCommand(ANT, "zero")(np.zeros(8), vel) == 0)
    assert np.all(SafeCommand(ANT, "damping")(None, None) == 0)  # no sensor data: zero torque


def test_safe_command_position_hold_latches_until_released():
    safe = SafeCommand(A1, "hold")
    pose = np.array(rs.A1_DEFAULT_POSE) + 0.1
    first = safe(pose, np.zeros(12))
    moved = safe(pose + 0.2, np.zeros(12))
    np.testing.assert_array_equal(first, moved)  # holds where it was when the policy stopped
    safe.release()
    np.testing.assert_allclose(safe(pose + 0.2, np.zeros(12)), np.clip(pose + 0.2, A1.lower, A1.upper))
    np.testing.assert_allclose(SafeCommand(A1, "hold")(None, None), A1.offset)  # no data yet: default pose


def test_safe_command_rejects_bad_settings():
    with pytest.raises(SafetyConfigError, match="safe_mode"):
        SafeCommand(ANT, "brake")
    with pytest.raises(SafetyConfigError, match="kd"):
        SafeCommand(ANT, "damping", kd=math.nan)


def test_gate_never_passes_nan_and_clamps():
    gate = SafetyGate(ANT, np.zeros(8))
    out = gate(np.full(8, 1e6))
    assert out == tuple(ANT.upper.tolist()) and all(type(x) is float for x in out)
    assert gate(np.array([np.nan] + [0.0] * 7)) == out  # held
    assert gate(np.full(8, np.inf)) == out
    assert gate(np.zeros(3)) == out  # wrong size is rejected too
    assert gate(np.zeros((8, 1))) == out  # and a wrong shape of the right length
    assert gate.rejected == 4
    assert gate([-1e6, 1.0] + [0.0] * 6) == (-250.0, 1.0) + (0.0,) * 6  # a list is checked alike
    for cmd in np.random.default_rng(0).normal(0.0, 300.0, (50, 8)):  # the clamp is np.clip's
        assert gate(cmd) == tuple(np.clip(cmd, ANT.lower, ANT.upper).tolist())


def test_finite_sum_check_and_its_overflow_fallback():
    assert finite((1.0, -2.0)) and finite(())
    assert finite((1e308, 1e308))  # the sum overflows, every value is finite
    assert not finite((1.0, math.nan)) and not finite((math.inf, -math.inf)) and not finite((-math.inf,))


def test_watchdog_per_input():
    wd = Watchdog({"imu": 0.1, "joint_states": 0.5})
    assert wd.stale(0.0) == ["imu", "joint_states"]  # never arrived
    wd.feed("imu", 1.0)
    wd.feed("joint_states", 1.0)
    assert wd.stale(1.05) == []
    assert wd.stale(1.2) == ["imu"]
    assert wd.stale(1.6) == ["imu", "joint_states"]
    assert wd.stale(0.5) == []  # fed after "now" (a clock step back): age 0, not stale
    with pytest.raises(SafetyConfigError, match="imu"):
        Watchdog({"imu": 0.0})


def test_estop_latches_and_soft_start_ramps():
    e = EStop()
    e.engage("test")
    assert e.engaged and e.reason == "test"
    e.release()
    assert not e.engaged
    ramp = SoftStart(2.0)
    assert ramp.fraction(5.0) == 0.0  # not started
    ramp.start(1.0)
    assert ramp.fraction(2.0) == pytest.approx(0.5)
    np.testing.assert_allclose(ramp.blend(2.0, np.zeros(2), np.array([2.0, -4.0])), [1.0, -2.0])
    assert ramp.fraction(10.0) == 1.0


def test_inputs_and_joint_names():
    assert inputs_for({"joint_names", "joint_pos", "base_quat", "foot_contacts"}) == (
        "joint_states",
        "imu",
        "contacts",
    )
    with pytest.raises(SpecMismatchError, match="raw_obs"):
        inputs_for({"raw_obs"})
    check_joint_names(["a", "b"], ["b", "c", "a"])
    with pytest.raises(SpecMismatchError, match=r"\['x'\] are not on the robot"):
        check_joint_names(["a", "x"], ["a", "b"])


def test_sensor_cache_reorders_by_name_and_rejects_nan():
    cache = SensorCache(("a", "b"))
    assert cache.update_joints(["b", "extra", "a"], [2.0, 9.0, 1.0], [])
    np.testing.assert_array_equal(cache.joint_pos, [1.0, 2.0])
    assert not cache.update_joints(["a", "b"], [np.nan, 0.0], [0.0, 0.0])
    assert cache.bad["joint_states"] and cache.rejected["joint_states"] == 1
    np.testing.assert_array_equal(cache.joint_pos, [1.0, 2.0])  # last good values kept
    assert not cache.update_imu([0, 0, 0, 2.0], [0, 0, 0])  # not a unit quaternion
    assert not cache.update_joints(["a"], [0.0], [0.0])  # joint b missing


def test_sensor_cache_differentiates_positions_when_a_joint_state_has_no_velocities():
    cache = SensorCache(("a", "b"))
    assert cache.update_joints(["a", "b"], [1.0, 2.0], [], stamp=10.0)
    assert cache.joint_vel == (0.0, 0.0)  # nothing to difference against yet
    assert cache.update_joints(["b", "a"], [1.0, 1.5], [], stamp=10.5)
    assert cache.joint_vel == pytest.approx((1.0, -2.0))
    assert not cache.update_joints(["a", "b"], [math.nan, 0.0], [], stamp=10.6)  # rejected: not a base
    assert cache.update_joints(["a", "b"], [1.7, 1.0], [], stamp=10.7)
    assert cache.joint_vel == pytest.approx((1.0, 0.0))  # against the last accepted positions (10.5 s)
    assert cache.update_joints(["a", "b"], [2.0, 1.0], [], stamp=10.7)  # time did not advance: zeros
    assert cache.joint_vel == (0.0, 0.0)
    assert cache.update_joints(["a", "b"], [2.0, 1.0], [3.0, 4.0], stamp=10.8)  # given: used as they are
    assert cache.joint_vel == (3.0, 4.0)
    assert cache.update_joints(["a", "b"], [2.2, 1.0], [])  # no stamp: zeros
    assert cache.joint_vel == (0.0, 0.0)


def test_sensor_cache_stores_tuples_and_checks_every_input():
    cache = SensorCache(("a",))  # one joint: its own picker
    assert cache.update_joints(["x", "a"], array.array("d", [9.0, 1.5]), array.array("d", [0.0, -2.0]))
    assert cache.joint_pos == (1.5,) and cache.joint_vel == (-2.0,)
    assert cache.update_joints(["a", "x"], [2.0, math.nan], [])  # NaN on an unused joint; no velocities
    assert cache.joint_pos == (2.0,) and cache.joint_vel == (0.0,)
    assert not cache.update_joints(["a", "x"], [1.0, 0.0], [math.inf, 0.0])
    assert not cache.update_joints(["a", "x"], [1.0, 0.0], [0.0])  # velocities of the wrong length
    assert cache.joint_pos == (2.0,)
    assert cache.update_odom((1e308, 1e308, 0.0), (0.0, 0.0, 0.0))  # huge but finite
    assert not cache.update_odom((0.0, 0.0, math.nan), (0.0, 0.0, 0.0))
    assert not cache.update_odom((0.0, 0.0), (0.0, 0.0, 0.0))
    assert cache.base_pos == (1e308, 1e308, 0.0) and cache.base_lin_vel == (0.0, 0.0, 0.0)
    assert cache.update_imu((0.0, 0.0, 0.6, 0.8), (0.1, 0.2, 0.3))
    assert not cache.update_imu((0.0, 0.0, 0.0, 1.0), (math.inf, -math.inf, 0.0))
    assert cache.base_quat == (0.0, 0.0, 0.6, 0.8) and cache.base_ang_vel == (0.1, 0.2, 0.3)
    assert not cache.update_contacts([]) and not cache.update_contacts([1.0, math.nan])
    assert cache.update_contacts(array.array("d", [1.0, 0.0])) and cache.foot_contacts == (1.0, 0.0)
    assert cache.update_odom(np.array([0.1, 0.0, 0.5], dtype=np.float32), np.zeros(3))
    assert all(type(x) is float for x in cache.base_pos + cache.base_lin_vel)  # arrays: Python floats
    assert cache.rejected == {"joint_states": 2, "imu": 1, "odom": 2, "contacts": 2}
    assert cache.bad == {"joint_states": True, "imu": True, "odom": False, "contacts": False}


def _fed_loop(**cfg) -> ControlLoop:
    loop = ControlLoop(ant_hebbian(3), LoopConfig(**cfg), rs.ANT_CONTROL_PERIOD)
    loop.reset(0)
    s = loop.sensors
    s.update_joints(rs.ANT_JOINTS, [0.0, 1.0, 0.0, -1.0, 0.0, -1.0, 0.0, 1.0], np.full(8, 0.5))
    s.update_imu([0, 0, 0, 1.0], [0, 0, 0])
    s.update_odom([0, 0, 0.6], [0, 0, 0])
    s.update_contacts([1.0, 0, 1.0, 0])
    for k in loop.required:
        loop.watchdog.feed(k, 0.0)
    return loop


def test_control_loop_sequence():
    loop = _fed_loop(soft_start=1.0, safe_kd=1.0, input_timeout=0.25)
    assert loop.required == ("joint_states", "imu", "odom", "contacts")
    r = loop.step(0.0)
    assert r.source == "inactive"
    np.testing.assert_allclose(r.command, -0.5)  # damping: -kd * 0.5 rad/s
    loop.activate()
    first = loop.step(0.0)
    assert first.source == "ramp"
    np.testing.assert_allclose(first.command, -0.5)  # ramp fraction 0: still the safe command
    full = loop.step(0.2)
    assert full.source == "ramp" and not np.allclose(full.command, -0.5)
    assert loop.step(1.2).source == "stale: joint_states, imu, odom, contacts"
    for k in loop.required:
        loop.watchdog.feed(k, 1.2)
    assert loop.step(1.2).source == "ramp"  # back from the safe command: ramps in again
    loop.sensors.update_imu([np.nan, 0, 0, 1], [0, 0, 0])
    held = loop.step(1.25)
    assert held.source == "rejected sensor values: imu"
    np.testing.assert_array_equal(held.command, loop.gate.last)
    loop.estop.engage("test")
    assert loop.step(1.3).source.startswith("estop")


def test_control_loop_adapts_hebbian_weights_and_reset_redraws():
    loop = _fed_loop(soft_start=0.0)
    loop.activate()
    w0 = loop.policy.weight_norms()
    for i in range(5):
        assert loop.step(0.01 * i).source == "policy"
    assert loop.policy.weight_norms() != w0
    loop.reset(0)
    assert loop.policy.weight_norms() == w0


def _feed(loop: ControlLoop, now: float) -> None:
    for k in loop.required:
        loop.watchdog.feed(k, now)


def _bad_imu(loop: ControlLoop) -> None:
    assert not loop.sensors.update_imu([np.nan, 0, 0, 1], [0, 0, 0])


def _good_imu(loop: ControlLoop) -> None:
    assert loop.sensors.update_imu([0, 0, 0, 1.0], [0, 0, 0])


def test_soft_start_begins_when_the_first_active_step_sees_a_rejected_value():
    loop = _fed_loop(soft_start=1.0)
    assert loop.step(0.0).source == "inactive"
    loop.activate()
    _bad_imu(loop)
    assert loop.step(0.0).source == "rejected sensor values: imu"
    _good_imu(loop)
    _feed(loop, 0.5)
    assert loop.step(0.5).source == "ramp"  # the ramp starts here ...
    _feed(loop, 1.0)
    assert loop.step(1.0).source == "ramp"
    _feed(loop, 1.6)
    assert loop.step(1.6).source == "policy"  # ... and ends one soft_start later


def test_soft_start_after_estop_release_even_with_a_rejected_value_between():
    loop = _fed_loop(soft_start=1.0)
    loop.activate()
    for t in (0.0, 0.1, 1.2):
        _feed(loop, t)
        loop.step(t)
    assert loop.last_source == "policy"
    loop.estop.engage("test")
    assert loop.step(1.2).source == "estop: test"
    _bad_imu(loop)
    loop.estop.release()
    assert loop.step(1.2).source == "rejected sensor values: imu"
    _good_imu(loop)
    back = loop.step(1.25)
    assert back.source == "ramp"  # not straight to the full policy command
    np.testing.assert_allclose(back.command, loop.gate(loop.safe_command()))  # ramp fraction 0


def test_non_finite_policy_holds_then_sends_the_safe_command():
    loop = _fed_loop(soft_start=0.5, input_timeout=0.25, safe_kd=1.0)
    loop.activate()
    _feed(loop, 1.0)
    assert loop.step(0.0).source == "ramp" and loop.step(1.0).source == "policy"
    driving = loop.gate.last
    act = loop.policy.act
    loop.policy.act = lambda obs, **kw: np.full(8, np.nan)
    for t in (1.0, 1.1, 1.2):
        _feed(loop, t)
        held = loop.step(t)
        assert held.source == "non-finite policy action" and held.command == driving
    _feed(loop, 1.3)
    safe = loop.step(1.3)  # 0.3 s > input_timeout of NaN actions
    assert safe.source == "non-finite policy action for > 0.25 s: safe command"
    np.testing.assert_allclose(safe.command, -0.5)  # damping: -kd * 0.5 rad/s
    loop.policy.act = act
    _feed(loop, 1.35)
    assert loop.step(1.35).source == "ramp"  # and the policy ramps in again
    assert loop.step(1.4).source == "ramp"
    loop.policy.act = lambda obs, **kw: np.full(8, np.inf)
    assert loop.step(1.45).source == "non-finite policy action"  # a new failure: held again first


def test_policy_or_observation_errors_give_the_safe_command_at_once():
    loop = _fed_loop(soft_start=0.0)
    loop.activate()
    assert loop.step(0.0).source == "policy"

    def broken(obs, **kw):
        raise RuntimeError("boom")

    loop.policy.act = broken
    r = loop.step(0.01)
    assert r.source == f"{POLICY_ERROR}: RuntimeError: boom"
    np.testing.assert_allclose(r.command, -0.5)
    assert loop.sensors.update_contacts([1.0, 0.0])  # two feet on a policy that reads four
    r = loop.step(0.02)
    assert r.source.startswith(f"{POLICY_ERROR}: PolicySpecError: observation term 'foot_contacts'")
    np.testing.assert_allclose(r.command, -0.5)


def test_check_policy_finds_a_sensor_size_mismatch_before_the_first_tick():
    loop = ControlLoop(ant_hebbian(3), LoopConfig(), rs.ANT_CONTROL_PERIOD)
    assert not loop.check_policy()  # nothing to build an observation from yet: not checked
    loop = _fed_loop()
    assert loop.check_policy()
    loop.sensors.update_contacts([1.0, 0.0])
    with pytest.raises(PolicySpecError, match="'foot_contacts' produced 2 values but the spec says 4"):
        loop.check_policy()


def test_loop_uses_the_estop_it_is_given():
    estop = EStop()
    estop.engage("kept")
    loop = ControlLoop(ant_hebbian(3), LoopConfig(), rs.ANT_CONTROL_PERIOD, estop)
    loop.activate()
    assert loop.step(0.0).source == "estop: kept"


def _a1_loop() -> ControlLoop:
    layers = (rs.a1_observation_spec().size, 8, len(rs.A1_JOINTS))
    spec = PolicySpec("hebbian", rs.a1_observation_spec(), A1, 0.02, Provenance(task="test", seed=0))
    rules = np.random.default_rng(0).normal(0.0, 0.1, hebbian_param_count(layers))
    return ControlLoop(HebbianPolicy.from_flat(rules, layers, spec), LoopConfig(safe_mode="hold"), 0.02)


def test_safe_command_without_a_good_joint_state_is_the_nominal_pose():
    loop = _a1_loop()
    assert loop.sensors.joint_pos is None and loop.sensors.joint_vel is None
    assert not loop.sensors.update_joints(rs.A1_JOINTS, np.full(12, np.nan), np.zeros(12))
    assert loop.sensors.joint_pos is None  # a rejected message makes up no positions
    np.testing.assert_allclose(loop.step(0.0).command, A1.offset)  # not clip(0): the default pose
    pose = np.array(rs.A1_DEFAULT_POSE) + 0.1
    assert loop.sensors.update_joints(rs.A1_JOINTS, pose, np.zeros(12))
    np.testing.assert_allclose(loop.step(0.1).command, np.clip(pose, A1.lower, A1.upper))  # hold here
