"""The WANN activation set, numbered 1-11 exactly as the reference implementation (Gaier & Ha 2019).

Every network kind names its activations with these ids or names; :func:`apply_activation` is the one
place their math lives. All functions work elementwise on scalars or arrays and can write in place.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from wann_ros.policies.spec import PolicySpecError

_Fn = Callable[[np.ndarray, np.ndarray], None]


def _linear(x: np.ndarray, out: np.ndarray) -> None:
    if out is not x:
        np.copyto(out, x)


def _step(x: np.ndarray, out: np.ndarray) -> None:
    np.greater(x, 0.0, out=out)


def _sin(x: np.ndarray, out: np.ndarray) -> None:
    np.multiply(x, math.pi, out=out)
    np.sin(out, out=out)


def _gaussian(x: np.ndarray, out: np.ndarray) -> None:
    np.multiply(x, x, out=out)
    np.multiply(out, -0.5, out=out)
    np.exp(out, out=out)


def _sigmoid(x: np.ndarray, out: np.ndarray) -> None:
    np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    np.add(out, 1.0, out=out)
    np.multiply(out, 0.5, out=out)


def _inverse(x: np.ndarray, out: np.ndarray) -> None:
    # not np.negative: numpy 2.4 writes wrong values for a strided one-column input and output
    # (e.g. x = a[:, 5:6], out = b[:, 11:12]), the layout of a one-node group in a batched level
    np.multiply(x, -1.0, out=out)


def _relu(x: np.ndarray, out: np.ndarray) -> None:
    np.maximum(x, 0.0, out=out)


def _cos(x: np.ndarray, out: np.ndarray) -> None:
    np.multiply(x, math.pi, out=out)
    np.cos(out, out=out)


def _square(x: np.ndarray, out: np.ndarray) -> None:
    np.multiply(x, x, out=out)


#: id -> (name, in-place function); ids and formulas follow the reference's ``applyAct``.
ACTIVATIONS: dict[int, tuple[str, _Fn]] = {
    1: ("linear", _linear),  # x
    2: ("step", _step),  # 1.0 * (x > 0)
    3: ("sin", _sin),  # sin(pi x)
    4: ("gaussian", _gaussian),  # exp(-x^2 / 2)
    5: ("tanh", np.tanh),  # tanh(x)
    6: ("sigmoid", _sigmoid),  # (tanh(x / 2) + 1) / 2
    7: ("inverse", _inverse),  # -x
    8: ("abs", np.absolute),  # |x|
    9: ("relu", _relu),  # max(0, x)
    10: ("cos", _cos),  # cos(pi x)
    11: ("square", _square),  # x^2
}
_IDS_BY_NAME = {name: i for i, (name, _) in ACTIVATIONS.items()}
ACTIVATION_NAMES: tuple[str, ...] = tuple(name for name, _ in ACTIVATIONS.values())


def activation_id(value: int | str) -> int:
    """The id (1-11) of an activation given by id or by name; anything else raises PolicySpecError."""
    if isinstance(value, str):
        if value not in _IDS_BY_NAME:
            raise PolicySpecError(f"unknown activation name {value!r}; expected one of {ACTIVATION_NAMES}")
        return _IDS_BY_NAME[value]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and int(value) in ACTIVATIONS:
        return int(value)
    raise PolicySpecError(f"unknown activation {value!r}; expected an id 1-11 or one of {ACTIVATION_NAMES}")


def activation_name(value: int | str) -> str:
    """The name of an activation given by id or by name."""
    return ACTIVATIONS[activation_id(value)][0]


def apply_activation(act: int | str, x: np.ndarray | float, out: np.ndarray | None = None) -> np.ndarray:
    """Apply activation ``act`` elementwise; writes into ``out`` (which may be ``x``) when given."""
    fn = ACTIVATIONS[activation_id(act)][1]
    x = np.asarray(x, dtype=np.float64)
    if out is None:
        out = np.empty_like(x)
    fn(x, out)
    return out


def activation_function(act: int | str) -> _Fn:
    """The in-place function ``f(x, out)`` of an activation, for hot loops that resolve it once."""
    return ACTIVATIONS[activation_id(act)][1]
