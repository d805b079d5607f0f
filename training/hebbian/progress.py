"""``hebbian-progress``: how fast runs go on this machine, from their ``log.csv`` (also while running).

    python -m training hebbian-progress runs/hebbian-ant-s1 runs/static-ant-s1

Per run: generations done, wall and CPU seconds per generation, generations per hour, CPU seconds and
policy steps per episode, best and last-generation mean fitness.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from training.rundir import RunDir, read_log


def run_progress(run_dir: Path) -> dict[str, Any]:
    log = {k: np.asarray(v) for k, v in read_log(RunDir.open(run_dir).log_csv).items()}
    n = log["generation"].size
    if n == 0:
        raise ValueError(f"{run_dir}: no completed generation yet")
    episodes = float(log["evaluations"].sum())
    return {
        "run": str(run_dir),
        "generations": n,
        "wall_s_per_gen": float(log["wall_s"].mean()),
        "cpu_s_per_gen": float(log["cpu_s"].mean()),
        "gens_per_hour": 3600.0 / float(log["wall_s"].mean()),
        "cpu_s_per_episode": float(log["cpu_s"].sum()) / episodes,
        "steps_per_episode": float(log["steps"].sum()) / episodes,
        "best": float(log["best_so_far"][-1]),
        "last_mean": float(log["mean"][-1]),
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training hebbian-progress", description="speed and fitness of runs so far"
    )
    p.add_argument("run_dirs", type=Path, nargs="+")
    args = p.parse_args(argv)
    print(
        f"{'run':34s} {'gens':>5} {'wall s/gen':>10} {'CPU s/gen':>9} {'gens/h':>7} {'CPU s/ep':>8} "
        f"{'steps/ep':>8} {'best':>8} {'mean':>8}"
    )
    for run_dir in args.run_dirs:
        r = run_progress(run_dir)
        print(
            f"{r['run']:34s} {r['generations']:>5} {r['wall_s_per_gen']:>10.1f} {r['cpu_s_per_gen']:>9.1f} "
            f"{r['gens_per_hour']:>7.1f} {r['cpu_s_per_episode']:>8.3f} {r['steps_per_episode']:>8.0f} "
            f"{r['best']:>8.1f} {r['last_mean']:>8.1f}"
        )
    return 0
