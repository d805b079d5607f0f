"""Ask/tell strategies: OpenAI-ES and CMA-ES behind one interface."""

import numpy as np
import pytest

from training.checkpoint import load_checkpoint, save_checkpoint
from training.strategies import CMAES, OpenAIES, Strategy, centred_ranks
from training.strategies.optimizers import SGD, Adam

TARGET = np.array([1.5, -2.0, 0.5, 3.0, -1.0])


def quadratic(x: np.ndarray) -> np.ndarray:
    return -np.sum((np.asarray(x, dtype=np.float64) - TARGET) ** 2, axis=1)


def test_centred_ranks_known_values_and_ties():
    np.testing.assert_allclose(centred_ranks([3.0, 1.0, 2.0]), [0.5, -0.5, 0.0])
    np.testing.assert_allclose(centred_ranks([5.0, -np.inf, 7.0, 1.0]), [1 / 6, -0.5, 0.5, -1 / 6])
    # ties share their mean rank; the result is still centred and bounded
    r = centred_ranks([2.0, 2.0, 1.0, 3.0])
    np.testing.assert_allclose(r, [0.0, 0.0, -0.5, 0.5])
    assert centred_ranks([4.0]).tolist() == [0.0]


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_openai_es_converges_on_a_quadratic(optimizer):
    es = OpenAIES(
        np.zeros(5),
        40,
        sigma=0.2,
        lr=0.1,
        optimizer=optimizer,
        sigma_decay=0.99,
        sigma_min=0.02,
        lr_decay=0.99,
        lr_min=0.001,
        seed=3,
    )
    start = quadratic(es.mean[None])[0]
    for _ in range(250):
        es.tell(quadratic(es.ask()))
    assert isinstance(es, Strategy)
    assert start < -15
    np.testing.assert_allclose(es.mean, TARGET, atol=0.02)
    assert es.best_fitness > -0.05 and es.generation == 250
    assert es.sigma == pytest.approx(0.2 * 0.99**250 if 0.2 * 0.99**250 > 0.02 else 0.02)


def test_antithetic_pairs_are_mirrored_about_the_mean():
    es = OpenAIES(np.linspace(-1, 1, 7), 10, sigma=0.3, seed=1)
    x = np.asarray(es.ask(), dtype=np.float64)
    half = 5
    np.testing.assert_allclose(x[:half] + x[half:] - 2 * es.mean, 0.0, atol=1e-6)
    assert not np.allclose(x[:half], x[half:])
    assert np.std(x[:half] - es.mean) == pytest.approx(0.3, rel=0.3)
    with pytest.raises(ValueError, match="read-only"):
        x_view = es.ask()
        x_view[0, 0] = 1.0


def test_gradient_is_one_matmul_of_noise_and_rank_differences():
    es = OpenAIES(np.zeros(4), 6, sigma=0.5, lr=1.0, optimizer="sgd", momentum=0.0, seed=2)
    x = np.asarray(es.ask(), dtype=np.float64)
    eps = (x[:3] - 0.0) / 0.5
    fitness = np.array([3.0, 0.0, 1.0, 2.0, 5.0, 4.0])
    r = centred_ranks(fitness)
    expected = eps.T @ (r[:3] - r[3:]) / (6 * 0.5)
    es.tell(fitness)
    np.testing.assert_allclose(es.mean, expected, rtol=1e-5)


def test_standardized_ranks_step_as_the_hebbian_reference_code():
    """Reference update: theta += lr / (n sigma) * sum_i eps_i z_i, z = centred ranks / their std."""
    n, sigma, lr = 8, 0.1, 0.2
    es = OpenAIES(np.zeros(5), n, sigma=sigma, lr=lr, optimizer="sgd", momentum=0.0, standardize_ranks=True)
    x = np.asarray(es.ask(), dtype=np.float64)
    eps = x / sigma  # rows i and i + n/2 are mirrored
    fitness = np.array([3.0, 0.0, 1.0, 7.0, 2.0, 5.0, 4.0, 6.0])
    r = centred_ranks(fitness)
    z = (r - r.mean()) / r.std()
    es.tell(fitness)
    np.testing.assert_allclose(es.mean, lr / (n * sigma) * eps.T @ z, rtol=1e-5)
    plain = OpenAIES(np.zeros(5), n, sigma=sigma, lr=lr, optimizer="sgd", momentum=0.0)
    plain.ask()
    plain.tell(fitness)
    np.testing.assert_allclose(es.mean, plain.mean / r.std(), rtol=1e-5)  # 1 / std = 3.4 for n = 64
    assert np.linalg.norm(es.mean) > 2.5 * np.linalg.norm(plain.mean)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_weight_decay_is_the_same_term_on_every_optimizer(optimizer):
    """Equal fitness gives a zero gradient, so the whole update is the L2 term through the optimiser."""
    theta0 = np.array([1.0, -2.0, 0.5])
    kwargs = {"sigma": 0.1, "lr": 0.05, "weight_decay": 0.2, "momentum": 0.0, "seed": 0}
    es = OpenAIES(theta0, 4, optimizer=optimizer, **kwargs)
    es.ask()
    es.tell(np.ones(4))
    reference = Adam(3, 0.05) if optimizer == "adam" else SGD(3, 0.05, 0.0)
    np.testing.assert_allclose(es.mean, theta0 + reference.step(-0.2 * theta0))
    assert np.all(np.abs(es.mean) < np.abs(theta0))  # decay shrinks every weight on both paths
    no_decay = OpenAIES(theta0, 4, optimizer=optimizer, **{**kwargs, "weight_decay": 0.0})
    no_decay.ask()
    no_decay.tell(np.ones(4))
    np.testing.assert_array_equal(no_decay.mean, theta0)


def test_lr_and_sigma_decay_stop_at_their_floors():
    es = OpenAIES(np.zeros(3), 4, sigma=1.0, lr=1.0, sigma_decay=0.5, sigma_min=0.2, lr_decay=0.5, lr_min=0.3)
    for _ in range(5):
        es.tell(quadratic(np.pad(es.ask(), ((0, 0), (0, 2)))))
    assert es.sigma == 0.2 and es.optimizer.lr == 0.3


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_state_dict_round_trip_continues_identically(tmp_path, optimizer):
    a = OpenAIES(np.zeros(5), 8, optimizer=optimizer, weight_decay=0.01, sigma_decay=0.9, seed=11)
    for _ in range(3):
        a.tell(quadratic(a.ask()))
    save_checkpoint(tmp_path / "es.npz", {"strategy": a.state_dict()})
    b = OpenAIES(np.ones(5), 8, optimizer=optimizer, weight_decay=0.01, sigma_decay=0.9, seed=99)
    b.load_state_dict(load_checkpoint(tmp_path / "es.npz")["strategy"])
    for _ in range(4):
        xa, xb = a.ask(), b.ask()
        np.testing.assert_array_equal(xa, xb)
        a.tell(quadratic(xa))
        b.tell(quadratic(xb))
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.best, b.best)
    assert a.best_fitness == b.best_fitness and a.generation == b.generation == 7


def test_cma_es_converges_and_its_state_round_trips(tmp_path):
    a = CMAES(np.zeros(5), 10, sigma=1.0, seed=4)
    assert isinstance(a, Strategy)
    for _ in range(40):
        a.tell(quadratic(a.ask()))
    save_checkpoint(tmp_path / "cma.npz", {"strategy": a.state_dict()})
    b = CMAES(np.zeros(5), 10, sigma=1.0, seed=4)
    b.load_state_dict(load_checkpoint(tmp_path / "cma.npz")["strategy"])
    for _ in range(40):
        xa, xb = a.ask(), b.ask()
        np.testing.assert_array_equal(xa, xb)
        a.tell(quadratic(xa))
        b.tell(quadratic(xb))
    np.testing.assert_allclose(a.mean, TARGET, atol=1e-3)
    assert a.best_fitness == b.best_fitness > -1e-5


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(ValueError, match="even"):
        OpenAIES(np.zeros(3), 5)
    with pytest.raises(ValueError, match="optimizer"):
        OpenAIES(np.zeros(3), 4, optimizer="rmsprop")
    with pytest.raises(ValueError, match="floors may not exceed"):
        OpenAIES(np.zeros(3), 4, lr=0.01, lr_min=0.1)
    es = OpenAIES(np.zeros(3), 4)
    with pytest.raises(RuntimeError, match="without a pending ask"):
        es.tell(np.zeros(4))
    es.ask()
    with pytest.raises(ValueError, match="expected 4 fitness values"):
        es.tell(np.zeros(3))
    es.tell(np.array([np.nan, 1.0, 2.0, 0.0]))  # NaN (a diverged episode) ranks last
    with pytest.raises(ValueError, match="not an OpenAI-ES state"):
        es.load_state_dict({"kind": "cma_es"})
