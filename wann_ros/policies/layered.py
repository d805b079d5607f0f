"""What the layered kinds (chromatic, Hebbian, static) share: sizes, activations, act and act_batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from wann_ros.policies.activations import activation_id, activation_name
from wann_ros.policies.checks import as_layer_sizes, check_spec_sizes
from wann_ros.policies.dense import DenseStack
from wann_ros.policies.inputs import network_input
from wann_ros.policies.spec import PolicySpec


class LayeredPolicy:
    """Base of the layered kinds: ``hidden_activation`` on hidden layers, ``output_activation`` last."""

    kind = ""

    def __init__(
        self,
        layer_sizes: Sequence[int],
        spec: PolicySpec,
        hidden_activation: int | str,
        output_activation: int | str,
    ) -> None:
        self.layer_sizes = as_layer_sizes(layer_sizes)
        check_spec_sizes(spec, self.kind, self.layer_sizes[0], self.layer_sizes[-1])
        self.spec = spec
        self.hidden_activation = activation_id(hidden_activation)
        self.output_activation = activation_id(output_activation)
        n_layers = len(self.layer_sizes) - 1
        self.layer_activations = [self.hidden_activation] * (n_layers - 1) + [self.output_activation]

    def _build_stack(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray] | None) -> None:
        self._stack = DenseStack(weights, biases, self.layer_activations)

    def reset(self, seed: int | None = None) -> None:
        """Stateless: nothing to reset."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Raw observation -> network action (float64, shape (n_actions,))."""
        return self._stack.forward(network_input(self.spec, obs, out=self._stack.input)).copy()

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """Many raw observations ``[B, n_obs]`` through this one network -> actions ``[B, n_actions]``."""
        return self._stack.forward_batch(network_input(self.spec, obs, batch=True))[-1]

    def _activation_fields(self) -> dict[str, Any]:
        return {
            "hidden_activation": activation_name(self.hidden_activation),
            "output_activation": activation_name(self.output_activation),
        }
