"""Validation of network descriptions: every malformed value becomes a PolicySpecError naming it.

Network descriptions come from files, so each value may be of any JSON type or any size; these helpers
check type, range and shape before any array is built from a value.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np

from wann_ros.policies.spec import PolicySpecError, as_float

MAX_UNITS = 1 << 16  # widest layer / most WANN nodes
MAX_LAYERS = 64
MAX_PARAMS = 1 << 26  # most numbers one network may hold (64 Mi values)


def fail(message: str) -> None:
    """Raise the one error type for malformed network data."""
    raise PolicySpecError(message)


def get(network: Mapping[str, Any], key: str, default: Any = ...) -> Any:
    """``network[key]``; a missing key without default is an error naming the key."""
    if not isinstance(network, Mapping):
        fail(f"network description must be a mapping, got {type(network).__name__}")
    if key in network:
        return network[key]
    if default is ...:
        fail(f"network description is missing {key!r}")
    return default


def as_int(value: Any, what: str, lo: int, hi: int) -> int:
    """An int (not bool) in ``[lo, hi]``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        fail(f"{what} must be an integer, got {value!r}")
    if not lo <= int(value) <= hi:
        fail(f"{what} must be in {lo}..{hi}, got {value}")
    return int(value)


def as_opt_float(value: Any, what: str, positive: bool = False) -> float | None:
    """``None`` or a finite number (optionally > 0)."""
    if value is None:
        return None
    f = as_float(value, what)
    if positive and f <= 0:
        fail(f"{what} must be > 0, got {f}")
    return f


def as_bool(value: Any, what: str) -> bool:
    """A real bool (JSON true/false)."""
    if not isinstance(value, (bool, np.bool_)):
        fail(f"{what} must be true or false, got {value!r}")
    return bool(value)


def as_choice(value: Any, what: str, choices: tuple[str, ...]) -> str:
    """One of the given strings."""
    if not isinstance(value, str) or value not in choices:
        fail(f"{what} must be one of {choices}, got {value!r}")
    return value


def as_layer_sizes(value: Any, what: str = "layer_sizes") -> tuple[int, ...]:
    """A list of 2..MAX_LAYERS layer widths, each 1..MAX_UNITS, with at most MAX_PARAMS synapses."""
    if not isinstance(value, (list, tuple, np.ndarray)):
        fail(f"{what} must be a list of integers, got {type(value).__name__}")
    if not 2 <= len(value) <= MAX_LAYERS:
        fail(f"{what} needs 2..{MAX_LAYERS} entries (input, hidden..., output), got {len(value)}")
    sizes = tuple(as_int(v, f"{what}[{i}]", 1, MAX_UNITS) for i, v in enumerate(value))
    if sum(a * b for a, b in itertools.pairwise(sizes)) > MAX_PARAMS:
        fail(f"{what} {list(sizes)} describe more than {MAX_PARAMS} synapses")
    return sizes


def _to_array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if not isinstance(value, (list, tuple)):
        fail(f"{what} must be an array or a list of numbers, got {type(value).__name__}")
    try:
        return np.asarray(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise PolicySpecError(f"{what} is not a rectangular array of numbers: {exc}") from None


def _check_shape(arr: np.ndarray, what: str, shape: tuple[int, ...] | None) -> None:
    if shape is not None and arr.shape != tuple(shape):
        fail(f"{what} must have shape {tuple(shape)}, got {arr.shape}")


def as_float_array(value: Any, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A float64 array (a fresh copy) of the given shape with only finite values."""
    arr = _to_array(value, what)
    if arr.dtype.kind not in "iuf" or arr.dtype == np.bool_:
        fail(f"{what} must hold numbers, got dtype {arr.dtype}")
    _check_shape(arr, what, shape)
    arr = np.array(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        fail(f"{what} contains NaN or inf")
    return arr


def as_int_array(value: Any, what: str, shape: tuple[int, ...] | None, lo: int, hi: int) -> np.ndarray:
    """An int64 array (a fresh copy) of the given shape with every value in ``[lo, hi]``."""
    arr = _to_array(value, what)
    if arr.dtype.kind == "f" and (
        arr.size == 0
        or (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)) and np.all(abs(arr) < 2**62))
    ):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        fail(f"{what} must hold integers, got dtype {arr.dtype}")
    _check_shape(arr, what, shape)
    arr = np.array(arr, dtype=np.int64)
    if arr.size and (arr.min() < lo or arr.max() > hi):
        fail(f"{what} values must be in {lo}..{hi}, got {arr.min()}..{arr.max()}")
    return arr


def check_spec_sizes(spec: Any, kind: str, n_inputs: int, n_outputs: int) -> None:
    """The spec's kind and observation/action sizes must match the network's."""
    if spec.kind != kind:
        fail(f"spec kind is {spec.kind!r} but the network is {kind!r}")
    if spec.observation.size != n_inputs:
        fail(f"network takes {n_inputs} inputs but the observation spec has {spec.observation.size}")
    if spec.action.size != n_outputs:
        fail(f"network has {n_outputs} outputs but the action spec has {spec.action.size} joints")
