"""Adaptation studies of a Hebbian policy on the Ant, each one command writing ``<name>.png`` + ``.csv``.

    python -m training hebbian-freeze   POLICY   reward vs the step at which plasticity is frozen
    python -m training hebbian-lesion   POLICY   a third of the weights zeroed mid-episode
    python -m training hebbian-saturate POLICY   every actuator pinned at +1 for 100 steps
    python -m training hebbian-damage   POLICY   a leg damaged mid-episode (no reset), steps to recover
    python -m training hebbian-pca      POLICY   the weights' first three principal components per morphology

Episodes are seeded like the evaluation harness (``episode_seed(seed, 0, 0, i, EVAL_STREAM)``) and run
on the engine's backends. Interventions happen at policy step ``--at`` of a ``--steps`` long episode
without early stop; each intervention episode is paired with the same seed without it (the baseline).
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from training.backends import BACKENDS, make_backend
from training.evaluation import episode_bar
from training.harness import ALL_MORPHOLOGIES, morphologies_for
from training.hebbian.rollout import (
    DamageAt,
    FreezeAt,
    Intervention,
    Saturate,
    ZeroWeights,
    rolling_mean,
    steps_to_recover,
    trace_episode,
)
from training.seeding import EVAL_STREAM, check_seed, episode_seed
from training.tasks import Job, Task, make_task
from wann_ros.sim.robot_specs import ANT_BURN_IN

WINDOW = 50  # steps in the rolling speed of the plots and the recovery criterion
RUNNERS = "training.hebbian.studies"


# -- runners (executed in the backend's workers) -----------------------------------------------------
def freeze_runner(
    policy: Any, env: Any, seed: int, freeze_steps: Sequence[int | None], max_steps: int
) -> tuple[float, dict[str, Any]]:
    """One episode per freeze step, all on ``seed``; ``info["distance"][k]`` for ``freeze_steps[k]``."""
    dist, metres = [], []
    for k in freeze_steps:
        policy.unfreeze()
        tr = trace_episode(policy, env, seed, [FreezeAt(k)], max_steps)
        dist.append(tr.distance)
        metres.append(tr.distance_m)
    return float(dist[-1]), {"distance": np.array(dist), "distance_m": np.array(metres)}


def _intervention(
    kind: str, at: int, duration: int, fraction: float, value: float, damage: str, seed: int
) -> Intervention:
    if kind == "lesion":
        return ZeroWeights(at, fraction, seed)
    if kind == "saturate":
        return Saturate(at, duration, value)
    if kind == "damage":
        return DamageAt(at, damage)
    raise ValueError(f"unknown intervention {kind!r}")


def intervention_runner(
    policy: Any,
    env: Any,
    seed: int,
    kind: str,
    at: int,
    max_steps: int,
    duration: int = 0,
    fraction: float = 1 / 3,
    value: float = 1.0,
    damage: str = "left_front",
) -> tuple[float, dict[str, Any]]:
    """The episode with the intervention and the same seed without it (per-step progress of both)."""
    base = trace_episode(policy, env, seed, (), max_steps)
    hit = trace_episode(
        policy, env, seed, [_intervention(kind, at, duration, fraction, value, damage, seed)], max_steps
    )
    end = at + (duration if kind == "saturate" else 0)
    return hit.distance, {
        "progress": np.asarray(hit.progress),
        "baseline": np.asarray(base.progress),
        "distance_baseline": base.distance,
        "recover": steps_to_recover(np.asarray(hit.progress), at, end, WINDOW),
        "finite": hit.finite,
    }


def pca_runner(policy: Any, env: Any, seed: int, max_steps: int, stride: int) -> tuple[float, dict[str, Any]]:
    """The weights every ``stride`` steps of one episode."""
    tr = trace_episode(policy, env, seed, (), max_steps, weight_stride=stride)
    return tr.distance, {"weights": np.stack(tr.weights)}


# -- running ------------------------------------------------------------------------------------------
def study_task(
    policy: Path, runner: str, runner_args: dict[str, Any], morphologies: Sequence[str], steps: int
) -> Task:
    """The Ant task for a study: the policy from ``policy``, episodes of ``steps`` without early stop."""
    task = make_task(
        "ant",
        "training.harness:policy_from_file",
        {"path": str(policy.resolve())},
        morphologies=tuple(morphologies),
    )
    return replace(
        task,
        runner=f"{RUNNERS}:{runner}",
        runner_args={**runner_args, "max_steps": steps},
        env_kwargs={"burn_in": ANT_BURN_IN, "max_steps": ANT_BURN_IN + steps, "early_stop": False},
    )


def run_study(
    task: Task, episodes: int, seed: int, backend: str, workers: int | None, progress: bool = True
) -> list[tuple[Job, float, dict[str, Any]]]:
    """Every (morphology, episode) job of ``task``; episode ``e`` has the harness seed of episode ``e``;
    ``progress`` shows a bar of finished episodes on stderr."""
    jobs = [
        Job(0, m, e, episode_seed(seed, 0, 0, e, EVAL_STREAM))
        for m in range(task.n_morphologies)
        for e in range(episodes)
    ]
    engine = make_backend(backend, task, workers)
    try:
        with episode_bar(len(jobs), task.runner.rpartition(":")[2], progress) as bar:
            results = engine.run([None], jobs, bar.update)
    finally:
        engine.close()
    return [(job, fitness, info) for job, (fitness, info) in zip(jobs, results, strict=True)]


def _check_hebbian(path: Path) -> None:
    from wann_ros.formats import load_policy

    if not path.is_file():
        raise FileNotFoundError(f"no policy file at {path}")
    kind = load_policy(path).spec.kind
    if kind != "hebbian":
        raise ValueError(f"{path} holds a {kind!r} policy; this study needs a Hebbian one")


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# -- the studies ----------------------------------------------------------------------------------------
def freeze_study(
    policy: Path,
    out: Path,
    episodes: int,
    seed: int,
    steps: int,
    morphologies: Sequence[str],
    freeze_steps: Sequence[int | None],
    backend: str,
    workers: int | None,
    progress: bool = True,
) -> dict[str, Any]:
    task = study_task(policy, "freeze_runner", {"freeze_steps": list(freeze_steps)}, morphologies, steps)
    results = run_study(task, episodes, seed, backend, workers, progress)
    rows = [
        {
            "morphology": morphologies[job.morphology],
            "episode": job.episode,
            "seed": job.seed,
            "freeze_step": "never" if k is None else k,
            "distance": float(info["distance"][i]),
            "distance_m": float(info["distance_m"][i]),
        }
        for job, _, info in results
        for i, k in enumerate(freeze_steps)
    ]
    summary = {
        m: {
            str("never" if k is None else k): _mean_std(
                [
                    r["distance"]
                    for r in rows
                    if r["morphology"] == m and r["freeze_step"] == ("never" if k is None else k)
                ]
            )
            for k in freeze_steps
        }
        for m in morphologies
    }
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = np.arange(len(freeze_steps))
    for m in morphologies:
        stats = np.array([summary[m][str("never" if k is None else k)] for k in freeze_steps])
        ax.errorbar(xs, stats[:, 0], yerr=stats[:, 1], marker="o", capsize=3, label=m)
    ax.set_xticks(xs, ["never" if k is None else str(k) for k in freeze_steps])
    ax.set_xlabel("policy step at which plasticity is frozen")
    ax.set_ylabel(f"distance after {steps} steps (paper units)")
    ax.set_title(f"Freezing the Hebbian updates ({episodes} episodes each)")
    ax.legend()
    return _finish(
        fig, policy, out, "freeze", rows, {"freeze_steps": [str(k) for k in freeze_steps], "summary": summary}
    )


def intervention_study(
    kind: str,
    policy: Path,
    out: Path,
    episodes: int,
    seed: int,
    steps: int,
    morphologies: Sequence[str],
    backend: str,
    workers: int | None,
    at: int,
    progress: bool = True,
    **kwargs: Any,
) -> dict[str, Any]:
    if not 0 < at < steps:
        raise ValueError(f"--at must be inside the episode (0 < at < {steps}), got {at}")
    task = study_task(policy, "intervention_runner", {"kind": kind, "at": at, **kwargs}, morphologies, steps)
    results = run_study(task, episodes, seed, backend, workers, progress)
    rows, summary = [], {}
    for m, morph in enumerate(morphologies):
        mine = [(job, f, info) for job, f, info in results if job.morphology == m]
        for job, _, info in mine:
            baseline = _pad(info["baseline"], len(info["progress"]))
            rows += [
                {
                    "morphology": morph,
                    "episode": job.episode,
                    "seed": job.seed,
                    "step": t,
                    "progress": float(p),
                    "baseline_progress": float(b),
                }
                for t, (p, b) in enumerate(zip(info["progress"], baseline, strict=True))
            ]
        recover = [info["recover"] for _, _, info in mine]
        summary[morph] = {
            "distance": _mean_std([f for _, f, _ in mine]),
            "distance_baseline": _mean_std([info["distance_baseline"] for _, _, info in mine]),
            "steps_to_recover": [None if np.isnan(r) else r for r in recover],
            "recovered": int(np.sum(np.isfinite(recover))),
            "all_finite": bool(all(info["finite"] for _, _, info in mine)),
        }
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(morphologies), figsize=(5 * len(morphologies), 3.6), squeeze=False)
    end = at + kwargs.get("duration", 0) if kind == "saturate" else at
    for ax, (m, morph) in zip(axes[0], enumerate(morphologies), strict=True):
        for key, label, colour in (("baseline", "no intervention", "0.5"), ("progress", kind, "C3")):
            speeds = np.stack(
                [
                    rolling_mean(_pad(info[key], steps), WINDOW)
                    for job, _, info in results
                    if job.morphology == m
                ]
            )
            mu, sd = speeds.mean(0), speeds.std(0)
            ax.plot(mu, color=colour, label=label)
            ax.fill_between(np.arange(steps), mu - sd, mu + sd, color=colour, alpha=0.2)
        ax.axvspan(at, max(end, at + 1), color="C1", alpha=0.3)
        ax.set_title(f"{morph}: recovered {summary[morph]['recovered']}/{episodes}")
        ax.set_xlabel("policy step")
        ax.set_ylabel(f"{WINDOW}-step mean progress (paper units/step)")
        ax.legend(fontsize=8)
    fig.suptitle(_TITLES[kind].format(at=at, **kwargs))
    return _finish(fig, policy, out, kind, rows, {"at": at, **kwargs, "window": WINDOW, "summary": summary})


_TITLES = {
    "lesion": "{fraction:.0%} of the weights zeroed at step {at}",
    "saturate": "all actuators pinned at {value:+g} for {duration} steps from step {at}",
    "damage": "{damage} leg damaged at step {at} (no reset)",
}


def top_components(x: np.ndarray, k: int = 3, iters: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` leading principal directions of the centred rows of ``x`` and their explained-variance
    ratios, by seeded randomised subspace iteration: a few passes over ``x`` instead of a full SVD (the
    weight trajectories are thousands of rows by 12,288 weights)."""
    centred = x - x.mean(axis=0)
    q = np.random.default_rng(0).standard_normal((x.shape[1], k + 5))
    for _ in range(iters):
        q, _ = np.linalg.qr(centred.T @ (centred @ q))
    _, s, vt = np.linalg.svd(centred @ q, full_matrices=False)
    directions = vt[:k] @ q.T
    return directions, s[:k] ** 2 / np.sum(centred**2)


def pca_study(
    policy: Path,
    out: Path,
    episodes: int,
    seed: int,
    steps: int,
    morphologies: Sequence[str],
    stride: int,
    backend: str,
    workers: int | None,
    progress: bool = True,
) -> dict[str, Any]:
    task = study_task(policy, "pca_runner", {"stride": stride}, morphologies, steps)
    results = run_study(task, episodes, seed, backend, workers, progress)
    stacked = np.concatenate([info["weights"] for _, _, info in results]).astype(np.float64)
    mean = stacked.mean(axis=0)
    vt, explained = top_components(stacked)
    rows, plt = [], _pyplot()
    fig = plt.figure(figsize=(5 * len(morphologies), 4.5))
    for m, morph in enumerate(morphologies):
        ax = fig.add_subplot(1, len(morphologies), m + 1, projection="3d")
        for job, _, info in results:
            if job.morphology != m:
                continue
            pcs = (info["weights"] - mean) @ vt[:3].T
            ax.plot(pcs[:, 0], pcs[:, 1], pcs[:, 2], lw=1)
            ax.scatter(*pcs[0], marker="o", color="k", s=12)
            rows += [
                {
                    "morphology": morph,
                    "episode": job.episode,
                    "seed": job.seed,
                    "step": i * stride,
                    "pc1": float(p[0]),
                    "pc2": float(p[1]),
                    "pc3": float(p[2]),
                }
                for i, p in enumerate(pcs)
            ]
        ax.set_title(morph)
        ax.set_xlabel("PC1")
        ax.set_ylabel("PC2")
        ax.set_zlabel("PC3")
    fig.suptitle(
        "Weights over an episode, first three principal components (shared basis; o = start); "
        f"explained {', '.join(f'{e:.1%}' for e in explained)}"
    )
    return _finish(
        fig, policy, out, "pca", rows, {"stride": stride, "explained_variance_ratio": explained.tolist()}
    )


def _pad(x: np.ndarray, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.concatenate([x, np.full(max(0, n - x.size), np.nan)])[:n]


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean()), float(v.std())


def _finish(
    fig: Any, policy: Path, out: Path, name: str, rows: list[dict[str, Any]], summary: dict[str, Any]
) -> dict[str, Any]:
    """Save the figure, the rows and the summary (with the policy file's path and SHA-256)."""
    import matplotlib.pyplot as plt

    from wann_ros.formats import file_sha256

    summary = {"policy": str(policy), "policy_sha256": file_sha256(policy), **summary}
    out.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    png = out / f"{name}.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    csv_path = _write_csv(out / f"{name}.csv", rows)
    js = out / f"{name}.json"
    js.write_text(json.dumps(summary, indent=2))
    return {"png": png, "csv": csv_path, "json": js, **summary}


# -- command line -------------------------------------------------------------------------------------
def _parser(name: str, description: str, morphology: str, episodes: int) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m training hebbian-{name}", description=description)
    p.add_argument("policy", type=Path, help="Hebbian policy file")
    p.add_argument("--episodes", type=int, default=episodes, help="episodes per morphology")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=1000, help="policy steps per episode (no early stop)")
    p.add_argument("--morphology", default=morphology, help="'all' or a comma list of morphologies")
    p.add_argument("--backend", choices=BACKENDS, default="process")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", type=Path, default=Path(f"runs/hebbian-studies/{name}"))
    p.add_argument("--no-progress", action="store_true", help="no bar of finished episodes")
    return p


def _common(p: argparse.ArgumentParser, argv: list[str]) -> tuple[argparse.Namespace, tuple[str, ...]]:
    args = p.parse_args(argv)
    if args.episodes < 1 or args.steps < 1:
        p.error("--episodes and --steps must be >= 1")
    args.seed = check_seed(args.seed)
    _check_hebbian(args.policy)
    morphs = morphologies_for("ant", args.morphology) or ALL_MORPHOLOGIES
    return args, morphs


def _report(result: dict[str, Any]) -> int:
    print(
        json.dumps(
            result.get("summary", {k: v for k, v in result.items() if k not in ("png", "csv", "json")}),
            indent=1,
        )
    )
    for key in ("png", "csv", "json"):
        print(f"wrote {result[key]}")
    return 0


def freeze_main(argv: list[str]) -> int:
    p = _parser("freeze", "distance vs the step at which plasticity is frozen", "all", 3)
    p.add_argument(
        "--freeze-steps",
        default="0,10,25,50,100,200,400,never",
        help="comma list of policy steps; 'never' keeps plasticity on",
    )
    args, morphs = _common(p, argv)
    try:
        steps = [None if s.strip() == "never" else int(s) for s in args.freeze_steps.split(",")]
    except ValueError:
        p.error(f"--freeze-steps must be integers or 'never', got {args.freeze_steps!r}")
    return _report(
        freeze_study(
            args.policy,
            args.out,
            args.episodes,
            args.seed,
            args.steps,
            morphs,
            steps,
            args.backend,
            args.workers,
            progress=not args.no_progress,
        )
    )


def _intervention_main(kind: str, argv: list[str], description: str, morphology: str, extra: Any) -> int:
    p = _parser(kind, description, morphology, 3)
    p.add_argument("--at", type=int, default=400, help="policy step of the intervention")
    extra(p)
    args, morphs = _common(p, argv)
    kwargs = {k: getattr(args, k) for k in ("duration", "fraction", "value", "damage") if hasattr(args, k)}
    return _report(
        intervention_study(
            kind,
            args.policy,
            args.out,
            args.episodes,
            args.seed,
            args.steps,
            morphs,
            args.backend,
            args.workers,
            args.at,
            progress=not args.no_progress,
            **kwargs,
        )
    )


def lesion_main(argv: list[str]) -> int:
    def extra(p: argparse.ArgumentParser) -> None:
        p.add_argument("--fraction", type=float, default=1 / 3, help="share of each layer's weights zeroed")

    return _intervention_main("lesion", argv, "zero a share of the weights mid-episode", "standard", extra)


def saturate_main(argv: list[str]) -> int:
    def extra(p: argparse.ArgumentParser) -> None:
        p.add_argument("--duration", type=int, default=100)
        p.add_argument("--value", type=float, default=1.0, help="network action the actuators are pinned at")

    return _intervention_main("saturate", argv, "pin the actuators for a while", "standard", extra)


def damage_main(argv: list[str]) -> int:
    def extra(p: argparse.ArgumentParser) -> None:
        p.add_argument("--damage", default="left_front", help="damage applied at --at (no reset)")

    return _intervention_main(
        "damage", argv, "damage a leg mid-episode and time the recovery", "standard", extra
    )


def pca_main(argv: list[str]) -> int:
    p = _parser("pca", "weights' principal components over an episode per morphology", "all", 1)
    p.add_argument("--stride", type=int, default=4, help="record the weights every N steps")
    args, morphs = _common(p, argv)
    if args.stride < 1:
        p.error("--stride must be >= 1")
    return _report(
        pca_study(
            args.policy,
            args.out,
            args.episodes,
            args.seed,
            args.steps,
            morphs,
            args.stride,
            args.backend,
            args.workers,
            progress=not args.no_progress,
        )
    )
