"""Candidates -> policies: expansion to dense weights, Toeplitz and masks, .chroma, batched swing-up."""

import numpy as np
import pytest

from training.chromatic.batch import evaluate_swingup
from training.chromatic.config import ChromaticConfig
from training.chromatic.search import make_search
from training.chromatic.structures import Candidate, Layout, make_policy, toeplitz_colours
from training.evaluation import Evaluator
from training.tasks import EpisodeWorker
from wann_ros.formats.chroma import load_chroma, save_chroma
from wann_ros.policies.chromatic import ChromaticPolicy
from wann_ros.policies.spec import PolicySpec
from wann_ros.policies.static import StaticPolicy
from wann_ros.sim.robot_specs import SWINGUP_CONTROL_PERIOD, swingup_action_spec, swingup_observation_spec

SIZES = (5, 7, 1)


def _spec(kind):
    return PolicySpec(kind, swingup_observation_spec(), swingup_action_spec(), SWINGUP_CONTROL_PERIOD)


def _candidate(layout, seed=0):
    rng = np.random.default_rng(seed)
    colours = None if layout.structure == "dense" else rng.integers(0, layout.choices, layout.n_edges)
    return Candidate(rng.normal(0, 0.5, layout.dim), colours)


def _dense_forward(weights, biases, x):
    h = x
    for w, b in zip(weights, biases, strict=True):
        h = np.tanh(h @ w + b)
    return h


def test_chromatic_expansion_matches_policy():
    layout = Layout.create(SIZES, "learned", 4)
    cand = _candidate(layout)
    policy = make_policy(cand, layout, _spec("chromatic"))
    assert isinstance(policy, ChromaticPolicy) and policy.n_params == 4 + 8
    pool, biases = cand.params[:4], [cand.params[4:11], cand.params[11:]]
    weights = [pool[cand.colours[:35]].reshape(5, 7), pool[cand.colours[35:]].reshape(7, 1)]
    for w, expected in zip(policy.weights, weights, strict=True):
        np.testing.assert_array_equal(w, expected)
    x = np.random.default_rng(1).normal(size=5)
    np.testing.assert_allclose(policy.act(x), _dense_forward(weights, biases, x), rtol=1e-12)
    np.testing.assert_array_equal(policy.network_dict()["colors"], cand.colours)


def test_toeplitz_weights_are_constant_along_diagonals():
    layout = Layout.create(SIZES, "toeplitz", 99)
    assert layout.colors == (5 + 7 - 1) + (7 + 1 - 1)
    colours = toeplitz_colours(SIZES)
    assert sorted(set(colours)) == list(range(layout.colors))
    policy = make_policy(Candidate(np.arange(layout.dim, dtype=float), colours), layout, _spec("chromatic"))
    w = policy.weights[0]
    for i in range(1, 5):
        for j in range(1, 7):
            assert w[i, j] == w[i - 1, j - 1]


def test_mask_prunes_edges_and_dense_uses_every_weight():
    masked = Layout.create(SIZES, "masked", 4)
    cand = _candidate(masked)
    policy = make_policy(cand, masked, _spec("static"))
    assert isinstance(policy, StaticPolicy)
    flat = np.concatenate([w.ravel() for w in policy.weights])
    np.testing.assert_array_equal(flat, cand.params[:42] * cand.colours)
    assert masked.distinct_parameters(cand.colours) == cand.colours.sum() + 8
    dense = Layout.create(SIZES, "dense", 4)
    policy = make_policy(_candidate(dense), dense, _spec("static"))
    assert dense.dim == 42 + 8 and np.count_nonzero(policy.weights[0]) == 35


def test_chroma_file_round_trip_acts_the_same(tmp_path):
    layout = Layout.create(SIZES, "learned", 17)
    policy = make_policy(_candidate(layout, 3), layout, _spec("chromatic"))
    save_chroma(policy, tmp_path / "p.chroma")
    loaded = load_chroma(tmp_path / "p.chroma")
    x = np.random.default_rng(2).normal(size=5)
    np.testing.assert_allclose(loaded.act(x), policy.act(x), rtol=1e-6)
    np.testing.assert_array_equal(
        np.concatenate([c.ravel() for c in loaded.colors]), np.concatenate([c.ravel() for c in policy.colors])
    )


@pytest.mark.parametrize("structure", ["learned", "dense"])
def test_wrong_candidate_is_refused(structure):
    layout = Layout.create(SIZES, structure, 4)
    with pytest.raises(ValueError, match="needs"):
        make_policy(Candidate(np.zeros(layout.dim + 1), None), layout, _spec("chromatic"))
    if structure == "learned":
        with pytest.raises(ValueError, match=r"0\.\.3"):
            bad = Candidate(np.zeros(layout.dim), np.full(layout.n_edges, 4))
            make_policy(bad, layout, _spec("chromatic"))


@pytest.mark.parametrize("structure", ["learned", "toeplitz", "masked", "dense"])
def test_batched_swingup_equals_episode_runner(structure):
    config = ChromaticConfig(structure=structure, colors=5, hidden=(6,), popsize=4, max_steps=300)
    search = make_search(config, "swingup", 3)
    candidates = search.ask()
    jobs = Evaluator(search.task, None, 1, 3).jobs(len(candidates), 0, search.seed_keys(len(candidates)))
    batched = evaluate_swingup(search.task, candidates, jobs)
    worker = EpisodeWorker(search.task)
    single = [worker.run(candidates[j.candidate], j)[0] for j in jobs]
    np.testing.assert_allclose(batched, single, rtol=1e-9, atol=1e-9)
