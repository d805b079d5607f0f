"""Genome <-> deployable :class:`WannPolicy`, and the swing-up policy spec.

A genome's node ids become the policy's topological numbering: bias, inputs, hidden nodes in an order
that respects *every* connection (disabled ones too, so the file keeps them and stays feed-forward),
then the outputs. Tuned weights are one per enabled connection on the genome side and one per
connection (disabled ones 0) on the policy side.
"""

from __future__ import annotations

import numpy as np

from training.wann.genome import Genome, GenomeError
from wann_ros.policies.spec import ObservationSpec, PolicySpec, Provenance
from wann_ros.policies.wann import WannPolicy
from wann_ros.sim.robot_specs import swingup_action_spec, swingup_observation_spec

SWINGUP_CONTROL_PERIOD = 0.01  # s, the paper's dt
SWINGUP_INPUT_NAMES = ("x", "x_dot", "cos(theta)", "sin(theta)", "theta_dot")
SWINGUP_OUTPUT_NAMES = ("force",)


def swingup_spec(provenance: Provenance | None = None) -> PolicySpec:
    """Observation terms, action layout and control period of the swing-up, for a WANN policy."""
    obs = swingup_observation_spec()
    return PolicySpec(
        "wann",
        ObservationSpec(obs.terms),
        swingup_action_spec(),
        SWINGUP_CONTROL_PERIOD,
        provenance or Provenance(task="swingup"),
    )


def topological_ids(g: Genome) -> list[int]:
    """Genome node ids in the policy's order: bias, inputs, hidden (respecting all connections), outputs."""
    everything = g.copy()
    everything.enabled[:] = True
    depth = everything.depths()
    hidden = sorted(g.hidden_ids.tolist(), key=lambda n: (depth[n], n))
    return [*range(g.n_sources), *hidden, *g.output_ids.tolist()]


def to_policy(
    g: Genome,
    spec: PolicySpec,
    shared_weight: float | None = None,
    weights: np.ndarray | None = None,
    ensemble_weights: np.ndarray | None = None,
) -> WannPolicy:
    """A :class:`WannPolicy` running ``g`` at a shared weight, an ensemble of them, or tuned edge weights."""
    ids = topological_ids(g)
    index = {n: i for i, n in enumerate(ids)}
    act = dict(zip(g.output_ids.tolist(), g.out_act.tolist(), strict=True))
    act.update(zip(g.hidden_ids.tolist(), g.hidden_act.tolist(), strict=True))
    activations = [act.get(n, 1) for n in ids]  # sources take no activation; 1 (linear) fills the slot
    connections = np.column_stack(
        [[index[s] for s in g.src.tolist()], [index[d] for d in g.dst.tolist()], g.enabled.astype(np.int64)]
    ).reshape(-1, 3)
    per_edge = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (g.n_connections,):
            raise GenomeError(
                f"expected {g.n_connections} weights (one per enabled connection), got {w.shape}"
            )
        per_edge = np.zeros(g.src.size)
        per_edge[g.enabled] = w
    if ensemble_weights is not None and shared_weight is None:
        shared_weight = float(np.mean(ensemble_weights))
    return WannPolicy(
        g.n_in,
        g.n_out,
        activations,
        connections,
        spec,
        shared_weight=shared_weight,
        weights=per_edge,
        ensemble_weights=ensemble_weights,
    )


def from_policy(policy: WannPolicy) -> tuple[Genome, np.ndarray | None]:
    """The genome of a :class:`WannPolicy` and its tuned weights per enabled connection (or ``None``)."""
    n = policy.activations.size
    n_in, n_out = policy.n_inputs, policy.n_outputs
    # policy numbering -> genome ids: sources keep theirs, outputs follow them, hidden nodes come after
    n_hidden = n - 1 - n_in - n_out
    hidden_ids = np.arange(1 + n_in + n_out, 1 + n_in + n_out + n_hidden)
    ids = np.concatenate([np.arange(1 + n_in), hidden_ids, np.arange(1 + n_in, 1 + n_in + n_out)])
    src, dst, enabled = policy.connections.T
    g = Genome(
        n_in,
        n_out,
        policy.activations[n - n_out :],
        hidden_ids,
        policy.activations[1 + n_in : n - n_out],
        ids[src],
        ids[dst],
        enabled.astype(bool),
    )
    tuned = None if policy.weights is None else policy.weights[enabled.astype(bool)]
    return g, tuned
