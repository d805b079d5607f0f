"""Population-vectorised WANN forward pass: many feed-forward networks, many rows each, in one call.

All nodes of all networks are stacked into one value array ``V`` of shape (nodes, rows): a zero row,
then every network's bias and inputs, then one block per depth level (nodes of equal depth never feed
each other), then the outputs. A level is computed at once: gather the values of all its incoming edges,
weight them, sum per node with ``np.add.reduceat`` (every node has one extra edge from the zero row, so
no segment is empty), scale each node by its network's per-row factor, then apply the activations, one
call per activation id on a contiguous slice (nodes inside a level are sorted by activation id).

Rows: each network gets the same number of rows (e.g. shared weights x episodes); a row scales all of
its network's weights by one factor, which is how a weight-agnostic network runs at a shared weight
(edge weights 1, factor = shared weight) or at tuned per-edge weights (factor 1). The per-network math
is the same as :class:`wann_ros.policies.wann.WannPolicy`'s (tested equal).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from wann_ros.policies.activations import activation_function


@dataclass(frozen=True)
class Dag:
    """One network in plain arrays. Node ids: 0 bias, 1..n_in inputs; ``out_ids`` in output order.

    ``act`` maps every non-source node id to its activation id; ``src, dst, weight`` are the enabled edges.
    """

    n_in: int
    out_ids: tuple[int, ...]
    act: dict[int, int]
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray


def dag_depths(dag: Dag) -> dict[int, int]:
    """Depth of every node: bias/inputs 0, others 1 + the deepest source (1 without incoming edges)."""
    preds: dict[int, list[int]] = {n: [] for n in dag.act}
    for s, d in zip(np.asarray(dag.src).tolist(), np.asarray(dag.dst).tolist(), strict=True):
        if d not in preds:
            raise ValueError(f"edge {s}->{d} ends in a node without an activation")
        preds[d].append(s)
    depth = {n: 0 for n in range(1 + dag.n_in)}
    pending = list(preds)
    while pending:
        ready = [n for n in pending if all(p in depth for p in preds[n])]
        if not ready:
            raise ValueError(f"network has a cycle (or an edge from a missing node) among {sorted(pending)}")
        for n in ready:
            depth[n] = 1 + max((depth[p] for p in preds[n]), default=0)
        pending = [n for n in pending if n not in depth]
    return depth


@dataclass(frozen=True)
class _Level:
    start: int  # first row of this level in V
    size: int
    edge_src: np.ndarray  # (E,) row in V of each incoming edge, grouped by destination node
    edge_weight: np.ndarray | None  # (E, 1), None when every weight is 1
    segments: np.ndarray  # (size,) first edge of each node
    owner: np.ndarray  # (size,) network of each node
    groups: tuple[tuple[Callable[[np.ndarray, np.ndarray], None], int, int], ...]  # (fn, lo, hi) slices


class PopulationForward:
    """Forward pass of ``P`` networks over ``(P, rows, n_in)`` inputs -> ``(P, rows, n_out)`` outputs."""

    def __init__(self, dags: Sequence[Dag]) -> None:
        if not dags:
            raise ValueError("need at least one network")
        n_in, n_out = dags[0].n_in, len(dags[0].out_ids)
        if any(d.n_in != n_in or len(d.out_ids) != n_out for d in dags):
            raise ValueError("all networks must have the same number of inputs and outputs")
        self.n_networks, self.n_in, self.n_out = len(dags), n_in, n_out
        depths = [dag_depths(d) for d in dags]
        n_hidden_levels = max(
            (dep[n] for d, dep in zip(dags, depths, strict=True) for n in d.act if n not in d.out_ids),
            default=0,
        )
        row: dict[tuple[int, int], int] = {}  # (network, node id) -> row of V; row 0 is all zeros
        n_src = 1 + n_in
        for p in range(self.n_networks):
            for k in range(n_src):
                row[(p, k)] = 1 + p * n_src + k
        next_row = 1 + self.n_networks * n_src
        incoming = [{} for _ in dags]  # per network: dst -> list of (src, weight)
        for p, d in enumerate(dags):
            for s, t, w in zip(*(np.asarray(a).tolist() for a in (d.src, d.dst, d.weight)), strict=True):
                incoming[p].setdefault(t, []).append((s, float(w)))
        self._levels: list[_Level] = []
        for level in range(1, n_hidden_levels + 2):
            if level <= n_hidden_levels:
                nodes = [
                    (d.act[n], p, n)
                    for p, (d, dep) in enumerate(zip(dags, depths, strict=True))
                    for n in sorted(d.act)
                    if n not in d.out_ids and dep[n] == level
                ]
            else:
                nodes = [(d.act[n], p, n) for p, d in enumerate(dags) for n in d.out_ids]
            nodes.sort(key=lambda e: e[0])
            for j, (_, p, n) in enumerate(nodes):
                row[(p, n)] = next_row + j
            src, weight, segments = [], [], []
            for _, p, n in nodes:
                segments.append(len(src))
                src.append(0)
                weight.append(0.0)
                for s, w in incoming[p].get(n, ()):
                    src.append(row[(p, s)])
                    weight.append(w)
            acts = [a for a, _, _ in nodes]
            bounds = np.flatnonzero(np.diff(acts)) + 1
            lo_hi = zip([0, *bounds.tolist()], [*bounds.tolist(), len(nodes)], strict=True)
            weights = np.asarray(weight)[:, None]
            self._levels.append(
                _Level(
                    start=next_row,
                    size=len(nodes),
                    edge_src=np.asarray(src, dtype=np.intp),
                    edge_weight=None if np.all(weights[np.asarray(src) > 0] == 1.0) else weights,
                    segments=np.asarray(segments, dtype=np.intp),
                    owner=np.asarray([p for _, p, _ in nodes], dtype=np.intp),
                    groups=tuple((activation_function(acts[lo]), lo, hi) for lo, hi in lo_hi),
                )
            )
            next_row += len(nodes)
        self.n_rows = next_row
        self._out_rows = np.array([[row[(p, o)] for o in d.out_ids] for p, d in enumerate(dags)], np.intp)

    def __call__(self, obs: np.ndarray, scale: np.ndarray | float = 1.0) -> np.ndarray:
        """Outputs for ``obs`` (P, rows, n_in); ``scale`` (P, rows) multiplies every weight of a row."""
        x = np.asarray(obs, dtype=np.float64)
        if x.ndim != 3 or x.shape[0] != self.n_networks or x.shape[2] != self.n_in:
            raise ValueError(f"inputs must have shape ({self.n_networks}, rows, {self.n_in}), got {x.shape}")
        p, r = x.shape[:2]
        s = np.broadcast_to(np.asarray(scale, dtype=np.float64), (p, r))
        v = np.empty((self.n_rows, r))
        v[0] = 0.0
        sources = v[1 : 1 + p * (1 + self.n_in)].reshape(p, 1 + self.n_in, r)
        sources[:, 0] = 1.0
        sources[:, 1:] = x.transpose(0, 2, 1)
        for lv in self._levels:
            gathered = v[lv.edge_src]
            if lv.edge_weight is not None:
                gathered *= lv.edge_weight
            pre = np.add.reduceat(gathered, lv.segments, axis=0)
            pre *= s[lv.owner]
            out = v[lv.start : lv.start + lv.size]
            for fn, lo, hi in lv.groups:
                fn(pre[lo:hi], out[lo:hi])
        return v[self._out_rows].transpose(0, 2, 1).copy()
