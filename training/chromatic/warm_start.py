"""Warm start of a chromatic search from the weights a Hebbian network grows while it walks.

A Hebbian policy starts from random weights and builds its gait with its plasticity rules; frozen after
a few hundred steps, the grown weights form a static network that keeps walking (docs/hebbian.md,
*Freezing*). ``training.hebbian.snapshot.hebbian_snapshot`` runs one seeded episode and returns those
weights; :func:`kmeans_colours` partitions them into ``P`` classes, which gives the search its starting
colouring and pool (``learned``); the ``dense`` structure starts from the weights themselves.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from training.chromatic.config import ChromaticConfig
from training.chromatic.structures import Layout
from training.hebbian.snapshot import hebbian_snapshot
from training.tasks import Task


def kmeans_colours(values: np.ndarray, k: int, iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """1-D k-means of ``values`` into ``k`` classes: ``(centres[k], colour of each value)``.

    Deterministic: the centres start at the ``(i + 0.5) / k`` quantiles; Lloyd iterations until no value
    changes class (at most ``iterations``). A class left empty keeps its centre.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if k < 1 or x.size == 0:
        raise ValueError(f"k-means needs k >= 1 and values, got k={k}, {x.size} values")
    centres = np.quantile(x, (np.arange(k) + 0.5) / k)
    colours = np.full(x.size, -1)
    for _ in range(iterations):
        new = np.abs(x[:, None] - centres[None, :]).argmin(axis=1)
        if np.array_equal(new, colours):
            break
        colours = new
        sums = np.bincount(colours, weights=x, minlength=k)
        counts = np.bincount(colours, minlength=k)
        centres = np.where(counts > 0, sums / np.maximum(counts, 1), centres)
    return centres, colours


def warm_start(config: ChromaticConfig, layout: Layout, task: Task) -> tuple[np.ndarray, np.ndarray | None]:
    """The ES start vector (in units of ``param_scale``, biases 0) and the starting colouring
    (``None`` for ``dense``) from ``config.warm_start``."""
    weights = hebbian_snapshot(
        config.warm_start, task, config.warm_start_step, config.warm_start_seed, config.warm_start_morphology
    )
    shapes = [w.shape for w in weights]
    if shapes != layout.shapes:
        raise ValueError(
            f"warm_start {config.warm_start}: its layers {shapes} do not match the network "
            f"{list(layout.sizes)} (set hidden: to the Hebbian network's hidden widths)"
        )
    flat = np.concatenate([w.ravel() for w in weights]) / config.param_scale
    biases = np.zeros(layout.n_biases)
    if layout.structure == "dense":
        return np.concatenate([flat, biases]), None
    pool, colours = kmeans_colours(flat, layout.colors)
    return np.concatenate([pool, biases]), colours


def describe(config: ChromaticConfig) -> dict[str, Any]:
    """What a run records about its warm start (the file's sha256 pins the exact weights)."""
    data = Path(config.warm_start).read_bytes()
    return {
        "file": str(config.warm_start),
        "sha256": hashlib.sha256(data).hexdigest(),
        "step": config.warm_start_step,
        "seed": config.warm_start_seed,
        "morphology": config.warm_start_morphology,
    }
