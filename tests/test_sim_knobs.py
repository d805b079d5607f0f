"""Sim-to-real knobs (seeded, off by default), damage parsing, BipedalWalker, rollout recording."""

import gymnasium as gym
import numpy as np
import pybullet as pb
import pytest
from gymnasium.utils.env_checker import check_env

import wann_ros.sim  # noqa: F401  (registers the envs)
from wann_ros.sim.damage import MORPHOLOGIES, Damage, DamageError, parse_damage
from wann_ros.sim.envs import A1Env, AntDamageEnv, CartPoleSwingUpEnv
from wann_ros.sim.knobs import SimKnobs
from wann_ros.sim.observation import quat_to_rpy
from wann_ros.sim.render import plot_swingup_trajectory, record_rollout
from wann_ros.sim.world import QuadrupedWorld


def _trace(env, seed, steps=15):
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for k in range(steps):
        out.append(env.step(np.full(env.action_space.shape, 0.5 * np.sin(k), dtype=np.float32))[0])
    return np.array(out)


def test_knobs_off_by_default_equal_no_knobs():
    plain = _trace(AntDamageEnv(burn_in=3, early_stop=False), 5)
    knobs = _trace(AntDamageEnv(burn_in=3, early_stop=False, knobs=SimKnobs()), 5)
    np.testing.assert_array_equal(plain, knobs)


def test_randomisation_is_seeded_and_changes_the_episode():
    k = SimKnobs(
        ground_friction=(0.4, 1.2),
        mass_scale=(0.8, 1.2),
        motor_strength=(0.7, 1.0),
        joint_pos_noise=0.01,
        joint_vel_noise=0.1,
        imu_noise=0.02,
        push_force=50.0,
        push_interval=5,
    )
    env = A1Env(knobs=k, max_steps=100)
    a, b, c = _trace(env, 1), _trace(env, 1), _trace(env, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a, _trace(A1Env(max_steps=100), 1))


def test_latency_delays_commands_by_whole_steps():
    env = A1Env(knobs=SimKnobs(latency_steps=2))
    env.reset(seed=0)
    pose = [np.array(env.world.robot_state().joint_pos)]
    for k in range(4):
        env.step(np.ones(12, dtype=np.float32) if k == 0 else np.zeros(12, dtype=np.float32))
        pose.append(np.array(env.world.robot_state().joint_pos))
    moved = [np.abs(pose[i + 1] - pose[i]).max() for i in range(4)]
    assert moved[0] < 0.05 and moved[1] < 0.05 and moved[2] > 0.1  # the push of step 0 acts at step 2


def test_latency_keeps_its_own_copy_of_each_command():
    def poses(reuse: bool) -> np.ndarray:
        world = QuadrupedWorld("a1", knobs=SimKnobs(latency_steps=2))
        world.reset(0)
        buffer = np.zeros(12)
        out = []
        for k in range(6):
            target = np.array(world.config.neutral_command) + 0.1 * (k - 3)  # a new target each step
            command = buffer if reuse else np.empty(12)
            command[:] = target  # a caller refilling one array each step
            world.step(command)
            out.append(world.robot_state().joint_pos)
        return np.array(out)

    np.testing.assert_array_equal(poses(reuse=True), poses(reuse=False))


def test_mass_scale_scales_the_urdf_inertia_instead_of_replacing_it():
    def dynamics(world) -> list[tuple[float, np.ndarray]]:
        c = {"physicsClientId": world._client}
        links = range(-1, pb.getNumJoints(world._body, **c))
        return [
            (info[0], np.array(info[2])) for info in (pb.getDynamicsInfo(world._body, i, **c) for i in links)
        ]

    plain = QuadrupedWorld("a1")
    heavy = QuadrupedWorld("a1", knobs=SimKnobs(mass_scale=(1.5, 1.5)))
    heavy.reset(0)
    for (m, inertia), (m_scaled, inertia_scaled) in zip(dynamics(plain), dynamics(heavy), strict=True):
        assert m_scaled == pytest.approx(1.5 * m, rel=1e-12)
        np.testing.assert_allclose(inertia_scaled, 1.5 * inertia, rtol=1e-12)


def test_a_latency_range_is_drawn_per_episode_from_the_seed():
    env = A1Env(knobs=SimKnobs(latency_steps=[0, 2]))
    drawn = {}
    for seed in range(12):
        env.reset(seed=seed)
        drawn[seed] = env.world.latency_steps
    assert set(drawn.values()) == {0, 1, 2}
    env.reset(seed=5)
    assert env.world.latency_steps == drawn[5]
    assert SimKnobs(latency_steps=(1, 1)).latency_steps == 1  # equal ends: a fixed latency
    assert SimKnobs(latency_steps=3).latency_range == (3, 3)
    env.close()


def test_gravity_tilt_is_drawn_per_episode_and_the_robot_slides_downhill():
    def gravity(env) -> np.ndarray:
        p = pb.getPhysicsEngineParameters(physicsClientId=env.world._client)
        return np.array([p[f"gravityAcceleration{a}"] for a in "XYZ"])

    env = AntDamageEnv(knobs=SimKnobs(gravity_tilt=0.25), burn_in=0, early_stop=False)
    leans = []
    for seed in (0, 1, 1):
        env.reset(seed=seed)
        g = gravity(env)
        assert np.linalg.norm(g) == pytest.approx(9.8) and np.arccos(-g[2] / 9.8) <= 0.25
        start = np.array(env.world.centroid_xy)
        for _ in range(60):
            env.step(np.zeros(8, dtype=np.float32))
        slide = np.array(env.world.centroid_xy) - start
        assert slide @ g[:2] / (np.linalg.norm(slide) * np.linalg.norm(g[:2])) > 0.95  # downhill
        leans.append(g)
    np.testing.assert_array_equal(leans[1], leans[2])  # same seed, same slope
    assert not np.allclose(leans[0], leans[1])
    env.close()
    fixed = AntDamageEnv(knobs=SimKnobs(gravity_tilt=(0.2, 0.2), gravity_heading=(np.pi / 2, np.pi / 2)))
    fixed.reset(seed=3)
    np.testing.assert_allclose(gravity(fixed), [0.0, 9.8 * np.sin(0.2), -9.8 * np.cos(0.2)], atol=1e-9)
    assert (
        SimKnobs(gravity_tilt=0.3).gravity_tilt == (0.0, 0.3)
        and SimKnobs(gravity_tilt=0).gravity_tilt is None
    )
    fixed.close()


def test_spawn_yaw_turns_the_start_and_the_observation_sees_it():
    def start(env, seed):
        obs, _ = env.reset(seed=seed)
        yaw = quat_to_rpy(env.world.robot_state().base_quat)[2]
        return yaw, np.arctan2(obs[1], obs[2])  # Ant obs[1:3]: sin, cos of the angle to the target

    straight = AntDamageEnv(burn_in=0)
    yaw0, angle0 = start(straight, 4)
    turned = AntDamageEnv(knobs=SimKnobs(spawn_yaw=(0.6, 0.6)), burn_in=0)
    yaw, angle = start(turned, 4)
    assert abs(yaw0) < 1e-6 and yaw == pytest.approx(0.6, abs=1e-6)
    assert angle - angle0 == pytest.approx(-0.6, abs=0.02)  # the target now lies 0.6 rad to the right
    drawn = AntDamageEnv(knobs=SimKnobs(spawn_yaw=0.5), burn_in=0)
    yaws = [start(drawn, seed)[0] for seed in (0, 1, 1)]
    assert all(-0.5 <= y <= 0.5 for y in yaws) and yaws[1] == yaws[2] and yaws[0] != yaws[1]
    assert SimKnobs(spawn_yaw=0.5).spawn_yaw == (-0.5, 0.5) and SimKnobs(spawn_yaw=0).spawn_yaw is None
    for env in (straight, turned, drawn):
        env.close()


def test_spawn_joint_noise_widens_the_start_pose_and_tilts_the_rest():
    def start(knobs, seed):
        env = AntDamageEnv(knobs=knobs, burn_in=0)
        env.reset(seed=seed)
        q = np.array(env.world.robot_state().joint_pos)
        env.close()
        return q

    usual = np.array([start(None, s) for s in range(4)])
    wide = np.array([start(SimKnobs(spawn_joint_noise=1.0), s) for s in range(4)])
    assert np.abs(usual).max() <= 0.1 + 1e-9 and 0.5 < np.abs(wide).max() <= 1.0 + 1e-9
    np.testing.assert_allclose(wide, 10 * usual, atol=1e-9)  # the same seeded draws, ten times as wide

    def rest_tilt(knobs, seed):  # after the 40 zero-action steps: how far from level the torso rests
        env = AntDamageEnv(knobs=knobs)
        env.reset(seed=seed)
        roll, pitch, _ = quat_to_rpy(env.world.robot_state().base_quat)
        env.close()
        return max(abs(roll), abs(pitch))

    assert max(rest_tilt(SimKnobs(spawn_joint_noise=1.0), s) for s in range(4)) > 2 * max(
        rest_tilt(None, s) for s in range(4)
    )


@pytest.mark.parametrize(
    "bad",
    [
        dict(ground_friction=(1.0, 0.5)),
        dict(latency_steps=-1),
        dict(latency_steps=(2, 1)),
        dict(latency_steps=(0, 1.5)),
        dict(latency_steps=(0, 1, 2)),
        dict(latency_steps=(0, 101)),
        dict(latency_steps=True),
        dict(imu_noise=float("nan")),
        dict(push_interval=0),
        dict(mass_scale=(1.0,)),
        dict(mass_scale=(0.0, 0.0)),
        dict(mass_scale=(0.0, 1.0)),
        dict(gravity_tilt=2.0),
        dict(gravity_tilt=(-0.1, 0.1)),
        dict(gravity_heading=(0.0, 1.0)),
        dict(spawn_yaw=(-4.0, 0.0)),
        dict(spawn_joint_noise=-0.1),
    ],
)
def test_bad_knobs_are_refused(bad):
    with pytest.raises(ValueError, match="SimKnobs"):
        SimKnobs(**bad)


def test_damage_text_form():
    d = parse_damage("right_front, lock:hip_1, weak:ankle_2=0.3, fail:hip_3")
    assert d == Damage({"front_right": 0.25}, ("hip_1",), {"ankle_2": 0.3, "hip_3": 0.0})
    assert parse_damage("standard") == Damage() == parse_damage(None)
    assert MORPHOLOGIES["left_front"].shortened == (("front_left", 0.25),)
    for bad, msg in (
        ("shorten:front_left=2", r"\(0, 1\]"),
        ("bogus", "cannot read"),
        ("weak:hip_1=x", "number"),
        ("shorten:tail=0.5", "unknown leg"),
        ({"locked": "hip_1"}, "list of joint names"),
    ):
        with pytest.raises(DamageError, match=msg):
            parse_damage(bad)


def test_bipedal_walker_from_gymnasium_passes_check_env():
    env = gym.make("BipedalWalker-v3")
    check_env(env.unwrapped)
    assert env.observation_space.shape == (24,) and env.action_space.shape == (4,)
    env.close()


def test_record_rollout_png_strip_and_gif(tmp_path):
    env = AntDamageEnv(burn_in=0, early_stop=False, render_mode="rgb_array")
    strip = record_rollout(env, tmp_path / "ant.png", steps=4, every=2)
    import imageio.v2 as imageio

    img = imageio.imread(strip)
    assert img.shape == (120, 160 * 3, 3) and img.std() > 5  # three frames, not blank
    gif = record_rollout(CartPoleSwingUpEnv(render_mode="rgb_array"), tmp_path / "swing.gif", steps=3)
    assert gif.stat().st_size > 1000
    with pytest.raises(ValueError, match="rgb_array"):
        record_rollout(AntDamageEnv(), tmp_path / "x.gif")
    fig = plot_swingup_trajectory(np.tile([0.0, 0.0, np.pi, 0.0], (10, 1)), tmp_path / "traj.png")
    assert fig.stat().st_size > 1000
