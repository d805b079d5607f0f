"""Bounded online adaptation: the numpy policy alone stays finite over a long run with random inputs."""

from pathlib import Path

import numpy as np
import pytest

from training.cli import main
from wann_ros.policies.hebbian import HebbianPolicy, hebbian_param_count
from wann_ros.policies.spec import PolicySpec
from wann_ros.sim.robot_specs import ANT_OBS_CLIP, ant_action_spec, ant_observation_spec

SIZES = (28, 128, 64, 8)
STEPS = 5_000


def policy(**options) -> HebbianPolicy:
    spec = PolicySpec("hebbian", ant_observation_spec(), ant_action_spec(), 0.0165)
    rules = np.random.default_rng(0).normal(0.0, 1.0, hebbian_param_count(SIZES))  # the ES's starting scale
    return HebbianPolicy.from_flat(rules, SIZES, spec, seed=1, **options)


def long_run(p: HebbianPolicy, steps: int = STEPS) -> tuple[bool, float]:
    """Random observations in the env's range; (all actions finite, largest |w| at the end)."""
    rng = np.random.default_rng(2)
    finite = True
    for obs in rng.uniform(-ANT_OBS_CLIP, ANT_OBS_CLIP, (steps, 28)):
        finite &= bool(np.all(np.isfinite(p.act(obs))))
    return finite, max(float(np.abs(w).max()) for w in p.weights)


@pytest.mark.parametrize(
    "options", [{"weight_bound": 1.0}, {"normalize": True}, {"normalize": True, "weight_bound": 0.5}]
)
def test_constrained_weights_stay_finite_and_bounded(options):
    finite, biggest = long_run(policy(**options))
    assert finite
    assert biggest <= options.get("weight_bound", 1.0) + 1e-12
    assert biggest > 0.01  # the rule is still moving the weights, not collapsing them to zero


def test_unconstrained_weights_keep_growing():
    """Why the options exist: the same rules without a constraint drift without limit (here linearly:
    tanh caps the activity, so every step adds a bounded amount)."""
    p = policy()
    _, early = long_run(p, 500)
    _, late = long_run(p, 1_500)
    assert early > 100 and late > 3 * early


def test_bounded_study_refuses_a_run_shorter_than_one_record(tmp_path, capsys):
    policy = Path(__file__).parents[1] / "models" / "ant_hebbian.wrp"
    code = main(["hebbian-bounded", str(policy), "--sim-seconds", "3", "--out", str(tmp_path)])
    assert code == 2
    assert "182 control steps, fewer than --record-every 1000" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
