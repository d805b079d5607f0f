"""Score one Hebbian policy file in both implementations: this harness and the reference code's own
fitness function and pybullet Ant (enajx/HebbianMetaLearning), per morphology, side by side.

    .venv/bin/python bench/hebbian_reference_score.py models/ant_hebbian.wrp --episodes 100 \
        --json bench/results/hebbian_reference_score.json

It checks that the two environments agree: the same rules should walk the same distance (paper units:
the sum of the Ant's progress reward) on each body in both. The reference scores a body through its
``fitness_hebb("ABCD_lr", "AntBulletEnv-v0", "uni", coefficients)`` unchanged; a driver written at run
time points the id ``AntBulletEnv-v0`` (whose 40-step burn-in and distance reward the reference applies
by name) at pybullet's Ant built from the reference's damaged-leg MJCF files
(``damaged_bullet_morphologies/ant_asym_{left,right}.xml``) for the damaged bodies, and seeds episode k
with k: torch's global generator (the reference's initial weights), numpy's, and the env (its reset
noise). The two implementations draw different weights and starts, so they agree in distribution only.
Coefficients: ours are ``A, B, C, D, eta`` per synapse, the reference's ``A, B, C, eta, D`` with the same
rule ``eta * (A pre post + B pre + C post + D)`` and the same input-major synapse order.

Set the reference up outside the repository as for ``bench_hebbian.py`` (its code is never part of
wann_ros). "reached 100" is the share of episodes whose distance is at least 100 paper units; the
harness's "solved" also needs monotone progress, which the reference's fitness does not report.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from training.harness import evaluate_policy_file
from wann_ros.formats import load_policy
from wann_ros.policies.hebbian import HebbianPolicy

BODIES = ("standard", "right_front", "left_front")

REF_DRIVER = r"""
import json, sys
src, rules_file, body, episodes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, src)
import numpy as np, torch, gym, pybullet_envs
from gym.envs.registration import register, registry
from pybullet_envs.gym_locomotion_envs import AntBulletEnv
import fitness_functions

xml = {"standard": None, "left_front": "ant_asym_left.xml", "right_front": "ant_asym_right.xml"}[body]


class BodyAnt(AntBulletEnv):
    def __init__(self, render=False):
        super().__init__(render)
        if xml is not None:
            self.robot.model_xml = f"{src}/damaged_bullet_morphologies/{xml}"


del registry.env_specs["AntBulletEnv-v0"]
register(id="AntBulletEnv-v0", entry_point=BodyAnt, max_episode_steps=1000, reward_threshold=2500.0)
_make = gym.make
episode = [0]


def seeded_make(*args, **kwargs):  # the reference resets its env unseeded: seed it per episode
    env = _make(*args, **kwargs)
    env.seed(episode[0])
    return env


fitness_functions.gym.make = seeded_make
ours = np.load(rules_file).reshape(-1, 5)
theirs = ours[:, [0, 1, 2, 4, 3]].astype(np.float32)
scores = []
for k in range(episodes):
    episode[0] = k
    torch.manual_seed(k)
    np.random.seed(k)
    scores.append(float(fitness_functions.fitness_hebb("ABCD_lr", "AntBulletEnv-v0", "uni", theirs)))
print("SCORES " + json.dumps(scores))
"""


def reference_scores(python: str, src: Path, rules: np.ndarray, body: str, episodes: int) -> np.ndarray:
    """The reference's fitness (paper units) of ``rules`` on ``body``, one number per episode."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "driver.py").write_text(REF_DRIVER)
        np.save(tmp / "rules.npy", rules)
        out = subprocess.run(
            [python, str(tmp / "driver.py"), str(src), str(tmp / "rules.npy"), body, str(episodes)],
            capture_output=True,
            text=True,
            check=False,
        )
    if out.returncode != 0:
        raise RuntimeError(f"the reference driver failed on {body} ({out.returncode}):\n{out.stderr[-2000:]}")
    line = next(x for x in out.stdout.splitlines() if x.startswith("SCORES "))
    return np.asarray(json.loads(line.removeprefix("SCORES ")))


def summary(scores: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(scores.mean()),
        "std": float(scores.std()),
        "reached_100": float(np.mean(scores >= 100.0)),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("policy", type=Path, help="a Hebbian policy file (28-128-64-8, per-synapse rules)")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seed", type=int, default=0, help="this harness's episode seed (as in the table)")
    p.add_argument("--bodies", default=",".join(BODIES))
    p.add_argument("--ref-python", default="/tmp/hebref/bin/python")
    p.add_argument("--ref-src", type=Path, default=Path("/tmp/hebref/src"))
    p.add_argument("--workers", type=int, default=2, help="process workers for this harness's episodes")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    policy = load_policy(args.policy)
    if not isinstance(policy, HebbianPolicy) or list(policy.layer_sizes) != [28, 128, 64, 8]:
        p.error(f"{args.policy} is not a 28-128-64-8 Hebbian policy (the reference's Ant network)")
    if policy.options.rule_mode != "synapse":
        p.error(f"{args.policy} has {policy.options.rule_mode!r} rules; the reference has per-synapse rules")
    bodies = [b.strip() for b in args.bodies.split(",")]
    if unknown := set(bodies) - set(BODIES):
        p.error(f"unknown bodies {sorted(unknown)}; the reference has {', '.join(BODIES)}")
    rows = evaluate_policy_file(
        args.policy, "ant", args.episodes, args.seed, bodies, "process", args.workers, progress=False
    )["rows"]
    results = {}
    for body in bodies:
        ours = np.asarray([r["fitness"] for r in rows if r["morphology"] == body])
        theirs = reference_scores(args.ref_python, args.ref_src, policy.to_flat(), body, args.episodes)
        results[body] = {
            "wann_ros": summary(ours) | {"scores": ours.tolist()},
            "reference": summary(theirs) | {"scores": theirs.tolist()},
        }
    print(f"{args.policy}, {args.episodes} episodes per body (paper units, mean ± std; reached 100)")
    print(f"{'body':>12} {'wann_ros':>24} {'reference':>24}")
    for body, r in results.items():
        cells = [
            f"{r[i]['mean']:.1f} ± {r[i]['std']:.1f} ({r[i]['reached_100']:.0%})"
            for i in ("wann_ros", "reference")
        ]
        print(f"{body:>12} {cells[0]:>24} {cells[1]:>24}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"policy": str(args.policy), "episodes": args.episodes, **results}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
