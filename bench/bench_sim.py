"""Simulation speed and fidelity: our Ant vs pybullet's own AntBulletEnv-v0, and the vectorised swing-up.

    .venv/bin/python bench/bench_sim.py --reference-python /tmp/oldgym/bin/python

The reference needs the old ``gym`` package, so it runs in a separate interpreter (a throwaway venv
outside the repo: ``python -m venv /tmp/oldgym && /tmp/oldgym/bin/pip install gym==0.26.2 pybullet
"numpy<2"``); this file is started there with ``--reference-worker`` and prints JSON. Besides steps/s
it replays the same seeded random actions in both and prints the largest observation / reward difference.
This module imports only the standard library and numpy at the top, so the worker runs without wann_ros.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def _actions(seed: int, steps: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (steps, 8)).astype(np.float32)


def reference_worker(steps: int, seed: int, check_steps: int) -> dict:
    """Runs inside the old-gym interpreter: AntBulletEnv-v0 speed and a seeded trajectory."""
    import gym.envs.registration as registration

    class _Registry(dict):  # pybullet_envs registers through an API that gym 0.26 renamed
        env_specs = property(lambda self: self)

    registration.registry = _Registry(registration.registry)
    from pybullet_envs.gym_locomotion_envs import AntBulletEnv

    env = AntBulletEnv()
    env.seed(seed)
    env.reset()  # the first reset loads the world; later resets restore it (as ours always do)
    env.seed(seed)
    traj = {"obs": [env.reset().tolist()], "progress": [], "torso": []}
    for a in _actions(seed, check_steps):
        obs, _, _, _ = env.step(a)
        traj["obs"].append(obs.tolist())
        traj["progress"].append(env.rewards[1])
        traj["torso"].append(list(env.robot.body_real_xyz))
    env.reset()
    actions = _actions(seed + 1, steps)
    start = time.perf_counter()
    for a in actions:
        env.step(a)
    rate = steps / (time.perf_counter() - start)
    env.close()
    return {"steps_per_s": rate, "trajectory": traj}


def ours(steps: int, seed: int, check_steps: int) -> dict:
    from wann_ros.sim.envs import AntDamageEnv

    env = AntDamageEnv(burn_in=0, max_steps=10**9, early_stop=False)
    traj = {"obs": [env.reset(seed=seed)[0].tolist()], "progress": [], "torso": []}
    for a in _actions(seed, check_steps):
        obs, reward, _, _, _ = env.step(a)
        traj["obs"].append(obs.tolist())
        traj["progress"].append(reward)
        traj["torso"].append(env.world.ground_truth().base_pos.tolist())
    env.reset(seed=seed + 1)
    actions = _actions(seed + 1, steps)
    start = time.perf_counter()
    for a in actions:
        env.step(a)
    rate = steps / (time.perf_counter() - start)
    env.close()
    return {"steps_per_s": rate, "trajectory": traj}


def physics_only(steps: int, seed: int) -> float:
    """Steps/s of the bare physics: one torque call and one stepSimulation, nothing read back."""
    import pybullet as pb

    from wann_ros.sim.world import QuadrupedWorld

    world = QuadrupedWorld("ant")
    world.reset(seed)
    torques = 250.0 * _actions(seed + 1, steps).astype(np.float64)
    c = {"physicsClientId": world._client}
    start = time.perf_counter()
    for tau in torques:
        pb.setJointMotorControlArray(
            world._body, world._free_idx, pb.TORQUE_CONTROL, forces=tau.tolist(), **c
        )
        pb.stepSimulation(**c)
    rate = steps / (time.perf_counter() - start)
    world.close()
    return rate


def step_breakdown(steps: int, seed: int) -> dict[str, float]:
    """Microseconds per env step spent in each part of ``AntDamageEnv.step`` (each part is timed by a
    wrapper, which adds ~0.3 us per part; "rest" is the step's own lines)."""
    from collections import Counter

    import pybullet as pb

    from wann_ros.sim.envs import AntDamageEnv

    env = AntDamageEnv(burn_in=0, max_steps=10**9, early_stop=False)
    env.reset(seed=seed + 1)
    world, spent = env.world, Counter()

    def timed(owner, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            out = inner(*args, **kwargs)
            spent[label] += time.perf_counter() - start
            return out

        vars(owner)[name] = wrapper  # also on frozen dataclasses (the action spec)

    step_simulation = pb.stepSimulation
    timed(pb, "stepSimulation", "physics (stepSimulation)")
    timed(world, "_read", "state read (joint, base, link states)")
    timed(world, "_read_contacts", "foot contacts")
    timed(env, "_obs", "observation (RobotState + builder + float32)")
    timed(env.act_spec, "to_command", "action -> torque command")
    timed(world, "command_array", "command check")
    timed(world, "_apply_torques", "setJointMotorControlArray")
    timed(env.progress, "update", "progress")
    timed(env, "_info", "info dict")
    actions = _actions(seed + 1, steps)
    start = time.perf_counter()
    try:
        for a in actions:
            env.step(a)
    finally:
        pb.stepSimulation = step_simulation
    total = time.perf_counter() - start
    env.close()
    parts = {k: 1e6 * v / steps for k, v in spent.most_common()}
    return {"total": 1e6 * total / steps, **parts, "rest": 1e6 * (total - sum(spent.values())) / steps}


def swingup_rate(n: int, steps: int) -> float:
    from wann_ros.sim.swingup import SwingUpBatch

    batch = SwingUpBatch(n)
    batch.reset(0)
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, n))
    start = time.perf_counter()
    for a in actions:
        batch.step(a)
    return n * steps / (time.perf_counter() - start)


def compare(a: dict, b: dict) -> dict:
    """Largest absolute differences between two trajectories, and the first step where obs differ."""
    obs_a, obs_b = np.array(a["obs"]), np.array(b["obs"])
    diff = np.abs(obs_a - obs_b).max(axis=1)
    first = int(np.argmax(diff > 1e-5)) if np.any(diff > 1e-5) else None
    return {
        "max_obs_diff": float(diff.max()),
        "first_step_obs_diff_gt_1e-5": first,
        "max_progress_diff": float(np.abs(np.array(a["progress"]) - np.array(b["progress"])).max()),
        "max_torso_diff_m": float(np.abs(np.array(a["torso"]) - np.array(b["torso"])).max()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference-python", help="interpreter with gym==0.26.2 + pybullet for AntBulletEnv-v0")
    ap.add_argument("--reference-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=3000, help="Ant steps timed")
    ap.add_argument("--check-steps", type=int, default=300, help="steps of the seeded trajectory comparison")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="alternating timing runs (medians reported)")
    ap.add_argument("--breakdown", action="store_true", help="only: where our Ant step's time goes")
    ap.add_argument("--swingup-envs", type=int, default=1000)
    ap.add_argument("--swingup-steps", type=int, default=1000)
    args = ap.parse_args()
    if args.reference_worker:
        print(json.dumps(reference_worker(args.steps, args.seed, args.check_steps)))
        return
    if args.breakdown:
        for part, us in step_breakdown(args.steps, args.seed).items():
            print(f"{us:8.1f} us  {part}")
        return
    mine_rates, ref_rates, physics_rates = [], [], []
    for _ in range(args.repeats):  # alternate the two so a busy machine slows both alike
        mine = ours(args.steps, args.seed, args.check_steps)
        mine_rates.append(mine["steps_per_s"])
        physics_rates.append(physics_only(args.steps, args.seed))
        if args.reference_python:
            cmd = [
                args.reference_python,
                __file__,
                "--reference-worker",
                "--steps",
                str(args.steps),
                "--seed",
                str(args.seed),
                "--check-steps",
                str(args.check_steps),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            ref = json.loads(out.strip().splitlines()[-1])
            ref_rates.append(ref["steps_per_s"])
    rate_mine = float(np.median(mine_rates))
    print(f"physics only (torques + stepSimulation): {np.median(physics_rates):8.0f} steps/s (median)")
    print(
        f"ours      Ant: {rate_mine:8.0f} steps/s "
        f"(median of {args.repeats} x {args.steps} random-action steps)"
    )
    if args.reference_python:
        rate_ref = float(np.median(ref_rates))
        print(f"reference AntBulletEnv-v0: {rate_ref:8.0f} steps/s")
        print(f"speed-up: {rate_mine / rate_ref:.2f}x")
        cmp = compare(mine["trajectory"], ref["trajectory"])
        print(f"same seed, same {args.check_steps} actions: " + ", ".join(f"{k}={v}" for k, v in cmp.items()))
    rate = swingup_rate(args.swingup_envs, args.swingup_steps)
    print(
        f"swing-up: {rate:,.0f} env-steps/s "
        f"({args.swingup_envs} envs x {args.swingup_steps} steps, one call/step)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
