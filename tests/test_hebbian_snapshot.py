"""``hebbian-snapshot``: a Hebbian policy's grown weights frozen into a static policy file."""

from pathlib import Path

import gymnasium
import numpy as np
import pytest

import wann_ros.sim  # noqa: F401  (registers the envs)
from training.cli import main
from training.hebbian.rollout import trace_episode
from training.hebbian.snapshot import hebbian_snapshot
from training.tasks import make_task
from wann_ros.formats import load_policy

HEBBIAN = Path(__file__).parents[1] / "models" / "ant_hebbian.wrp"


def test_the_snapshot_is_a_static_policy_acting_as_the_frozen_hebbian_one(tmp_path):
    out = tmp_path / "grown.wrp"
    args = ["hebbian-snapshot", str(HEBBIAN), "--step", "20", "--seed", "3", "--out", str(out)]
    assert main(args) == 0
    static = load_policy(out)
    assert static.kind == "static" and static.spec.kind == "static"
    grown = hebbian_snapshot(HEBBIAN, make_task("ant", "training.builders:static_mlp"), 20, 3, "standard")
    for w, g in zip(static.weights, grown, strict=True):
        np.testing.assert_array_equal(w, g)
    assert all(not b.any() for b in static.biases)
    assert min(np.sqrt(np.mean(w**2)) for w in grown) > 1.0  # grown far beyond the U(-0.1, 0.1) start
    hebbian = load_policy(HEBBIAN)  # the same episode by hand, then plasticity off
    env = gymnasium.make("wann_ros/AntDamage-v0", morphology="standard", early_stop=False)
    trace_episode(hebbian, env, 3, (), max_steps=20)
    env.close()
    hebbian.freeze()
    obs = np.random.default_rng(0).normal(size=(5, static.spec.observation.size))
    for o in obs:
        np.testing.assert_allclose(static.act(o), hebbian.act(o), atol=1e-12)
    with pytest.raises(SystemExit):  # an existing file is kept without --force
        main(args)
    with pytest.raises(SystemExit):
        main(["hebbian-snapshot", str(out), "--step", "5", "--out", str(tmp_path / "again.wrp")])
