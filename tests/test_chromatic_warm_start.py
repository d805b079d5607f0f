"""Chromatic warm start: k-means colouring of a Hebbian network's grown weights, ``param_scale``."""

import hashlib

import numpy as np
import pytest

import wann_ros.sim  # noqa: F401  (registers the envs)
from training.chromatic.config import ChromaticConfig
from training.chromatic.search import make_search
from training.chromatic.structures import Candidate, Layout, make_policy
from training.chromatic.warm_start import kmeans_colours
from training.cli import main
from training.config import load_config
from training.hebbian.snapshot import hebbian_snapshot
from wann_ros.formats import load_policy

TINY_HEBBIAN = "generations: 1\npopsize: 2\nepisodes: 1\nhidden: [6]\nmax_steps: 25\n"


def test_kmeans_finds_separated_clusters_and_is_deterministic():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.01, 50) for c in (-3.0, 0.0, 5.0)])
    rng.shuffle(x)
    centres, colours = kmeans_colours(x, 3)
    np.testing.assert_allclose(centres, [-3.0, 0.0, 5.0], atol=0.01)
    np.testing.assert_array_equal(colours, np.abs(x[:, None] - centres).argmin(axis=1))
    again = kmeans_colours(x, 3)
    np.testing.assert_array_equal(again[0], centres)
    with pytest.raises(ValueError, match="k >= 1"):
        kmeans_colours(x, 0)


def test_param_scale_multiplies_weights_and_biases():
    layout = Layout.create((3, 2), "learned", 2)
    spec_policy = make_policy(
        Candidate(np.array([1.0, -1.0, 0.5, 0.25]), np.array([0, 1, 1, 0, 0, 1])), layout, _spec()
    )
    scaled = make_policy(
        Candidate(np.array([1.0, -1.0, 0.5, 0.25]), np.array([0, 1, 1, 0, 0, 1])),
        layout,
        _spec(),
        param_scale=4.0,
    )
    np.testing.assert_array_equal(scaled.pool, 4.0 * spec_policy.pool)
    np.testing.assert_array_equal(scaled.biases[0], [2.0, 1.0])


def _spec():
    from wann_ros.policies.factory import generic_spec

    return generic_spec("chromatic", 3, 2)


@pytest.fixture(scope="module")
def hebbian_file(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("warm")
    config = tmp / "tiny.yaml"
    config.write_text(TINY_HEBBIAN)
    run = tmp / "run"
    args = ["hebbian", "--task", "ant", "--config", str(config), "--seed", "2", "--no-progress"]
    assert main([*args, "--run-dir", str(run)]) == 0
    return run / "best.wrp"


def test_warm_start_colours_the_grown_weights(tmp_path, hebbian_file):
    common = "generations: 1\npopsize: 2\nhidden: [6]\nmax_steps: 25\nparam_scale: 2.0\n"
    common += f"warm_start: {hebbian_file}\n"
    path = tmp_path / "warm.yaml"
    path.write_text(common + "structure: learned\ncolors: 4\nwarm_start_step: 7\n")
    search = make_search(load_config(ChromaticConfig, path), "ant", seed=0)
    grown = hebbian_snapshot(hebbian_file, search.task, 7, 0, "standard")
    flat = np.concatenate([w.ravel() for w in grown])
    pool, colours = kmeans_colours(flat / 2.0, 4)
    np.testing.assert_array_equal(search.strategy.mean[:4], pool)
    np.testing.assert_array_equal(search.strategy.mean[4:], 0.0)
    np.testing.assert_array_equal(search.colouring.mode(), colours)
    env = search.task.make_env(0)
    policy = search.task.build_policy(search.final(), env)
    env.close()
    expected = 2.0 * pool[colours]  # every edge: its k-means class centre, in real units
    np.testing.assert_array_equal(np.concatenate([w.ravel() for w in policy.weights]), expected)
    assert np.mean((expected - flat) ** 2) < 0.25 * np.var(flat)  # 4 classes keep most of the spread

    dense = tmp_path / "dense.yaml"
    dense.write_text(common + "structure: dense\nwarm_start_step: 7\n")
    search = make_search(load_config(ChromaticConfig, dense), "ant", seed=0)
    np.testing.assert_array_equal(search.strategy.mean[: flat.size], flat / 2.0)


def test_warm_start_refuses_a_mismatch(tmp_path, hebbian_file):
    path = tmp_path / "wrong.yaml"
    path.write_text(f"hidden: [5]\nwarm_start: {hebbian_file}\n")
    with pytest.raises(ValueError, match=r"do not match the network \[28, 5, 8\]"):
        make_search(load_config(ChromaticConfig, path), "ant", seed=0)
    with pytest.raises(ValueError, match="warm_start needs structure learned or dense"):
        ChromaticConfig(structure="toeplitz", warm_start=str(hebbian_file))
    with pytest.raises(ValueError, match="param_scale must be > 0"):
        ChromaticConfig(param_scale=0.0)


def test_exported_policy_records_the_warm_start_file(tmp_path, hebbian_file):
    path = tmp_path / "warm.yaml"
    path.write_text(
        f"popsize: 2\nhidden: [6]\nmax_steps: 25\nwarm_start: {hebbian_file}\nwarm_start_step: 7\n"
    )
    run, out = tmp_path / "run", tmp_path / "warm.chroma"
    args = ["chromatic", "--task", "ant", "--config", str(path), "--generations", "1", "--backend", "serial"]
    assert main([*args, "--no-progress", "--run-dir", str(run)]) == 0
    assert main(["chromatic-export", str(run), str(out), "--which", "final"]) == 0
    warm = load_policy(out).spec.provenance.extra["warm_start"]
    assert warm["sha256"] == hashlib.sha256(hebbian_file.read_bytes()).hexdigest()
    assert (warm["step"], warm["seed"], warm["morphology"]) == (7, 0, "standard")
