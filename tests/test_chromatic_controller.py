"""The colouring controller: sampling vs log-prob, REINFORCE direction, entropy bonus, state."""

import itertools

import numpy as np
import pytest

from training.chromatic.controller import ColouringController, FixedColouring


def _controller(seed=0, edges=2, choices=3, **kw):
    c = ColouringController(edges, choices, **kw)
    c.logits = np.random.default_rng(seed).normal(0, 1.0, (edges, choices))
    return c


def test_sample_frequencies_match_log_prob():
    c = _controller()
    all_colourings = np.array(list(itertools.product(range(3), repeat=2)))
    p = np.exp(c.log_prob(all_colourings))
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    samples = c.sample(60_000, np.random.default_rng(1))
    codes = samples[:, 0] * 3 + samples[:, 1]
    freq = np.bincount(codes, minlength=9) / len(codes)
    np.testing.assert_allclose(freq, p, atol=0.01)


def test_sampling_is_seeded():
    c = _controller(edges=50, choices=17)
    a = c.sample(4, np.random.default_rng(7))
    assert np.array_equal(a, c.sample(4, np.random.default_rng(7)))
    assert a.min() >= 0 and a.max() < 17


def test_reinforce_gradient_points_to_rewarded_colour():
    """Reward = number of edges coloured 0: the ascent direction raises colour 0's logits."""
    c = ColouringController(6, 4, lr=0.2, entropy=0.0)
    rng = np.random.default_rng(0)
    colours = c.sample(256, rng)
    grad = c.gradient(colours, (colours == 0).sum(axis=1).astype(float))
    assert np.all(grad[:, 0] > 0)
    assert np.all(grad[:, 1:] < grad[:, [0]])
    for _ in range(100):
        colours = c.sample(16, rng)
        c.update(colours, (colours == 0).sum(axis=1).astype(float))
    assert np.array_equal(c.mode(), np.zeros(6))
    assert c.probs[:, 0].min() > 0.8


def test_opposite_reward_gives_opposite_gradient():
    c = _controller(edges=5, choices=3, entropy=0.0)
    colours = c.sample(64, np.random.default_rng(2))
    r = (colours == 1).sum(axis=1).astype(float)
    np.testing.assert_allclose(c.gradient(colours, -r), -c.gradient(colours, r), atol=1e-12)


def test_entropy_bonus_is_the_entropy_gradient():
    """With equal rewards only the bonus remains, and it equals a finite-difference dH/dlogits."""
    c = _controller(edges=3, choices=4, entropy=1.0)
    colours = c.sample(8, np.random.default_rng(3))
    grad = c.gradient(colours, np.ones(8))
    eps, fd = 1e-6, np.zeros_like(c.logits)
    for idx in np.ndindex(*c.logits.shape):
        c.logits[idx] += eps
        up = c.entropy()
        c.logits[idx] -= 2 * eps
        fd[idx] = (up - c.entropy()) / (2 * eps)
        c.logits[idx] += eps
    np.testing.assert_allclose(grad, fd, atol=1e-6)


def test_baseline_is_a_moving_average():
    c = ColouringController(2, 2, baseline_decay=0.5)
    colours = np.zeros((2, 2), dtype=np.int64)
    c.update(colours, np.array([1.0, 3.0]))
    assert c.baseline == 2.0
    c.update(colours, np.array([6.0, 6.0]))
    assert c.baseline == 4.0


def test_start_colouring_leads():
    start = np.array([2, 0, 1])
    c = ColouringController(3, 3, start=start, lead=3.0)
    assert np.array_equal(c.mode(), start)
    assert c.probs.max(axis=1) == pytest.approx(np.e**3 / (np.e**3 + 2))


def test_state_dict_round_trip():
    c = _controller(edges=4, choices=5)
    rng = np.random.default_rng(4)
    colours = c.sample(6, rng)
    c.update(colours, rng.normal(size=6))
    d = ColouringController(4, 5)
    d.load_state_dict(c.state_dict())
    colours = c.sample(6, rng)
    r = rng.normal(size=6)
    c.update(colours, r)
    d.update(colours, r)
    assert np.array_equal(c.logits, d.logits) and c.baseline == d.baseline


@pytest.mark.parametrize(
    "colours, match",
    [
        (np.zeros((2, 3), dtype=np.int64), "shape"),
        (np.full((2, 2), 3), "0..2"),
        (np.zeros((2, 2)), "integers"),
    ],
)
def test_bad_colourings_are_refused(colours, match):
    with pytest.raises(ValueError, match=match):
        _controller().log_prob(colours)


def test_bad_rewards_are_refused():
    c = _controller()
    with pytest.raises(ValueError, match="finite rewards"):
        c.update(np.zeros((2, 2), dtype=np.int64), np.array([1.0, np.nan]))


def test_fixed_colouring_never_changes():
    f = FixedColouring(np.array([1, 0, 2]))
    f.update([f.colours], np.array([5.0]))
    assert all(np.array_equal(s, [1, 0, 2]) for s in f.sample(3, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="fixed"):
        f.load_state_dict({"kind": "controller"})
