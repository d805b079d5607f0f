"""``hebbian-bounded``: long online adaptation under the ``weight_bound`` / ``normalize`` options.

    python -m training hebbian-bounded POLICY [--sim-seconds 3600] [--settings none,normalize,bound=1]
                                               [--episodes 5] [--out DIR]

For each setting the policy walks one episode of ``--sim-seconds`` of simulated time (3600 s / 0.0165 s
≈ 218k control steps on the Ant) with no early stop and no episode end, recording every
``--record-every`` steps the distance so far and each layer's weight norm; it also gets the usual score
(harness-style episodes on standard, right_front and left_front, early stop on) with the setting applied.
Writes ``bounded.png``, ``bounded.csv`` (the long runs) and ``bounded.json`` (summary, scores).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from training.backends import BACKENDS, make_backend
from training.evaluation import episode_bar
from training.harness import ALL_MORPHOLOGIES, policy_from_file
from training.hebbian.rollout import trace_episode
from training.hebbian.studies import _check_hebbian, _pyplot
from training.seeding import EVAL_STREAM, check_seed, episode_seed
from training.tasks import Job, make_task
from wann_ros.formats import file_sha256
from wann_ros.sim.robot_specs import ANT_BURN_IN

Setting = dict[str, Any]  # {"name", "weight_bound", "normalize"}


def parse_settings(text: str) -> list[Setting]:
    """``none``, ``normalize``, ``bound=X`` or ``normalize+bound=X``, comma separated."""
    settings = []
    for token in (t.strip() for t in text.split(",") if t.strip()):
        bound, normalize = None, False
        for part in token.split("+"):
            if part == "normalize":
                normalize = True
            elif part.startswith("bound="):
                try:
                    bound = float(part[len("bound=") :])
                except ValueError:
                    bound = -1.0
                if not (np.isfinite(bound) and bound > 0):
                    raise ValueError(f"setting {token!r}: the bound must be a positive number")
            elif part != "none":
                raise ValueError(
                    f"unknown setting {part!r}; use none, normalize, bound=X or normalize+bound=X"
                )
        settings.append({"name": token, "weight_bound": bound, "normalize": normalize})
    if not settings:
        raise ValueError("no settings given")
    return settings


def bounded_policy(candidate: Setting, env: Any, path: str) -> Any:
    """Builder: the policy file with the setting's weight_bound / normalize."""
    policy = policy_from_file(None, env, path)
    policy.options.weight_bound = candidate["weight_bound"]
    policy.options.normalize = candidate["normalize"]
    return policy


def long_runner(
    policy: Any, env: Any, seed: int, steps: int, record_every: int
) -> tuple[float, dict[str, Any]]:
    """One episode of ``steps`` control steps; distance and weight norms every ``record_every`` steps."""
    tr = trace_episode(policy, env, seed, (), steps, norm_stride=record_every)
    progress = np.cumsum(tr.progress)[record_every - 1 :: record_every]
    norms = np.asarray(tr.norms)[: progress.size]
    return tr.distance, {
        "distance_m": tr.distance_m,
        "finite": tr.finite,
        "steps": len(tr.progress),
        "distance_curve": progress,
        "norms": norms,
    }


def _run(
    task: Any,
    candidates: list[Setting],
    jobs: list[Job],
    backend: str,
    workers: int | None,
    label: str,
    progress: bool,
) -> list:
    """The jobs' results; ``progress`` shows a bar of finished episodes named ``label``."""
    engine = make_backend(backend, task, workers)
    try:
        with episode_bar(len(jobs), label, progress) as bar:
            return engine.run(candidates, jobs, bar.update)
    finally:
        engine.close()


def bounded_study(
    policy: Path,
    out: Path,
    settings: list[Setting],
    sim_seconds: float,
    episodes: int,
    seed: int,
    record_every: int,
    backend: str,
    workers: int | None,
    progress: bool = True,
) -> dict[str, Any]:
    probe = make_task("ant", "training.hebbian.bounded:bounded_policy", {"path": str(policy.resolve())})
    env = probe.make_env(0)
    try:
        period = float(env.unwrapped.world.control_period)
    finally:
        env.close()
    steps = round(sim_seconds / period)
    if steps < record_every:
        raise ValueError(
            f"--sim-seconds {sim_seconds:g} is {steps} control steps, fewer than "
            f"--record-every {record_every}: nothing would be recorded"
        )
    long_task = make_task("ant", probe.builder, probe.builder_args, morphologies=("standard",))
    long_task = _replace_env(
        long_task,
        {"burn_in": ANT_BURN_IN, "max_steps": ANT_BURN_IN + steps, "early_stop": False},
        "training.hebbian.bounded:long_runner",
        {"steps": steps, "record_every": record_every},
    )
    long_seed = episode_seed(seed, 0, 0, 0, EVAL_STREAM)
    long_jobs = [Job(c, 0, 0, long_seed) for c in range(len(settings))]
    long_results = _run(long_task, settings, long_jobs, backend, workers, "long runs", progress)
    score_task = make_task("ant", probe.builder, probe.builder_args, morphologies=ALL_MORPHOLOGIES)
    score_jobs = [
        Job(c, m, e, episode_seed(seed, 0, 0, e, EVAL_STREAM))
        for c in range(len(settings))
        for m in range(len(ALL_MORPHOLOGIES))
        for e in range(episodes)
    ]
    score_results = _run(score_task, settings, score_jobs, backend, workers, "scores", progress)
    summary, rows = {}, []
    for c, s in enumerate(settings):
        distance, info = long_results[c]
        norms = np.asarray(info["norms"])
        scores = {
            m: [
                f
                for job, (f, _) in zip(score_jobs, score_results, strict=True)
                if job.candidate == c and job.morphology == k
            ]
            for k, m in enumerate(ALL_MORPHOLOGIES)
        }
        summary[s["name"]] = {
            "steps": info["steps"],
            "sim_seconds": info["steps"] * period,
            "finite": bool(info["finite"]),
            "distance": distance,
            "distance_m": info["distance_m"],
            "max_layer_norm": float(np.nanmax(norms)) if norms.size else None,
            "final_layer_norms": norms[-1].tolist() if norms.size else None,
            "score": {m: [float(np.mean(v)), float(np.std(v))] for m, v in scores.items()},
        }
        for i, d in enumerate(info["distance_curve"]):
            rows.append(
                {
                    "setting": s["name"],
                    "step": (i + 1) * record_every,
                    "sim_seconds": (i + 1) * record_every * period,
                    "distance": float(d),
                    **{f"norm_layer{k}": float(v) for k, v in enumerate(norms[i])},
                }
            )
    plt = _pyplot()
    fig, (ax_d, ax_n) = plt.subplots(1, 2, figsize=(11, 4))
    for s in settings:
        mine = [r for r in rows if r["setting"] == s["name"]]
        t = [r["sim_seconds"] / 60 for r in mine]
        ax_d.plot(t, [r["distance"] for r in mine], label=s["name"])
        ax_n.semilogy(t, [max(r[k] for k in r if k.startswith("norm_layer")) for r in mine], label=s["name"])
    ax_d.set_xlabel("simulated minutes")
    ax_d.set_ylabel("distance (paper units)")
    ax_n.set_xlabel("simulated minutes")
    ax_n.set_ylabel("largest layer weight norm (Frobenius)")
    ax_d.legend()
    fig.suptitle(f"{sim_seconds:g} s of simulated online adaptation on the standard Ant")
    out.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    png = out / "bounded.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    csv_path = out / "bounded.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    js = out / "bounded.json"
    js.write_text(
        json.dumps(
            {
                "policy": str(policy),
                "policy_sha256": file_sha256(policy),
                "sim_seconds": sim_seconds,
                "steps": steps,
                "score_episodes": episodes,
                "summary": summary,
            },
            indent=2,
        )
    )
    return {"png": png, "csv": csv_path, "json": js, "summary": summary}


def _replace_env(task: Any, env_kwargs: dict[str, Any], runner: str, runner_args: dict[str, Any]) -> Any:
    from dataclasses import replace

    return replace(task, env_kwargs=env_kwargs, runner=runner, runner_args=runner_args)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training hebbian-bounded",
        description="an hour of simulated online adaptation per weight constraint",
    )
    p.add_argument("policy", type=Path, help="Hebbian policy file")
    p.add_argument("--settings", default="none,normalize,bound=1,bound=0.5")
    p.add_argument("--sim-seconds", type=float, default=3600.0)
    p.add_argument("--record-every", type=int, default=1000, help="control steps between records")
    p.add_argument("--episodes", type=int, default=5, help="score episodes per morphology and setting")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=BACKENDS, default="process")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", type=Path, default=Path("runs/hebbian-studies/bounded"))
    p.add_argument("--no-progress", action="store_true", help="no bar of finished episodes")
    args = p.parse_args(argv)
    if args.episodes < 1 or args.record_every < 1 or not args.sim_seconds > 0:
        p.error("--episodes and --record-every must be >= 1 and --sim-seconds > 0")
    _check_hebbian(args.policy)
    settings = parse_settings(args.settings)
    result = bounded_study(
        args.policy,
        args.out,
        settings,
        args.sim_seconds,
        args.episodes,
        check_seed(args.seed),
        args.record_every,
        args.backend,
        args.workers,
        progress=not args.no_progress,
    )
    print(json.dumps(result["summary"], indent=1))
    for key in ("png", "csv", "json"):
        print(f"wrote {result[key]}")
    return 0
