"""Chromatic networks: layered ``tanh`` networks whose edges share a small pool of weights.

Each layer's edge ``(i, j)`` holds a colour ``colors[k][i, j]`` in ``0..P-1``; its weight is
``pool[colour]`` (one pool of ``P`` values per network). Layers also have plain biases. The colours and
the pool are the canonical data; the dense ``W[in, out]`` matrices are expanded once at construction.

Flat forms in ``network_dict``: ``colors`` is every layer's ``[in, out]`` colour matrix in C order,
concatenated; ``biases`` is every layer's bias vector, concatenated. Trainable parameters:
``P + sum(n_out)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from wann_ros.policies.checks import (
    MAX_PARAMS,
    as_float_array,
    as_int,
    as_int_array,
    as_layer_sizes,
    fail,
    get,
)
from wann_ros.policies.dense import layer_shapes, split_flat
from wann_ros.policies.layered import LayeredPolicy
from wann_ros.policies.spec import PolicySpec


def expand_colors(pool: np.ndarray, colors: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Dense ``W[in, out]`` per layer: ``pool[colors[k]]``."""
    return [np.take(pool, c) for c in colors]


class ChromaticPolicy(LayeredPolicy):
    """Shared-weight layered network: colours index a pool of ``P`` weights."""

    kind = "chromatic"

    def __init__(
        self,
        layer_sizes: Sequence[int],
        pool: np.ndarray,
        colors: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        spec: PolicySpec,
        hidden_activation: int | str = "tanh",
        output_activation: int | str = "tanh",
    ) -> None:
        super().__init__(layer_sizes, spec, hidden_activation, output_activation)
        shapes = layer_shapes(self.layer_sizes)
        self.pool = as_float_array(pool, "chromatic pool")
        if self.pool.ndim != 1 or not 1 <= self.pool.size <= MAX_PARAMS:
            fail(f"chromatic pool must be a non-empty vector, got shape {self.pool.shape}")
        n_colors = self.pool.size
        for name, value in (("colors", colors), ("biases", biases)):
            if not isinstance(value, (list, tuple)) or len(value) != len(shapes):
                fail(f"chromatic {name} must be a list of {len(shapes)} per-layer arrays")
        self.colors = [
            as_int_array(c, f"chromatic colors[{k}]", s, 0, n_colors - 1)
            for k, (c, s) in enumerate(zip(colors, shapes, strict=True))
        ]
        self.biases = [
            as_float_array(b, f"chromatic biases[{k}]", (s[1],))
            for k, (b, s) in enumerate(zip(biases, shapes, strict=True))
        ]
        self.weights = expand_colors(self.pool, self.colors)
        self._build_stack(self.weights, self.biases)

    @property
    def n_colors(self) -> int:
        return self.pool.size

    @property
    def n_params(self) -> int:
        return self.pool.size + sum(b.size for b in self.biases)

    def network_dict(self) -> dict[str, Any]:
        return {
            "layer_sizes": list(self.layer_sizes),
            "pool": self.pool.copy(),
            "colors": np.concatenate([c.ravel() for c in self.colors]),
            "biases": np.concatenate(self.biases),
            **self._activation_fields(),
        }

    @classmethod
    def from_network(cls, network: Mapping[str, Any], spec: PolicySpec) -> ChromaticPolicy:
        sizes = as_layer_sizes(get(network, "layer_sizes"))
        shapes = layer_shapes(sizes)
        pool = as_float_array(get(network, "pool"), "chromatic pool")
        n_colors = as_int(pool.size, "chromatic pool size", 1, MAX_PARAMS)
        n_edges = sum(a * b for a, b in shapes)
        colors = as_int_array(get(network, "colors"), "chromatic colors", (n_edges,), 0, n_colors - 1)
        biases = as_float_array(get(network, "biases"), "chromatic biases", (sum(sizes[1:]),))
        return cls(
            sizes,
            pool,
            split_flat(colors, shapes),
            split_flat(biases, [(b,) for _, b in shapes]),
            spec,
            get(network, "hidden_activation", "tanh"),
            get(network, "output_activation", "tanh"),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "layer_sizes": list(self.layer_sizes),
            "colors": self.n_colors,
            "edges": sum(c.size for c in self.colors),
            "parameters": self.n_params,
            **self._activation_fields(),
        }
