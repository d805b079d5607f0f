"""Reading the WANN reference implementation's champion matrices (savetxt text, N x (N+1))."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wann_ros.formats import PolicyFileError
from wann_ros.formats.wann_reference import read_wann_reference
from wann_ros.policies import generic_spec

# bias 0, inputs 1-2, hidden 3 (tanh) and 4 (gaussian, unconnected: f(0) = 1), output 5 (linear)
# 3 <- 1 (0.5), 3 <- 2 (-1.25), 5 <- 0 (2.0), 5 <- 3 (1.5), 5 <- 4 (-0.75), 5 <- 2 disabled (nan)
CHAMPION = """\
0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,2.00e+00,1.00e+00
0.00e+00,0.00e+00,0.00e+00,5.00e-01,0.00e+00,0.00e+00,1.00e+00
0.00e+00,0.00e+00,0.00e+00,-1.25e+00,0.00e+00,nan,1.00e+00
0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,1.50e+00,5.00e+00
0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,-7.50e-01,4.00e+00
0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,1.00e+00
"""


def direct(x, shared=None):
    """The champion above, evaluated by hand."""
    w = (lambda v: v) if shared is None else (lambda v: shared)
    h3 = math.tanh(w(0.5) * x[0] + w(-1.25) * x[1])
    h4 = math.exp(-0.0)
    return w(2.0) * 1.0 + w(1.5) * h3 + w(-0.75) * h4


@pytest.fixture
def champion(tmp_path):
    path = tmp_path / "swing.out"
    path.write_text(CHAMPION)
    return path


def test_tuned_weights_match_the_matrix(champion):
    pol = read_wann_reference(champion, 2, 1)
    rng = np.random.default_rng(0)
    for _ in range(10):
        x = rng.normal(size=2)
        assert pol.act(x)[0] == pytest.approx(direct(x), abs=1e-12)
    d = pol.describe()
    assert (d["nodes"], d["connections"], d["disabled_connections"], d["weights"]) == (6, 5, 1, "tuned")


def test_shared_weight_and_ensemble(champion):
    spec = generic_spec("wann", 2, 1, control_period=0.01)
    pol = read_wann_reference(champion, 2, 1, spec, shared_weight=-2.0)
    ens = read_wann_reference(champion, 2, 1, spec, shared_weight=1.0, ensemble_weights=[-2.0, 0.5, 1.0])
    x = np.array([0.3, -0.7])
    assert pol.act(x)[0] == pytest.approx(direct(x, -2.0), abs=1e-12)
    assert ens.act(x)[0] == pytest.approx(np.mean([direct(x, w) for w in (-2.0, 0.5, 1.0)]), abs=1e-12)
    assert pol.spec.control_period == 0.01


@pytest.mark.parametrize(
    ("text", "n_in", "match"),
    [
        ("", 2, "empty"),
        (CHAMPION.replace(",1.00e+00\n", "\n", 1), 2, "columns"),
        (CHAMPION.replace("5.00e+00", "1.20e+01"), 2, "activation"),
        (CHAMPION.replace("5.00e+00", "2.50e+00"), 2, "activation"),
        (CHAMPION.replace("5.00e-01", "abc"), 2, "row 1"),
        (
            CHAMPION.replace(
                "0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,1.00e+00", "1,0,0,0,0,0,1"
            ),
            2,
            "bias or an input",
        ),
        (
            CHAMPION.replace(
                "0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,1.00e+00", "0,0,0,0,0,1,1"
            ),
            2,
            "not feed-forward",
        ),
        (CHAMPION, 5, "cannot hold"),
    ],
)
def test_malformed_files_are_refused(tmp_path, text, n_in, match):
    path = tmp_path / "bad.out"
    path.write_text(text)
    with pytest.raises(PolicyFileError, match=match):
        read_wann_reference(path, n_in, 1)
