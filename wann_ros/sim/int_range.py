"""One place for "a count, or a ``[low, high]`` range drawn per episode" (damage steps, latency)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def int_range(value: Any, what: str, most: int | None = None) -> tuple[int, int]:
    """``value`` (an int, or a ``[low, high]`` pair of ints) as ``(low, high)``, 0 <= low <= high <= most."""
    pair = isinstance(value, list | tuple) and len(value) == 2
    ends = tuple(value) if pair else (value, value)
    ints = all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in ends)
    top = math.inf if most is None else most
    if not ints or not 0 <= ends[0] <= ends[1] <= top:
        bound = "" if most is None else f" <= {most}"
        msg = f"{what} must be an int >= 0{bound}, or [low, high] with 0 <= low <= high{bound}; got {value!r}"
        raise ValueError(msg)
    return int(ends[0]), int(ends[1])


def draw_int(rng: np.random.Generator, low: int, high: int) -> int:
    """``low`` if the range is one value (draws nothing), else a uniform draw from ``[low, high]``."""
    return low if low == high else int(rng.integers(low, high + 1))
