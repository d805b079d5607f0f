"""Static-weight MLP (the ES baseline): ``tanh`` hidden layers, configurable output activation.

Flat parameter layout (``to_flat``/``from_flat``, used by ES): layer by layer, first ``W[in, out]`` in
C order (input-major) then ``b[out]``; ``n_params = sum(n_in * n_out + n_out)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from wann_ros.policies.checks import as_float_array, as_layer_sizes, fail, get
from wann_ros.policies.dense import DenseStack, layer_shapes, split_flat
from wann_ros.policies.inputs import network_input
from wann_ros.policies.layered import LayeredPolicy
from wann_ros.policies.spec import PolicySpec


def static_layout(layer_sizes: Sequence[int]) -> list[tuple[int, ...]]:
    """Shapes in flat order: ``W0[in, out], b0[out], W1, b1, ...``."""
    shapes: list[tuple[int, ...]] = []
    for n_in, n_out in layer_shapes(layer_sizes):
        shapes += [(n_in, n_out), (n_out,)]
    return shapes


def static_param_count(layer_sizes: Sequence[int]) -> int:
    """Length of the flat parameter vector for these layer sizes."""
    return sum(int(np.prod(s)) for s in static_layout(layer_sizes))


class StaticPolicy(LayeredPolicy):
    """A plain MLP with fixed weights ``W[in, out]`` and biases."""

    kind = "static"

    def __init__(
        self,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        spec: PolicySpec,
        hidden_activation: int | str = "tanh",
        output_activation: int | str = "tanh",
    ) -> None:
        if not isinstance(weights, (list, tuple)) or not weights:
            fail("weights must be a non-empty list of W[in, out] matrices")
        for k, w in enumerate(weights):
            if np.ndim(w) != 2:
                fail(f"weights[{k}] must be a 2-D matrix W[in, out], got shape {np.shape(w)}")
        sizes = [np.shape(weights[0])[0]] + [np.shape(w)[1] for w in weights]
        super().__init__(sizes, spec, hidden_activation, output_activation)
        if not isinstance(biases, (list, tuple)) or len(biases) != len(weights):
            fail(f"biases must be a list of {len(weights)} vectors")
        shapes = layer_shapes(self.layer_sizes)
        self.weights = [
            as_float_array(w, f"weights[{k}]", s)
            for k, (w, s) in enumerate(zip(weights, shapes, strict=True))
        ]
        self.biases = [
            as_float_array(b, f"biases[{k}]", (s[1],))
            for k, (b, s) in enumerate(zip(biases, shapes, strict=True))
        ]
        self._build_stack(self.weights, self.biases)

    @classmethod
    def from_flat(
        cls,
        params: np.ndarray,
        layer_sizes: Sequence[int],
        spec: PolicySpec,
        hidden_activation: int | str = "tanh",
        output_activation: int | str = "tanh",
    ) -> StaticPolicy:
        """Build from the flat ES vector (layout in the module docstring)."""
        sizes = as_layer_sizes(layer_sizes)
        flat = as_float_array(params, "static params", (static_param_count(sizes),))
        parts = split_flat(flat, static_layout(sizes))
        return cls(parts[0::2], parts[1::2], spec, hidden_activation, output_activation)

    def to_flat(self) -> np.ndarray:
        """The flat ES vector (a copy)."""
        return np.concatenate(
            [a.ravel() for pair in zip(self.weights, self.biases, strict=True) for a in pair]
        )

    @property
    def n_params(self) -> int:
        return static_param_count(self.layer_sizes)

    def network_dict(self) -> dict[str, Any]:
        return {"layer_sizes": list(self.layer_sizes), "params": self.to_flat(), **self._activation_fields()}

    @classmethod
    def from_network(cls, network: Mapping[str, Any], spec: PolicySpec) -> StaticPolicy:
        return cls.from_flat(
            get(network, "params"),
            get(network, "layer_sizes"),
            spec,
            get(network, "hidden_activation", "tanh"),
            get(network, "output_activation", "tanh"),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "layer_sizes": list(self.layer_sizes),
            "parameters": self.n_params,
            **self._activation_fields(),
        }


class StaticPopulation:
    """``N`` static MLPs of one shape evaluated together: ``params[N, n_params]`` in the flat layout.

    Equal to ``N`` separate :class:`StaticPolicy` objects, one observation row per individual.
    """

    def __init__(
        self,
        params: np.ndarray,
        layer_sizes: Sequence[int],
        spec: PolicySpec,
        hidden_activation: int | str = "tanh",
        output_activation: int | str = "tanh",
    ) -> None:
        self.template = StaticPolicy.from_flat(
            np.zeros(static_param_count(as_layer_sizes(layer_sizes))),
            layer_sizes,
            spec,
            hidden_activation,
            output_activation,
        )
        self.spec = spec
        n_params = self.template.n_params
        params = np.asarray(params, dtype=np.float64)
        if params.ndim != 2 or params.shape[1] != n_params:
            fail(f"population params must have shape (N, {n_params}), got {params.shape}")
        self.params = as_float_array(params, "population params")
        self._build_stack()

    def _build_stack(self) -> None:
        """The network stack over views of ``params``."""
        parts = split_flat(self.params, static_layout(self.template.layer_sizes))
        self._stack = DenseStack(parts[0::2], parts[1::2], self.template.layer_activations)

    # Copies and pickles: numpy copies a view as a separate array, which would cut the stack's
    # weights off ``params``; so the stack is left out and rebuilt over the copy's ``params``.
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_stack"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._build_stack()

    def __len__(self) -> int:
        return self.params.shape[0]

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """Raw observations ``[N, n_obs]`` (row ``i`` for individual ``i``) -> actions ``[N, n_actions]``."""
        x = network_input(self.spec, obs, batch=True)
        if x.shape[0] != len(self):
            raise ValueError(f"need one observation row per individual ({len(self)}), got {x.shape[0]}")
        return self._stack.forward_batch(x)[-1]
