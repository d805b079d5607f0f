"""Command line: ``python -m training <algorithm>|resume|plot|evaluate|robustness ...``.

python -m training es --task ant --config cfg.yaml --seed 1 --backend process --workers 2
python -m training resume runs/es-ant-20250101-120000-s1
python -m training plot runs/es-ant-20250101-120000-s1
python -m training evaluate best.wrp --task ant --episodes 100 --seed 0 --morphology all
python -m training robustness best.wrp --task ant --episodes 30
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from pathlib import Path

from training.algorithm import available, get_algorithm
from training.backends import BACKENDS
from training.config import ConfigError, from_dict, load_config, to_dict
from training.loop import RunOptions, RunSummary, run_search
from training.rundir import RunDir, default_run_dir
from training.seeding import check_seed
from training.tasks import TASKS


def _execution_args(p: argparse.ArgumentParser, defaults: bool) -> None:
    p.add_argument("--backend", choices=BACKENDS, default="serial" if defaults else None)
    p.add_argument("--workers", type=int, default=None, help="worker processes/actors (default: all cores)")
    p.add_argument("--ray-address", default=None, help="join this Ray cluster instead of starting one")
    p.add_argument(
        "--generations",
        type=int,
        default=None,
        help="override the config's generations (resume: the new total, saved in the run directory)",
    )
    p.add_argument("--checkpoint-every", type=int, default=1 if defaults else None, metavar="K")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar (the per-generation lines stay)")
    p.add_argument(
        "--keep-bests",
        action="store_true",
        help="keep every new best as bests/gen-NNNNN.wrp, not only best.wrp",
    )
    p.add_argument(
        "--keep-checkpoints",
        type=int,
        default=0 if defaults else None,
        metavar="K",
        help="also keep the checkpoint after every K-th generation as checkpoints/gen-NNNNN.npz",
    )


def _train_parser(name: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m training {name}", description=get_algorithm(name).summary)
    p.add_argument("--task", required=True, choices=sorted(TASKS))
    p.add_argument("--config", type=Path, default=None, help="YAML file (keys of the algorithm's config)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run-dir", type=Path, default=None)
    _execution_args(p, defaults=True)
    return p


def _report(summary: RunSummary, run: RunDir) -> int:
    if summary.interrupted_by is not None:
        print(f"resume with: python -m training resume {run.path}")
        return 128 + summary.interrupted_by
    print(
        f"done: {summary.generations} generations, best {summary.best_fitness:.6g} "
        f"(generation {summary.best_generation}); run directory {run.path}"
    )
    return 0


def train(name: str, argv: list[str]) -> int:
    algorithm = get_algorithm(name)
    args = _train_parser(name).parse_args(argv)
    seed = check_seed(args.seed)
    overrides = {} if args.generations is None else {"generations": args.generations}
    config = load_config(algorithm.config_cls, args.config, overrides)
    options = RunOptions(
        seed,
        args.backend,
        args.workers,
        args.ray_address,
        args.checkpoint_every,
        not args.no_progress,
        args.keep_bests,
        args.keep_checkpoints,
    )
    search = algorithm.make_search(config, args.task, seed)
    path = args.run_dir or default_run_dir(name, args.task, seed)
    meta = {
        "algorithm": name,
        "task": args.task,
        "options": dataclasses.asdict(options),
        "task_spec": search.task.to_dict(),
        "command": shlex.join(["python", "-m", "training", name, *argv]),
    }
    run = RunDir.create(path, meta, to_dict(config))
    print(f"run directory: {run.path}")
    summary = run_search(search, run, options)
    if summary.interrupted_by is None:
        _plot_quietly(run)
    return _report(summary, run)


def resume(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training resume", description="continue a run from its last checkpoint (same results)"
    )
    p.add_argument("run_dir", type=Path)
    _execution_args(p, defaults=False)
    args = p.parse_args(argv)
    run = RunDir.open(args.run_dir)
    meta = run.meta()
    algorithm = get_algorithm(meta["algorithm"])
    config = from_dict(algorithm.config_cls, {**algorithm.saved_defaults, **meta["config"]})
    saved = meta["options"]
    options = RunOptions(
        seed=saved["seed"],
        backend=args.backend or saved["backend"],
        workers=args.workers if args.workers is not None else saved["workers"],
        ray_address=args.ray_address or saved["ray_address"],
        checkpoint_every=(
            args.checkpoint_every if args.checkpoint_every is not None else saved["checkpoint_every"]
        ),
        progress=not args.no_progress,
        keep_bests=args.keep_bests or saved.get("keep_bests", False),
        keep_checkpoints=(
            args.keep_checkpoints if args.keep_checkpoints is not None else saved.get("keep_checkpoints", 0)
        ),
    )
    if args.generations is not None:  # saved, so that a later plain resume continues to the new total
        config = dataclasses.replace(config, generations=args.generations)
    if run.checkpoint.exists():
        config = algorithm.restoring(config)
    search = algorithm.make_search(config, meta["task"], options.seed)
    if args.generations is not None:
        run.set_generations(args.generations)
    summary = run_search(search, run, options, resume=True)
    if summary.interrupted_by is None:
        _plot_quietly(run)
    return _report(summary, run)


def _plot_quietly(run: RunDir) -> None:
    from training.plots import plot_run

    try:
        print(f"plot: {plot_run(run.path)}")
    except ValueError as exc:
        print(f"no plot: {exc}", file=sys.stderr)


def plot(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m training plot", description="write curves.png for a run")
    p.add_argument("run_dir", type=Path)
    from training.plots import plot_run

    print(plot_run(p.parse_args(argv).run_dir))
    return 0


def _harness_args(p: argparse.ArgumentParser, episodes: int, morphology: str | None) -> None:
    """The evaluation arguments shared by ``evaluate`` and ``robustness``."""
    p.add_argument("policy", type=Path)
    p.add_argument("--episodes", type=int, default=episodes)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--morphology",
        default=morphology,
        help="'all' (standard,right_front,left_front), one name or a comma list",
    )
    p.add_argument("--backend", choices=BACKENDS, default="process")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="policy steps per episode at most (default: the env's; the Ant and A1 episodes get this long)",
    )
    p.add_argument("--no-progress", action="store_true", help="no bar of finished episodes")


def _harness_kwargs(p: argparse.ArgumentParser, args: argparse.Namespace) -> dict:
    if args.episodes < 1:
        p.error("--episodes must be >= 1")
    if args.max_steps is not None and args.max_steps < 1:
        p.error("--max-steps must be >= 1")
    return {
        "episodes": args.episodes,
        "seed": check_seed(args.seed),
        "morphology": args.morphology,
        "backend": args.backend,
        "workers": args.workers,
        "max_steps": args.max_steps,
        "progress": not args.no_progress,
    }


def evaluate(argv: list[str]) -> int:
    from training.harness import evaluate_policy_file, format_report, write_report
    from wann_ros.sim.knobs import read_knobs_yaml

    p = argparse.ArgumentParser(
        prog="python -m training evaluate",
        description="N seeded episodes of a policy file: mean ± std per morphology",
    )
    p.add_argument("--task", required=True, choices=sorted(TASKS))
    _harness_args(p, episodes=100, morphology=None)
    p.add_argument("--solved-distance", type=float, default=100.0)
    p.add_argument(
        "--knobs",
        default=None,
        help="sim-to-real knobs (ant, a1) as YAML, e.g. '{motor_strength: [0.5, 1.0], latency_steps: 1}'",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="directory for eval.json/eval.csv (default: <policy name>.eval/ next to the policy)",
    )
    args = p.parse_args(argv)
    harness = _harness_kwargs(p, args)
    knobs = read_knobs_yaml(args.knobs) if args.knobs else None
    report = evaluate_policy_file(
        args.policy, args.task, solved_distance=args.solved_distance, knobs=knobs, **harness
    )
    print(format_report(report))
    out = args.out or args.policy.with_name(args.policy.name + ".eval")
    for path in write_report(report, out):
        print(f"wrote {path}")
    return 0


def robustness(argv: list[str]) -> int:
    from training.robustness import default_sweep, read_sweep, run_sweep, write_sweep

    p = argparse.ArgumentParser(
        prog="python -m training robustness",
        description="score a policy file under each sim-to-real knob in turn (same seeded episodes)",
    )
    p.add_argument("--task", default="ant", choices=("ant", "a1"))
    _harness_args(p, episodes=30, morphology="all")
    p.add_argument(
        "--sweep",
        type=Path,
        default=None,
        help="YAML file: label -> knobs (default: the built-in one, its push scaled to the robot)",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="default: <policy name>.robustness/ next to the policy"
    )
    args = p.parse_args(argv)
    harness = _harness_kwargs(p, args)
    sweep = read_sweep(args.sweep) if args.sweep else default_sweep(args.task)
    reports = run_sweep(args.policy, args.task, sweep, **harness)
    for path in write_sweep(reports, args.out or args.policy.with_name(args.policy.name + ".robustness")):
        print(f"wrote {path}")
    return 0


COMMANDS = {"resume": resume, "plot": plot, "evaluate": evaluate, "robustness": robustness}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        print("algorithms:", ", ".join(available()))
        extra = [c for name in available() for c in get_algorithm(name).commands]
        print("commands:", ", ".join([*COMMANDS, *extra]))
        print("tasks:", ", ".join(f"{k} ({v.summary})" for k, v in sorted(TASKS.items())))
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    try:
        if command in COMMANDS:
            return COMMANDS[command](rest)
        algorithm = get_algorithm(command.split("-")[0])
        if command in algorithm.commands:
            return algorithm.commands[command](rest)
        if command != algorithm.name:
            raise ValueError(f"{algorithm.name!r} has no command {command!r}")
        return train(command, rest)
    except (ConfigError, ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
