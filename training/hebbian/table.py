"""``hebbian-table``: the paper's morphology table (Najarro & Risi 2020) from the evaluation harness.

    python -m training hebbian-table --hebbian P1 --static P2 [P3 ...] [--episodes 100] [--seed 0] [--out DIR]

All policies run the same seeded episodes (``training.harness``) on standard and right_front (seen in
training) and left_front (held out). Each cell: distance in paper units and in metres, mean ± std over
the episodes, and whether the morphology is "solved" (the harness criterion). Writes ``table.md``,
``table.csv`` and ``table.json`` (summary plus every episode) to ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
from pathlib import Path
from typing import Any

from training.backends import BACKENDS
from training.harness import ALL_MORPHOLOGIES, evaluate_policy_file
from training.seeding import check_seed

SEEN = ("standard", "right_front")
CSV_COLUMNS = (
    "policy",
    "kind",
    "morphology",
    "seen",
    "episodes",
    "distance_mean",
    "distance_std",
    "distance_m_mean",
    "distance_m_std",
    "solved_rate",
    "solved",
    "fell_rate",
)


def table_rows(reports: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (policy, morphology) from harness reports keyed by label ("hebbian", "static", ...)."""
    rows = []
    for label, report in reports.items():
        for morph, s in report["morphologies"].items():
            rows.append(
                {
                    "policy": report["policy"],
                    "kind": label,
                    "morphology": morph,
                    "seen": morph in SEEN,
                    "episodes": s["episodes"],
                    "distance_mean": s["mean"],
                    "distance_std": s["std"],
                    "distance_m_mean": s["distance_m_mean"],
                    "distance_m_std": s["distance_m_std"],
                    "solved_rate": s["solved_rate"],
                    "solved": s["solved"],
                    "fell_rate": s["fell_rate"],
                }
            )
    return rows


def format_markdown(rows: list[dict[str, Any]], command: str) -> str:
    """A markdown table: morphologies as rows, one distance column and one "solved" column per policy."""
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    cell = {(r["kind"], r["morphology"]): r for r in rows}
    head = "| morphology |" + "".join(
        f" {k}: distance (paper units) | {k}: metres | {k}: solved | {k}: fell |" for k in kinds
    )
    lines = [head, "|---|" + "---:|---:|---|---:|" * len(kinds)]
    for morph in ALL_MORPHOLOGIES:
        label = f"{morph} ({'seen' if morph in SEEN else 'unseen'})"
        parts = [label]
        for k in kinds:
            r = cell[(k, morph)]
            parts += [
                f"{r['distance_mean']:.1f} ± {r['distance_std']:.1f}",
                f"{r['distance_m_mean']:.2f} ± {r['distance_m_std']:.2f}",
                f"{'yes' if r['solved'] else 'no'} ({r['solved_rate']:.0%})",
                f"{r['fell_rate']:.0%}",
            ]
        lines.append("| " + " | ".join(parts) + " |")
    episodes = rows[0]["episodes"]
    lines.append("")
    lines.append(
        f"{episodes} seeded episodes per cell; fell: the episode ended with the torso below the Ant's "
        f"fall height (0.26 m), the early stop's other reason; `{command}`"
    )
    return "\n".join(lines) + "\n"


def write_table(rows: list[dict[str, Any]], reports: dict[str, Any], command: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    md, csv_path, js = out / "table.md", out / "table.csv", out / "table.json"
    md.write_text(format_markdown(rows, command))
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    js.write_text(json.dumps({"command": command, "rows": rows, "reports": reports}, indent=2))
    return [md, csv_path, js]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training hebbian-table",
        description="Hebbian vs static on standard, right_front and left_front",
    )
    p.add_argument("--hebbian", type=Path, required=True, help="Hebbian policy file")
    p.add_argument(
        "--static",
        type=Path,
        nargs="+",
        required=True,
        help="static-weight policy file(s); with more than one, each column is labelled by its file name",
    )
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=BACKENDS, default="process")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument(
        "--max-steps", type=int, default=None, help="policy steps per episode (default: the env's)"
    )
    p.add_argument("--solved-distance", type=float, default=100.0)
    p.add_argument("--out", type=Path, default=Path("runs/hebbian-table"))
    p.add_argument("--no-progress", action="store_true", help="no bar of finished episodes")
    args = p.parse_args(argv)
    if args.episodes < 1:
        p.error("--episodes must be >= 1")
    seed = check_seed(args.seed)
    statics = [("static", path) for path in args.static]
    if len(statics) > 1:
        statics = [(f"static {path.stem}", path) for path in args.static]
        if len({label for label, _ in statics}) < len(statics):
            p.error("--static files need different names: the table's columns are labelled by them")
    policies = [("hebbian", args.hebbian, "hebbian"), *((label, path, "static") for label, path in statics)]
    for _, path, kind in policies:  # all checked before any episode runs
        _check_kind(path, kind)
    reports = {}
    for label, path, _ in policies:
        reports[label] = evaluate_policy_file(
            path,
            "ant",
            args.episodes,
            seed,
            "all",
            args.backend,
            args.workers,
            args.max_steps,
            args.solved_distance,
            progress=not args.no_progress,
        )
    command = shlex.join(["python", "-m", "training", "hebbian-table", *argv])
    rows = table_rows(reports)
    print(format_markdown(rows, command), end="")
    for path in write_table(rows, reports, command, args.out):
        print(f"wrote {path}")
    return 0


def _check_kind(path: Path, kind: str) -> None:
    from wann_ros.formats import load_policy

    if not path.is_file():
        raise FileNotFoundError(f"no policy file at {path}")
    got = load_policy(path).spec.kind
    if got != kind:
        raise ValueError(f"{path} holds a {got!r} policy; --{kind} needs a {kind!r} one")
