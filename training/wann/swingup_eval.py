"""Vectorised swing-up evaluation: every (network, row) pair is one cart of one :class:`SwingUpBatch`.

A row is one episode of one network at one weight scale. Rows that share a start seed start from the
same state (common random numbers, as the reference evaluates a whole generation on the same seeds).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from training.tasks import Job, Task
from wann_ros.policies.wann_population import Dag, PopulationForward
from wann_ros.sim.swingup import SwingUpBatch, SwingUpParams

N_INPUTS, N_OUTPUTS = 5, 1  # [x, x_dot, cos(theta), sin(theta), theta_dot] -> force


def rollout(
    dags: Sequence[Dag],
    scales: np.ndarray,
    seeds: np.ndarray,
    params: SwingUpParams | None = None,
    ensemble: int = 1,
) -> np.ndarray:
    """Episode returns, shape (P, rows), of ``P`` networks with ``scales`` and start ``seeds`` (P, rows).

    With ``ensemble = k > 1`` each row is driven by the mean action of ``k`` consecutive scale columns:
    ``scales`` then has ``rows * k`` columns and ``seeds`` stays (P, rows).
    """
    scales = np.asarray(scales, dtype=np.float64)
    seeds = np.asarray(seeds)
    p, rows = seeds.shape
    if len(dags) != p or scales.shape != (p, rows * ensemble):
        raise ValueError(
            f"rollout: {len(dags)} networks, seeds {seeds.shape}, scales {scales.shape} (ensemble {ensemble})"
        )
    forward = PopulationForward(dags)
    batch = SwingUpBatch(p * rows, params)
    obs = batch.reset([int(s) for s in seeds.ravel()])
    total = np.zeros(p * rows)
    for _ in range(batch.params.max_steps):
        x = np.repeat(obs.reshape(p, rows, N_INPUTS), ensemble, axis=1) if ensemble > 1 else obs
        action = forward(x.reshape(p, rows * ensemble, N_INPUTS), scales)
        action = action.reshape(p * rows, ensemble).mean(axis=1)
        obs, reward, done = batch.step(action)
        total += reward
        if done.all():
            break
    return total.reshape(p, rows)


def shared_weight_returns(
    dags: Sequence[Dag],
    weights: Sequence[float],
    rep_seeds: Sequence[int],
    params: SwingUpParams | None = None,
) -> np.ndarray:
    """Returns (P, W, R) of every network at every weight; episode ``r`` starts from ``rep_seeds[r]``."""
    w = np.asarray(weights, dtype=np.float64)
    s = np.asarray(rep_seeds, dtype=np.int64)
    p = len(dags)
    scales = np.broadcast_to(w[None, :, None], (p, w.size, s.size)).reshape(p, -1)
    seeds = np.broadcast_to(s[None, None, :], (p, w.size, s.size)).reshape(p, -1)
    return rollout(dags, scales, seeds, params).reshape(p, w.size, s.size)


def evaluate_jobs(task: Task, candidates: Sequence[Any], jobs: Sequence[Job]) -> np.ndarray:
    """The engine's batch evaluator for WANN candidates (``.genome``, ``.weight``): one return per job.

    Candidates sharing a genome object run as one network with one row per job; the numbers equal the
    one-episode path (the gymnasium env seeds its cart with ``default_rng(seed)``, as here).
    """
    networks: dict[int, int] = {}
    genomes, rows = [], []
    for job in jobs:
        genome = candidates[job.candidate].genome
        k = networks.setdefault(id(genome), len(genomes))
        if k == len(genomes):
            genomes.append(genome)
            rows.append([])
        rows[k].append(job)
    width = max(len(r) for r in rows)
    scales = np.ones((len(genomes), width))
    seeds = np.zeros((len(genomes), width), dtype=np.int64)
    for k, network_jobs in enumerate(rows):
        for r, job in enumerate(network_jobs):
            scales[k, r] = candidates[job.candidate].weight
            seeds[k, r] = job.seed
    params = task.env_kwargs.get("params")
    returns = rollout([g.to_dag() for g in genomes], scales, seeds, params)
    where = {id(job): (k, r) for k, network_jobs in enumerate(rows) for r, job in enumerate(network_jobs)}
    return np.array([returns[where[id(job)]] for job in jobs])
