"""Mirror-tied Hebbian rules: the Ant's mirror maps match its physics, the tied network is equivariant."""

import dataclasses

import gymnasium
import numpy as np
import pytest

import wann_ros.sim  # noqa: F401  (registers the envs)
from training.cli import main
from training.config import ConfigError, load_config
from training.hebbian.config import HebbianConfig
from training.hebbian.mirror import MirrorTying, SignedPermutation, mirror_tying
from training.hebbian.search import hebbian_mlp, make_search
from wann_ros.formats import load_policy
from wann_ros.policies.dense import layer_shapes
from wann_ros.policies.hebbian import HebbianPolicy
from wann_ros.policies.spec import PolicySpec
from wann_ros.sim import robot_specs as rs
from wann_ros.sim.envs import AntDamageEnv

SIZES = [28, 16, 8, 8]
OBS, ACT = (SignedPermutation.from_pairs(m) for m in rs.ant_mirror())


def ant_spec() -> PolicySpec:
    return PolicySpec("hebbian", rs.ant_observation_spec(), rs.ant_action_spec(), rs.ANT_CONTROL_PERIOD)


def test_signed_permutations_must_be_involutions():
    with pytest.raises(ValueError, match="must permute"):
        SignedPermutation.from_pairs([(0, 1), (0, 1)])
    with pytest.raises(ValueError, match="signs"):
        SignedPermutation.from_pairs([(1, 2), (0, 2)])
    with pytest.raises(ValueError, match="its own inverse"):
        SignedPermutation.from_pairs([(1, 1), (2, 1), (0, 1)])
    with pytest.raises(ValueError, match="its own inverse"):
        SignedPermutation.from_pairs([(1, 1), (0, -1)])
    with pytest.raises(ValueError, match="even size"):
        SignedPermutation.swap_halves(5)
    v = np.arange(28.0)
    np.testing.assert_array_equal(OBS.apply(OBS.apply(v)), v)


def test_the_ant_mirror_maps_match_the_physics():
    """The right_front body driven by actions a(t) and the left_front body by their mirror images, from the
    same start without joint noise: the observations stay mirror images of each other."""
    envs = [AntDamageEnv(morphology=m, early_stop=False) for m in ("right_front", "left_front")]
    try:
        for env in envs:
            env.world.config = dataclasses.replace(env.world.config, init_joint_noise=0.0)
        right, left = (env.reset(seed=0)[0] for env in envs)
        rng = np.random.default_rng(1)
        errors = []
        for _ in range(10):
            a = np.tanh(1.5 * rng.normal(size=8))
            right = envs[0].step(a)[0]
            left = envs[1].step(ACT.apply(a))[0]
            errors.append(np.abs(OBS.apply(right) - left).max())
        assert max(errors) < 0.02
        assert np.abs(right[8:24]).max() > 0.2  # the joints really moved
        # the same actions unmirrored do not match: the test can tell a wrong map
        envs[1].reset(seed=0)
        for a in np.tanh(1.5 * np.random.default_rng(1).normal(size=(10, 8))):
            right_again = envs[1].step(a)[0]
        assert np.abs(OBS.apply(right) - right_again).max() > 0.2
    finally:
        for env in envs:
            env.close()


def test_tied_rules_expand_to_an_equivariant_network():
    tying = mirror_tying(ant_spec(), SIZES)
    assert mirror_tying(ant_spec(), list(SIZES)) is tying  # cached per layer sizes
    assert not tying.index.flags.writeable  # so no caller can corrupt the shared maps
    n_full = 5 * sum(a * b for a, b in layer_shapes(SIZES))
    assert tying.size * 2 == n_full
    rng = np.random.default_rng(0)
    pairs = 0.05 * rng.normal(size=tying.size)
    rules = tying.expand(pairs)
    np.testing.assert_allclose(tying.project(rules), pairs)
    mirrors = [OBS, SignedPermutation.swap_halves(16), SignedPermutation.swap_halves(8), ACT]

    def mirrored_run(flat: np.ndarray) -> float:
        w0 = [rng.uniform(-0.1, 0.1, s) for s in layer_shapes(SIZES)]
        pairs_of_mirrors = zip(w0, mirrors[:-1], mirrors[1:], strict=True)
        w0_mirror = [m_out.apply(m_in.apply(w.T).T) for w, m_in, m_out in pairs_of_mirrors]
        net = HebbianPolicy.from_flat(flat, SIZES, ant_spec(), init_weights=w0)
        twin = HebbianPolicy.from_flat(flat, SIZES, ant_spec(), init_weights=w0_mirror)
        error = 0.0
        for _ in range(50):
            obs = rng.normal(size=28)
            error = max(error, np.abs(ACT.apply(net.act(obs)) - twin.act(OBS.apply(obs))).max())
        return error

    assert mirrored_run(rules) < 1e-12
    assert mirrored_run(rng.normal(size=n_full) * 0.05) > 1e-3  # untied rules are not


def test_mirror_search_evolves_half_the_coefficients_and_exports_full_rules(tmp_path):
    search = make_search(HebbianConfig(popsize=4, symmetry="mirror"), "ant", 0)
    assert search.strategy.dim == 30_720
    env = gymnasium.make("wann_ros/AntDamage-v0", disable_env_checker=True)
    try:
        policy = hebbian_mlp(search.strategy.mean, env, symmetry="mirror")
        assert policy.n_params == 61_440
        with pytest.raises(ValueError, match="need 30720 coefficients"):
            hebbian_mlp(np.zeros(61_440), env, symmetry="mirror")
    finally:
        env.close()
    # a warm start from an untied file begins at its closest tied rules
    config = tmp_path / "tiny.yaml"
    config.write_text("generations: 1\npopsize: 4\nhidden: [8]\nmax_steps: 25\n")
    assert main(["hebbian", "--task", "ant", "--config", str(config), "--seed", "1", "--no-progress",
                 "--run-dir", str(tmp_path / "a")]) == 0  # fmt: skip
    source = load_policy(tmp_path / "a" / "best.wrp")
    warm = tmp_path / "warm.yaml"
    warm.write_text(config.read_text() + f"symmetry: mirror\ninit_rules: {tmp_path / 'a' / 'best.wrp'}\n")
    search = make_search(load_config(HebbianConfig, warm), "ant", seed=9)
    tying = MirrorTying([28, 8, 8], OBS, ACT)
    np.testing.assert_allclose(search.strategy.mean, tying.project(source.to_flat()))


def test_mirror_config_is_checked(tmp_path):
    path = tmp_path / "c.yaml"
    for text, message in [
        ("symmetry: left_right\n", "symmetry must be null or one of"),
        ("symmetry: mirror\nrule_mode: post\n", "with synapse rules"),
        ("symmetry: mirror\noutput_activation: relu\n", "odd output activation"),
        ("symmetry: mirror\nhidden: [7]\n", "even size"),
    ]:
        path.write_text(text)
        with pytest.raises((ConfigError, ValueError), match=message):
            make_search(load_config(HebbianConfig, path), "ant", 0)
    a1 = PolicySpec("hebbian", rs.a1_observation_spec(), rs.a1_action_spec(), rs.A1_CONTROL_PERIOD)
    with pytest.raises(ValueError, match="defined for the Ant"):
        mirror_tying(a1, [42, 8, 12])
