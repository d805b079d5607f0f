"""``hebbian-export``: a run's policy (ES mean or best sample) as a native file plus a model card.

    python -m training hebbian-export RUN_DIR --out models/ant_hebbian.wrp [--which auto|mean|best] [--force]

Works for any flat-vector ES run (``hebbian``, ``es``). ``--which auto`` scores the mean and the best
sample on ``--select-episodes`` harness episodes per training morphology, seeded with ``--select-seed``
(keep it different from the seed the table is made with), and keeps the better. The model card
(``<out>.md`` with the suffix replaced) lists the task, the protocol, the seed, the generations, the
wall time, the commands and the selection scores; the harness table is added by whoever publishes it.
An existing policy file, card or continuation config (below) is only replaced with ``--force``.

``--checkpoint FILE`` exports from an earlier checkpoint of the run (``--keep-checkpoints K`` keeps them).

``--continue-config CONFIG.yaml`` (Hebbian runs, ``--which mean``) also writes the run's config set to go on
from the exported mean in a new run: ``init_rules`` is the file, ``sigma`` and ``lr`` are where their
decay schedules had got to, ``generations`` the ones left. With the Hebbian default optimiser (plain SGD,
no momentum) that is the whole ES state but the noise stream, so a long run can be carried across
checkouts that do not keep ``runs/`` by committing one policy file.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from training.algorithm import get_algorithm
from training.checkpoint import load_checkpoint
from training.config import from_dict, to_dict
from training.harness import evaluate_policy_file
from training.hebbian.config import HebbianConfig
from training.rundir import RunDir, read_log
from training.seeding import check_seed
from training.tasks import TASKS
from wann_ros.formats import file_sha256, save_policy
from wann_ros.policies.spec import Provenance


def run_policy(run_dir: Path, which: str, checkpoint: Path | None = None) -> tuple[Any, dict[str, Any]]:
    """The policy built from the run's checkpoint (``mean``: the ES mean; ``best``: the best sample);
    ``checkpoint``: another checkpoint of the run (e.g. one kept by ``--keep-checkpoints``)."""
    run = RunDir.open(run_dir)
    meta = run.meta()
    checkpoint = checkpoint or run.checkpoint
    if not checkpoint.is_file():
        raise ValueError(f"{run_dir}: no checkpoint {checkpoint} (the run has not finished a generation)")
    state = load_checkpoint(checkpoint)["search"]
    if not isinstance(state, dict) or state.get("kind") != "openai_es":
        raise ValueError(f"{run_dir}: not an OpenAI-ES run (hebbian or es)")
    vector = state["theta"] if which == "mean" else state["best"]
    if vector is None:
        raise ValueError(f"{run_dir}: the run has no best sample yet")
    algorithm = get_algorithm(meta["algorithm"])
    config = algorithm.restoring(from_dict(algorithm.config_cls, meta["config"]))
    search = algorithm.make_search(config, meta["task"], meta["options"]["seed"])
    env = search.task.make_env(0)
    try:
        policy = search.task.build_policy(np.asarray(vector, dtype=np.float64), env)
    finally:
        env.close()
    log = read_log(run.log_csv)
    facts = {
        "run_dir": str(run_dir),
        "algorithm": meta["algorithm"],
        "task": meta["task"],
        "seed": meta["options"]["seed"],
        "generations": int(state["generation"]),
        "wall_s": float(np.sum(log["wall_s"][: int(state["generation"])])),
        "cpu_s": float(np.sum(log["cpu_s"][: int(state["generation"])])),
        "train_command": meta["command"],
        "config": meta["config"],
        "which": which,
        "search_best": float(state["best_fitness"]),
        "git_commit": meta.get("git_commit", "unknown"),
    }
    score = facts["search_best"] if which == "best" else None
    policy.spec = dataclasses.replace(
        policy.spec,
        provenance=Provenance(
            task=meta["task"],
            seed=facts["seed"],
            generation=facts["generations"],
            score=score,
            command=meta["command"],
            extra={k: facts[k] for k in ("algorithm", "run_dir", "which", "git_commit")},
        ),
    )
    return policy, facts


def continuation_config(run_dir: Path, policy_file: Path, checkpoint: Path | None = None) -> dict[str, Any]:
    """The run's resolved config, set to continue from its ES mean saved as ``policy_file`` (the mean of
    ``checkpoint``, by default the run's last)."""
    run = RunDir.open(run_dir)
    meta = run.meta()
    if meta["algorithm"] != "hebbian":
        raise ValueError(f"{run_dir}: --continue-config needs a hebbian run, not {meta['algorithm']!r}")
    config = to_dict(from_dict(HebbianConfig, meta["config"]))  # fills keys an older run did not write
    if config["optimizer"] != "sgd" or config["momentum"] != 0.0:
        raise ValueError(
            f"{run_dir}: its optimiser ({config['optimizer']}, momentum {config['momentum']}) keeps a state "
            "that a policy file cannot carry; continue it with `python -m training resume`"
        )
    state = load_checkpoint(checkpoint or run.checkpoint)["search"]
    left = int(config["generations"]) - int(state["generation"])
    if left < 1:
        raise ValueError(f"{run_dir}: all {config['generations']} generations are done; nothing to continue")
    config.update(
        init_rules=str(policy_file),
        sigma=float(state["sigma"]),
        lr=float(state["optimizer"]["lr"]),
        generations=left,
    )
    return config


def training_bodies(facts: dict[str, Any]) -> tuple[str, ...]:
    """The morphologies the run trained on (its config's, else the task's own)."""
    own = facts["config"].get("morphologies")
    return tuple(own) if own else TASKS[facts["task"]].morphologies


def selection_score(
    policy: Any, facts: dict[str, Any], episodes: int, seed: int, backend: str, workers: int | None
) -> float:
    """Mean harness distance over the run's training morphologies."""
    with tempfile.TemporaryDirectory() as tmp:
        path = save_policy(policy, Path(tmp) / "candidate.wrp")
        report = evaluate_policy_file(
            path, facts["task"], episodes, seed, training_bodies(facts), backend, workers
        )
    return float(np.mean([s["mean"] for s in report["morphologies"].values()]))


def model_card(out: Path, facts: dict[str, Any], scores: dict[str, float], command: str) -> str:
    hours = facts["wall_s"] / 3600
    bodies = " + ".join(training_bodies(facts)) or "standard"
    preset = TASKS[facts["task"]]
    fitness = "distance, paper units" if preset.runner_args.get("fitness") == "distance" else "episode reward"
    lines = [
        f"# {out.name}",
        "",
        f"* kind: {facts['algorithm']} policy for the `{facts['task']}` task "
        f"(env {preset.env_id.split(':')[-1]})",
        f"* run: `{facts['run_dir']}` (seed {facts['seed']}, {facts['generations']} generations, "
        f"{hours:.2f} h wall / {facts['cpu_s'] / 3600:.2f} h CPU summed over generations, "
        f"commit {facts['git_commit']})",
        f"* training command: `{facts['train_command']}`",
        f"* exported with: `{command}` (vector: ES {facts['which']})",
        f"* best single-sample training fitness: {facts['search_best']:.1f} (mean {fitness} over {bodies}, "
        "one episode each)",
    ]
    if scores:
        lines.append(
            f"* selection scores (mean harness {fitness} on {bodies}): "
            + ", ".join(f"{k} {v:.1f}" for k, v in scores.items())
        )
    lines += [
        "",
        "## Protocol (resolved config)",
        "",
        "```yaml",
        yaml.safe_dump(facts["config"], sort_keys=False).rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training hebbian-export",
        description="write a run's ES mean or best sample as a policy file + card",
    )
    p.add_argument("run_dir", type=Path)
    p.add_argument("--out", type=Path, required=True, help="policy file to write (native format, .wrp)")
    p.add_argument("--which", choices=("auto", "mean", "best"), default="auto")
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="export from this checkpoint of the run (e.g. RUN_DIR/checkpoints/gen-00100.npz), not the last",
    )
    p.add_argument("--select-episodes", type=int, default=5)
    p.add_argument("--select-seed", type=int, default=1000)
    p.add_argument("--backend", default="process")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing policy file, model card or continuation config",
    )
    p.add_argument(
        "--continue-config",
        type=Path,
        metavar="YAML",
        help="also write a config that continues the run from the exported ES mean (needs --which mean)",
    )
    args = p.parse_args(argv)
    if args.select_episodes < 1:
        p.error("--select-episodes must be >= 1")
    if args.continue_config is not None and args.which != "mean":
        p.error("--continue-config continues the ES mean: use it with --which mean")
    card = args.out.with_suffix(".md")
    existing = [str(f) for f in (args.out, card, args.continue_config) if f is not None and f.exists()]
    if existing and not args.force:
        p.error(f"{' and '.join(existing)} exist; --force replaces them (a published card is hand-extended)")
    seed = check_seed(args.select_seed)
    if args.checkpoint is not None and not args.checkpoint.is_file():
        p.error(f"no checkpoint file {args.checkpoint}")
    follow_on = None
    if args.continue_config is not None:
        try:
            follow_on = continuation_config(args.run_dir, args.out, args.checkpoint)
        except ValueError as exc:
            p.error(str(exc))
    choices = ("mean", "best") if args.which == "auto" else (args.which,)
    try:
        built = {w: run_policy(args.run_dir, w, args.checkpoint) for w in choices}
    except ValueError as exc:
        p.error(str(exc))
    scores: dict[str, float] = {}
    if len(choices) > 1:
        scores = {
            w: selection_score(*built[w], args.select_episodes, seed, args.backend, args.workers)
            for w in choices
        }
        print("selection:", ", ".join(f"{w} {s:.2f}" for w, s in scores.items()))
    which = max(scores, key=scores.get) if scores else choices[0]
    policy, facts = built[which]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_policy(policy, args.out)
    command = shlex.join(["python", "-m", "training", "hebbian-export", *argv])
    card.write_text(model_card(args.out, facts, scores, command))
    print(f"wrote {args.out} (ES {which}, sha256 {file_sha256(args.out)[:12]}) and {card}")
    if follow_on is not None:
        run_cmd = f"python -m training hebbian --task {facts['task']} --config {args.continue_config}"
        header = (
            f"# Continues {args.run_dir} (seed {facts['seed']}) from generation {facts['generations']}, "
            f"its ES mean in {args.out}:\n#   {run_cmd} --seed SEED\n# Written by: {command}\n"
        )
        args.continue_config.parent.mkdir(parents=True, exist_ok=True)
        args.continue_config.write_text(header + yaml.safe_dump(follow_on, sort_keys=False))
        print(f"wrote {args.continue_config} ({follow_on['generations']} generations to go)")
    return 0
