"""The WANN genome: nodes with activation ids and a list of (possibly disabled) connections.

Node ids are fixed for the I/O part of every genome: ``0`` is the bias (constant 1), ``1..n_in`` the
inputs, ``n_in+1..n_in+n_out`` the outputs; hidden nodes get ids above that, unique within the genome.
The graph over *all* connections (enabled or not) is kept acyclic, so re-enabling a connection can never
create a cycle. Activation ids follow ``wann_ros.policies.activations`` (1 linear ... 11 square).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wann_ros.policies.wann_population import Dag


class GenomeError(ValueError):
    """A genome (or its serialised form) is malformed; the message says what is wrong."""


@dataclass
class Genome:
    """One network topology. Arrays are owned by the genome; operators return modified copies."""

    n_in: int
    n_out: int
    out_act: np.ndarray  # (n_out,) activation id of each output node
    hidden_ids: np.ndarray  # (H,) node id of each hidden node
    hidden_act: np.ndarray  # (H,) activation id of each hidden node
    src: np.ndarray  # (C,) source node id of each connection
    dst: np.ndarray  # (C,) destination node id of each connection
    enabled: np.ndarray  # (C,) bool

    def __post_init__(self) -> None:
        self.out_act = np.asarray(self.out_act, dtype=np.int64).reshape(-1)
        self.hidden_ids = np.asarray(self.hidden_ids, dtype=np.int64).reshape(-1)
        self.hidden_act = np.asarray(self.hidden_act, dtype=np.int64).reshape(-1)
        self.src = np.asarray(self.src, dtype=np.int64).reshape(-1)
        self.dst = np.asarray(self.dst, dtype=np.int64).reshape(-1)
        self.enabled = np.asarray(self.enabled, dtype=bool).reshape(-1)

    # -- structure ---------------------------------------------------------------------------------
    @property
    def n_sources(self) -> int:
        """Bias plus inputs: the nodes whose value is given, not computed."""
        return 1 + self.n_in

    @property
    def output_ids(self) -> np.ndarray:
        return np.arange(self.n_sources, self.n_sources + self.n_out)

    @property
    def next_node_id(self) -> int:
        top = self.n_sources + self.n_out
        return int(max(top, self.hidden_ids.max(initial=top - 1) + 1))

    @property
    def n_connections(self) -> int:
        """Number of enabled connections (the complexity objective)."""
        return int(self.enabled.sum())

    def node_ids(self) -> np.ndarray:
        """All node ids: bias, inputs, outputs, hidden."""
        return np.concatenate([np.arange(self.n_sources + self.n_out), self.hidden_ids])

    def copy(self) -> Genome:
        return Genome(
            self.n_in,
            self.n_out,
            self.out_act.copy(),
            self.hidden_ids.copy(),
            self.hidden_act.copy(),
            self.src.copy(),
            self.dst.copy(),
            self.enabled.copy(),
        )

    def reaches(self, start: int) -> set[int]:
        """Node ids reachable from ``start`` over all connections (enabled or not), ``start`` included."""
        succ: dict[int, list[int]] = {}
        for s, d in zip(self.src.tolist(), self.dst.tolist(), strict=True):
            succ.setdefault(s, []).append(d)
        seen, stack = {start}, [start]
        while stack:
            for nxt in succ.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    def depths(self) -> dict[int, int]:
        """Depth of every node over the enabled connections: sources 0, others 1 + deepest input.

        Nodes without enabled inputs get depth 1 (they still emit ``f(0)``). Raises on a cycle.
        """
        ids = self.node_ids().tolist()
        preds: dict[int, list[int]] = {i: [] for i in ids}
        for s, d in zip(self.src[self.enabled].tolist(), self.dst[self.enabled].tolist(), strict=True):
            preds[d].append(s)
        depth = {i: 0 for i in range(self.n_sources)}
        pending = [i for i in ids if i >= self.n_sources]
        while pending:
            ready = [i for i in pending if all(p in depth for p in preds[i])]
            if not ready:
                raise GenomeError(f"the enabled connections form a cycle through nodes {sorted(pending)}")
            for i in ready:
                depth[i] = 1 + max((depth[p] for p in preds[i]), default=0)
            pending = [i for i in pending if i not in depth]
        return depth

    def to_dag(self, weights: np.ndarray | None = None) -> Dag:
        """The enabled part as a :class:`Dag`; ``weights`` (one per enabled connection) default to 1."""
        on = self.enabled
        w = np.ones(int(on.sum())) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (int(on.sum()),):
            raise GenomeError(f"expected {int(on.sum())} connection weights, got shape {w.shape}")
        act = dict(zip(self.output_ids.tolist(), self.out_act.tolist(), strict=True))
        act.update(zip(self.hidden_ids.tolist(), self.hidden_act.tolist(), strict=True))
        return Dag(self.n_in, tuple(self.output_ids.tolist()), act, self.src[on], self.dst[on], w)

    # -- serialisation -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "n_in": self.n_in,
            "n_out": self.n_out,
            "out_act": self.out_act.tolist(),
            "hidden_ids": self.hidden_ids.tolist(),
            "hidden_act": self.hidden_act.tolist(),
            "src": self.src.tolist(),
            "dst": self.dst.tolist(),
            "enabled": self.enabled.tolist(),
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Genome:
        keys = ("n_in", "n_out", "out_act", "hidden_ids", "hidden_act", "src", "dst", "enabled")
        if not isinstance(d, dict) or any(k not in d for k in keys):
            raise GenomeError(f"a genome needs the keys {keys}")
        g = Genome(*(d[k] for k in keys))
        validate(g)
        return g


def minimal(n_in: int, n_out: int, out_act: int, p_enable: float, rng: np.random.Generator) -> Genome:
    """No hidden nodes: every bias/input -> output connection, each enabled with probability ``p_enable``."""
    if n_in < 1 or n_out < 1:
        raise GenomeError(f"a genome needs at least one input and one output, got {n_in} and {n_out}")
    if not 0.0 <= p_enable <= 1.0:
        raise GenomeError(f"initial enable probability must be in [0, 1], got {p_enable}")
    src = np.tile(np.arange(1 + n_in), n_out)
    dst = np.repeat(np.arange(1 + n_in, 1 + n_in + n_out), 1 + n_in)
    return Genome(
        n_in=n_in,
        n_out=n_out,
        out_act=np.full(n_out, out_act),
        hidden_ids=np.zeros(0),
        hidden_act=np.zeros(0),
        src=src,
        dst=dst,
        enabled=rng.random(src.size) < p_enable,
    )


def validate(g: Genome) -> None:
    """Raise :class:`GenomeError` unless ``g`` is a well-formed feed-forward genome."""
    if g.n_in < 1 or g.n_out < 1:
        raise GenomeError(f"a genome needs at least one input and one output, got {g.n_in} and {g.n_out}")
    if g.out_act.size != g.n_out:
        raise GenomeError(f"{g.n_out} outputs but {g.out_act.size} output activations")
    if g.hidden_ids.size != g.hidden_act.size:
        raise GenomeError("hidden node ids and activations differ in length")
    if not g.src.size == g.dst.size == g.enabled.size:
        raise GenomeError("connection arrays differ in length")
    if np.any(g.hidden_ids < g.n_sources + g.n_out) or np.unique(g.hidden_ids).size != g.hidden_ids.size:
        raise GenomeError("hidden node ids must be unique and above the input/output ids")
    ids = set(g.node_ids().tolist())
    if not set(g.src.tolist()) <= ids or not set(g.dst.tolist()) <= ids:
        raise GenomeError("a connection refers to a node that does not exist")
    if np.any(g.dst < g.n_sources):
        raise GenomeError("a connection ends in the bias or an input")
    if np.any(np.isin(g.src, g.output_ids)):
        raise GenomeError("a connection starts at an output node")
    pairs = set(zip(g.src.tolist(), g.dst.tolist(), strict=True))
    if len(pairs) != g.src.size:
        raise GenomeError("duplicate connection")
    everything = g.copy()
    everything.enabled[:] = True
    everything.depths()  # raises on a cycle
