"""Vectorised swing-up evaluation for the chromatic search: one cart per job, one network per cart.

Every job's policy is built by the task's own builder; its dense (expanded) weights are stacked into a
population ``W[jobs, in, out]`` and all carts step together through :class:`SwingUpBatch`. The returns
equal the one-episode path up to floating-point rounding of the batched matrix products.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from training.tasks import Job, Task
from wann_ros.policies.dense import DenseStack
from wann_ros.policies.inputs import network_input
from wann_ros.sim.swingup import SwingUpBatch


def evaluate_swingup(task: Task, candidates: Sequence[Any], jobs: Sequence[Job]) -> np.ndarray:
    """The engine's batch evaluator: the swing-up return of every job."""
    env = task.make_env(0)
    try:
        policies = {c: task.build_policy(candidates[c], env) for c in sorted({j.candidate for j in jobs})}
    finally:
        env.close()
    first = policies[jobs[0].candidate]
    rows = [policies[j.candidate] for j in jobs]
    n_layers = len(first.weights)
    stack = DenseStack(
        [np.stack([p.weights[k] for p in rows]) for k in range(n_layers)],
        [np.stack([p.biases[k] for p in rows]) for k in range(n_layers)],
        first.layer_activations,
    )
    batch = SwingUpBatch(len(jobs), task.env_kwargs.get("params"))
    obs = batch.reset([j.seed for j in jobs])
    limit = min(batch.params.max_steps, task.runner_args.get("max_steps") or batch.params.max_steps)
    total = np.zeros(len(jobs))
    for _ in range(limit):
        action = stack.forward_batch(network_input(first.spec, obs, batch=True))[-1]
        obs, reward, done = batch.step(action)
        total += reward
        if done.all():
            break
    return total
