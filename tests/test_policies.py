"""The numpy policy runtime: activations, WANN, chromatic, Hebbian, static, populations, factory."""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
from pathlib import Path

import numpy as np
import pytest

from wann_ros.formats import load_policy
from wann_ros.policies import (
    ChromaticPolicy,
    HebbianPolicy,
    HebbianPopulation,
    Policy,
    PolicySpecError,
    StaticPolicy,
    StaticPopulation,
    WannPolicy,
    generic_spec,
    make_policy,
)
from wann_ros.policies.activations import ACTIVATION_NAMES, activation_id, apply_activation
from wann_ros.policies.hebbian import hebbian_param_count
from wann_ros.policies.spec import ActionSpec, ObservationSpec, all_finite
from wann_ros.policies.static import static_param_count

REFERENCE_FORMULAS = {  # the reference applyAct, written out per element
    1: lambda x: x,
    2: lambda x: 1.0 if x > 0 else 0.0,
    3: lambda x: math.sin(math.pi * x),
    4: lambda x: math.exp(-x * x / 2.0),
    5: math.tanh,
    6: lambda x: (math.tanh(x / 2.0) + 1.0) / 2.0,
    7: lambda x: -x,
    8: abs,
    9: lambda x: max(0.0, x),
    10: lambda x: math.cos(math.pi * x),
    11: lambda x: x * x,
}


# -- activations -----------------------------------------------------------------------------------
def test_activations_match_reference_formulas_by_id_and_name():
    xs = np.array([-2.5, -1.0, -0.3, 0.0, 0.2, 0.5, 1.0, 3.0])
    for act_id, f in REFERENCE_FORMULAS.items():
        expected = np.array([f(float(x)) for x in xs])
        np.testing.assert_allclose(apply_activation(act_id, xs), expected, rtol=1e-15, atol=1e-15)
        name = ACTIVATION_NAMES[act_id - 1]
        assert activation_id(name) == act_id
        np.testing.assert_array_equal(apply_activation(name, xs), apply_activation(act_id, xs))
    buf = xs.copy()
    apply_activation("tanh", buf, out=buf)
    np.testing.assert_array_equal(buf, np.tanh(xs))


@pytest.mark.parametrize("bad", [0, 12, -1, True, 2.0, "Tanh", "softmax", None])
def test_unknown_activation_is_refused(bad):
    with pytest.raises(PolicySpecError, match="activation"):
        activation_id(bad)


# -- WANN ------------------------------------------------------------------------------------------
# bias 0, inputs 1..3, hidden 4 5 6, outputs 7 8; node 5 has no input (gaussian(0) = 1)
WANN_ACTS = [1, 1, 1, 1, 5, 4, 3, 10, 6]
WANN_CONN = [
    [1, 4, 1],
    [2, 4, 1],
    [0, 6, 1],
    [4, 6, 1],
    [5, 7, 1],
    [6, 7, 1],
    [3, 8, 1],
    [4, 8, 1],
    [2, 7, 0],
]


def direct_wann(x, acts, conn, weights):
    """Evaluate a WANN node by node straight from the definition."""
    v = np.zeros(len(acts))
    v[0] = 1.0
    v[1 : 1 + len(x)] = x
    for node in range(1 + len(x), len(acts)):
        total = sum(weights[e] * v[s] for e, (s, d, on) in enumerate(conn) if d == node and on)
        v[node] = REFERENCE_FORMULAS[acts[node]](total)
    return v[-2:]


@pytest.fixture
def wann_spec():
    return generic_spec("wann", 3, 2)


def test_wann_shared_and_tuned_weights_match_direct_evaluation(wann_spec):
    rng = np.random.default_rng(0)
    tuned = rng.normal(size=len(WANN_CONN))
    shared = WannPolicy(3, 2, WANN_ACTS, WANN_CONN, wann_spec, shared_weight=-1.5)
    per_edge = WannPolicy(3, 2, WANN_ACTS, WANN_CONN, wann_spec, weights=tuned)
    for _ in range(20):
        x = rng.normal(size=3)
        expected = direct_wann(x, WANN_ACTS, WANN_CONN, [-1.5] * len(WANN_CONN))
        np.testing.assert_allclose(shared.act(x), expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(per_edge.act(x), direct_wann(x, WANN_ACTS, WANN_CONN, tuned), atol=1e-12)
    assert isinstance(shared, Policy)
    assert shared.act(np.zeros(3)).dtype == np.float64


def test_wann_batch_over_weights_and_observations_equals_single_steps(wann_spec):
    rng = np.random.default_rng(1)
    net = WannPolicy(3, 2, WANN_ACTS, WANN_CONN, wann_spec, shared_weight=1.0)
    obs, weights = rng.normal(size=(64, 3)), rng.uniform(-2, 2, size=64)
    batch = net.act_batch(obs, weights)
    for i in range(64):
        net.shared_weight = weights[i]
        np.testing.assert_allclose(batch[i], net.act(obs[i]), rtol=1e-12, atol=1e-13)
    net.shared_weight = 0.5
    np.testing.assert_allclose(net.act_batch(obs)[3], net.act(obs[3]), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("act", ACTIVATION_NAMES)
def test_activations_write_strided_column_blocks_like_single_rows(act):
    # a batched WANN level hands each activation group a column block of two wider arrays; numpy 2.4's
    # np.negative got the one-column case wrong (the shipped swing-up ensemble scored 523.5, not 500.3)
    rng = np.random.default_rng(3)
    for width in (1, 2, 3):
        pre, values = rng.normal(size=(9, 8)) * 2, np.zeros((9, 48))
        apply_activation(act, pre[:, 5 : 5 + width], out=values[:, 11 : 11 + width])
        rows = np.array([apply_activation(act, row) for row in pre[:, 5 : 5 + width]])
        np.testing.assert_array_equal(values[:, 11 : 11 + width], rows)


def test_wann_weight_ensemble_averages_the_shared_weights(wann_spec):
    rng = np.random.default_rng(2)
    ens = [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0]
    net = WannPolicy(3, 2, WANN_ACTS, WANN_CONN, wann_spec, shared_weight=1.0, ensemble_weights=ens)
    single = WannPolicy(3, 2, WANN_ACTS, WANN_CONN, wann_spec, shared_weight=1.0)
    x = rng.normal(size=3)
    np.testing.assert_allclose(net.act(x), single.act_batch(np.tile(x, (6, 1)), ens).mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(net.act_batch(x[None])[0], net.act(x), atol=1e-13)


@pytest.mark.parametrize(
    ("conn", "match"),
    [
        ([[4, 4, 1]], "feed-forward"),
        ([[6, 5, 1]], "feed-forward"),
        ([[0, 2, 1]], "bias or an input"),
        ([[1, 4, 1], [1, 4, 0]], "repeat"),
        ([[1, 4, 2]], "enabled"),
        ([[1, 40, 1]], "values must be in"),
        ([[1, 4]], "shape"),
    ],
)
def test_wann_refuses_bad_connections(wann_spec, conn, match):
    with pytest.raises(PolicySpecError, match=match):
        WannPolicy(3, 2, WANN_ACTS, conn, wann_spec, shared_weight=1.0)


def test_wann_refuses_bad_structure(wann_spec):
    with pytest.raises(PolicySpecError, match="exactly one"):
        WannPolicy(3, 2, WANN_ACTS, WANN_CONN, wann_spec)
    with pytest.raises(PolicySpecError, match="exactly one"):
        WannPolicy(3, 2, WANN_ACTS, WANN_CONN, wann_spec, shared_weight=1.0, weights=np.ones(9))
    with pytest.raises(PolicySpecError, match="activation"):
        WannPolicy(3, 2, [*WANN_ACTS[:-1], 12], WANN_CONN, wann_spec, shared_weight=1.0)
    with pytest.raises(PolicySpecError, match="every node"):
        WannPolicy(3, 2, [1, 1, 1, 1, 5], [], wann_spec, shared_weight=1.0)
    with pytest.raises(PolicySpecError, match="inputs"):
        WannPolicy(4, 2, [1] * 10, [], wann_spec, shared_weight=1.0)
    with pytest.raises(PolicySpecError, match="ensemble"):
        WannPolicy(3, 2, WANN_ACTS, WANN_CONN, wann_spec, weights=np.ones(9), ensemble_weights=[1.0])


def test_bad_observation_shape_is_a_clear_error(wann_spec):
    net = WannPolicy(3, 2, WANN_ACTS, WANN_CONN, wann_spec, shared_weight=1.0)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        net.act(np.zeros(4))
    with pytest.raises(ValueError, match="numbers"):
        net.act(["a", "b", "c"])
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        net.act_batch(np.zeros(3))


def test_act_normalises_with_the_spec():
    rng = np.random.default_rng(3)
    plain = generic_spec("static", 5, 2)
    normed = generic_spec("static", 5, 2)
    normed.observation = ObservationSpec(
        plain.observation.terms, rng.normal(size=5), rng.uniform(0.5, 2, 5), 1.5
    )
    params = rng.normal(size=static_param_count([5, 7, 2]))
    a = StaticPolicy.from_flat(params, [5, 7, 2], plain)
    b = StaticPolicy.from_flat(params, [5, 7, 2], normed)
    obs = rng.normal(scale=4, size=5)
    x = np.clip((obs - normed.observation.mean) / normed.observation.std, -1.5, 1.5)
    np.testing.assert_allclose(b.act(obs), a.act(x), atol=1e-14)
    assert not np.allclose(b.act(obs), a.act(obs))


# -- static and chromatic --------------------------------------------------------------------------
def test_static_matches_the_plain_mlp_and_round_trips_flat():
    rng = np.random.default_rng(4)
    sizes = [6, 9, 4]
    spec = generic_spec("static", 6, 4)
    params = rng.normal(size=static_param_count(sizes))
    pol = StaticPolicy.from_flat(params, sizes, spec, output_activation="linear")
    w0, b0 = params[:54].reshape(6, 9), params[54:63]
    w1, b1 = params[63:99].reshape(9, 4), params[99:]
    x = rng.normal(size=6)
    np.testing.assert_allclose(pol.act(x), np.tanh(x @ w0 + b0) @ w1 + b1, atol=1e-13)
    np.testing.assert_array_equal(pol.to_flat(), params)
    np.testing.assert_allclose(pol.act_batch(np.stack([x, 2 * x]))[0], pol.act(x), atol=1e-14)
    with pytest.raises(PolicySpecError, match="static params"):
        StaticPolicy.from_flat(params[:-1], sizes, spec)


def test_static_population_equals_single_policies():
    rng = np.random.default_rng(5)
    sizes, spec = [6, 9, 4], generic_spec("static", 6, 4)
    params = rng.normal(size=(7, static_param_count(sizes)))
    pop = StaticPopulation(params, sizes, spec, output_activation="sigmoid")
    obs = rng.normal(size=(7, 6))
    out = pop.act_batch(obs)
    for i in range(7):
        single = StaticPolicy.from_flat(params[i], sizes, spec, output_activation="sigmoid")
        np.testing.assert_allclose(out[i], single.act(obs[i]), rtol=1e-12, atol=1e-14)


def test_chromatic_expands_colours_into_the_pool():
    rng = np.random.default_rng(6)
    sizes, spec = [5, 8, 3], generic_spec("chromatic", 5, 3)
    pool = rng.normal(size=4)
    colors = [rng.integers(0, 4, size=(5, 8)), rng.integers(0, 4, size=(8, 3))]
    biases = [rng.normal(size=8), rng.normal(size=3)]
    pol = ChromaticPolicy(sizes, pool, colors, biases, spec)
    static = StaticPolicy([pool[colors[0]], pool[colors[1]]], biases, generic_spec("static", 5, 3))
    for _ in range(5):
        x = rng.normal(size=5)
        np.testing.assert_allclose(pol.act(x), static.act(x), atol=1e-15)
        manual = np.tanh(np.tanh(x @ pool[colors[0]] + biases[0]) @ pool[colors[1]] + biases[1])
        np.testing.assert_allclose(pol.act(x), manual, atol=1e-14)
    assert pol.n_params == 4 + 8 + 3
    with pytest.raises(PolicySpecError, match="colors"):
        ChromaticPolicy(sizes, pool, [colors[0], colors[1] + 4], biases, spec)


# -- Hebbian ---------------------------------------------------------------------------------------
def explicit_hebbian_step(weights, rules, x):
    """Forward pass and ABCD update, synapse by synapse, from the rule's definition."""
    acts = [x]
    for w in weights:
        acts.append(np.tanh(acts[-1] @ w))
    new = []
    for k, w in enumerate(weights):
        w = w.copy()
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                a, b, c, d, eta = rules[k][i, j]
                pre, post = acts[k][i], acts[k + 1][j]
                w[i, j] += eta * (a * pre * post + b * pre + c * post + d)
        new.append(w)
    return acts[-1], new


@pytest.fixture
def small_hebbian():
    rng = np.random.default_rng(7)
    sizes = [4, 5, 3]
    params = rng.normal(scale=0.5, size=hebbian_param_count(sizes))
    return sizes, params, generic_spec("hebbian", 4, 3)


def test_hebbian_update_follows_the_abcd_rule(small_hebbian):
    sizes, params, spec = small_hebbian
    pol = HebbianPolicy.from_flat(params, sizes, spec, seed=11)
    rules = [params[:100].reshape(4, 5, 5), params[100:].reshape(5, 3, 5)]
    rng = np.random.default_rng(8)
    weights = pol.weights
    for _ in range(3):
        x = rng.normal(size=4)
        expected_out, weights = explicit_hebbian_step(weights, rules, x)
        np.testing.assert_allclose(pol.act(x), expected_out, atol=1e-13)
        for got, want in zip(pol.weights, weights, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-13)


def test_hebbian_deferred_update_gives_the_same_actions_and_weights(small_hebbian):
    """A controller sends the action first and updates after; skipping finish_update must not lose it."""
    sizes, params, spec = small_hebbian
    plain, deferred, lazy = (HebbianPolicy.from_flat(params, sizes, spec, seed=3) for _ in range(3))
    obs = np.random.default_rng(9).normal(size=(30, 4)).astype(np.float32)
    for k, x in enumerate(obs):
        a = plain.act(x)
        b = deferred.act(x, defer_update=True)
        assert deferred.weights[0].tolist() != plain.weights[0].tolist() or k == 0  # not applied yet
        deferred.finish_update()
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, lazy.act(x, defer_update=True))  # the next act applies it
    deferred.finish_update()  # nothing pending: no second update
    lazy.finish_update()
    for w, d, z in zip(plain.weights, deferred.weights, lazy.weights, strict=True):
        np.testing.assert_array_equal(w, d)
        np.testing.assert_array_equal(w, z)


def test_hebbian_reset_draws_seeded_uniform_weights(small_hebbian):
    sizes, params, spec = small_hebbian
    pol = HebbianPolicy.from_flat(params, sizes, spec)
    pol.reset(3)
    first = pol.weights
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(first[0], rng.uniform(-0.1, 0.1, size=(4, 5)))
    np.testing.assert_array_equal(first[1], rng.uniform(-0.1, 0.1, size=(5, 3)))
    pol.act(np.ones(4))
    assert not np.array_equal(pol.weights[0], first[0])
    pol.reset(3)
    np.testing.assert_array_equal(pol.weights[0], first[0])
    pol.reset(4)
    assert not np.array_equal(pol.weights[0], first[0])
    normal = HebbianPolicy.from_flat(params, sizes, spec, init="normal", init_scale=2.0, seed=3)
    assert np.std(normal.weights[0]) > 0.5


def test_hebbian_freeze_bound_and_normalize(small_hebbian):
    sizes, params, spec = small_hebbian
    rng = np.random.default_rng(9)
    pol = HebbianPolicy.from_flat(params * 20, sizes, spec)
    pol.freeze()
    before = pol.weights
    pol.act(rng.normal(size=4))
    np.testing.assert_array_equal(pol.weights[1], before[1])
    pol.unfreeze()
    pol.act(rng.normal(size=4))
    assert not np.array_equal(pol.weights[1], before[1])
    bounded = HebbianPolicy.from_flat(params * 20, sizes, spec, weight_bound=0.3)
    normed = HebbianPolicy.from_flat(params * 20, sizes, spec, normalize=True)
    for _ in range(500):
        x = rng.normal(size=4)
        bounded.act(x)
        normed.act(x)
    assert max(np.abs(w).max() for w in bounded.weights) <= 0.3
    for w in normed.weights:
        assert np.abs(w).max() == pytest.approx(1.0)
    assert all(math.isfinite(n) for n in normed.weight_norms())
    pol.weights = [np.zeros((4, 5)), np.ones((5, 3))]
    assert pol.weight_norms() == [0.0, pytest.approx(math.sqrt(15))]
    with pytest.raises(PolicySpecError, match="shape"):
        pol.weights = [np.zeros((5, 4)), np.ones((5, 3))]


@pytest.mark.parametrize(("mode", "axis"), [("post", 0), ("pre", 1)])
def test_hebbian_compact_rules_equal_broadcast_synapse_rules(small_hebbian, mode, axis):
    sizes, _, spec = small_hebbian
    rng = np.random.default_rng(10)
    compact = (
        [rng.normal(size=(5, 5)), rng.normal(size=(3, 5))]
        if mode == "post"
        else [
            rng.normal(size=(4, 5)),
            rng.normal(size=(5, 5)),
        ]
    )
    shapes = [(4, 5), (5, 3)]
    full = [np.broadcast_to(np.expand_dims(c, axis), (*s, 5)) for c, s in zip(compact, shapes, strict=True)]
    a = HebbianPolicy(sizes, compact, spec, rule_mode=mode, seed=1)
    b = HebbianPolicy(sizes, full, spec, seed=1)
    assert a.n_params == sum(c.size for c in compact) < b.n_params
    for _ in range(4):
        x = rng.normal(size=4)
        np.testing.assert_allclose(a.act(x), b.act(x), atol=1e-13)
    np.testing.assert_allclose(a.weights[0], b.weights[0], atol=1e-13)


def test_hebbian_ant_layout_has_61440_parameters():
    assert hebbian_param_count([28, 128, 64, 8]) == 5 * 12_288 == 61_440
    params = np.arange(61_440, dtype=float)
    pol = HebbianPolicy.from_flat(params, [28, 128, 64, 8], generic_spec("hebbian", 28, 8))
    np.testing.assert_array_equal(pol.to_flat(), params)
    # synapse (i, j) of layer 0: coefficients A..eta adjacent, input-major
    np.testing.assert_array_equal(pol.rules[0][2, 3], params[(2 * 128 + 3) * 5 : (2 * 128 + 3) * 5 + 5])


def test_hebbian_population_equals_single_policies(small_hebbian):
    sizes, _, spec = small_hebbian
    rng = np.random.default_rng(12)
    params = rng.normal(scale=0.3, size=(5, hebbian_param_count(sizes)))
    pop = HebbianPopulation(params, sizes, spec, normalize=True)
    seeds = [3, 1, 4, 1, 5]
    pop.reset(seeds)
    singles = [
        HebbianPolicy.from_flat(params[i], sizes, spec, normalize=True, seed=seeds[i]) for i in range(5)
    ]
    for _ in range(6):
        obs = rng.normal(size=(5, 4))
        out = pop.act_batch(obs)
        for i, single in enumerate(singles):
            np.testing.assert_allclose(out[i], single.act(obs[i]), rtol=1e-12, atol=1e-13)
    for i, single in enumerate(singles):
        np.testing.assert_allclose(pop.weights[1][i], single.weights[1], rtol=1e-12, atol=1e-13)


# -- factory ---------------------------------------------------------------------------------------
def all_kinds():
    rng = np.random.default_rng(13)
    return [
        WannPolicy(3, 2, WANN_ACTS, WANN_CONN, generic_spec("wann", 3, 2), shared_weight=0.7),
        WannPolicy(3, 2, WANN_ACTS, WANN_CONN, generic_spec("wann", 3, 2), weights=rng.normal(size=9)),
        ChromaticPolicy(
            [3, 4, 2],
            rng.normal(size=3),
            [rng.integers(0, 3, (3, 4)), rng.integers(0, 3, (4, 2))],
            [rng.normal(size=4), rng.normal(size=2)],
            generic_spec("chromatic", 3, 2),
            output_activation="linear",
        ),
        HebbianPolicy.from_flat(
            rng.normal(size=hebbian_param_count([3, 4, 2], "post")),
            [3, 4, 2],
            generic_spec("hebbian", 3, 2),
            rule_mode="post",
            weight_bound=2.0,
        ),
        StaticPolicy.from_flat(
            rng.normal(size=static_param_count([3, 4, 2])), [3, 4, 2], generic_spec("static", 3, 2)
        ),
    ]


@pytest.mark.parametrize("index", range(5))
def test_make_policy_rebuilds_every_kind_from_its_network_dict(index):
    pol = all_kinds()[index]
    again = make_policy(pol.spec.kind, pol.network_dict(), pol.spec)
    x = np.array([0.3, -0.2, 0.9])
    pol.reset(5)
    again.reset(5)
    for _ in range(3):
        np.testing.assert_array_equal(again.act(x), pol.act(x))
    with pytest.raises(PolicySpecError, match="does not match"):
        make_policy("static" if pol.spec.kind != "static" else "wann", pol.network_dict(), pol.spec)


# -- copies and pickles ----------------------------------------------------------------------------
# The policies keep buffers that are views of one another; numpy copies a view as a separate array, so
# a naive copy acted wrongly. A copy must act like the original, bit for bit, and on its own.
COPIES = {"deepcopy": copy.deepcopy, "pickle": lambda obj: pickle.loads(pickle.dumps(obj))}
MODELS = Path(__file__).resolve().parents[1] / "models"


def run(policy, obs):
    return np.array([policy.act(x) for x in obs])


def copy_kinds(normalised):
    """``all_kinds`` plus a weight ensemble; ``normalised`` specs make ``act`` normalise into the buffers."""
    kinds = all_kinds()
    kinds.append(
        WannPolicy(
            3,
            2,
            WANN_ACTS,
            WANN_CONN,
            generic_spec("wann", 3, 2),
            shared_weight=0.7,
            ensemble_weights=[-1, 2],
        )
    )
    if normalised:
        for pol in kinds:
            obs = pol.spec.observation
            pol.spec.observation = ObservationSpec(obs.terms, [0.1, -0.2, 0.3], [0.5, 2.0, 1.5], 3.0)
    return kinds


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("normalised", [False, True])
@pytest.mark.parametrize("index", range(6))
def test_a_copy_acts_like_the_original_and_on_its_own(index, normalised, how):
    pol, twin = copy_kinds(normalised)[index], copy_kinds(normalised)[index]  # twin: an untouched reference
    obs = np.random.default_rng(14).normal(size=(6, 3))
    pol.reset(5)
    run(pol, obs)  # mid-episode (a Hebbian network's weights have moved)
    dup = COPIES[how](pol)
    assert type(dup) is type(pol)
    np.testing.assert_array_equal(run(dup, obs), run(pol, obs))
    run(dup, 3 * obs)  # acting on the copy ...
    twin.reset(5)
    run(twin, obs)
    run(twin, obs)
    np.testing.assert_array_equal(run(pol, obs), run(twin, obs))  # ... leaves the original where it was


@pytest.mark.parametrize("how", COPIES)
def test_a_mid_episode_hebbian_copy_continues_exactly(small_hebbian, how):
    sizes, params, spec = small_hebbian
    obs = np.random.default_rng(15).normal(size=(12, 4))
    pol = HebbianPolicy.from_flat(params, sizes, spec, normalize=True, weight_bound=0.8, seed=2)
    run(pol, obs[:4])
    pol.act(obs[4], defer_update=True)  # its update, from the buffered activity, is still pending
    dup = COPIES[how](pol)
    for a, b in zip(dup.weights, pol.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    for x in obs[5:]:  # the next act applies the pending update, then the rule keeps changing the weights
        np.testing.assert_array_equal(dup.act(x, defer_update=True), pol.act(x, defer_update=True))
    dup.finish_update()
    pol.finish_update()
    for a, b in zip(dup.weights, pol.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    pol.freeze()
    frozen = COPIES[how](pol)
    assert frozen.frozen
    frozen.unfreeze()
    before = pol.weights
    run(frozen, obs)  # neither its plasticity nor its options reach the original
    assert pol.frozen
    for a, b in zip(pol.weights, before, strict=True):
        np.testing.assert_array_equal(a, b)
    pol.reset(9)
    frozen.reset(9)
    pol.unfreeze()
    np.testing.assert_array_equal(run(frozen, obs), run(pol, obs))


@pytest.mark.parametrize("how", COPIES)
def test_population_copies_act_like_the_original_and_on_their_own(small_hebbian, how):
    sizes, _, spec = small_hebbian
    rng = np.random.default_rng(16)
    hebbian = HebbianPopulation(rng.normal(scale=0.3, size=(3, hebbian_param_count(sizes))), sizes, spec)
    static_params = rng.normal(size=(3, static_param_count(sizes)))
    static = StaticPopulation(static_params, sizes, generic_spec("static", 4, 3))
    obs = rng.normal(size=(5, 3, 4))
    hebbian.reset([1, 2, 3])
    hebbian.act_batch(obs[0])  # mid-episode
    for pop in (hebbian, static):
        dup = COPIES[how](pop)
        for x in obs:
            np.testing.assert_array_equal(dup.act_batch(x), pop.act_batch(x))
    dup = COPIES[how](hebbian)
    before = hebbian.weights
    dup.act_batch(obs[0])  # the copy's plastic step leaves the original's weights alone
    for a, b in zip(hebbian.weights, before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(dup.weights[0], before[0])
    dup = COPIES[how](static)
    dup.params[1] = 0.0  # the copy's network still reads its own params ...
    zeroed = static_params.copy()
    zeroed[1] = 0.0
    want = StaticPopulation(zeroed, sizes, generic_spec("static", 4, 3)).act_batch(obs[0])
    np.testing.assert_array_equal(dup.act_batch(obs[0]), want)
    assert static.act_batch(obs[0])[1].tolist() != want[1].tolist()  # ... and not the original's


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize(
    "name", ["ant_hebbian.wrp", "ant_static.wrp", "ant_chromatic.chroma", "swingup_wann_shared.wrp"]
)
def test_copies_of_the_shipped_models_act_like_the_originals(name, how):
    pol = load_policy(MODELS / name)
    obs = np.random.default_rng(17).normal(size=(5, pol.spec.observation.size)).astype(np.float32)
    dup = COPIES[how](pol)
    pol.reset(1)
    dup.reset(1)
    np.testing.assert_array_equal(run(dup, obs), run(pol, obs))


@pytest.mark.filterwarnings("error::RuntimeWarning")  # an overflowing sum is no reason to warn
def test_all_finite_agrees_with_isfinite_even_when_the_sum_overflows():
    huge = np.array([1e308, 1e308])  # finite values whose sum overflows: the exact check decides
    assert all_finite(huge) and all_finite(np.zeros(0)) and all_finite(np.ones(3, np.float32))
    assert all_finite(np.ones((20, 20))) and all_finite(np.full(100, 1e308))  # the numpy-sum path
    for bad in (np.nan, np.inf, -np.inf):
        for x in (np.ones(8), np.ones((20, 20))):
            x.flat[5] = bad
            assert not all_finite(x)
        assert not all_finite(np.append(huge, bad))


def test_to_command_clamps_maps_nan_to_offset_and_handles_batches():
    spec = ActionSpec(
        ("a", "b", "c"), "position", [2.0, 1.0, 0.5], [0.1, 0.0, -0.2], [-1.0, -0.5, -1.0], [1.0, 0.5, 0.0]
    )
    actions = np.array([[0.2, np.nan, np.inf], [-np.inf, 0.9, -0.4], [3.0, -3.0, 1.0]])
    expected = np.minimum(
        np.maximum(spec.offset + spec.scale * np.clip(np.nan_to_num(actions, nan=0.0), -1, 1), spec.lower),
        spec.upper,
    )
    np.testing.assert_array_equal(spec.to_command(actions), expected)  # the batch
    for row, want in zip(actions, expected, strict=True):
        np.testing.assert_array_equal(spec.to_command(row), want)  # one action at a time
        np.testing.assert_array_equal(
            spec.to_command(row.astype(np.float32)),
            spec.to_command(row.astype(np.float32).astype(np.float64)),
        )
    with pytest.raises(PolicySpecError, match="3 joints"):
        spec.to_command(np.zeros(4))


def test_action_spec_is_a_value_that_cannot_be_changed_in_place():
    scale = np.ones(2)
    spec = ActionSpec(("a", "b"), "effort", scale, np.zeros(2), -np.ones(2), np.ones(2))
    scale[0] = 5.0  # the caller's array is not the spec's
    assert spec.to_command(np.ones(2))[0] == 1.0
    with pytest.raises(ValueError):
        spec.scale[0] = 2.0
    with pytest.raises(AttributeError):
        spec.scale = np.zeros(2)
    changed = dataclasses.replace(spec, scale=[0.5, 0.5])
    np.testing.assert_array_equal(changed.to_command(np.ones(2)), [0.5, 0.5])
