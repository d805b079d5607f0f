"""The Ant world and env: check_env, determinism, damaged legs, mid-episode damage, early stop."""

import gymnasium as gym
import numpy as np
import pybullet as pb
import pytest
from gymnasium.utils.env_checker import check_env

import wann_ros.sim  # noqa: F401  (registers the envs)
from wann_ros.sim.damage import Damage, DamageError
from wann_ros.sim.envs import A1Env, AntDamageEnv
from wann_ros.sim.models import ANT_FOOT_BODY, ant_model
from wann_ros.sim.world import QuadrupedWorld


def _foot_extents(world) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per semantic leg: (AABB centre relative to the torso, how far the foot reaches beyond its ankle)."""
    c = {"physicsClientId": world._client}
    torso = np.array(pb.getBasePositionAndOrientation(world._body, **c)[0])
    out = {}
    for leg, body_name in ANT_FOOT_BODY.items():
        link = world._foot_idx[world.foot_names.index(body_name)]
        lo, hi = (np.array(v) for v in pb.getAABB(world._body, link, **c))
        ankle = np.array(pb.getLinkState(world._body, link, **c)[4])
        centre = (lo + hi) / 2 - torso
        far = np.where(centre[:2] > 0, hi[:2], lo[:2])  # the corner away from the torso
        out[leg] = (centre, np.abs(far - ankle[:2]))
    return out


@pytest.mark.parametrize(
    ("morphology", "leg", "sign_xy"),
    [("right_front", "front_right", (1, -1)), ("left_front", "front_left", (1, 1))],
)
def test_damaged_leg_is_shorter_and_is_the_leg_it_claims(morphology, leg, sign_xy):
    intact = _foot_extents(_reset(QuadrupedWorld("ant")))
    damaged = _foot_extents(_reset(QuadrupedWorld("ant", damage=morphology)))
    for name in ANT_FOOT_BODY:
        if name == leg:
            # the capsule shrank from 0.4 to 0.1 along each of x and y
            np.testing.assert_allclose(intact[name][1] - damaged[name][1], 0.3, atol=0.02)
            assert np.all(np.sign(damaged[name][0][:2]) == sign_xy)  # +x is front, +y is left
        else:
            np.testing.assert_allclose(intact[name][1], damaged[name][1], atol=1e-9)


def _reset(world):
    world.reset(0)
    return world


def test_generated_model_is_cached_and_generalises():
    path = ant_model((("back_left", 0.5),))
    assert path == ant_model((("back_left", 0.5),)) and path.exists()
    assert "-0.2 0.2 0.0" in path.read_text()  # front_right_foot (at -x, +y) goes from 0.4 to 0.2
    with pytest.raises(DamageError, match="unknown leg"):
        ant_model((("middle", 0.5),))


def test_check_env_and_registry():
    env = gym.make("wann_ros/AntDamage-v0", morphology="left_front", burn_in=2)
    check_env(env.unwrapped)
    assert env.observation_space.shape == (28,) and env.action_space.shape == (8,)
    env.close()
    with pytest.raises(ValueError, match="unknown morphology"):
        AntDamageEnv(morphology="three_legged")


def _rollout(env, seed, steps):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    trace = [obs]
    for _ in range(steps):
        obs, reward, *_ = env.step(rng.uniform(-1, 1, 8))
        trace.append(np.append(obs, reward))
    return trace


def test_same_seed_same_trajectory_and_env_reuse():
    env = AntDamageEnv(burn_in=5, early_stop=False)
    a = _rollout(env, 11, 40)
    _rollout(env, 12, 20)  # another episode in between: reset must not leak state
    b = _rollout(env, 11, 40)
    other = AntDamageEnv(burn_in=5, early_stop=False)
    c = _rollout(other, 11, 40)
    for x, y, z in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, z)
    assert not np.array_equal(_rollout(env, 13, 5)[0], a[0])


def test_burn_in_counts_towards_the_episode_and_distance_is_reported():
    env = AntDamageEnv(burn_in=40, max_steps=50, early_stop=False)
    _, info = env.reset(seed=0)
    assert info["steps"] == 40 and info["distance"] == {"paper_units": 0.0, "metres": 0.0}
    total, n, truncated = 0.0, 0, False
    while not truncated:
        _, reward, _terminated, truncated, info = env.step(np.full(8, 0.3))
        total += reward
        n += 1
    assert n == 10 and info["steps"] == 50
    assert info["distance"]["paper_units"] == pytest.approx(total)
    assert info["distance"]["metres"] != 0.0


def test_mid_episode_damage_keeps_the_episode_going():
    env = AntDamageEnv(burn_in=5, early_stop=False)
    env.reset(seed=2)
    rng = np.random.default_rng(2)
    for _ in range(30):
        _, _, _, _, before = env.step(rng.uniform(-1, 1, 8))
    pos = env.world.ground_truth().base_pos
    q = env.world.robot_state().joint_pos
    assert env.apply_damage("right_front") is True
    np.testing.assert_allclose(env.world.ground_truth().base_pos, pos, atol=1e-12)  # copied pose
    np.testing.assert_allclose(env.world.robot_state().joint_pos, q, atol=1e-12)  # copied joints
    _obs, reward, _terminated, _truncated, after = env.step(rng.uniform(-1, 1, 8))
    assert after["steps"] == before["steps"] + 1 and env.world.step_count == 36
    assert abs(reward) < 5 and abs(after["distance"]["paper_units"] - before["distance"]["paper_units"]) < 5
    assert env.world.damage.shortened == (("front_right", 0.25),)
    env.reset(seed=2)  # the env's own morphology comes back at reset
    assert env.world.damage.shortened == ()


def test_damage_schedule_and_joint_damage():
    def run(schedule):
        env = AntDamageEnv(burn_in=0, early_stop=False, damage_schedule=schedule)
        env.reset(seed=0)
        for _ in range(3):
            env.step(np.ones(8))
        at_damage = np.array(env.world.robot_state().joint_pos)
        for _ in range(20):
            env.step(-np.ones(8))
        return env, at_damage, np.array(env.world.robot_state().joint_pos)

    _, _, intact = run([])
    env, at_damage, damaged = run([(3, "lock:hip_1")])
    assert damaged[0] == pytest.approx(at_damage[0], abs=0.02)  # hip_1 held where it was locked
    assert abs(intact[0] - at_damage[0]) > 0.1  # ... where the intact hip moves
    np.testing.assert_allclose(damaged[2:], intact[2:], atol=0.5)  # the rest still obeys commands
    with pytest.raises(DamageError, match="no joint"):
        env.apply_damage("lock:knee_9")


def test_midrun_morphology_draws_its_damage_step_per_episode():
    env = AntDamageEnv("right_front@4-9", burn_in=0, early_stop=False)
    drawn = {}
    for seed in range(12):
        env.reset(seed=seed)
        step = env.damage_steps[0]
        assert 4 <= step <= 9 and env.world.damage.shortened == ()  # every episode starts intact
        for _ in range(step):
            env.step(np.zeros(8))
        assert env.world.damage.shortened == ()
        env.step(np.zeros(8))  # the damage lands before this step
        assert env.world.damage.shortened == (("front_right", 0.25),)
        drawn[seed] = step
    assert len(set(drawn.values())) >= 3
    env.reset(seed=5)
    assert env.damage_steps == [drawn[5]]  # the seed decides the step

    fixed = AntDamageEnv("right_front@3", burn_in=0, early_stop=False)
    scheduled = AntDamageEnv(burn_in=0, early_stop=False, damage_schedule=[(3, "right_front")])
    paths = []
    for env in (fixed, scheduled):
        env.reset(seed=1)
        paths.append([env.step(np.full(8, 0.5))[0] for _ in range(8)])
    np.testing.assert_array_equal(paths[0], paths[1])  # a fixed step is the plain schedule


@pytest.mark.parametrize(
    "bad",
    [
        "right_front@9-3",
        "right_front@x",
        "right_front@-2",
        "nope@3",
        "right_front@100-",
        "right_front@1_000",
        "right_front@ 5",
        "right_front@+5",
    ],
)
def test_midrun_morphology_refuses_bad_text(bad):
    with pytest.raises(ValueError, match="morphology"):
        AntDamageEnv(bad)


def test_scheduled_damage_adds_to_the_current_damage_and_standard_repairs():
    schedule = [(2, "lock:hip_1"), (4, "standard"), (5, "weak:ankle_2=0.5")]
    env = AntDamageEnv("left_front", burn_in=0, early_stop=False, damage_schedule=schedule)
    env.reset(seed=0)
    seen = []
    for _ in range(6):
        env.step(np.zeros(8))
        seen.append(env.world.damage)
    left = Damage(shortened={"front_left": 0.25})
    locked = Damage(shortened={"front_left": 0.25}, locked=("hip_1",))
    assert seen == [left, left, locked, locked, Damage(), Damage(strength={"ankle_2": 0.5})]
    env.reset(seed=0)
    assert env.world.damage == left  # the morphology comes back at reset


def test_schedule_is_checked_when_the_env_is_made():
    with pytest.raises(DamageError, match="no joint"):
        AntDamageEnv(damage_schedule=[(5, "lock:FR_hip_joint")])
    with pytest.raises(DamageError, match="no joint"):
        A1Env(damage_schedule=[(5, "lock:hip_1")])
    AntDamageEnv(burn_in=40, max_steps=100, damage_schedule=[(59, "right_front")])  # the last policy step
    with pytest.raises(ValueError, match="past the episode's last policy step 59"):
        AntDamageEnv(burn_in=40, max_steps=100, damage_schedule=[(60, "right_front")])
    with pytest.raises(ValueError, match="past the episode"):
        AntDamageEnv("right_front@100-700", max_steps=500)
    with pytest.raises(ValueError, match="past the episode"):
        A1Env(max_steps=10, damage_schedule=[([5, 10], "right_front")])


def test_env_reads_any_damage_text_as_its_morphology():
    both = AntDamageEnv("right_front,left_front")
    assert both.world.damage.shortened == (("front_left", 0.25), ("front_right", 0.25))
    assert AntDamageEnv("standard ").morphology == Damage()
    assert AntDamageEnv({"locked": ["hip_1"]}).world.damage.locked == ("hip_1",)
    with pytest.raises(DamageError, match=r"unknown morphology 'right_front,tail'.*cannot read"):
        AntDamageEnv("right_front,tail")


def test_weak_motor_scales_torque():
    results = {}
    for label, damage in (("full", None), ("weak", "weak:hip_1=0.2"), ("failed", "fail:hip_1")):
        world = QuadrupedWorld("ant", damage=damage)
        world.reset(0)
        q0 = world.robot_state().joint_pos[0]
        for _ in range(5):
            world.step({name: (100.0 if name == "hip_1" else 0.0) for name in world.joint_names})
        results[label] = world.robot_state().joint_pos[0] - q0
    assert results["full"] > results["weak"] > abs(results["failed"]) >= 0


def test_early_stop_when_fallen_after_step_200():
    env = AntDamageEnv(burn_in=40)  # zero torques: the ant sinks onto its belly (torso z <= 0.26)
    env.reset(seed=0)
    steps, terminated, info = 0, False, {}
    while not terminated:
        _, _, terminated, truncated, info = env.step(np.zeros(8))
        steps += 1
        assert not truncated
    assert steps == 202 and info["fallen"]  # the reference checks from its step index t > 200


def test_fall_height_moves_the_fall_line():
    def steps_to_stop(**kwargs) -> tuple[int, bool]:
        env = AntDamageEnv(burn_in=40, max_steps=80, early_stop_grace=5, **kwargs)
        env.reset(seed=0)
        for step in range(1, 80):
            _, _, terminated, truncated, info = env.step(np.zeros(8))
            if terminated or truncated:
                return step, info["fallen"]
        raise AssertionError("episode did not end")

    assert steps_to_stop() == (7, True)  # on its belly, torso at 0.25 m
    assert steps_to_stop(fall_height=0.2) == (40, False)  # 0.25 m is clear of a 0.2 m line: runs out
    with pytest.raises(ValueError, match="fall_height"):
        AntDamageEnv(fall_height=0.8)


def test_commands_by_name_are_checked():
    world = QuadrupedWorld("ant")
    with pytest.raises(ValueError, match="missing"):
        world.step({"hip_1": 1.0})
    with pytest.raises(ValueError, match="NaN"):
        world.step(np.full(8, np.nan))
    with pytest.raises(ValueError, match="unknown robot"):
        QuadrupedWorld("spot")


def test_paper_units_per_metre_of_rigid_forward_motion():
    from wann_ros.sim.robot_specs import ANT_PAPER_UNITS_PER_METRE

    env = AntDamageEnv(burn_in=0, early_stop=False)
    env.reset(seed=0)
    world = env.world
    c = {"physicsClientId": world._client}
    pos, quat = pb.getBasePositionAndOrientation(world._body, **c)
    pb.resetBasePositionAndOrientation(world._body, (pos[0] + 1.0, pos[1], pos[2]), quat, **c)
    world._read()
    assert env.progress.update(world.centroid_xy) == pytest.approx(ANT_PAPER_UNITS_PER_METRE, rel=1e-6)
    assert pytest.approx(57.851, abs=1e-3) == ANT_PAPER_UNITS_PER_METRE
