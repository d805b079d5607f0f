"""Multi-objective ranking: non-dominated fronts, then crowding distance inside each front (NSGA-II).

All objectives are maximised. Rank 0 is the best individual.
"""

from __future__ import annotations

import numpy as np


def _objectives(values: np.ndarray) -> np.ndarray:
    obj = np.asarray(values, dtype=np.float64)
    if obj.ndim != 2 or obj.shape[0] == 0 or obj.shape[1] == 0:
        raise ValueError(f"objectives must be a non-empty (individuals, objectives) array, got {obj.shape}")
    if not np.all(np.isfinite(obj)):
        raise ValueError("objectives contain NaN or inf")
    return obj


def nondominated_fronts(values: np.ndarray) -> list[np.ndarray]:
    """Indices of each front, best first. ``p`` dominates ``q`` when it is >= everywhere and > somewhere."""
    obj = _objectives(values)
    ge = np.all(obj[:, None, :] >= obj[None, :, :], axis=2)
    gt = np.any(obj[:, None, :] > obj[None, :, :], axis=2)
    dominates = ge & gt  # dominates[p, q]: p dominates q
    n_dominators = dominates.sum(axis=0)
    remaining = np.ones(len(obj), dtype=bool)
    fronts = []
    while remaining.any():
        front = np.flatnonzero(remaining & (n_dominators == 0))
        fronts.append(front)
        remaining[front] = False
        n_dominators = n_dominators - dominates[front].sum(axis=0)
    return fronts


def crowding_distance(values: np.ndarray) -> np.ndarray:
    """Crowding distance of each individual of one front.

    Per objective: the gap between the two neighbours in sorted order divided by the objective's range
    ``(max - min)`` (the reference divides wrongly by ``1/max - min``); the two ends get ``inf``; an
    objective with zero range adds nothing. Distances are summed over objectives.
    """
    obj = _objectives(values)
    n = len(obj)
    dist = np.zeros(n)
    for column in obj.T:
        order = np.argsort(column, kind="stable")
        ranked = column[order]
        span = ranked[-1] - ranked[0]
        gap = np.full(n, np.inf)
        if n > 2:
            gap[1:-1] = (ranked[2:] - ranked[:-2]) / span if span > 0 else 0.0
        if span == 0:
            gap[:] = 0.0
        dist[order] += gap
    return dist


def rank(values: np.ndarray) -> np.ndarray:
    """Rank of each individual (0 = best): by front, then by decreasing crowding distance, then by index."""
    obj = _objectives(values)
    order = []
    for front in nondominated_fronts(obj):
        crowd = crowding_distance(obj[front])
        order.extend(front[np.argsort(-crowd, kind="stable")].tolist())
    ranks = np.empty(len(obj), dtype=np.int64)
    ranks[order] = np.arange(len(obj))
    return ranks
