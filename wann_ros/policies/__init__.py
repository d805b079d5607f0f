"""The networks and their math, numpy only: every kind implements :class:`~wann_ros.policies.base.Policy`."""

from wann_ros.policies.base import Policy
from wann_ros.policies.chromatic import ChromaticPolicy
from wann_ros.policies.factory import POLICY_CLASSES, generic_spec, make_policy
from wann_ros.policies.hebbian import HebbianPolicy, HebbianPopulation
from wann_ros.policies.spec import PolicySpec, PolicySpecError
from wann_ros.policies.static import StaticPolicy, StaticPopulation
from wann_ros.policies.wann import WannPolicy

__all__ = [
    "POLICY_CLASSES",
    "ChromaticPolicy",
    "HebbianPolicy",
    "HebbianPopulation",
    "Policy",
    "PolicySpec",
    "PolicySpecError",
    "StaticPolicy",
    "StaticPopulation",
    "WannPolicy",
    "generic_spec",
    "make_policy",
]
