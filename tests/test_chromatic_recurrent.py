"""The recurrent (ENAS-style) colouring controller: BPTT gradient vs finite differences, sampling vs
log-prob, entropy estimate, REINFORCE on a toy reward, seeding, state round trip and resume, bad input."""

import itertools

import numpy as np
import pytest

from training.backends import make_backend
from training.checkpoint import load_checkpoint, save_checkpoint
from training.chromatic.config import ChromaticConfig
from training.chromatic.controller import ColouringController
from training.chromatic.recurrent import RecurrentColouringController
from training.chromatic.search import make_search
from training.evaluation import Evaluator


def _controller(edges=6, choices=3, hidden=4, seed=0, offsets=True, layers=True, **kw):
    rng = np.random.default_rng(seed)
    start = rng.integers(0, choices, edges) if offsets else None
    split = [edges - edges // 3, edges // 3] if layers and edges >= 3 else None
    kw = {"init_scale": 0.8, **kw}
    return RecurrentColouringController(
        edges, choices, hidden, start=start, lead=1.0, layers=split, rng=rng, **kw
    )


@pytest.mark.parametrize("offsets, layers, baseline", [(True, True, None), (False, False, 0.3)])
def test_gradient_equals_finite_differences(offsets, layers, baseline):
    """``gradient`` is d/dtheta of mean_k A_k log p(c_k) + entropy * (ENAS entropy estimate)."""
    c = _controller(offsets=offsets, layers=layers, entropy=0.3)
    c.baseline = baseline
    rng = np.random.default_rng(1)
    colours = c.sample(5, rng)
    r = rng.normal(size=5)
    adv = (r - (r.mean() if baseline is None else baseline)) / r.std()

    def objective():
        return np.mean(adv * c.log_prob(colours)) + 0.3 * c.entropy(colours)

    grad = c.gradient(colours, r)
    eps, fd = 1e-6, np.zeros_like(c.theta)
    for j in range(c.theta.size):
        c.theta[j] += eps
        up = objective()
        c.theta[j] -= 2 * eps
        fd[j] = (up - objective()) / (2 * eps)
        c.theta[j] += eps
    assert np.linalg.norm(grad) > 0.1
    np.testing.assert_allclose(grad, fd, atol=1e-7)
    for name, part in c._views(grad).items():  # every parameter group gets a gradient
        assert np.abs(part).max() > 0, name


def test_sample_frequencies_match_log_prob():
    c = _controller(edges=2, choices=2, hidden=3, seed=2, offsets=False, layers=False, init_scale=1.5)
    all_colourings = np.array(list(itertools.product(range(2), repeat=2)))
    p = np.exp(c.log_prob(all_colourings))
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    # autoregressive: the second edge's distribution depends on the first edge's colour
    second = c.step_probs(np.array([[0, 0], [1, 0]]))[:, 1, 0]
    assert abs(second[0] - second[1]) > 0.02
    samples = c.sample(60_000, np.random.default_rng(1))
    freq = np.bincount(samples[:, 0] * 2 + samples[:, 1], minlength=4) / len(samples)
    np.testing.assert_allclose(freq, p, atol=0.008)


def test_entropy_estimate_is_the_joint_entropy_on_average():
    c = _controller(edges=2, choices=3, hidden=3, seed=3, offsets=False, layers=False, init_scale=1.5)
    all_colourings = np.array(list(itertools.product(range(3), repeat=2)))
    p = np.exp(c.log_prob(all_colourings))
    exact = float(-(p * np.log(p)).sum())
    assert c.entropy(c.sample(40_000, np.random.default_rng(4))) == pytest.approx(exact, abs=0.01)
    assert c.entropy() == c.entropy()  # the default estimate uses a fixed seed


def test_sampling_is_seeded_and_mode_is_greedy():
    c = _controller(edges=50, choices=17, hidden=8)
    a = c.sample(4, np.random.default_rng(7))
    assert np.array_equal(a, c.sample(4, np.random.default_rng(7)))
    assert a.min() >= 0 and a.max() < 17 and a.dtype == np.int64 and a.shape == (4, 50)
    other = _controller(edges=50, choices=17, hidden=8, seed=1)
    assert not np.array_equal(c.theta, other.theta)
    mode = c.mode()
    assert np.array_equal(mode, np.argmax(c.step_probs(mode[None])[0], axis=1))


def test_start_colouring_leads():
    start = np.array([2, 0, 1, 1])
    c = RecurrentColouringController(4, 3, 8, start=start, lead=3.0, init_scale=0.01)
    assert np.array_equal(c.mode(), start)
    assert c.step_probs(start[None])[0].max(axis=1) == pytest.approx(np.e**3 / (np.e**3 + 2), abs=0.01)
    assert "offsets" not in RecurrentColouringController(4, 3, 8).shapes


def test_centred_start_is_close_to_the_independent_controller():
    """Swing-up size (96 edges, 8 colours, hidden 32, default init): at the start every step's
    distribution is within 0.01 of the independent controller's centred on the same colouring."""
    rng = np.random.default_rng(0)
    start = rng.integers(0, 8, 96)
    rec = RecurrentColouringController(96, 8, 32, start=start, lead=3.0, layers=[80, 16], rng=rng)
    ind = ColouringController(96, 8, start=start, lead=3.0)
    steps = rec.step_probs(rec.sample(64, rng))
    assert np.abs(steps - ind.probs[None]).max() < 0.01
    assert np.array_equal(rec.mode(), start)


def test_reinforce_raises_toy_reward():
    """Reward = number of edges coloured 0."""
    c = RecurrentColouringController(6, 4, 16, lr=0.05, entropy=0.001, rng=np.random.default_rng(0))
    rng = np.random.default_rng(1)
    before = (c.sample(512, np.random.default_rng(2)) == 0).sum(axis=1).mean()
    for _ in range(150):
        colours = c.sample(16, rng)
        c.update(colours, (colours == 0).sum(axis=1).astype(float))
    after = (c.sample(512, np.random.default_rng(2)) == 0).sum(axis=1).mean()
    assert before < 2.5 and after > 5.5
    assert np.array_equal(c.mode(), np.zeros(6))


def test_baseline_is_a_moving_average():
    c = RecurrentColouringController(2, 2, 4, baseline_decay=0.5)
    colours = np.zeros((2, 2), dtype=np.int64)
    c.update(colours, np.array([1.0, 3.0]))
    assert c.baseline == 2.0
    c.update(colours, np.array([6.0, 6.0]))
    assert c.baseline == 4.0


def _train(c, rng, steps):
    for _ in range(steps):
        colours = c.sample(6, rng)
        c.update(colours, rng.normal(size=6))


def test_state_dict_round_trip_and_resume_equal_uninterrupted(tmp_path):
    straight = _controller(edges=10, choices=5, hidden=6, lr=0.1)
    _train(straight, np.random.default_rng(5), 5)

    first = _controller(edges=10, choices=5, hidden=6, lr=0.1)
    rng = np.random.default_rng(5)
    _train(first, rng, 2)
    save_checkpoint(tmp_path / "ckpt.npz", {"c": first.state_dict(), "rng": rng.bit_generator.state})
    state = load_checkpoint(tmp_path / "ckpt.npz")
    resumed = _controller(edges=10, choices=5, hidden=6, seed=9, lr=0.1)  # other initial weights
    resumed.load_state_dict(state["c"])
    assert np.array_equal(resumed.theta, first.theta) and resumed.baseline == first.baseline
    rng2 = np.random.default_rng()
    rng2.bit_generator.state = state["rng"]
    _train(resumed, rng2, 3)
    assert np.array_equal(resumed.theta, straight.theta)
    assert resumed.baseline == straight.baseline
    assert np.array_equal(resumed.optimizer.v, straight.optimizer.v)


def test_search_resume_continues_identically():
    config = ChromaticConfig(colors=3, hidden=(4,), popsize=6, max_steps=100, controller="recurrent")
    a = make_search(config, "swingup", 1)
    assert isinstance(a.colouring, RecurrentColouringController) and a.colouring.hidden == 32
    evaluator = Evaluator(a.task, make_backend("serial", a.task), 1, 1)

    def generation(search, gen):
        candidates = search.ask()
        result = evaluator.evaluate(candidates, gen, search.seed_keys(len(candidates)))
        search.tell(result)
        return result

    for g in range(2):
        generation(a, g)
    b = make_search(config, "swingup", 1)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(generation(a, 2).fitness, generation(b, 2).fitness)
    assert np.array_equal(a.colouring.theta, b.colouring.theta)
    assert np.array_equal(a.final().colours, b.final().colours)
    # the start colouring is the independent controller's (same seed); controller_init 0: a pure LSTM
    independent = make_search(ChromaticConfig(colors=3, hidden=(4,), popsize=6, max_steps=100), "swingup", 1)
    assert np.array_equal(make_search(config, "swingup", 1).final().colours, independent.final().colours)
    uniform = make_search(
        ChromaticConfig(controller="recurrent", controller_init=0.0, hidden=(4,)), "swingup", 1
    )
    assert "offsets" not in uniform.colouring.shapes


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_edges": 0}, "edge"),
        ({"hidden": 0}, "hidden"),
        ({"layers": [2, 2]}, "summing"),
        ({"start": np.array([0, 3, 0])}, "start"),
        ({"start": np.array([0, 1])}, "start"),
    ],
)
def test_bad_construction_is_refused(kwargs, match):
    args = {"n_edges": 3, "n_choices": 3, "hidden": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        RecurrentColouringController(**args)


@pytest.mark.parametrize(
    "colours, match",
    [
        (np.zeros((2, 3), dtype=np.int64), "shape"),
        (np.full((2, 2), 3), "0..2"),
        (np.full((2, 2), -1), "0..2"),
        (np.zeros((2, 2)), "integers"),
        (np.zeros(2, dtype=np.int64), "shape"),
    ],
)
def test_bad_colourings_are_refused(colours, match):
    c = _controller(edges=2, layers=False)
    with pytest.raises(ValueError, match=match):
        c.log_prob(colours)
    with pytest.raises(ValueError, match=match):
        c.update(colours, np.zeros(len(colours)))


def test_bad_rewards_and_states_are_refused():
    c = _controller()
    colours = np.zeros((2, 6), dtype=np.int64)
    with pytest.raises(ValueError, match="finite rewards"):
        c.update(colours, np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="finite rewards"):
        c.update(colours, np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="recurrent"):
        c.load_state_dict(ColouringController(6, 3).state_dict())
    with pytest.raises(ValueError, match="recurrent"):
        c.load_state_dict(_controller(hidden=5).state_dict())
    with pytest.raises(ValueError, match="recurrent"):
        c.load_state_dict(_controller(offsets=False).state_dict())
    with pytest.raises(ValueError, match="controller"):
        ChromaticConfig(controller="lstm")
    with pytest.raises(ValueError, match="controller_hidden"):
        ChromaticConfig(controller_hidden=0)
