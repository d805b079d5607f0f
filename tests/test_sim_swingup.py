"""Cart-pole swing-up: the WANN paper's Euler step by hand, the batch equals n single envs, episode rules."""

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import wann_ros.sim  # noqa: F401  (registers the envs)
from wann_ros.sim.swingup import SwingUpBatch, SwingUpParams, swingup_euler_step, swingup_reward


def test_euler_step_matches_hand_computation():
    # x, x_dot, theta, theta_dot; action 0.5 -> force 5 N. Numbers worked out from the reference equations:
    # xacc = (-2 m l w^2 s + 3 m g s c + 4 F - 4 b xd) / (4 M - 3 m c^2)
    # tacc = (-3 m l w^2 s c + 6 M g s + 6 (F - b xd) c) / (4 l M - 3 m l c^2), with m = 0.5, M = 1, l = 0.6
    x, xd, th, thd = 0.1, -0.2, 2.5, 0.7
    s, c = math.sin(th), math.cos(th)
    xacc = (-2 * 0.3 * 0.49 * s + 3 * 0.5 * 9.82 * s * c + 4 * 5.0 - 4 * 0.1 * xd) / (4.0 - 1.5 * c * c)
    tacc = (-3 * 0.3 * 0.49 * s * c + 6 * 9.82 * s + 6 * (5.0 + 0.02) * c) / (2.4 - 0.9 * c * c)
    expected = [x + 0.01 * xd, xd + 0.01 * xacc, th + 0.01 * thd, thd + 0.01 * tacc]
    got = swingup_euler_step(np.array([x, xd, th, thd]), np.array(0.5), SwingUpParams())
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    assert got[0] == pytest.approx(0.098)  # the position moves with the old velocity
    # the action is clipped to [-1, 1]
    np.testing.assert_array_equal(
        swingup_euler_step(np.array([x, xd, th, thd]), np.array(7.0), SwingUpParams()),
        swingup_euler_step(np.array([x, xd, th, thd]), np.array(1.0), SwingUpParams()),
    )


def test_reward_upright_centred_is_one_and_hanging_is_zero():
    p = SwingUpParams()
    np.testing.assert_allclose(
        swingup_reward(np.array([[0, 0, 0, 0], [0, 0, np.pi, 0.0]]), p), [1.0, 0.0], atol=1e-15
    )


def test_batch_equals_n_single_envs():
    seeds = [3, 14, 15]
    batch = SwingUpBatch(len(seeds))
    envs = [gym.make("wann_ros/CartPoleSwingUp-v0").unwrapped for _ in seeds]
    obs_b = batch.reset(seeds)
    singles = [env.reset(seed=s)[0] for env, s in zip(envs, seeds, strict=True)]
    np.testing.assert_array_equal(obs_b, np.stack(singles))
    rng = np.random.default_rng(0)
    running = np.ones(len(seeds), dtype=bool)
    for _ in range(400):
        a = rng.uniform(-1.5, 1.5, len(seeds))
        obs_b, r_b, done_b = batch.step(a)
        for i, env in enumerate(envs):
            if not running[i]:
                continue
            o, r, term, trunc, _ = env.step(a[i : i + 1])
            np.testing.assert_array_equal(o, obs_b[i])
            assert r == r_b[i] and (term or trunc) == done_b[i]
            running[i] = not (term or trunc)
    assert not running.all()  # at least one cart left the track under random pushing


def test_batch_exactly_equals_single_batches():
    big = SwingUpBatch(4)
    small = [SwingUpBatch(1) for _ in range(4)]
    big.reset([10, 11, 12, 13])
    for k, b in enumerate(small):
        b.reset([10 + k])
    actions = np.random.default_rng(1).uniform(-1, 1, (200, 4))
    for a in actions:
        ob, rb, db = big.step(a)
        for k, b in enumerate(small):
            o, r, d = b.step(a[k : k + 1])
            np.testing.assert_array_equal(o[0], ob[k])
            assert r[0] == rb[k] and d[0] == db[k]


def test_episode_rules_termination_and_limit():
    batch = SwingUpBatch(2, SwingUpParams(max_steps=50))
    batch.reset(0)
    batch.state[0] = [2.39, 5.0, 0.0, 0.0]  # upright, about to leave the track
    _, reward, done = batch.step(np.zeros(2))
    assert done[0] and not done[1] and reward[0] < 0  # the reference still pays the step it left on
    frozen = batch.state[0].copy()
    _, reward, _ = batch.step(np.zeros(2))
    assert reward[0] == 0 and np.array_equal(batch.state[0], frozen)
    for _ in range(48):
        _, _, done = batch.step(np.zeros(2))
    assert done[1] and batch.t[1] == 50


def test_start_state_distribution():
    batch = SwingUpBatch(4000)
    batch.reset(7)
    np.testing.assert_allclose(batch.state.mean(axis=0), [0, 0, np.pi, 0], atol=0.02)
    np.testing.assert_allclose(batch.state.std(axis=0), 0.2, atol=0.01)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="n >= 1"):
        SwingUpBatch(0)
    with pytest.raises(ValueError, match="seeds"):
        SwingUpBatch(2).reset([1])
    with pytest.raises(ValueError, match="shape"):
        SwingUpBatch(2).step(np.zeros(3))
    with pytest.raises(ValueError, match="pole_length"):
        SwingUpParams(pole_length=0)


def test_gymnasium_env_passes_check_env_and_terminates_off_track():
    env = gym.make("wann_ros/CartPoleSwingUp-v0")
    check_env(env.unwrapped)
    env.reset(seed=1)
    steps, term = 0, False
    while not term:
        _, _, term, trunc, _ = env.step(np.array([1.0], dtype=np.float32))
        steps += 1
        assert not trunc
    assert abs(env.unwrapped.batch.state[0, 0]) > 2.4 and steps < 1000
