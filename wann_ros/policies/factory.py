"""Build any policy kind from its network description: the round trip every file format relies on.

``policy.network_dict()`` returns plain values plus numpy arrays; ``make_policy(kind, network, spec)``
rebuilds an equal policy from such a dict (validating every field, PolicySpecError on bad data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from wann_ros.policies.base import Policy
from wann_ros.policies.checks import fail
from wann_ros.policies.chromatic import ChromaticPolicy
from wann_ros.policies.hebbian import HebbianPolicy
from wann_ros.policies.spec import ActionSpec, ObservationSpec, ObsTerm, PolicySpec
from wann_ros.policies.static import StaticPolicy
from wann_ros.policies.wann import WannPolicy

POLICY_CLASSES: dict[str, Any] = {
    "wann": WannPolicy,
    "chromatic": ChromaticPolicy,
    "hebbian": HebbianPolicy,
    "static": StaticPolicy,
}


def make_policy(kind: str, network: Mapping[str, Any], spec: PolicySpec) -> Policy:
    """The policy of ``kind`` described by ``network`` (as from ``network_dict()``), running ``spec``."""
    if kind not in POLICY_CLASSES:
        fail(f"unknown policy kind {kind!r}; expected one of {tuple(POLICY_CLASSES)}")
    if spec.kind != kind:
        fail(f"policy kind {kind!r} does not match the spec's kind {spec.kind!r}")
    if not isinstance(network, Mapping):
        fail(f"network description must be a mapping, got {type(network).__name__}")
    return POLICY_CLASSES[kind].from_network(network, spec)


def generic_spec(kind: str, n_obs: int, n_actions: int, control_period: float = 0.02) -> PolicySpec:
    """A spec with one observation term ``obs`` and joints ``joint_0..``: commands = actions in [-1, 1].

    For tests, benchmarks and networks imported without a robot description.
    """
    ones = np.ones(n_actions)
    joints = tuple(f"joint_{i}" for i in range(n_actions))
    return PolicySpec(
        kind=kind,
        observation=ObservationSpec((ObsTerm("obs", n_obs),)),
        action=ActionSpec(joints, "position", ones, 0 * ones, -ones, ones),
        control_period=control_period,
    )
