"""``hebbian-snapshot``: the weights a Hebbian policy grows while it walks, frozen into a static policy.

    python -m training hebbian-snapshot models/ant_hebbian.wrp --step 600 --seed 1 --morphology standard \\
        --out training/configs/ant_static_grown.wrp

A Hebbian policy starts from random weights and builds its gait with its plasticity rules; frozen after
a few hundred steps, the grown weights form a static network that keeps walking (docs/hebbian.md,
*Freezing*). :func:`hebbian_snapshot` runs one seeded episode and returns them; the command writes them
as a static policy file (zero biases), which the static ES baseline can start from (``init_policy``)
and the chromatic search colours (``warm_start``).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from training.hebbian.rollout import trace_episode
from training.tasks import Task, make_task
from wann_ros.policies.static import StaticPolicy


def hebbian_snapshot(path: str | Path, task: Task, step: int, seed: int, morphology: str) -> list[np.ndarray]:
    """The weights of the Hebbian policy in ``path`` after ``step`` policy steps of one episode
    (seed ``seed``, no early stop) on ``task``'s env with ``morphology``."""
    from wann_ros.formats import load_policy

    return _grow(load_policy(path), path, task, step, seed, morphology)


def snapshot_policy(path: str | Path, task: Task, step: int, seed: int, morphology: str) -> StaticPolicy:
    """:func:`hebbian_snapshot` as a static policy: the Hebbian file's spec and activations, zero biases."""
    from wann_ros.formats import load_policy

    hebbian = load_policy(path)
    weights = _grow(hebbian, path, task, step, seed, morphology)
    return StaticPolicy(
        weights,
        [np.zeros(w.shape[1]) for w in weights],
        dataclasses.replace(hebbian.spec, kind="static"),
        hebbian.hidden_activation,
        hebbian.output_activation,
    )


def _grow(
    policy: Any, path: str | Path, task: Task, step: int, seed: int, morphology: str
) -> list[np.ndarray]:
    """Run the loaded Hebbian ``policy`` (read from ``path``) as :func:`hebbian_snapshot` says."""
    import gymnasium

    if getattr(policy, "kind", None) != "hebbian":
        raise ValueError(f"{path}: a {getattr(policy, 'kind', '?')!r} policy, not a Hebbian one")
    kwargs = {**task.env_kwargs, "morphology": morphology, "early_stop": False}
    env = gymnasium.make(task.env_id, disable_env_checker=True, **kwargs)
    try:
        trace_episode(policy, env, seed, (), max_steps=step)
    finally:
        env.close()
    return [np.array(w, dtype=np.float64) for w in policy.weights]


def main(argv: list[str]) -> int:
    from wann_ros.formats import save_policy

    p = argparse.ArgumentParser(
        prog="python -m training hebbian-snapshot",
        description="freeze the weights a Hebbian policy grows in one episode into a static policy file",
    )
    p.add_argument("policy", type=Path, help="a Hebbian policy file")
    p.add_argument("--out", type=Path, required=True, help="static policy file to write (.wrp)")
    p.add_argument("--task", default="ant")
    p.add_argument("--step", type=int, default=600, help="policy steps of plasticity before the freeze")
    p.add_argument("--seed", type=int, default=1, help="episode seed")
    p.add_argument("--morphology", default="standard")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    args = p.parse_args(argv)
    if args.step < 1:
        p.error("--step must be >= 1")
    if args.out.exists() and not args.force:
        p.error(f"{args.out} exists; --force replaces it")
    task = make_task(args.task, "training.builders:static_mlp")
    try:
        policy = snapshot_policy(args.policy, task, args.step, args.seed, args.morphology)
    except ValueError as err:
        p.error(str(err))
    save_policy(policy, args.out)
    rms = ", ".join(f"{np.sqrt(np.mean(w**2)):.1f}" for w in policy.weights)
    print(
        f"wrote {args.out}: {args.policy}'s weights after {args.step} steps on {args.morphology} "
        f"(episode seed {args.seed}), layer rms {rms}"
    )
    return 0
