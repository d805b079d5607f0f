"""Mirror-symmetric Hebbian rules: half the coefficients, a network equivariant to the robot's mirror image.

The robot's mirror image (the Ant through its x-z plane) maps observations and actions by signed
permutations, ``mirrored[k] = sign[k] * v[index[k]]``; hidden layer ``h`` mirrors by swapping its two
halves. Synapse ``(i, j)`` of a layer pairs with ``(index_in[i], index_out[j])``; with ``s``/``t`` the
input/output signs there, the pair's rules are tied as

    A' = A,  B' = t * B,  C' = s * C,  D' = s * t * D,  eta' = eta

which is exactly what makes ``dW' = s * t * dW`` when the activity is mirrored (the ABCD rule of
:mod:`wann_ros.policies.hebbian`). Initial weights are drawn i.i.d. from a distribution symmetric about
0, which the mirror leaves unchanged, so the walk of the mirrored body is, in distribution, the mirror
image of the walk of the body: rules that learn the right-front damage walk the left-front one equally.
The search evolves one coefficient vector per pair (30,720 for 28->128->64->8); :meth:`MirrorTying.expand`
gives the ordinary per-synapse rule vector, so exported files, ONNX and the ROS nodes are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from wann_ros.policies.dense import layer_shapes
from wann_ros.policies.hebbian import N_COEFFS
from wann_ros.policies.spec import PolicySpec
from wann_ros.sim import robot_specs as rs

SYMMETRIES = ("mirror",)
ODD_ACTIVATIONS = ("tanh", "linear")  # an output whose sign flips under the mirror needs f(-x) = -f(x)


@dataclass(frozen=True)
class SignedPermutation:
    """``apply(v)[k] = sign[k] * v[index[k]]``, an involution (applying it twice is the identity)."""

    index: np.ndarray
    sign: np.ndarray

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[int, int]]) -> SignedPermutation:
        index = np.array([i for i, _ in pairs], dtype=np.intp)
        sign = np.array([s for _, s in pairs], dtype=np.float64)
        n = len(index)
        if sorted(index.tolist()) != list(range(n)) or not np.all(np.abs(sign) == 1):
            raise ValueError(f"a mirror map must permute 0..{n - 1} with signs +-1, got {list(pairs)}")
        if not (np.array_equal(index[index], np.arange(n)) and np.array_equal(sign[index], sign)):
            raise ValueError("a mirror map must be its own inverse (each pair swapped with one sign)")
        return cls(index, sign)

    @classmethod
    def swap_halves(cls, n: int) -> SignedPermutation:
        """Hidden units ``k`` and ``k + n/2`` trade places."""
        if n % 2:
            raise ValueError(f"a mirrored hidden layer needs an even size, got {n}")
        h = n // 2
        return cls.from_pairs([(k + h, 1) if k < h else (k - h, 1) for k in range(n)])

    def apply(self, v: np.ndarray) -> np.ndarray:
        return self.sign * np.asarray(v)[..., self.index]


class MirrorTying:
    """Gather map from the pair coefficients (the search vector) to the per-synapse rule vector."""

    def __init__(
        self, layer_sizes: Sequence[int], observation: SignedPermutation, action: SignedPermutation
    ) -> None:
        sizes = [int(n) for n in layer_sizes]
        if len(observation.index) != sizes[0] or len(action.index) != sizes[-1]:
            n_obs, n_act = len(observation.index), len(action.index)
            raise ValueError(f"mirror maps of {n_obs} -> {n_act} values do not fit the network {sizes}")
        if np.any(action.index == np.arange(sizes[-1])):
            raise ValueError("every action must have a mirror partner on the other side")
        mirrors = [observation, *(SignedPermutation.swap_halves(n) for n in sizes[1:-1]), action]
        index, sign, offset = [], [], 0
        for (n_in, n_out), m_in, m_out in zip(layer_shapes(sizes), mirrors[:-1], mirrors[1:], strict=True):
            i, j = np.meshgrid(np.arange(n_in), np.arange(n_out), indexing="ij")
            own = (i * n_out + j).ravel()
            partner = (m_in.index[i] * n_out + m_out.index[j]).ravel()
            lead = own < partner  # the pair's coefficients live at its first synapse
            rank = np.cumsum(lead) - 1
            pair = offset + np.where(lead, rank[own], rank[partner])
            s, t = m_in.sign[i].ravel(), m_out.sign[j].ravel()
            flip = np.stack([np.ones_like(s), t, s, s * t, np.ones_like(s)], axis=1)
            index.append(pair[:, None] * N_COEFFS + np.arange(N_COEFFS))
            sign.append(np.where(lead[:, None], 1.0, flip))
            offset += int(lead.sum())
        self.index = np.concatenate(index).ravel()
        self.sign = np.concatenate(sign).ravel()
        self.index.flags.writeable = self.sign.flags.writeable = False  # shared by the cache below
        self.size = offset * N_COEFFS

    def expand(self, pairs: np.ndarray) -> np.ndarray:
        """Pair coefficients ``[..., size]`` -> per-synapse rules ``[..., 2 * size]``."""
        pairs = np.asarray(pairs, dtype=np.float64)
        if pairs.shape[-1] != self.size:
            raise ValueError(f"mirror-tied rules need {self.size} coefficients, got shape {pairs.shape}")
        return self.sign * pairs[..., self.index]

    def project(self, rules: np.ndarray) -> np.ndarray:
        """The closest tied rules (least squares): each pair's mean of the two synapses, signs undone."""
        rules = np.asarray(rules, dtype=np.float64)
        if rules.shape != self.index.shape:
            raise ValueError(f"per-synapse rules must have shape {self.index.shape}, got {rules.shape}")
        return np.bincount(self.index, self.sign * rules, minlength=self.size) / 2.0


def mirror_tying(spec: PolicySpec, layer_sizes: Sequence[int]) -> MirrorTying:
    """The tying of a network on ``spec``'s robot with these layer sizes; the Ant's mirror is the one
    defined. Built once per layer sizes: every candidate's policy build asks for it (about 1.6 ms each
    to build for 28->128->64->8)."""
    ant_obs = rs.ant_observation_spec().to_dict()
    if tuple(spec.action.joint_names) != rs.ANT_JOINTS or spec.observation.to_dict() != ant_obs:
        raise ValueError("symmetry 'mirror' is defined for the Ant's 28 observations and 8 joints only")
    return _ant_tying(tuple(int(n) for n in layer_sizes))


@lru_cache(maxsize=8)
def _ant_tying(layer_sizes: tuple[int, ...]) -> MirrorTying:
    obs, act = rs.ant_mirror()
    return MirrorTying(layer_sizes, SignedPermutation.from_pairs(obs), SignedPermutation.from_pairs(act))
