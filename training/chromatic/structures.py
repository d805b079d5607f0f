"""Weight-sharing structures of a layered network and the policy a search candidate becomes.

Edges are numbered layer by layer, each layer's ``[in, out]`` matrix in C order (the order of
``ChromaticPolicy.network_dict()["colors"]``). A candidate's ``params`` vector is the ES vector:

* ``learned`` / ``random`` / ``toeplitz``: the shared pool (P values) then every layer's biases; the
  candidate's ``colours`` give each edge's pool index;
* ``masked``: one weight per edge then the biases; ``colours`` is the keep-mask (0 pruned, 1 kept);
* ``dense``: one weight per edge then the biases (``colours`` is ``None``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.builders import mlp_sizes, policy_spec_for
from training.chromatic.config import STRUCTURES
from wann_ros.policies.chromatic import ChromaticPolicy
from wann_ros.policies.dense import layer_shapes, split_flat
from wann_ros.policies.spec import PolicySpec
from wann_ros.policies.static import StaticPolicy

CHROMATIC = ("learned", "random", "toeplitz")


def toeplitz_colours(sizes: Sequence[int]) -> np.ndarray:
    """Toeplitz sharing: edge ``(i, j)`` of a layer takes diagonal ``i - j + n_out - 1`` of that layer
    (``n_in + n_out - 1`` colours per layer, numbered after the previous layers')."""
    parts, offset = [], 0
    for n_in, n_out in layer_shapes(sizes):
        i, j = np.meshgrid(np.arange(n_in), np.arange(n_out), indexing="ij")
        parts.append((offset + i - j + n_out - 1).ravel())
        offset += n_in + n_out - 1
    return np.concatenate(parts).astype(np.int64)


@dataclass(frozen=True)
class Layout:
    """Sizes and sharing of one network: how long the ES vector is, how many choices each edge has."""

    sizes: tuple[int, ...]
    structure: str
    colors: int  # pool size P of the chromatic structures (toeplitz: its number of diagonals)

    def __post_init__(self) -> None:
        if self.structure not in STRUCTURES:
            raise ValueError(f"structure must be one of {STRUCTURES}, got {self.structure!r}")
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"layer sizes must be >= 2 positive widths, got {self.sizes}")

    @classmethod
    def create(cls, sizes: Sequence[int], structure: str, colors: int) -> Layout:
        sizes = tuple(int(s) for s in sizes)
        if structure == "toeplitz":
            colors = sum(a + b - 1 for a, b in layer_shapes(sizes))
        return cls(sizes, structure, int(colors))

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return layer_shapes(self.sizes)

    @property
    def n_edges(self) -> int:
        return sum(a * b for a, b in self.shapes)

    @property
    def n_biases(self) -> int:
        return sum(self.sizes[1:])

    @property
    def n_weights(self) -> int:
        """Weights in the ES vector: the pool (chromatic) or one per edge (masked, dense)."""
        return self.colors if self.structure in CHROMATIC else self.n_edges

    @property
    def dim(self) -> int:
        return self.n_weights + self.n_biases

    @property
    def choices(self) -> int:
        """Values an edge's entry in ``colours`` takes (0 for dense: no per-edge choice)."""
        return {"masked": 2, "dense": 0}.get(self.structure, self.colors)

    def distinct_parameters(self, colours: np.ndarray | None) -> int:
        """Trainable numbers the policy really uses: the pool (or kept edges) plus biases."""
        if self.structure == "dense" or colours is None:
            return self.dim
        if self.structure == "masked":
            return int(np.count_nonzero(colours)) + self.n_biases
        return self.colors + self.n_biases


@dataclass(frozen=True)
class Candidate:
    """One ES candidate: its parameter vector and the colouring (or mask) it is evaluated under."""

    params: np.ndarray
    colours: np.ndarray | None


def make_policy(
    candidate: Candidate,
    layout: Layout,
    spec: PolicySpec,
    hidden_activation: str = "tanh",
    output_activation: str = "tanh",
    param_scale: float = 1.0,
) -> ChromaticPolicy | StaticPolicy:
    """The deployable policy of ``candidate`` (chromatic for the colourings, static otherwise); its
    weights and biases are ``param_scale`` times the candidate's parameters."""
    params = np.asarray(candidate.params, dtype=np.float64) * param_scale
    if params.shape != (layout.dim,):
        raise ValueError(
            f"{layout.structure} network {list(layout.sizes)} needs {layout.dim} parameters, "
            f"got shape {params.shape}"
        )
    biases = split_flat(params[layout.n_weights :], [(b,) for _, b in layout.shapes])
    if layout.structure == "dense":
        weights = split_flat(params[: layout.n_weights], layout.shapes)
        return StaticPolicy(weights, biases, spec, hidden_activation, output_activation)
    colours = np.asarray(candidate.colours)
    if colours.shape != (layout.n_edges,) or colours.min() < 0 or colours.max() >= layout.choices:
        raise ValueError(
            f"{layout.structure} network needs {layout.n_edges} edge entries in "
            f"0..{layout.choices - 1}, got shape {colours.shape}"
        )
    if layout.structure == "masked":
        weights = split_flat(params[: layout.n_weights] * colours, layout.shapes)
        return StaticPolicy(weights, biases, spec, hidden_activation, output_activation)
    return ChromaticPolicy(
        layout.sizes,
        params[: layout.n_weights],
        split_flat(colours, layout.shapes),
        biases,
        spec,
        hidden_activation,
        output_activation,
    )


def build_policy(
    candidate: Candidate,
    env: Any,
    hidden: Sequence[int],
    structure: str,
    colors: int,
    hidden_activation: str = "tanh",
    output_activation: str = "tanh",
    param_scale: float = 1.0,
) -> ChromaticPolicy | StaticPolicy:
    """The engine's builder ``(candidate, env, **args) -> Policy``."""
    kind = "chromatic" if structure in CHROMATIC else "static"
    spec = policy_spec_for(env, kind)
    layout = Layout.create(mlp_sizes(spec, hidden), structure, colors)
    return make_policy(candidate, layout, spec, hidden_activation, output_activation, param_scale)
