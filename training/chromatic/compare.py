"""``python -m training chromatic-compare``: every weight-sharing structure on the same ES budget.

For each structure (learned colouring, fixed random colouring, Toeplitz, learned mask, unstructured)
and seed, one ``chromatic`` run of ``--budget`` generations goes into ``OUT/<structure>-s<seed>/`` (a
normal run directory; an existing one is resumed). Its final policy (ES mean under the controller's
most likely colouring) is then scored on ``--eval-episodes`` held-out episodes (evaluation seed
stream). Writes ``compare.csv`` (one row per run), ``compare.png`` (curves) and prints the table.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import shlex
from pathlib import Path
from typing import Any

import numpy as np

from training.backends import BACKENDS, make_backend
from training.chromatic.config import STRUCTURES, ChromaticConfig
from training.chromatic.search import ChromaticSearch, make_search
from training.config import load_config, to_dict
from training.evaluation import Evaluator
from training.loop import RunOptions, run_search
from training.rundir import RunDir, read_log
from training.seeding import EVAL_STREAM, check_seed

COLUMNS = (
    "structure",
    "seed",
    "generations",
    "episodes",
    "es_dim",
    "distinct_params",
    "best_so_far",
    "last10_mean",
    "final_mean",
    "final_std",
    "wall_s",
)


def run_one(
    config: ChromaticConfig,
    task: str,
    seed: int,
    path: Path,
    options: RunOptions,
    eval_episodes: int,
    command: str,
) -> dict[str, Any]:
    """Train (or resume) one structure/seed in ``path`` and score its final policy."""
    search: ChromaticSearch = make_search(config, task, seed)
    resume = (path / "run.json").is_file()
    if resume:
        run = RunDir.open(path)
    else:
        meta = {
            "algorithm": "chromatic",
            "task": task,
            "options": dataclasses.asdict(options),
            "task_spec": search.task.to_dict(),
            "command": command,
        }
        run = RunDir.create(path, meta, to_dict(config))
    with open(path / "train.log", "a") as log, contextlib.redirect_stdout(log):
        summary = run_search(search, run, options, resume=resume)
    if summary.interrupted_by is not None:
        raise KeyboardInterrupt(f"stopped by signal {summary.interrupted_by}; run again to resume")
    backend = make_backend(options.backend, search.task, options.workers, options.ray_address)
    try:
        evaluator = Evaluator(search.task, backend, eval_episodes, seed, EVAL_STREAM)
        final = evaluator.evaluate([search.final()], 0)
    finally:
        backend.close()
    log_rows = read_log(run.log_csv)
    scores = final.episode_fitness.ravel()
    return {
        "structure": config.structure,
        "seed": seed,
        "generations": len(log_rows["generation"]),
        "episodes": int(sum(log_rows["evaluations"])),
        "es_dim": search.layout.dim,
        "distinct_params": search.layout.distinct_parameters(search.final().colours),
        "best_so_far": log_rows["best_so_far"][-1],
        "last10_mean": float(np.mean(log_rows["mean"][-10:])),
        "final_mean": float(scores.mean()),
        "final_std": float(scores.std()),
        "wall_s": float(sum(log_rows["wall_s"])),
        "curve": log_rows["mean"],
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    """One line per structure: means over seeds (± std over seeds of the final score)."""
    head = (
        f"{'structure':<10} {'seeds':>5} {'ES dim':>7} {'params':>7} {'episodes':>9} {'best':>9} "
        f"{'last10 mean':>11} {'final (held-out)':>17} {'wall s':>8}"
    )
    lines = [head, "-" * len(head)]
    for s in dict.fromkeys(r["structure"] for r in rows):
        group = [r for r in rows if r["structure"] == s]
        final = np.array([r["final_mean"] for r in group])
        m = {
            k: float(np.mean([r[k] for r in group]))
            for k in ("distinct_params", "episodes", "best_so_far", "last10_mean", "wall_s")
        }
        lines.append(
            f"{s:<10} {len(group):>5} {group[0]['es_dim']:>7} {m['distinct_params']:>7.0f} "
            f"{m['episodes']:>9.0f} {m['best_so_far']:>9.2f} {m['last10_mean']:>11.2f} "
            f"{final.mean():>9.2f} ± {final.std():<6.2f} {m['wall_s']:>8.1f}"
        )
    return "\n".join(lines)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def plot_curves(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """Mean population fitness per generation, averaged over seeds, one line per structure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for s in dict.fromkeys(r["structure"] for r in rows):
        curves = [r["curve"] for r in rows if r["structure"] == s]
        n = min(len(c) for c in curves)
        ax.plot(np.arange(1, n + 1), np.mean([c[:n] for c in curves], axis=0), label=s)
    ax.set_xlabel("generation")
    ax.set_ylabel("mean fitness of the population")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.savefig(path, dpi=100)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m training chromatic-compare", description=__doc__)
    p.add_argument("--task", required=True, choices=("swingup", "ant"))
    p.add_argument("--budget", type=int, required=True, help="ES generations per structure and seed")
    p.add_argument("--config", type=Path, default=None, help="YAML of ChromaticConfig keys shared by all")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--structures", default=",".join(STRUCTURES), help="comma list of " + ",".join(STRUCTURES))
    p.add_argument("--eval-episodes", type=int, default=20)
    p.add_argument("--out", type=Path, default=None, help="default runs/chromatic-compare-<task>")
    p.add_argument("--backend", choices=BACKENDS, default="serial")
    p.add_argument("--workers", type=int, default=None)
    args = p.parse_args(argv)
    structures = [s.strip() for s in args.structures.split(",") if s.strip()]
    bad = [s for s in structures if s not in STRUCTURES]
    if bad or not structures:
        p.error(f"--structures: unknown {bad}; choose from {', '.join(STRUCTURES)}")
    if args.budget < 1 or args.eval_episodes < 1:
        p.error("--budget and --eval-episodes must be >= 1")
    seeds = [check_seed(s) for s in args.seeds]
    base = load_config(ChromaticConfig, args.config, {"generations": args.budget})
    out = args.out or Path("runs") / f"chromatic-compare-{args.task}"
    out.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["python", "-m", "training", "chromatic-compare", *argv])
    episodes = base.generations * base.popsize * base.episodes
    print(
        f"budget: {base.generations} generations x {base.popsize} candidates x {base.episodes} episode(s) "
        f"(x morphologies) = {episodes} ES evaluations per structure and seed"
    )
    rows = []
    for structure in structures:
        config = dataclasses.replace(base, structure=structure)
        for seed in seeds:
            options = RunOptions(seed, args.backend, args.workers, checkpoint_every=1, progress=False)
            rows.append(
                run_one(
                    config,
                    args.task,
                    seed,
                    out / f"{structure}-s{seed}",
                    options,
                    args.eval_episodes,
                    command,
                )
            )
            r = rows[-1]
            print(
                f"  {structure} seed {seed}: final {r['final_mean']:.2f} ± {r['final_std']:.2f}, "
                f"best {r['best_so_far']:.2f}, {r['wall_s']:.1f} s",
                flush=True,
            )
    print(format_table(rows))
    write_csv(rows, out / "compare.csv")
    title = f"chromatic-compare on {args.task}, budget {args.budget} generations"
    plot_curves(rows, out / "compare.png", title)
    print(f"wrote {out / 'compare.csv'} and {out / 'compare.png'}")
    return 0
