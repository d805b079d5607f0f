"""Fitness shaping."""

from __future__ import annotations

import numpy as np


def centred_ranks(fitness: np.ndarray) -> np.ndarray:
    """Ranks scaled to [-0.5, 0.5] (lowest fitness -0.5, highest +0.5); ties share their mean rank.

    Salimans et al. (2017) shape returns this way so an update depends only on the order of the
    candidates, not on outliers. ``-inf`` sorts lowest. A single candidate gets 0.
    """
    f = np.asarray(fitness, dtype=np.float64).ravel()
    n = f.size
    if n < 2:
        return np.zeros(n)
    order = np.argsort(f, kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(n, dtype=np.float64)
    sorted_f = f[order]
    new_value = np.r_[True, sorted_f[1:] != sorted_f[:-1]]
    if not new_value.all():  # average the ranks inside each group of equal values
        group = np.cumsum(new_value) - 1
        mean_rank = np.bincount(group, weights=np.arange(n)) / np.bincount(group)
        ranks[order] = mean_rank[group]
    return ranks / (n - 1) - 0.5
