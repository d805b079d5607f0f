"""Topology mutations of the WANN search (Gaier & Ha 2019, sec. 3).

Each operator takes a genome and a random generator and returns a new genome (the input is left
untouched); when an operator has nothing to act on (no enabled connection to split, no disabled
connection, no hidden node) the copy is returned unchanged, as in the reference implementation.
:func:`mutate` applies exactly one operator chosen by roulette.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.wann.genome import Genome

OPERATORS = ("add_connection", "add_node", "enable_connection", "change_activation")
CONNECTION_RULES = ("acyclic", "layered")  # add_connection's destinations (see there)


def add_node(g: Genome, rng: np.random.Generator, activations: Sequence[int]) -> Genome:
    """Split a random enabled connection a->b into a->new->b with a random activation; disable a->b."""
    child = g.copy()
    live = np.flatnonzero(child.enabled)
    if live.size == 0:
        return child
    k = int(live[rng.integers(live.size)])
    new_id = child.next_node_id
    child.hidden_ids = np.append(child.hidden_ids, new_id)
    child.hidden_act = np.append(child.hidden_act, int(activations[rng.integers(len(activations))]))
    child.enabled[k] = False
    child.src = np.append(child.src, [child.src[k], new_id])
    child.dst = np.append(child.dst, [new_id, child.dst[k]])
    child.enabled = np.append(child.enabled, [True, True])
    return child


def add_connection(g: Genome, rng: np.random.Generator, rule: str = "acyclic") -> Genome:
    """Add one new enabled connection that keeps the graph (over all connections) acyclic.

    Sources are tried in random order; the first with any valid destination gets a random one of them.
    A destination is valid when it is not the bias/an input, not yet connected from the source and does
    not reach the source (so no cycle can form even through disabled connections). With ``rule="layered"``
    it must also lie in a strictly later layer than the source (:func:`layers`), as in the reference.
    """
    if rule not in CONNECTION_RULES:
        raise ValueError(f"connection rule must be one of {CONNECTION_RULES}, got {rule!r}")
    child = g.copy()
    nodes = child.node_ids()
    sources = nodes[~np.isin(nodes, child.output_ids)]
    targets = nodes[nodes >= child.n_sources]
    layer = layers(child) if rule == "layered" else None
    for s in rng.permutation(sources).tolist():
        taken = set(child.dst[child.src == s].tolist())
        valid = [
            int(t)
            for t in targets
            if t != s
            and t not in taken
            and (layer is None or layer[int(t)] > layer[s])
            and s not in child.reaches(int(t))
        ]
        if valid:
            t = valid[rng.integers(len(valid))]
            child.src = np.append(child.src, s)
            child.dst = np.append(child.dst, t)
            child.enabled = np.append(child.enabled, True)
            return child
    return child


def layers(g: Genome) -> dict[int, int]:
    """The reference's layering: bias/inputs 0, hidden nodes their depth over the enabled connections,
    every output one past the deepest hidden node."""
    depth = g.depths()
    hidden = [depth[int(h)] for h in g.hidden_ids]
    last = max(hidden, default=0) + 1
    return {**depth, **{int(o): last for o in g.output_ids}}


def enable_connection(g: Genome, rng: np.random.Generator) -> Genome:
    """Re-enable one random disabled connection."""
    child = g.copy()
    off = np.flatnonzero(~child.enabled)
    if off.size:
        child.enabled[off[rng.integers(off.size)]] = True
    return child


def change_activation(g: Genome, rng: np.random.Generator, activations: Sequence[int]) -> Genome:
    """Give one random hidden node a different activation from ``activations``."""
    child = g.copy()
    if child.hidden_ids.size == 0:
        return child
    k = int(rng.integers(child.hidden_ids.size))
    pool = [a for a in activations if a != child.hidden_act[k]]
    if pool:
        child.hidden_act[k] = pool[rng.integers(len(pool))]
    return child


def mutate(
    g: Genome,
    rng: np.random.Generator,
    probabilities: Sequence[float],
    activations: Sequence[int],
    connection_rule: str = "acyclic",
) -> Genome:
    """Apply exactly one operator, chosen with weights ``probabilities`` (in :data:`OPERATORS` order);
    ``connection_rule`` is :func:`add_connection`'s ``rule``."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.shape != (len(OPERATORS),) or np.any(p < 0) or p.sum() <= 0:
        raise ValueError(f"operator probabilities must be {len(OPERATORS)} non-negative numbers, got {p}")
    edges = np.cumsum(p)
    choice = OPERATORS[int(np.searchsorted(edges, rng.random() * edges[-1], side="right"))]
    if choice == "add_connection":
        return add_connection(g, rng, connection_rule)
    if choice == "add_node":
        return add_node(g, rng, activations)
    if choice == "enable_connection":
        return enable_connection(g, rng)
    return change_activation(g, rng, activations)
