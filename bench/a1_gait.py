"""How a policy moves the A1: per-foot ground contact, joint motion and forward progress over one rollout.

Tells a gait (feet that lift and land in turn, joints swinging a few tenths of a radian at 1-3 Hz) from a
shuffle (feet that stay down while the joints vibrate) — both score as distance — and names the footfall
pattern a gait is closest to (trot: diagonal feet together; pace: each side; bound: front and rear pairs).

    .venv/bin/python bench/a1_gait.py POLICY [--seconds 60] [--seed 0]
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import wann_ros.sim  # noqa: F401  (registers the envs)
from wann_ros.formats import load_policy
from wann_ros.sim import robot_specs as rs
from wann_ros.sim.observation import quat_to_rpy

# Foot pairs by index into A1_FEET (FR, FL, RR, RL): a trot moves the diagonals together, a pace the
# sides, a bound the front and the rear pair.
PAIRS = {"diagonal": ((0, 3), (1, 2)), "lateral": ((0, 2), (1, 3)), "front/rear": ((0, 1), (2, 3))}


def gait_pairs(contacts: np.ndarray) -> str:
    """How often each pairing's feet agree (both down or both up), e.g. ``diagonal 0.91 (trot)``."""
    past_start = contacts[len(contacts) // 5 :]
    agree = {
        name: float(np.mean([np.mean(past_start[:, a] == past_start[:, b]) for a, b in pairs]))
        for name, pairs in PAIRS.items()
    }
    gait = {"diagonal": "trot", "lateral": "pace", "front/rear": "bound"}[max(agree, key=agree.get)]
    return ", ".join(f"{k} {v:.2f}" for k, v in agree.items()) + f" (most like a {gait})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("policy")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    steps = round(args.seconds / rs.A1_CONTROL_PERIOD)
    policy = load_policy(args.policy)
    clock = rs.gait_clock_hz(policy.spec.observation)
    env = gym.make("wann_ros/A1-v0", max_steps=steps, gait_clock_hz=clock).unwrapped
    obs, _ = env.reset(seed=args.seed)
    policy.reset(args.seed)
    contacts, joints, x = [], [], []
    terminated = False
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(policy.act(obs))
        truth = env.world.ground_truth()
        contacts.append(np.asarray(truth.foot_contacts, dtype=float))
        joints.append(np.asarray(env.world.robot_state().joint_pos))
        x.append(float(truth.base_pos[0]))
        if terminated or truncated:
            break
    yaw = quat_to_rpy(env.world.ground_truth().base_quat)[2]
    env.close()
    contacts_a, joints_a = np.array(contacts), np.array(joints)
    seconds = len(x) * rs.A1_CONTROL_PERIOD
    settled = joints_a[len(joints_a) // 5 :]  # past the start-up
    swing = settled - settled.mean(axis=0)
    freqs = np.fft.rfftfreq(len(swing), rs.A1_CONTROL_PERIOD)
    spectrum = np.abs(np.fft.rfft(swing, axis=0)).sum(axis=1)
    print(
        f"{args.policy}: {seconds:.1f} s, fell: {terminated}, forward {x[-1] - x[0]:.2f} m "
        f"({(x[-1] - x[0]) / seconds:.3f} m/s), heading at the end {yaw:+.2f} rad"
    )
    for i, foot in enumerate(rs.A1_FEET):
        lifts = int(np.sum(np.diff(contacts_a[:, i]) < 0))
        print(f"  {foot:7s} on the ground {contacts_a[:, i].mean():6.1%} of steps, lifted {lifts} times")
    print(f"  feet in step (share of steps two feet are both down or both up): {gait_pairs(contacts_a)}")
    print(f"  joint motion (std, rad): {np.round(settled.std(axis=0), 3).tolist()}")
    print(f"  dominant joint frequency: {freqs[1 + np.argmax(spectrum[1:])]:.2f} Hz")


if __name__ == "__main__":
    main()
