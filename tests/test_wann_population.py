"""The population-vectorised WANN forward pass equals the single-network policy, per network and weight."""

from __future__ import annotations

import numpy as np
import pytest

from training.wann.genome import minimal
from training.wann.operators import mutate
from training.wann.policy import from_policy, to_policy
from wann_ros.policies.spec import ActionSpec, ObservationSpec, ObsTerm, PolicySpec
from wann_ros.policies.wann_population import PopulationForward

ACTS = tuple(range(1, 12))


def _population(seed: int, size: int, steps: int):
    rng = np.random.default_rng(seed)
    pop = []
    for _ in range(size):
        g = minimal(5, 2, int(rng.integers(1, 12)), 0.5, rng)
        for _ in range(int(rng.integers(0, steps))):
            g = mutate(g, rng, (0.2, 0.25, 0.05, 0.5), ACTS)
        pop.append(g)
    return pop


def _spec(n_out: int = 2) -> PolicySpec:
    joints = tuple(f"j{i}" for i in range(n_out))
    action = ActionSpec(joints, "effort", np.ones(n_out), np.zeros(n_out), -np.ones(n_out), np.ones(n_out))
    return PolicySpec("wann", ObservationSpec((ObsTerm("raw", 5),)), action, 0.01)


@pytest.mark.parametrize("seed", [0, 1])
def test_population_forward_equals_per_network_forward(seed):
    pop = _population(seed, 12, 40)
    dags = [g.to_dag() for g in pop]
    rng = np.random.default_rng(seed)
    weights = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
    obs = rng.normal(size=(len(dags), weights.size, 5))
    out = PopulationForward(dags)(obs, np.broadcast_to(weights, (len(dags), weights.size)))
    assert out.shape == (len(dags), weights.size, 2)
    for i, g in enumerate(pop):
        policy = to_policy(g, _spec(), shared_weight=1.0)
        for k, w in enumerate(weights):
            policy.shared_weight = w
            np.testing.assert_allclose(out[i, k], policy.act(obs[i, k]), rtol=1e-12, atol=1e-12)


def test_per_edge_weights_and_bad_inputs():
    g = _population(3, 1, 30)[0]
    rng = np.random.default_rng(3)
    w = rng.uniform(-2, 2, g.n_connections)
    dag = g.to_dag(w)
    x = rng.normal(size=(1, 4, 5))
    out = PopulationForward([dag])(x)
    policy = to_policy(g, _spec(), weights=w)
    np.testing.assert_allclose(out[0], policy.act_batch(x[0]), rtol=1e-12, atol=1e-12)
    back, tuned = from_policy(policy)
    np.testing.assert_allclose(PopulationForward([back.to_dag(tuned)])(x), out, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        PopulationForward([dag])(np.zeros((2, 4, 5)))
    other = minimal(3, 2, 5, 1.0, rng).to_dag()
    with pytest.raises(ValueError, match="same number"):
        PopulationForward([dag, other])
