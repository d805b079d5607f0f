"""Policy builders ``(candidate, env, **args) -> Policy`` shared by the algorithms, and the spec lookup."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from wann_ros.policies.dense import layer_shapes, split_flat
from wann_ros.policies.spec import PolicySpec
from wann_ros.policies.static import StaticPolicy, static_param_count


def _known_specs(env_id: str) -> tuple[Any, Any, float] | None:
    """(observation spec, action spec, control period) of envs that do not carry them."""
    from wann_ros.sim import robot_specs as rs

    return {
        "BipedalWalker-v3": (
            rs.bipedal_observation_spec(),
            rs.bipedal_action_spec(),
            rs.BIPEDAL_CONTROL_PERIOD,
        ),
        "wann_ros/CartPoleSwingUp-v0": (
            rs.swingup_observation_spec(),
            rs.swingup_action_spec(),
            rs.SWINGUP_CONTROL_PERIOD,
        ),
    }.get(env_id)


def _first(obj: Any, *names: str) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


def policy_spec_for(env: Any, kind: str) -> PolicySpec:
    """The spec a policy of ``kind`` needs on ``env``.

    Read from ``env.unwrapped``: ``observation_spec``/``obs_spec``, ``action_spec``/``act_spec`` and
    ``control_period`` (or ``world.control_period``); envs without them come from a table by env id.
    """
    u = env.unwrapped
    obs = _first(u, "observation_spec", "obs_spec")
    act = _first(u, "action_spec", "act_spec")
    period = _first(u, "control_period") or _first(getattr(u, "world", None), "control_period")
    if obs is None or act is None or period is None:
        env_id = str(getattr(getattr(env, "spec", None), "id", None))
        known = _known_specs(env_id)
        if known is None:
            raise ValueError(f"env {env_id!r} exposes no observation/action spec and control period")
        obs, act, period = known
    return PolicySpec(kind, obs, act, float(period))


def mlp_sizes(spec: PolicySpec, hidden: Sequence[int]) -> list[int]:
    return [spec.observation.size, *hidden, spec.action.size]


def static_mlp_params(sizes: Sequence[int], bias: bool) -> int:
    """Length of the ES vector of a static MLP with these layer sizes (with or without biases)."""
    return static_param_count(sizes) if bias else sum(a * b for a, b in layer_shapes(sizes))


def static_mlp(
    candidate: np.ndarray,
    env: Any,
    hidden: Sequence[int] = (),
    bias: bool = False,
    hidden_activation: str = "tanh",
    output_activation: str = "tanh",
) -> StaticPolicy:
    """A static MLP from a flat vector: ``StaticPolicy``'s layout with biases, or just the weights
    ``W[in, out]`` layer by layer (biases fixed at zero) when ``bias`` is false."""
    spec = policy_spec_for(env, "static")
    sizes = mlp_sizes(spec, hidden)
    flat = np.asarray(candidate, dtype=np.float64)
    if flat.shape != (static_mlp_params(sizes, bias),):
        raise ValueError(
            f"static MLP {sizes} ({'with' if bias else 'without'} biases) needs "
            f"{static_mlp_params(sizes, bias)} parameters, got shape {flat.shape}"
        )
    if bias:
        return StaticPolicy.from_flat(flat, sizes, spec, hidden_activation, output_activation)
    weights = split_flat(flat, layer_shapes(sizes))
    biases = [np.zeros(n_out) for _, n_out in layer_shapes(sizes)]
    return StaticPolicy(weights, biases, spec, hidden_activation, output_activation)
