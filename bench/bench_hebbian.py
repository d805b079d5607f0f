"""Hebbian ES generation speed: this engine vs the reference code (enajx/HebbianMetaLearning).

    .venv/bin/python bench/bench_hebbian.py --ref-python /tmp/hebref/bin/python --ref-src /tmp/hebref/src

Both searches evolve ABCD + eta rules (61,440 coefficients, 28->128->64->8 tanh, weights redrawn from
U(-0.1, 0.1) every episode) on the standard pybullet Ant with the same population, one episode per
candidate and the same early stop (after step 200, 30 steps in a row without progress), or with
``--full-episodes`` none at all, so every episode of both runs 1000 env steps. Each is run as
a subprocess for G1 and G2 generations; the cost of one generation is the difference divided by
G2 - G1, so start-up (imports, JIT, env construction outside the loop) cancels. CPU time is the
subprocess tree's (``RUSAGE_CHILDREN``; for this engine's process backend, whose forkserver workers are
not reaped into it, plus the episode CPU the run log records). Env steps are counted in both (the
reference through a wrapper around ``gym.make`` in a small driver written at run time; its code is not
modified) so the table also gives time per env step, which does not depend on how long the random
episodes happen to be.

The reference is set up outside the repository (its code is never part of wann_ros):
    python3.11 -m venv /tmp/hebref && /tmp/hebref/bin/pip install torch==2.13.0 gym==0.23.1 pybullet numba
    (and its source files in /tmp/hebref/src). Target: this engine >= 2x faster per generation.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from training.rundir import read_log

ROOT = Path(__file__).resolve().parent.parent
BURN_IN = 40  # zero-action env steps before the policy acts, in both implementations

REF_DRIVER = r"""
import json, os, sys, tempfile
sys.path.insert(0, sys.argv[1])
popsize, generations, threads, counts = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
full = sys.argv[6] == "full"
import gym

_make = gym.make


class Counted(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.n = 0

    def step(self, action):
        self.n += 1
        observation, reward, done, info = self.env.step(action)
        if full:  # every episode runs 1000 env steps: no fall, no progress-based early stop
            done = self.n >= 1000
            rewards = self.env.unwrapped.rewards
            rewards[1] = abs(rewards[1])
        return observation, reward, done, info

    def close(self):
        with open(counts, "a") as f:
            f.write(f"{self.n}\n")
        return self.env.close()


def make(*args, **kwargs):
    return Counted(_make(*args, **kwargs))


gym.make = make
import fitness_functions
fitness_functions.gym.make = make
from evolution_strategy_hebb import EvolutionStrategyHebb

es = EvolutionStrategyHebb("ABCD_lr", "AntBulletEnv-v0", "uni", population_size=popsize, sigma=0.1,
                           learning_rate=0.2, decay=0.995, num_threads=threads, distribution="normal")
open(counts, "w").close()  # drop the probe env made in __init__
es.run(generations, print_step=generations, path=tempfile.mkdtemp())
"""


def _timed(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds (the process tree) of ``cmd``; its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout


def run_ours(popsize: int, generations: int, workers: int, full: bool, tmp: Path) -> dict[str, float]:
    config = tmp / f"ours-{generations}.yaml"
    settings = {"generations": generations, "popsize": popsize, "episodes": 1, "morphologies": ["standard"]}
    config.write_text(yaml.safe_dump(settings | ({"early_stop": False} if full else {})))
    run_dir = tmp / f"ours-run-{generations}-{workers}"
    backend = ["--backend", "serial"] if workers == 1 else ["--backend", "process", "--workers", str(workers)]
    cmd = [
        sys.executable,
        "-m",
        "training",
        "hebbian",
        "--task",
        "ant",
        "--config",
        str(config),
        "--seed",
        "0",
        "--run-dir",
        str(run_dir),
        "--no-progress",
        *backend,
    ]
    wall, cpu, _ = _timed(cmd, ROOT)
    log = read_log(run_dir / "log.csv")
    if workers > 1:  # forkserver workers are never reaped into RUSAGE_CHILDREN: add their episode CPU
        cpu += float(np.sum(log["cpu_s"]))  # (this counts the parent's loop CPU twice: conservative)
    # the log counts policy steps; the env also steps BURN_IN zero actions per episode (as the reference does)
    steps = float(np.sum(log["steps"]) + BURN_IN * np.sum(log["evaluations"]))
    return {"wall_s": wall, "cpu_s": cpu, "steps": steps}


def run_reference(
    python: str, src: Path, popsize: int, generations: int, workers: int, full: bool, tmp: Path
) -> dict[str, float]:
    driver = tmp / "ref_driver.py"
    driver.write_text(REF_DRIVER)
    counts = tmp / f"ref-steps-{generations}-{workers}.txt"
    wall, cpu, _ = _timed(
        [
            python,
            str(driver),
            str(src),
            str(popsize),
            str(generations),
            str(workers),
            str(counts),
            "full" if full else "early-stop",
        ],
        tmp,
    )
    steps = sum(int(x) for x in counts.read_text().split())
    return {"wall_s": wall, "cpu_s": cpu, "steps": steps}


def per_generation(a: dict[str, float], b: dict[str, float], g1: int, g2: int) -> dict[str, float]:
    d = {k: (b[k] - a[k]) / (g2 - g1) for k in ("wall_s", "cpu_s", "steps")}
    d["wall_us_per_step"] = 1e6 * d["wall_s"] / d["steps"]
    d["cpu_us_per_step"] = 1e6 * d["cpu_s"] / d["steps"]
    return d


def bench_bookkeeping(popsize: int, dim: int = 61_440, repeats: int = 5) -> dict[str, float]:
    """Median wall seconds of one OpenAI-ES ask + tell over the Hebbian coefficients (no episodes)."""
    from training.strategies import OpenAIES

    es = OpenAIES(np.zeros(dim), popsize, sigma=0.1, lr=0.2, optimizer="sgd", momentum=0.0, seed=0)
    fitness = np.random.default_rng(1).normal(size=popsize)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        es.ask()
        es.tell(fitness)
        times.append(time.perf_counter() - t)
    return {"popsize": popsize, "dim": dim, "median_s": sorted(times)[len(times) // 2]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ref-python", default="/tmp/hebref/bin/python")
    p.add_argument("--ref-src", type=Path, default=Path("/tmp/hebref/src"))
    p.add_argument("--popsize", type=int, default=10)
    p.add_argument("--generations", default="1,3", help="G1,G2")
    p.add_argument("--workers", default="1,2", help="comma list: 1 = in-process, N = N worker processes")
    p.add_argument("--bookkeeping-popsize", type=int, default=64, help="population of the ask+tell timing")
    p.add_argument("--skip-reference", action="store_true", help="only time the ES bookkeeping")
    p.add_argument(
        "--full-episodes",
        action="store_true",
        help="no early stop in either: every episode runs 1000 env steps (equal episode length)",
    )
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    book = bench_bookkeeping(args.bookkeeping_popsize)
    print(
        f"ES ask+tell, population {book['popsize']} x {book['dim']} coefficients: {book['median_s']:.4f} s "
        "(median of 5)"
    )
    if args.skip_reference:
        return 0
    g1, g2 = (int(x) for x in args.generations.split(","))
    if not 0 < g1 < g2:
        p.error("--generations must be G1,G2 with 0 < G1 < G2")
    results = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for workers in (int(w) for w in args.workers.split(",")):
            ours = [run_ours(args.popsize, g, workers, args.full_episodes, tmp) for g in (g1, g2)]
            ref = [
                run_reference(
                    args.ref_python, args.ref_src, args.popsize, g, workers, args.full_episodes, tmp
                )
                for g in (g1, g2)
            ]
            results[workers] = {
                "wann_ros": per_generation(*ours, g1, g2),
                "reference": per_generation(*ref, g1, g2),
                "raw": {"wann_ros": ours, "reference": ref},
            }
    length = "1000 env steps each" if args.full_episodes else "early stop as in training"
    print(
        f"population {args.popsize}, one standard-Ant episode per candidate ({length}); per generation = "
        f"(run of {g2} generations - run of {g1}) / {g2 - g1}"
    )
    print(
        f"{'workers':>7} {'impl':>10} {'wall s/gen':>11} {'CPU s/gen':>10} {'steps/gen':>10} "
        f"{'wall us/step':>13} {'CPU us/step':>12}"
    )
    for workers, r in results.items():
        for impl in ("wann_ros", "reference"):
            d = r[impl]
            print(
                f"{workers:>7} {impl:>10} {d['wall_s']:>11.2f} {d['cpu_s']:>10.2f} {d['steps']:>10.0f} "
                f"{d['wall_us_per_step']:>13.0f} {d['cpu_us_per_step']:>12.0f}"
            )
        ratio = {
            k: r["reference"][k] / r["wann_ros"][k]
            for k in ("wall_us_per_step", "cpu_us_per_step", "wall_s", "cpu_s")
        }
        results[workers]["speedup"] = ratio
        print(
            f"{workers:>7} {'speed-up':>10} {ratio['wall_s']:>10.1f}x {ratio['cpu_s']:>9.1f}x {'':>10} "
            f"{ratio['wall_us_per_step']:>12.1f}x {ratio['cpu_us_per_step']:>11.1f}x"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
