"""Layered dense networks: the one forward pass shared by the chromatic, Hebbian and static kinds.

Orientation, used everywhere in wann_ros: a dense weight matrix is stored input-major, ``W[in, out]``
(C order), so a layer computes ``y = f(x @ W + b)`` and a flat parameter vector runs over inputs in the
outer loop and outputs in the inner loop (the loop order of the C export). Populations of individuals
stack them in front: ``W[n, in, out]``, ``b[n, out]``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from wann_ros.policies.activations import activation_function


def layer_shapes(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """``(n_in, n_out)`` of each layer for widths ``sizes`` (input, hidden..., output)."""
    return list(itertools.pairwise(sizes))


def split_flat(flat: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    """Consecutive views of ``flat`` (last axis) reshaped to ``shapes``; sizes must add up exactly."""
    lead = flat.shape[:-1]
    views, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape, dtype=np.int64))
        views.append(flat[..., start : start + size].reshape(*lead, *shape))
        start += size
    if start != flat.shape[-1]:
        raise ValueError(f"flat vector has {flat.shape[-1]} values, the layout needs {start}")
    return views


class DenseStack:
    """A stack of dense layers over caller-owned weight arrays.

    ``weights[k]`` is ``W[in, out]`` (one network) or ``W[n, in, out]`` (a population); ``biases[k]`` is
    ``b[out]`` / ``b[n, out]`` or the whole list is ``None``; ``activations[k]`` is an activation id or
    name per layer. Without biases the weight arrays are referenced, so they may be changed in place
    between calls (Hebbian plasticity does). With biases, the single-network path works on augmented
    copies ``[W; b]`` fed ``[x, 1]`` (one product per layer instead of a product and an add).
    """

    def __init__(
        self,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray] | None,
        activations: Sequence[int | str],
    ) -> None:
        self.weights = list(weights)
        self.biases = list(biases) if biases is not None else [None] * len(self.weights)
        self.activations = list(activations)
        self._fns = [activation_function(a) for a in activations]
        self._buffers: list[np.ndarray] = []
        if self.weights[0].ndim != 2:
            return  # a population: only forward_batch applies
        aug = 0 if biases is None else 1
        sizes = [self.weights[0].shape[0]] + [w.shape[1] for w in self.weights]
        buffers = self._buffers = [np.ones(n + aug) for n in sizes[:-1]] + [np.empty(sizes[-1])]
        #: where ``forward`` reads its input; normalise straight into it to skip a copy
        self.input = buffers[0][: sizes[0]]
        #: every layer's output after the last ``forward`` (views of reused buffers)
        self.outputs = [buf[:n] for buf, n in zip(buffers[1:], sizes[1:], strict=True)]
        mats = (
            self.weights
            if aug == 0
            else [np.vstack([w, b]) for w, b in zip(self.weights, self.biases, strict=True)]
        )
        self._steps = list(zip(buffers[:-1], mats, self.outputs, self._fns, strict=True))

    # Copies and pickles: numpy copies a view as a separate array, which would cut ``input``,
    # ``outputs`` and ``_steps`` off the buffers they share. So the state is what ``__init__`` takes
    # plus the buffers' values (the last pass's activity, which a deferred Hebbian update still
    # reads); the weight arrays stay the owner's (the copy memo keeps shared objects shared).
    def __getstate__(self) -> dict[str, Any]:
        biases = None if self.biases[0] is None else self.biases
        return {
            "weights": self.weights,
            "biases": biases,
            "activations": self.activations,
            "buffers": self._buffers,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["weights"], state["biases"], state["activations"])
        for buf, value in zip(self._buffers, state["buffers"], strict=True):
            np.copyto(buf, value)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """One input vector through a single network; returns ``self.outputs[-1]``.

        The returned array is a buffer reused by the next call: copy it to keep it.
        """
        if x is not self.input:
            np.copyto(self.input, x)
        for src, mat, y, f in self._steps:
            np.dot(src, mat, out=y)
            f(y, y)
        return y

    def forward_batch(self, x: np.ndarray) -> list[np.ndarray]:
        """Rows ``x[B, in]`` through the stack (row ``i`` uses individual ``i`` for population weights).

        Returns every layer's output ``[B, out]`` as new arrays.
        """
        outs, h = [], x
        for w, b, f in zip(self.weights, self.biases, self._fns, strict=True):
            y = np.matmul(h, w) if w.ndim == 2 else np.matmul(h[:, None, :], w)[:, 0, :]
            if b is not None:
                np.add(y, b, out=y)
            f(y, y)
            outs.append(y)
            h = y
        return outs
