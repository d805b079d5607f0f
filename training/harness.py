"""The evaluation harness: N seeded episodes of a policy file, mean ± std per morphology, "solved".

Episode ``i`` of every morphology is seeded with ``episode_seed(seed, 0, 0, i, EVAL_STREAM)``, a
stream no training run uses. "Solved" (quadruped tasks, where the env reports ``info["distance"]``):
the final distance along +x is at least ``solved_distance`` (default 100, the env's distance units)
and the distance sampled every ``solved_window`` control steps never decreases (see
``training.episodes.run_episode``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.backends import make_backend
from training.builders import policy_spec_for
from training.evaluation import Evaluator, episode_bar
from training.seeding import EVAL_STREAM
from training.tasks import TASKS, Task, make_task
from wann_ros.sim.robot_specs import ANT_BURN_IN

ALL_MORPHOLOGIES = ("standard", "right_front", "left_front")
QUADRUPED_TASKS = ("ant", "a1")


def policy_from_file(candidate: Any, env: Any, path: str) -> Any:
    """Builder for the harness: the candidate is ignored, the policy comes from ``path``.

    The policy's joint names must be the env's, in the same order (DESIGN.md contract 3).
    """
    from wann_ros.formats import load_policy

    policy = load_policy(path)
    expected = policy_spec_for(env, policy.spec.kind).action.joint_names
    if tuple(policy.spec.action.joint_names) != tuple(expected):
        got = policy.spec.action.joint_names
        raise ValueError(f"{path}: policy joints {got} do not match the env's {expected}")
    return policy


def check_policy_fits_task(task: Task, path: str) -> None:
    """Build each morphology's env and the policy here, so that an unreadable file, joints that do not
    match or an unknown morphology is refused with its own message before any worker starts."""
    for m in range(max(len(task.morphologies), 1)):
        env = task.make_env(m)
        try:
            policy_from_file(None, env, path)
        finally:
            env.close()


def env_kwargs_for_policy(task_name: str, path: str | Path) -> dict[str, Any]:
    """Env options a policy file needs on ``task_name``: an A1 policy trained with a gait clock gets the
    clock in its observations (``A1Env(gait_clock_hz=...)``)."""
    from wann_ros.formats import load_policy
    from wann_ros.sim.robot_specs import gait_clock_hz

    hz = gait_clock_hz(load_policy(path).spec.observation) if task_name == "a1" else None
    return {} if hz is None else {"gait_clock_hz": hz}


def morphologies_for(task_name: str, morphology: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``None``: the task's own; ``"all"``: standard, right_front, left_front; else a comma list in which
    ``all`` stands for those three (e.g. ``all,shorten:back_left=0.25``), repeats dropped; or a sequence
    of names, for damages whose text form has commas of its own."""
    if morphology is None:
        return None
    if not isinstance(morphology, str):
        return tuple(morphology)
    names: list[str] = []
    for m in (m.strip() for m in morphology.split(",")):
        if m == "all":
            names.extend(ALL_MORPHOLOGIES)
        elif m:
            names.append(m)
    return tuple(dict.fromkeys(names))  # repeats dropped, first place kept


def evaluate_policy_file(
    path: str | Path,
    task_name: str,
    episodes: int = 100,
    seed: int = 0,
    morphology: str | Sequence[str] | None = None,
    backend: str = "process",
    workers: int | None = None,
    max_steps: int | None = None,
    solved_distance: float = 100.0,
    solved_window: int = 50,
    knobs: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the episodes and return the report (see :func:`write_report` for the files); ``progress``
    shows a bar of finished episodes on stderr.

    ``max_steps``: policy steps per episode at most (for the quadrupeds also beyond the env's default of
    1,000 env steps). ``knobs``: :class:`~wann_ros.sim.knobs.SimKnobs` fields for the quadruped tasks, e.g.
    ``{"motor_strength": [0.5, 1.0]}`` (a robustness check; the paper's tables use none)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no policy file at {path}")
    if task_name not in TASKS:
        raise ValueError(f"unknown task {task_name!r}; available: {', '.join(sorted(TASKS))}")
    runner_args: dict[str, Any] = {} if max_steps is None else {"max_steps": max_steps}
    has_distance = TASKS[task_name].runner_args.get("fitness") == "distance"
    if has_distance:
        runner_args |= {"solved_distance": solved_distance, "solved_window": solved_window}
    env_kwargs = env_kwargs_for_policy(task_name, path)
    if max_steps is not None and task_name in QUADRUPED_TASKS:  # longer episodes than the env's default too
        env_kwargs["max_steps"] = max_steps + (ANT_BURN_IN if task_name == "ant" else 0)
    if knobs:
        if task_name not in QUADRUPED_TASKS:
            raise ValueError(f"knobs apply to the quadruped tasks {QUADRUPED_TASKS}, not {task_name!r}")
        from wann_ros.sim.knobs import SimKnobs

        env_kwargs["knobs"] = SimKnobs.from_mapping(knobs)
    task = make_task(
        task_name,
        "training.harness:policy_from_file",
        {"path": str(path)},
        morphologies=morphologies_for(task_name, morphology),
        runner_args=runner_args,
        env_kwargs=env_kwargs,
    )
    check_policy_fits_task(task, str(path))
    engine = make_backend(backend, task, workers)
    try:
        evaluator = Evaluator(task, engine, episodes, seed, stream=EVAL_STREAM)
        jobs = evaluator.jobs(1, 0)
        with episode_bar(len(jobs), path.name, progress) as bar:
            result = evaluator.evaluate([None], generation=0, done=bar.update)
    finally:
        engine.close()
    names = task.morphologies or ("default",)
    seeds = {(j.morphology, j.episode): j.seed for j in jobs}
    summary, rows = {}, []
    for m, name in enumerate(names):
        f = result.episode_fitness[0, m]
        entry = {
            "episodes": episodes,
            "mean": float(f.mean()),
            "std": float(f.std()),
            "min": float(f.min()),
            "max": float(f.max()),
        }
        if "distance_m" in result.info:
            metres = result.info["distance_m"][0, m]
            entry |= {"distance_m_mean": float(metres.mean()), "distance_m_std": float(metres.std())}
        if "solved" in result.info:
            entry["solved_rate"] = float(np.mean(result.info["solved"][0, m]))
            entry["solved"] = entry["solved_rate"] >= 0.5
        if "fell" in result.info:
            entry["fell_rate"] = float(np.mean(result.info["fell"][0, m]))
            entry["down_mean"] = float(np.mean(result.info["down"][0, m]))
        summary[name] = entry
        for e in range(episodes):
            row = {"morphology": name, "episode": e, "seed": seeds[(m, e)], "fitness": float(f[e])}
            if "distance_m" in result.info:
                row["distance_m"] = float(result.info["distance_m"][0, m, e])
            for key in ("steps", "solved", "backstep", "fell"):
                if key in result.info:
                    row[key] = int(result.info[key][0, m, e])
            if "down" in result.info:
                row["down"] = round(float(result.info["down"][0, m, e]), 4)
            rows.append(row)
    return {
        "policy": str(path),
        "task": task_name,
        "seed": seed,
        "episodes": episodes,
        "knobs": dict(knobs or {}),
        "fitness": TASKS[task_name].runner_args.get("fitness", "reward"),
        "solved_distance": solved_distance if has_distance else None,
        "solved_window": solved_window if has_distance else None,
        "morphologies": summary,
        "rows": rows,
    }


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"{report['policy']} on {report['task']} ({report['episodes']} episodes, seed {report['seed']}, "
        f"fitness = {report['fitness']})" + (f", knobs {report['knobs']}" if report.get("knobs") else "")
    ]
    for name, s in report["morphologies"].items():
        solved = ""
        if "solved_rate" in s:
            solved = f"  solved in {s['solved_rate']:.0%} -> {'SOLVED' if s['solved'] else 'not solved'}"
        spread = f"[{s['min']:.3f}, {s['max']:.3f}]"
        if "distance_m_mean" in s:
            spread += f"  ({s['distance_m_mean']:.3f} ± {s['distance_m_std']:.3f} m)"
        if "fell_rate" in s:
            solved += f", fell in {s['fell_rate']:.0%}, down on {s['down_mean']:.0%} of steps"
        lines.append(f"  {name:12s} {s['mean']:10.3f} ± {s['std']:.3f}  {spread}{solved}")
    return "\n".join(lines)


def write_report(report: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """``eval.json`` (summary + every episode) and ``eval.csv`` (one row per episode) in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out / "eval.json", out / "eval.csv"
    json_path.write_text(json.dumps(report, indent=2))
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, list(report["rows"][0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(report["rows"])
    return json_path, csv_path
