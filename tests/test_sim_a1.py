"""The A1: specs match the URDF, PD standing, shortened calf where it claims, check_env."""

import xml.etree.ElementTree as ET
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pybullet as pb
import pytest
from gymnasium.utils.env_checker import check_env

import wann_ros.sim  # noqa: F401  (registers the envs)
from wann_ros.nodes.control_loop import ControlLoop, LoopConfig
from wann_ros.sim import robot_specs as rs
from wann_ros.sim.envs import A1Env
from wann_ros.sim.models import a1_model, ant_model, pybullet_data_path
from wann_ros.sim.world import QuadrupedWorld


def test_specs_match_the_shipped_models():
    root = ET.parse(pybullet_data_path() / "a1" / "a1.urdf").getroot()
    for i, name in enumerate(rs.A1_JOINTS):
        limit = root.find(f"joint[@name='{name}']/limit")
        assert float(limit.get("lower")) == rs.A1_LOWER[i] and float(limit.get("upper")) == rs.A1_UPPER[i]
        assert float(limit.get("effort")) == rs.A1_EFFORT[i]
    act = rs.a1_action_spec()
    assert act.mode == "position" and act.joint_names == rs.A1_JOINTS
    assert np.all(act.to_command(np.full(12, 5.0)) <= act.upper) and np.all(
        act.to_command(-np.ones(12)) >= act.lower
    )
    c = pb.connect(pb.DIRECT)
    body = pb.loadMJCF(str(ant_model()), physicsClientId=c)[0]
    info = {
        pb.getJointInfo(body, j, physicsClientId=c)[1].decode(): pb.getJointInfo(body, j, physicsClientId=c)
        for j in range(pb.getNumJoints(body, physicsClientId=c))
    }
    pb.disconnect(c)
    assert [info[n][8] for n in rs.ANT_JOINTS] == list(rs.ANT_LOWER)
    assert [info[n][9] for n in rs.ANT_JOINTS] == list(rs.ANT_UPPER)
    ant = rs.ant_action_spec()
    assert ant.mode == "effort" and np.all(ant.scale == 250) and np.all(ant.upper == 250)


def test_pd_control_holds_the_default_pose_standing():
    world = QuadrupedWorld("a1")
    world.reset(0)
    for _ in range(100):
        world.step(np.array(rs.A1_DEFAULT_POSE))
    truth = world.ground_truth()
    assert 0.22 < truth.base_pos[2] < 0.3 and np.all(truth.foot_contacts == 1)
    np.testing.assert_allclose(world.robot_state().joint_pos, rs.A1_DEFAULT_POSE, atol=0.1)
    world.close()


def test_shortened_calf_is_the_leg_it_claims():
    path = a1_model((("front_right", 0.25),))
    world = QuadrupedWorld("a1", damage="right_front")
    world.reset(0)
    c = {"physicsClientId": world._client}
    for leg, toe in zip(rs.A1_LEGS, rs.A1_FEET, strict=True):
        knee = world._jidx[rs.A1_JOINTS.index(f"{leg}_lower_joint")]
        toe_link = world._foot_idx[rs.A1_FEET.index(toe)]
        knee_pos = np.array(pb.getLinkState(world._body, knee, **c)[4])
        toe_pos = np.array(pb.getLinkState(world._body, toe_link, **c)[4])
        base = np.array(pb.getBasePositionAndOrientation(world._body, **c)[0])
        expected = 0.05 if leg == "FR" else 0.2
        assert np.linalg.norm(toe_pos - knee_pos) == pytest.approx(expected, abs=1e-6)
        if leg == "FR":
            assert toe_pos[0] > base[0] and toe_pos[1] < base[1]  # front (+x), right (-y)
    assert "meshes" in path.read_text() and str(pybullet_data_path()) in path.read_text()


def test_a1_env_check_env_and_proprioceptive_obs():
    env = gym.make("wann_ros/A1-v0", max_steps=20)
    check_env(env.unwrapped)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (42,)
    np.testing.assert_allclose(obs[:3], [0, 0, -1], atol=0.05)  # gravity in the base frame, standing
    a = np.full(12, 0.3, dtype=np.float32)
    obs, reward, _terminated, _truncated, info = env.step(a)
    np.testing.assert_allclose(obs[-12:], a)  # previous action
    assert "metres" in info["distance"] and np.isfinite(reward)
    env.close()


class _Constant:
    """A policy that always answers ``action`` and keeps the observations it was given."""

    def __init__(self, action: np.ndarray, gait_clock_hz: float | None = None) -> None:
        observation = rs.a1_observation_spec(gait_clock_hz)
        self.spec = SimpleNamespace(observation=observation, action=rs.a1_action_spec())
        self.action = action
        self.seen: list[np.ndarray] = []

    def reset(self, seed: int | None = None) -> None:
        self.seen = []

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.seen.append(obs.copy())
        return self.action


@pytest.mark.parametrize("clock", [None, 3.0])
def test_env_and_controller_observe_the_same_previous_action_and_clock(clock):
    action = np.full(12, 2.0)  # outside [-1, 1]: the command uses 1.0, so the observation says 1.0
    env = A1Env(gait_clock_hz=clock)
    env.reset(seed=0)
    env_obs = env.step(action)[0]
    policy = _Constant(action, clock)
    loop = ControlLoop(policy, LoopConfig(soft_start=0.0), rs.A1_CONTROL_PERIOD)
    loop.reset(0)
    loop.activate()
    state = env.world.robot_state()
    loop.sensors.update_joints(state.joint_names, state.joint_pos, state.joint_vel)
    loop.sensors.update_imu(state.base_quat, state.base_ang_vel)
    for name in loop.required:
        loop.watchdog.feed(name, 0.0)
    for _ in range(2):
        assert loop.step(0.0).source == "policy"
    prev = slice(-14, -2) if clock else slice(-12, None)
    np.testing.assert_array_equal(env_obs[prev], np.ones(12))
    np.testing.assert_array_equal(policy.seen[1], env_obs)  # same state, previous action and clock
    if clock:  # one policy step of 0.02 s at 3 Hz
        np.testing.assert_allclose(env_obs[-2:], np.float32([np.sin(0.12 * np.pi), np.cos(0.12 * np.pi)]))
        loop.reset(0)  # a new episode restarts the clock
        loop.step(0.0)
        np.testing.assert_array_equal(policy.seen[0][-2:], [0.0, 1.0])


def test_a1_episode_ends_on_a_non_finite_observation(monkeypatch):
    env = A1Env(max_steps=20)
    env.reset(seed=0)
    c = {"physicsClientId": env.world._client}
    pb.resetJointState(env.world._body, env.world._jidx[0], np.nan, 0.0, **c)
    monkeypatch.setattr(env.world, "step", lambda command, action: env.world._read())  # no physics
    obs, _, terminated, truncated, info = env.step(np.zeros(12))
    assert not np.all(np.isfinite(obs)) and terminated and info["fallen"] and not truncated


def test_standing_earns_the_alive_bonus_and_a_fall_does_not():
    env = A1Env(max_steps=50)
    env.reset(seed=0)
    rewards = [env.step(np.zeros(12))[1] for _ in range(50)]  # the default pose: stands still
    assert sum(rewards) == pytest.approx(50 * 0.002, abs=0.02)
    assert A1Env(alive_bonus=0.0).alive_bonus == 0.0
    with pytest.raises(ValueError, match="alive_bonus"):
        A1Env(alive_bonus=-1.0)
    env.reset(seed=0)
    c = {"physicsClientId": env.world._client}
    pb.resetBasePositionAndOrientation(env.world._body, [0, 0, 0.1], [1, 0, 0, 0], **c)  # upside down
    _, reward, terminated, _, info = env.step(np.zeros(12))
    assert terminated and info["fallen"] and reward < 0.002 / 2
    env.close()
