"""Weight-agnostic networks (Gaier & Ha 2019): a feed-forward DAG with one shared weight or tuned weights.

Nodes are numbered in topological order: ``0`` is the bias (value 1.0), ``1..n_in`` the inputs, then the
hidden nodes, and the last ``n_out`` nodes are the outputs. Every connection ``(src, dst, enabled)`` has
``src < dst`` and ``dst`` past the inputs. A node's value is ``f(sum of its enabled inputs)`` with its own
activation id (so output activations are configurable per node); inputs and the bias take no
activation. With a shared weight ``w`` a node computes ``f(w * sum(values))``, with tuned weights
``f(sum(w_e * value))``. An ensemble of shared weights runs the network once per weight and averages.

Compilation: nodes are grouped by depth (bias/inputs 0; others 1 + deepest source) into levels, each a
contiguous slice of one value vector, sorted by activation inside a level; a level is one matrix
product of the values before it with a dense ``[sources, level]`` matrix, then one in-place activation
call per activation group. ``act`` multiplies the shared weight into those matrices once; ``act_batch``
multiplies each row's product by that row's weight (equal up to rounding).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wann_ros.policies.activations import activation_function, activation_id, activation_name
from wann_ros.policies.checks import (
    MAX_PARAMS,
    MAX_UNITS,
    as_float,
    as_float_array,
    as_int,
    as_int_array,
    check_spec_sizes,
    fail,
    get,
)
from wann_ros.policies.inputs import network_input
from wann_ros.policies.spec import PolicySpec

MAX_DENSE = 1 << 23  # most entries the compiled level matrices may hold (64 MiB)


@dataclass(frozen=True)
class _Level:
    start: int  # first slot of this level in the value vector
    stop: int
    matrix: np.ndarray  # [start, stop - start]: weights (tuned) or 0/1 adjacency (shared)
    groups: tuple[tuple[Any, int, int], ...]  # (activation fn, lo, hi) relative to start


def _activation_ids(value: Any) -> np.ndarray:
    if isinstance(value, (list, tuple)) and any(isinstance(v, str) for v in value):
        value = [activation_id(v) for v in value]
    return as_int_array(value, "wann activations", None, 1, 11)


class WannPolicy:
    """A weight-agnostic network policy (see the module docstring for the node numbering)."""

    kind = "wann"

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        activations: Sequence[int | str] | np.ndarray,
        connections: Sequence[Sequence[int]] | np.ndarray,
        spec: PolicySpec,
        *,
        shared_weight: float | None = None,
        weights: Sequence[float] | np.ndarray | None = None,
        ensemble_weights: Sequence[float] | np.ndarray | None = None,
    ) -> None:
        self.n_inputs = as_int(n_inputs, "wann n_inputs", 1, MAX_UNITS)
        self.n_outputs = as_int(n_outputs, "wann n_outputs", 1, MAX_UNITS)
        check_spec_sizes(spec, self.kind, self.n_inputs, self.n_outputs)
        self.spec = spec
        self.activations = _activation_ids(activations)
        n = self.activations.size
        if self.activations.ndim != 1 or not 1 + self.n_inputs + self.n_outputs <= n <= MAX_UNITS:
            fail(
                f"wann activations must list every node: at least 1 + {self.n_inputs} + {self.n_outputs} "
                f"and at most {MAX_UNITS}, got shape {self.activations.shape}"
            )
        if isinstance(connections, (list, tuple)) and len(connections) == 0:
            connections = np.zeros((0, 3), dtype=np.int64)
        conn = as_int_array(connections, "wann connections", None, 0, n - 1)
        if conn.ndim != 2 or conn.shape[1] != 3 or conn.shape[0] > MAX_PARAMS:
            fail(f"wann connections must have shape (E, 3) as (src, dst, enabled), got {conn.shape}")
        self.connections = conn
        self._check_connections()
        if (shared_weight is None) == (weights is None):
            fail("a wann network needs exactly one of shared_weight or per-edge weights")
        self.weights = None if weights is None else as_float_array(weights, "wann weights", (conn.shape[0],))
        self._shared_weight = None if shared_weight is None else as_float(shared_weight, "wann shared_weight")
        self.ensemble_weights = None
        if ensemble_weights is not None:
            if self.weights is not None:
                fail("a weight ensemble needs a shared-weight network, not per-edge weights")
            ens = as_float_array(ensemble_weights, "wann ensemble_weights")
            if ens.ndim != 1 or not 1 <= ens.size <= 1024:
                fail(f"wann ensemble_weights must be a vector of 1..1024 weights, got shape {ens.shape}")
            self.ensemble_weights = ens
        self._compile()

    def _check_connections(self) -> None:
        src, dst, enabled = self.connections.T
        first_free = 1 + self.n_inputs
        if np.any(enabled > 1):
            fail("wann connection 'enabled' flags must be 0 or 1")
        bad = np.flatnonzero(dst < first_free)
        if bad.size:
            fail(f"wann connection {bad[0]} ends in the bias or an input node ({dst[bad[0]]})")
        bad = np.flatnonzero(src >= dst)
        if bad.size:
            e = bad[0]
            fail(
                f"wann connection {e} ({src[e]} -> {dst[e]}) is not feed-forward: "
                "nodes must be numbered in topological order"
            )
        pairs = src * self.activations.size + dst
        if np.unique(pairs).size != pairs.size:
            fail("wann connections repeat a (src, dst) pair")

    def _compile(self) -> None:
        n, first_free = self.activations.size, 1 + self.n_inputs
        src, dst, enabled = self.connections.T
        on = enabled == 1
        src, dst = src[on], dst[on]
        weight = np.ones(src.size) if self.weights is None else self.weights[on]
        depth = np.zeros(n, dtype=np.int64)
        depth[first_free:] = 1
        order = np.argsort(dst, kind="stable")
        for s, d in zip(src[order].tolist(), dst[order].tolist(), strict=True):
            depth[d] = max(depth[d], depth[s] + 1)
        levels = np.arange(1, int(depth.max()) + 1) if n > first_free else np.zeros(0, dtype=np.int64)
        sizes = np.bincount(depth, minlength=levels.size + 1)[1:]
        starts = first_free + np.concatenate([[0], np.cumsum(sizes)[:-1]])
        if int(np.dot(starts, sizes)) > MAX_DENSE:
            fail(f"wann network is too large to compile: its level matrices need over {MAX_DENSE} entries")
        slot = np.empty(n, dtype=np.int64)
        slot[:first_free] = np.arange(first_free)
        self._levels: list[_Level] = []
        for level, start, size in zip(levels.tolist(), starts.tolist(), sizes.tolist(), strict=True):
            nodes = np.flatnonzero(depth == level)
            nodes = nodes[np.lexsort((nodes, self.activations[nodes]))]
            slot[nodes] = start + np.arange(size)
            acts = self.activations[nodes]
            cuts = [0, *(np.flatnonzero(np.diff(acts)) + 1).tolist(), size]
            groups = tuple(
                (activation_function(int(acts[lo])), lo, hi) for lo, hi in itertools.pairwise(cuts)
            )
            self._levels.append(_Level(start, start + size, np.zeros((start, size)), groups))
        edge_level = depth[dst]
        for lv, level in zip(self._levels, levels.tolist(), strict=True):
            into = edge_level == level
            lv.matrix[slot[src[into]], slot[dst[into]] - lv.start] = weight[into]
        self._out_slots = slot[n - self.n_outputs :]
        self._depth = depth
        # buffers and views for the allocation-free single-step path
        self._values = np.zeros(n)
        self._values[0] = 1.0
        self._inputs = self._values[1:first_free]
        self._scale_steps()

    # Copies and pickles: numpy copies a view as a separate array, which would cut the plan's views
    # off ``_values``; so the compiled attributes are left out and ``_compile`` rebuilds them.
    _COMPILED = ("_levels", "_out_slots", "_depth", "_values", "_inputs", "_steps")

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self._COMPILED}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._compile()

    def _scale_steps(self) -> None:
        """The single-step plan: level matrices with the shared weight multiplied in."""
        w = self._shared_weight
        self._steps = []
        for lv in self._levels:
            pre = np.empty(lv.stop - lv.start)
            out = self._values[lv.start : lv.stop]
            calls = tuple((fn, pre[lo:hi], out[lo:hi]) for fn, lo, hi in lv.groups)
            matrix = lv.matrix if w is None else lv.matrix * w
            self._steps.append((self._values[: lv.start], matrix, pre, calls))

    # -- runtime -----------------------------------------------------------------------------------
    @property
    def shared_weight(self) -> float | None:
        """The shared weight (``None`` for a tuned network); settable."""
        return self._shared_weight

    @shared_weight.setter
    def shared_weight(self, value: float) -> None:
        if self.weights is not None:
            fail("a network with per-edge weights has no shared weight")
        self._shared_weight = as_float(value, "wann shared_weight")
        self._scale_steps()

    def reset(self, seed: int | None = None) -> None:
        """Stateless: nothing to reset."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Raw observation -> network action (float64, shape (n_outputs,))."""
        x = network_input(self.spec, obs, out=self._inputs)
        if self.ensemble_weights is not None:
            return self._ensemble(x[None, :])[0]
        if x is not self._inputs:
            self._inputs[:] = x
        for sources, matrix, pre, calls in self._steps:
            np.dot(sources, matrix, out=pre)
            for fn, p, out in calls:
                fn(p, out)
        return self._values[self._out_slots]

    def act_batch(self, obs: np.ndarray, weights: np.ndarray | float | None = None) -> np.ndarray:
        """Raw observations ``[B, n_obs]`` -> actions ``[B, n_outputs]``.

        ``weights``: the shared weight of each row (``[B]`` or one number); default the network's own
        (or its ensemble average). Tuned networks take no ``weights``.
        """
        x = network_input(self.spec, obs, batch=True)
        if weights is None:
            if self.ensemble_weights is not None:
                return self._ensemble(x)
            scale = None if self._shared_weight is None else np.full(x.shape[0], self._shared_weight)
            return self._forward_batch(x, scale)
        if self.weights is not None:
            raise ValueError("a network with per-edge weights takes no shared weights")
        scale = np.asarray(weights, dtype=np.float64)
        scale = np.broadcast_to(scale, (x.shape[0],)) if scale.ndim == 0 else scale
        if scale.shape != (x.shape[0],):
            raise ValueError(f"weights must be one number or shape ({x.shape[0]},), got {scale.shape}")
        return self._forward_batch(x, scale)

    def _ensemble(self, x: np.ndarray) -> np.ndarray:
        ens = self.ensemble_weights
        rows = self._forward_batch(np.repeat(x, ens.size, axis=0), np.tile(ens, x.shape[0]))
        return rows.reshape(x.shape[0], ens.size, self.n_outputs).mean(axis=1)

    def _forward_batch(self, x: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
        v = np.empty((x.shape[0], self.activations.size))
        v[:, 0] = 1.0
        v[:, 1 : 1 + self.n_inputs] = x
        for lv in self._levels:
            pre = v[:, : lv.start] @ lv.matrix
            if scale is not None:
                np.multiply(pre, scale[:, None], out=pre)
            for fn, lo, hi in lv.groups:
                fn(pre[:, lo:hi], v[:, lv.start + lo : lv.start + hi])
        return v[:, self._out_slots]

    # -- description -------------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Stored weight values: 1 shared weight, the ensemble size, or one per enabled edge."""
        if self.weights is not None:
            return int(np.count_nonzero(self.connections[:, 2]))
        return 1 if self.ensemble_weights is None else self.ensemble_weights.size

    def network_dict(self) -> dict[str, Any]:
        return {
            "n_inputs": self.n_inputs,
            "n_outputs": self.n_outputs,
            "activations": self.activations.copy(),
            "connections": self.connections.copy(),
            "shared_weight": self._shared_weight,
            "weights": None if self.weights is None else self.weights.copy(),
            "ensemble_weights": None if self.ensemble_weights is None else self.ensemble_weights.copy(),
        }

    @classmethod
    def from_network(cls, network: Mapping[str, Any], spec: PolicySpec) -> WannPolicy:
        return cls(
            get(network, "n_inputs"),
            get(network, "n_outputs"),
            get(network, "activations"),
            get(network, "connections"),
            spec,
            shared_weight=get(network, "shared_weight", None),
            weights=get(network, "weights", None),
            ensemble_weights=get(network, "ensemble_weights", None),
        )

    def describe(self) -> dict[str, Any]:
        n = self.activations.size
        enabled = int(np.count_nonzero(self.connections[:, 2]))
        hidden = self.activations[1 + self.n_inputs : n - self.n_outputs]
        names, counts = np.unique(hidden, return_counts=True)
        return {
            "nodes": n,
            "inputs": self.n_inputs,
            "hidden": n - 1 - self.n_inputs - self.n_outputs,
            "outputs": self.n_outputs,
            "connections": enabled,
            "disabled_connections": self.connections.shape[0] - enabled,
            "levels": len(self._levels),
            "weights": "tuned" if self.weights is not None else "shared",
            "shared_weight": self._shared_weight,
            "ensemble_weights": None if self.ensemble_weights is None else self.ensemble_weights.tolist(),
            "parameters": self.n_params,
            "hidden_activations": {
                activation_name(int(a)): int(c) for a, c in zip(names, counts, strict=True)
            },
            "output_activations": [activation_name(int(a)) for a in self.activations[n - self.n_outputs :]],
        }
