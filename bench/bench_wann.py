"""CPU cost of a WANN swing-up generation: this package's vectorised search vs the reference, side by side.

    .venv/bin/python bench/bench_wann.py --generations 5 \
        --reference-dir /tmp/wannref/WANN --reference-python /tmp/wannref/venv/bin/python

Both run the reference's laptop settings (population 64, 6 shared weights, 3 episodes each) from scratch
for ``--generations`` generations in one process on one core. The reference (google/brain-tokyo-workshop
WANNRelease/WANN, set up outside this repository with numpy<2 and gym) is driven by a small script written
to a temporary file: its own ``Wann.ask/tell`` and ``Task.getDistFitness`` for every individual, which is
what each of its MPI workers does, so its CPU time is the sum over workers. Env steps are counted on both
sides, so the cost per step (and per full-length generation, 64 x 6 x 3 x 1000 steps) is compared too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REFERENCE_DRIVER = """
import json, sys, time
import numpy as np
sys.path.insert(0, ".")
from wann_src.wann import Wann, loadHyp, updateHyp
from wann_src.task import Task
from domain.config import games

generations, seed = int(sys.argv[1]), int(sys.argv[2])
hyp = loadHyp("p/default_wan.json")
updateHyp(hyp, "p/laptop_swing.json")
np.random.seed(seed)
wann = Wann(hyp)
task = Task(games[hyp["task"]], nReps=hyp["alg_nReps"])
steps = [0]
env_step = task.env.step
def counted(action):
    steps[0] += 1
    return env_step(action)
task.env.step = counted
for gen in range(generations):
    cpu0, steps[0] = time.process_time(), 0
    pop = wann.ask()
    episode_seed = np.random.randint(1000)
    reward = np.array([task.getDistFitness(i.wMat.flatten(), i.aVec.flatten(), hyp, seed=episode_seed)
                       for i in pop])
    wann.tell(reward)
    print("RESULT " + json.dumps({"generation": gen, "cpu_s": time.process_time() - cpu0, "steps": steps[0],
                                  "best_mean": float(reward.mean(axis=1).max())}), flush=True)
"""


def run_ours(generations: int, seed: int) -> list[dict]:
    from training.seeding import episode_seed
    from training.wann.config import LAPTOP
    from training.wann.search import WannSearch
    from training.wann.swingup_eval import shared_weight_returns
    from wann_ros.sim import swingup

    steps = [0]
    step = swingup.SwingUpBatch.step

    def counted(self, actions):
        steps[0] += int((~self.done).sum())
        return step(self, actions)

    swingup.SwingUpBatch.step = counted
    search = WannSearch(LAPTOP, 5, 1, seed)
    out = []
    try:
        for gen in range(generations):
            cpu0, steps[0] = time.process_time(), 0
            pop = search.ask()
            seeds = [episode_seed(seed, gen, 0, r) for r in range(LAPTOP.n_reps)]
            returns = shared_weight_returns([g.to_dag() for g in pop], LAPTOP.weights, seeds).mean(axis=2)
            search.tell(returns)
            out.append(
                {
                    "generation": gen,
                    "cpu_s": time.process_time() - cpu0,
                    "steps": steps[0],
                    "best_mean": float(search.fitness.max()),
                }
            )
    finally:
        swingup.SwingUpBatch.step = step
    return out


def run_reference(reference_dir: Path, python: str, generations: int, seed: int) -> list[dict]:
    if not (reference_dir / "wann_src" / "wann.py").is_file():
        raise SystemExit(f"{reference_dir} does not hold the reference WANNRelease/WANN code")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(REFERENCE_DRIVER)
    try:
        proc = subprocess.run(
            [python, "-W", "ignore", f.name, str(generations), str(seed)],
            cwd=reference_dir,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        Path(f.name).unlink()
    if proc.returncode != 0:
        raise SystemExit(f"the reference failed:\n{proc.stderr[-2000:]}")
    return [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]


def summarise(name: str, rows: list[dict]) -> dict:
    cpu = np.array([r["cpu_s"] for r in rows])
    steps = np.array([r["steps"] for r in rows], dtype=float)
    per_step = cpu.sum() / steps.sum()
    full = 64 * 6 * 3 * 1000
    s = {
        "name": name,
        "generations": len(rows),
        "cpu_s_per_generation": float(cpu.mean()),
        "steps_per_generation": float(steps.mean()),
        "cpu_us_per_step": 1e6 * per_step,
        "best_mean_last": rows[-1]["best_mean"],
    }
    if name == "reference":
        s["cpu_s_per_full_generation"] = per_step * full
    print(
        f"{name:>10}: {s['cpu_s_per_generation']:8.3f} CPU s/generation, {s['steps_per_generation']:9.0f} "
        f"steps/generation, {s['cpu_us_per_step']:7.2f} CPU us/step, best mean {s['best_mean_last']:.1f}"
    )
    return s


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--generations", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reference-dir", type=Path, default=None, help="WANNRelease/WANN, outside the repo")
    p.add_argument("--reference-python", default=sys.executable, help="python with the reference's deps")
    p.add_argument("--out", type=Path, default=None, help="write the numbers as JSON here")
    args = p.parse_args()
    result = {"ours": summarise("ours", run_ours(args.generations, args.seed))}
    if args.reference_dir is not None:
        ref = run_reference(args.reference_dir, args.reference_python, args.generations, args.seed)
        result["reference"] = summarise("reference", ref)
        ours, theirs = result["ours"], result["reference"]
        result["speedup_per_generation"] = theirs["cpu_s_per_generation"] / ours["cpu_s_per_generation"]
        result["speedup_per_step"] = theirs["cpu_us_per_step"] / ours["cpu_us_per_step"]
        print(
            f"speed-up: {result['speedup_per_generation']:.1f}x CPU per generation, "
            f"{result['speedup_per_step']:.1f}x CPU per env step; reference at full episode length: "
            f"{theirs['cpu_s_per_full_generation']:.1f} CPU s/generation"
        )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
