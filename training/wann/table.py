"""``wann-table``: the paper's four rows for a swing-up WANN (Gaier & Ha 2019, Table 1), plus exports.

    python -m training wann-table SOURCE [--episodes 100] [--seed 0] [--finetune-generations 200] [--out DIR]

SOURCE is a WANN run directory (its checkpoint's confirmed best genome), a WANN policy file, or a network
exported by the reference code (e.g. its ``champions/swing.out``; topology and activations are read, as
its ``wann_test`` does). Steps: fine sweep of the shared weight over [-2, 2], per-edge fine-tuning
(OpenAI-ES or CMA-ES) from the best shared weight (skipped when the file already carries tuned weights,
or with ``--finetune-generations 0``; the ES mean that scored best on validation episodes of their own
is kept), then the four rows on the same ``--episodes`` start states. ``--out`` writes the policies
(tuned shared weight, weight ensemble, tuned weights; native ``.wrp``), the network diagrams, the return
against the shared weight (``_sweep.png``), the training curve (of a run directory, or of a best it kept
in ``bests/``, up to that best) and the table as JSON, all named ``<--name>_*``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.wann.config import SWINGUP_WEIGHTS
from training.wann.pictures import (
    HISTORY_COLUMNS,
    draw_network,
    plot_training_curve,
    plot_weight_sweep,
)
from training.wann.policy import (
    SWINGUP_INPUT_NAMES,
    SWINGUP_OUTPUT_NAMES,
    swingup_spec,
    to_policy,
)
from training.wann.sources import load_source
from training.wann.tune import (
    FINETUNE_STRATEGIES,
    fine_sweep,
    finetune_edges,
    format_rows,
    four_rows,
)
from wann_ros.policies.spec import Provenance


def write_history_csv(history: Sequence[dict[str, float]], path: Path) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, HISTORY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
    return path


def _save(policy: Any, path: Path) -> None:
    from wann_ros.formats import save_policy

    save_policy(policy, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training wann-table", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("source", help="WANN run directory or WANN policy file")
    parser.add_argument("--episodes", type=int, default=100, help="episodes per row (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every episode drawn here")
    parser.add_argument("--sweep-episodes", type=int, default=16, help="episodes per weight in the sweep")
    parser.add_argument("--sweep-step", type=float, default=0.01, help="grid step of the sweep over [-2, 2]")
    parser.add_argument(
        "--finetune-generations", type=int, default=200, help="OpenAI-ES generations (0: skip)"
    )
    parser.add_argument(
        "--finetune-strategy",
        choices=FINETUNE_STRATEGIES,
        default="openai-es",
        help="ES for the edge weights",
    )
    parser.add_argument("--finetune-popsize", type=int, default=64)
    parser.add_argument("--finetune-episodes", type=int, default=8, help="episodes per ES candidate")
    parser.add_argument(
        "--finetune-sigma", type=float, default=0.1, help="OpenAI-ES noise std / CMA-ES initial step size"
    )
    parser.add_argument("--finetune-lr", type=float, default=0.02, help="OpenAI-ES (Adam) learning rate")
    parser.add_argument("--out", type=Path, help="directory for the policies, pictures and table")
    parser.add_argument("--name", default="wann", help="file name prefix in --out (default: wann)")
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.sweep_episodes < 1 or args.finetune_generations < 0:
        parser.error("--episodes and --sweep-episodes must be >= 1, --finetune-generations >= 0")
    if not 0 < args.sweep_step <= 1:
        parser.error("--sweep-step must be in (0, 1]")
    try:
        genome, tuned, info = load_source(args.source)
    except ValueError as exc:
        parser.error(str(exc))
    sweep = fine_sweep(genome, args.sweep_episodes, args.seed, args.sweep_step)
    weight, sweep_score = sweep.best
    print(f"network: {genome.hidden_ids.size} hidden nodes, {genome.n_connections} connections")
    print(
        f"best shared weight {weight:+.2f} (sweep mean {sweep_score:.1f} over {args.sweep_episodes} episodes)"
    )
    finetune = None
    if tuned is None and args.finetune_generations > 0:
        finetune = finetune_edges(
            genome,
            weight,
            args.finetune_generations,
            args.finetune_popsize,
            args.finetune_episodes,
            sigma=args.finetune_sigma,
            lr=args.finetune_lr,
            seed=args.seed,
            strategy=args.finetune_strategy,
            progress=True,
        )
        tuned = finetune.weights
        val = finetune.validation
        print(
            f"fine-tuned {tuned.size} weights for {args.finetune_generations} generations; kept the ES mean "
            f"after {finetune.best_generation} (validation mean {val[finetune.best_generation]:.1f}, "
            f"start {val[0]:.1f}, end {val[args.finetune_generations]:.1f})"
        )
    rows = four_rows(genome, weight, tuned, args.episodes, args.seed, ensemble=SWINGUP_WEIGHTS)
    print(f"{args.episodes} episodes each (seed {args.seed}):")
    print(format_rows(rows))
    if args.out is not None:
        argv = list(sys.argv[1:] if argv is None else argv)
        _export(args, argv, genome, sweep, tuned, finetune, rows, info)
    return 0


def _export(args, argv, genome, sweep, tuned, finetune, rows, info) -> None:
    out: Path = args.out
    weight = sweep.best[0]
    out.mkdir(parents=True, exist_ok=True)
    command = "python -m training wann-table " + shlex.join(argv)
    scores = {r.name.split(" (")[0]: {"mean": r.mean, "std": r.std} for r in rows}

    def spec(score: float | None, what: str):
        prov = Provenance(
            task="swingup",
            seed=args.seed,
            generation=info.get("generation"),
            score=score,
            command=command,
            extra={"source": args.source, "weights": what, "episodes": args.episodes},
        )
        return swingup_spec(prov)

    _save(
        to_policy(genome, spec(rows[2].mean, "tuned shared"), shared_weight=weight),
        out / f"{args.name}_shared.wrp",
    )
    _save(
        to_policy(genome, spec(rows[-1].mean, "ensemble"), ensemble_weights=np.array(SWINGUP_WEIGHTS)),
        out / f"{args.name}_ensemble.wrp",
    )
    if tuned is not None:
        _save(to_policy(genome, spec(rows[3].mean, "tuned"), weights=tuned), out / f"{args.name}_tuned.wrp")
        draw_network(
            genome,
            out / f"{args.name}_tuned_network.png",
            SWINGUP_INPUT_NAMES,
            SWINGUP_OUTPUT_NAMES,
            weights=tuned,
        )
    draw_network(genome, out / f"{args.name}_network.png", SWINGUP_INPUT_NAMES, SWINGUP_OUTPUT_NAMES)
    plot_weight_sweep(
        sweep.weights,
        sweep.mean,
        out / f"{args.name}_sweep.png",
        weight,
        SWINGUP_WEIGHTS,
        f"mean return over {sweep.episodes} episodes per shared weight",
    )
    if info.get("history"):
        csv_path = write_history_csv(info["history"], out / f"{args.name}_history.csv")
        run = f"{Path(info['run']).name}, to generation {info['generation']}"
        plot_training_curve(csv_path, out / f"{args.name}_curve.png", f"WANN search on swingup ({run})")
    summary = {
        "source": info,
        "shared_weight": weight,
        "sweep": {"weights": sweep.weights.tolist(), "mean": sweep.mean.tolist(), "episodes": sweep.episodes},
        "rows": scores,
        "episodes": args.episodes,
        "seed": args.seed,
        "finetune_strategy": None if finetune is None else args.finetune_strategy,
        "finetune_history": None if finetune is None else finetune.history.tolist(),
        "finetune_validation": None if finetune is None else finetune.validation,
        "finetune_kept_generation": None if finetune is None else finetune.best_generation,
        "command": command,
    }
    summary["source"].pop("history", None)
    (out / f"{args.name}_table.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
