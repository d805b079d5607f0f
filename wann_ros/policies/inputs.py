"""Raw observation in, network input out: shape check plus the spec's normalisation (one place)."""

from __future__ import annotations

import numpy as np

from wann_ros.policies.spec import PolicySpec


def network_input(
    spec: PolicySpec, obs: np.ndarray, batch: bool = False, out: np.ndarray | None = None
) -> np.ndarray:
    """Check ``obs`` is ``(n_obs,)`` (or ``(B, n_obs)`` with ``batch``) and normalise it with the spec.

    ``out`` is an optional result buffer (see ``ObservationSpec.normalize``). A wrong shape or
    non-numeric input raises ValueError naming the expected shape.
    """
    try:
        x = np.asarray(obs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"observation must be a vector of numbers: {exc}") from None
    n = spec.observation.size
    if batch:
        if x.ndim != 2 or x.shape[1] != n:
            raise ValueError(f"observation batch must have shape (B, {n}), got {x.shape}")
    elif x.shape != (n,):
        raise ValueError(f"observation must have shape ({n},), got {x.shape}")
    return spec.observation.normalize(x, out)
