"""The shared observation builder: equal to AntBulletEnv's formula, term registry, errors, no pybullet."""

import math
import subprocess
import sys

import numpy as np
import pybullet as pb
import pytest

from wann_ros.policies.spec import ObservationSpec, ObsTerm, PolicySpecError
from wann_ros.sim import robot_specs as rs
from wann_ros.sim.envs import AntDamageEnv
from wann_ros.sim.observation import (
    TERMS,
    RobotState,
    build_observation,
    compile_observation,
    quat_to_matrix,
    quat_to_rpy,
    required_inputs,
)


def antbulletenv_formula(world) -> np.ndarray:
    """AntBulletEnv-v0's calc_state from raw pybullet calls (pybullet_envs/robot_locomotors.py)."""
    c, body = world._client, world._body
    kw = {"physicsClientId": c}
    n_links = pb.getNumJoints(body, **kw)
    xs, ys = (
        [pb.getBasePositionAndOrientation(body, **kw)[0][0]],
        [pb.getBasePositionAndOrientation(body, **kw)[0][1]],
    )
    for link in range(n_links):
        pos = pb.getLinkState(body, link, **kw)[0]
        xs.append(pos[0])
        ys.append(pos[1])
    xs.append(0.0)  # the floor part, at the origin
    ys.append(0.0)
    body_x, body_y = np.mean(xs), np.mean(ys)
    torso, quat = pb.getBasePositionAndOrientation(body, **kw)
    r, p, yaw = pb.getEulerFromQuaternion(quat)
    angle = np.arctan2(0 - body_y, 1000 - body_x) - yaw
    rot = np.array([[np.cos(-yaw), -np.sin(-yaw), 0], [np.sin(-yaw), np.cos(-yaw), 0], [0, 0, 1]])
    vx, vy, vz = rot @ np.array(pb.getBaseVelocity(body, **kw)[0])
    more = [torso[2] - 0.75, np.sin(angle), np.cos(angle), 0.3 * vx, 0.3 * vy, 0.3 * vz, r, p]
    joints = []
    for name in rs.ANT_JOINTS:
        j = next(i for i in range(n_links) if pb.getJointInfo(body, i, **kw)[1].decode() == name)
        info = pb.getJointInfo(body, j, **kw)
        pos, vel = pb.getJointState(body, j, **kw)[:2]
        mid = 0.5 * (info[8] + info[9])
        joints += [2 * (pos - mid) / (info[9] - info[8]), 0.1 * vel]
    return np.clip(np.concatenate([more, joints, world._contacts_obs]), -5, 5)


def test_ant_observation_equals_antbulletenv_formula():
    env = AntDamageEnv(burn_in=0, early_stop=False)
    obs, _ = env.reset(seed=4)
    rng = np.random.default_rng(4)
    checked = 0
    for t in range(60):
        obs, *_ = env.step(rng.uniform(-1, 1, 8))
        if t % 15 == 14:
            expected = antbulletenv_formula(env.world)
            np.testing.assert_allclose(obs, expected, rtol=1e-6, atol=1e-6)
            checked += 1
    assert checked == 4
    assert np.any(obs[24:] > 0)  # some foot touches: the contact block is really exercised
    env.close()


def test_quaternion_helpers_match_pybullet():
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        np.testing.assert_allclose(quat_to_rpy(q), pb.getEulerFromQuaternion(q), atol=1e-9)
        np.testing.assert_allclose(quat_to_matrix(q).ravel(), pb.getMatrixFromQuaternion(q), atol=1e-9)


def _state(**kw):
    base = dict(
        joint_names=("b", "a"),
        joint_pos=np.array([0.2, -0.4]),
        joint_vel=np.array([1.0, 2.0]),
        base_quat=np.array([0.0, 0.0, 0.0, 1.0]),
        base_ang_vel=np.array([0.1, 0.2, 0.3]),
    )
    base.update(kw)
    return RobotState(**base)


def test_joint_terms_match_by_name_not_index():
    spec = ObservationSpec(
        (
            ObsTerm("joint_pos", 2, {"joints": ["a", "b"], "offset": [1.0, 0.0], "scale": 2.0}),
            ObsTerm("joint_vel", 2, {"joints": ["a", "b"], "scale": 0.5}),
        )
    )
    np.testing.assert_allclose(build_observation(spec, _state()), [2 * (-0.4 - 1.0), 0.4, 1.0, 0.5])


def test_a1_terms_gravity_gyro_prev_action():
    spec = ObservationSpec(
        (
            ObsTerm("gravity_body", 3),
            ObsTerm("base_ang_vel", 3, {"scale": 2.0}),
            ObsTerm("prev_action", 2),
            ObsTerm("roll_pitch", 2),
        )
    )
    half = math.sqrt(0.5)  # 90 degrees of roll about x: gravity points along -y of the base... check sign
    tilted = _state(base_quat=np.array([half, 0.0, 0.0, half]), prev_action=np.array([0.5, -0.5]))
    obs = build_observation(spec, tilted)
    np.testing.assert_allclose(obs[:3], [0.0, -1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(obs[3:6], [0.2, 0.4, 0.6])
    np.testing.assert_allclose(obs[6:8], [0.5, -0.5])
    np.testing.assert_allclose(obs[8:], [math.pi / 2, 0.0], atol=1e-12)
    assert np.all(build_observation(spec, _state())[6:8] == 0)  # no previous action yet: zeros


def test_gait_clock_is_a_phase_of_the_policy_clock():
    spec = rs.a1_observation_spec(gait_clock_hz=2.0)
    assert spec.size == rs.a1_observation_spec().size + 2
    assert rs.gait_clock_hz(spec) == 2.0 and rs.gait_clock_hz(rs.a1_observation_spec()) is None
    clock = ObservationSpec((ObsTerm("gait_clock", 2, {"frequency_hz": 2.0}),))
    np.testing.assert_allclose(build_observation(clock, _state(clock=0.0)), [0.0, 1.0])
    np.testing.assert_allclose(build_observation(clock, _state(clock=0.125)), [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(build_observation(clock, _state(clock=0.5)), [0.0, 1.0], atol=1e-12)
    assert required_inputs(clock) == {"joint_names"}  # the controller keeps the clock, no sensor gives it


def test_required_inputs_and_clip():
    assert required_inputs(rs.ant_observation_spec()) == {
        "joint_names",
        "joint_pos",
        "joint_vel",
        "base_pos",
        "base_quat",
        "base_lin_vel",
        "foot_contacts",
    }
    assert "base_lin_vel" not in required_inputs(rs.a1_observation_spec())  # proprioception only
    spec = ObservationSpec((ObsTerm("joint_vel", 2, {"scale": 10.0, "clip": 5.0}),))
    np.testing.assert_allclose(build_observation(spec, _state()), [5.0, 5.0])


@pytest.mark.parametrize(
    ("term", "state", "message"),
    [
        (ObsTerm("no_such_term", 3), _state(), "unknown observation term"),
        (ObsTerm("walker_body", 8, {"initial_z": 0.75}), _state(), "missing params"),
        (ObsTerm("gravity_body", 4), _state(), "expected 3"),
        (ObsTerm("joint_pos", 1, {"joints": ["zz"]}), _state(), "no joint"),
        (ObsTerm("foot_contacts", 4), _state(), "RobotState.foot_contacts"),
        (ObsTerm("foot_contacts", 3), _state(foot_contacts=np.ones(4)), "produced 4 values"),
        (
            ObsTerm("joint_pos_vel_interleaved", 4, {"lower": [0, 1], "upper": [1, 0]}),
            _state(),
            "upper > lower",
        ),
        (ObsTerm("gait_clock", 2, {"frequency_hz": 2.0}), _state(), "RobotState.clock"),
        (ObsTerm("gait_clock", 2, {"frequency_hz": 0.0}), _state(clock=0.0), "frequency_hz must be"),
        (ObsTerm("gait_clock", 2, {"frequency_hz": "2"}), _state(clock=0.0), "frequency_hz must be"),
        (ObsTerm("gait_clock", 3, {"frequency_hz": 2.0}), _state(clock=0.0), "expected 2"),
    ],
)
def test_bad_specs_and_states_are_refused_by_name(term, state, message):
    with pytest.raises(PolicySpecError, match=message):
        build_observation(ObservationSpec((term,)), state)


def test_every_term_is_documented_and_compiled_builder_agrees():
    assert all(d.doc for d in TERMS.values())
    spec = rs.a1_observation_spec()
    state = RobotState(
        rs.A1_JOINTS,
        np.linspace(-1, 1, 12),
        np.linspace(2, 3, 12),
        base_quat=np.array([0, 0, 0.3, 1.0]),
        base_ang_vel=np.ones(3),
        prev_action=np.full(12, 0.1),
    )
    np.testing.assert_array_equal(compile_observation(spec)(state), build_observation(spec, state))


def test_observation_module_imports_without_pybullet_or_gymnasium():
    code = (
        "import sys; sys.modules['pybullet'] = None; sys.modules['gymnasium'] = None\n"
        "import wann_ros.sim.observation, wann_ros.sim.robot_specs\n"
        "print(sorted(m for m in ('pybullet', 'gymnasium') if sys.modules.get(m)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
