"""``hebbian-checkpoints``: the ES mean of each kept checkpoint of a run, scored per morphology.

    python -m training hebbian-checkpoints RUN_DIR --morphology all --episodes 30 --seed 0 \\
        --backend process --workers 2

For a flat-vector ES run (``hebbian``, ``es``) trained with ``--keep-checkpoints K``: how the ES mean
scores on the training bodies and on held-out ones as the run goes on (does a held-out body peak early
and fade as the training bodies are fitted?). Writes ``RUN_DIR/checkpoint_scores.csv`` (one row per
checkpoint and morphology) and ``checkpoint_scores.png`` (distance against generation, mean ± std, the
run's training bodies drawn solid, the others dashed). Rows already in the CSV stay; those with the same
episodes and seed are not scored again, so rerunning the command while the run goes on scores only the
new checkpoints.
Scores are for looking at a run; picking the stopping point on a held-out body makes it seen.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path
from typing import Any

from training.harness import evaluate_policy_file, morphologies_for
from training.hebbian.export import run_policy, training_bodies
from training.rundir import RunDir
from training.seeding import check_seed
from wann_ros.formats import save_policy

COLUMNS = ("generation", "morphology", "episodes", "seed", "mean", "std", "solved_rate", "fell_rate")


def read_scores(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    kinds = {"generation": int, "morphology": str, "episodes": int, "seed": int}
    with open(path, newline="") as f:
        return [{k: kinds.get(k, float)(v) for k, v in row.items()} for row in csv.DictReader(f)]


def score_checkpoints(
    run_dir: Path,
    morphologies: tuple[str, ...],
    episodes: int,
    seed: int,
    backend: str,
    workers: int | None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Score every kept checkpoint not yet in ``checkpoint_scores.csv``; returns the rows of these
    ``episodes`` and ``seed``, by generation. ``progress``: a bar of finished episodes per checkpoint."""
    out = run_dir / "checkpoint_scores.csv"
    rows = read_scores(out)  # rows of other episode counts or seeds are kept in the file, not plotted

    def same(r: dict[str, Any]) -> bool:
        return r["episodes"] == episodes and r["seed"] == seed

    done = {(r["generation"], r["morphology"]) for r in rows if same(r)}
    checkpoints = RunDir(run_dir).kept_checkpoints()
    if not checkpoints:
        raise ValueError(f"{run_dir}: no kept checkpoints (train or resume it with --keep-checkpoints K)")
    with tempfile.TemporaryDirectory() as tmp:
        for generation, checkpoint in checkpoints.items():
            todo = tuple(m for m in morphologies if (generation, m) not in done)
            if not todo:
                continue
            policy, facts = run_policy(run_dir, "mean", checkpoint)
            path = save_policy(policy, Path(tmp) / f"gen-{generation:05d}.wrp")
            report = evaluate_policy_file(
                path, facts["task"], episodes, seed, todo, backend, workers, progress=progress
            )
            for name, s in report["morphologies"].items():
                rows.append(
                    {
                        "generation": generation,
                        "morphology": name,
                        "episodes": episodes,
                        "seed": seed,
                        "mean": s["mean"],
                        "std": s["std"],
                        "solved_rate": s.get("solved_rate", float("nan")),
                        "fell_rate": s.get("fell_rate", float("nan")),
                    }
                )
                print(f"generation {generation:5d} {name:14s} {s['mean']:9.1f} ± {s['std']:.1f}", flush=True)
            rows.sort(key=lambda r: (r["episodes"], r["seed"], r["generation"], r["morphology"]))
            with open(out, "w", newline="") as f:  # after each checkpoint: an interrupted scoring keeps rows
                writer = csv.DictWriter(f, COLUMNS, lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
    return [r for r in rows if same(r)]


def plot_scores(rows: list[dict[str, Any]], trained: tuple[str, ...], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(10, 4))
    names = {r["morphology"] for r in rows}
    for name in [m for m in trained if m in names] + sorted(names - set(trained)):  # seen ones first
        mine = [r for r in rows if r["morphology"] == name]
        g = np.array([r["generation"] for r in mine])
        m, s = np.array([r["mean"] for r in mine]), np.array([r["std"] for r in mine])
        seen = name in trained
        label = f"{name} ({'seen' if seen else 'held out'})"
        (line,) = ax.plot(g, m, "-" if seen else "--", marker="o", ms=3, label=label)
        ax.fill_between(g, m - s, m + s, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("generation")
    ax.set_ylabel("distance (mean ± std over episodes)")
    ax.set_title(f"ES mean at each kept checkpoint ({rows[0]['episodes']} episodes, seed {rows[0]['seed']})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the curves
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training hebbian-checkpoints",
        description="score the ES mean of each kept checkpoint of a run, per morphology, with a plot",
    )
    p.add_argument("run_dir", type=Path)
    p.add_argument("--morphology", default="all", help="'all', or a comma list (default: all)")
    p.add_argument("--episodes", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", default="process")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--no-progress", action="store_true", help="no bar of finished episodes")
    args = p.parse_args(argv)
    if args.episodes < 1:
        p.error("--episodes must be >= 1")
    seed = check_seed(args.seed)
    try:
        meta = RunDir.open(args.run_dir).meta()
        morphologies = morphologies_for(meta["task"], args.morphology) or ()
        rows = score_checkpoints(
            args.run_dir, morphologies, args.episodes, seed, args.backend, args.workers, not args.no_progress
        )
    except (ValueError, FileNotFoundError) as exc:
        p.error(str(exc))
    trained = training_bodies({"config": meta["config"], "task": meta["task"]})
    figure = plot_scores(rows, trained, args.run_dir / "checkpoint_scores.png")
    print(f"wrote {args.run_dir / 'checkpoint_scores.csv'} and {figure}")
    return 0
