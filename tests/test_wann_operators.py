"""WANN genome, topology operators and multi-objective ranking."""

from __future__ import annotations

import numpy as np
import pytest

from training.wann.genome import Genome, GenomeError, minimal, validate
from training.wann.operators import (
    add_connection,
    add_node,
    change_activation,
    enable_connection,
    layers,
    mutate,
)
from training.wann.ranking import crowding_distance, nondominated_fronts, rank

ACTS = tuple(range(1, 11))


def _grown(seed: int, steps: int = 60) -> Genome:
    rng = np.random.default_rng(seed)
    g = minimal(5, 2, 5, 0.5, rng)
    for _ in range(steps):
        g = mutate(g, rng, (0.2, 0.25, 0.05, 0.5), ACTS)
    return g


def test_minimal_network_wires_bias_and_inputs_to_outputs():
    g = minimal(3, 2, 5, 1.0, np.random.default_rng(0))
    pairs = set(zip(g.src.tolist(), g.dst.tolist(), strict=True))
    assert pairs == {(s, d) for s in range(4) for d in (4, 5)}
    assert g.n_connections == 8 and g.hidden_ids.size == 0 and list(g.out_act) == [5, 5]
    fraction = np.mean([minimal(5, 1, 5, 0.5, np.random.default_rng(s)).enabled.mean() for s in range(200)])
    assert 0.45 < fraction < 0.55


@pytest.mark.parametrize("seed", range(8))
def test_mutations_keep_every_connection_graph_acyclic(seed):
    g = _grown(seed, steps=120)
    validate(g)  # also checks the graph over *all* connections, enabled or not
    everything = g.copy()
    everything.enabled[:] = True
    depth = everything.depths()
    assert all(depth[s] < depth[d] for s, d in zip(g.src.tolist(), g.dst.tolist(), strict=True))


def test_add_node_splits_a_connection():
    g = minimal(2, 1, 5, 1.0, np.random.default_rng(1))
    child = add_node(g, np.random.default_rng(2), ACTS)
    assert child.hidden_ids.tolist() == [4] and child.hidden_act[0] in ACTS
    off = np.flatnonzero(~child.enabled)
    assert off.size == 1
    a, b = int(child.src[off[0]]), int(child.dst[off[0]])
    pairs = set(zip(child.src.tolist(), child.dst.tolist(), strict=True))
    assert {(a, 4), (4, b)} <= pairs and child.n_connections == g.n_connections + 1
    assert g.hidden_ids.size == 0  # the parent is untouched


def test_add_connection_only_adds_feed_forward_edges():
    rng = np.random.default_rng(3)
    g = minimal(2, 1, 5, 1.0, rng)
    g = add_node(g, rng, ACTS)
    g = add_node(g, rng, ACTS)
    for _ in range(20):
        before = g.src.size
        g = add_connection(g, rng)
        validate(g)
        if g.src.size == before:
            break
    # saturated: every remaining pair would duplicate an edge or close a cycle
    assert add_connection(g, rng).src.size == g.src.size


def test_layered_rule_only_connects_to_later_layers():
    rng = np.random.default_rng(5)
    g = minimal(2, 1, 5, 1.0, rng)
    while g.hidden_ids.size < 2 or max(layers(g)[int(h)] for h in g.hidden_ids) > 1:
        g = add_node(minimal(2, 1, 5, 1.0, rng), rng, ACTS)
        g = add_node(g, rng, ACTS)
    # two hidden nodes in layer 1: only the acyclic rule may join them
    hidden = set(g.hidden_ids.tolist())
    joins = {"acyclic": 0, "layered": 0}
    for rule in joins:
        for seed in range(60):
            child = add_connection(g, np.random.default_rng(seed), rule)
            validate(child)
            s, d = int(child.src[-1]), int(child.dst[-1])
            if child.src.size > g.src.size and {s, d} <= hidden:
                joins[rule] += 1
            if rule == "layered" and child.src.size > g.src.size:
                assert layers(g)[d] > layers(g)[s]
    assert joins["acyclic"] > 0 and joins["layered"] == 0
    with pytest.raises(ValueError, match="connection rule must be one of"):
        add_connection(g, np.random.default_rng(0), "later")


def test_enable_and_change_activation():
    rng = np.random.default_rng(4)
    g = minimal(2, 1, 5, 0.0, rng)
    assert enable_connection(g, rng).n_connections == 1
    g = add_node(minimal(2, 1, 5, 1.0, rng), rng, ACTS)
    changed = change_activation(g, rng, ACTS)
    assert changed.hidden_act[0] != g.hidden_act[0]
    assert change_activation(minimal(2, 1, 5, 1.0, rng), rng, ACTS).hidden_ids.size == 0


def test_genome_round_trip_and_bad_genomes_are_refused():
    g = _grown(5)
    assert Genome.from_dict(g.to_dict()).to_dict() == g.to_dict()
    bad = g.to_dict()
    bad["src"][0], bad["dst"][0] = bad["dst"][0], bad["src"][0]
    with pytest.raises(GenomeError):
        Genome.from_dict(bad)
    cyclic = minimal(1, 1, 5, 1.0, np.random.default_rng(0)).to_dict()
    cyclic.update(hidden_ids=[3, 4], hidden_act=[1, 1], src=[0, 3, 4], dst=[3, 4, 3])
    cyclic["enabled"] = [True, True, False]
    with pytest.raises(GenomeError, match="cycle"):
        Genome.from_dict(cyclic)
    with pytest.raises(GenomeError, match="keys"):
        Genome.from_dict({"n_in": 1})


def test_crowding_distance_is_normalised_by_the_range():
    x = np.array([[0.0], [1.0], [3.0], [10.0]])
    d = crowding_distance(x)
    assert np.isinf(d[0]) and np.isinf(d[3])
    np.testing.assert_allclose(d[1:3], [3.0 / 10.0, 9.0 / 10.0])
    # scaling an objective must not change its crowding distance (the reference's 1/max - min would)
    np.testing.assert_allclose(crowding_distance(1000.0 * x)[1:3], d[1:3])
    two = np.array([[0.0, 5.0], [1.0, 4.0], [2.0, 2.0], [4.0, 0.0]])
    np.testing.assert_allclose(crowding_distance(two)[1:3], [2 / 4 + 3 / 5, 3 / 4 + 4 / 5])


def test_ranking_on_a_hand_made_front():
    obj = np.array(
        [
            [1.0, 9.0],  # 0: front 0, end
            [5.0, 5.0],  # 1: front 0, middle
            [9.0, 1.0],  # 2: front 0, end
            [4.0, 4.0],  # 3: front 1 (dominated by 1)
            [6.0, 4.5],  # 4: front 0, middle
            [0.0, 0.0],  # 5: front 2
        ]
    )
    fronts = nondominated_fronts(obj)
    assert [sorted(f.tolist()) for f in fronts] == [[0, 1, 2, 4], [3], [5]]
    r = rank(obj)
    assert set(r[[0, 2]].tolist()) == {0, 1}  # infinite crowding distance first
    # 1 sits between 0 and 4: (6-1)/8 + (9-4.5)/8; 4 between 1 and 2: (9-5)/8 + (5-1)/8
    assert r[1] == 2 and r[4] == 3 and r[3] == 4 and r[5] == 5
    with pytest.raises(ValueError, match="NaN"):
        rank(np.array([[np.nan, 1.0]]))
