"""``python -m training robustness``: one policy scored under each sim-to-real knob in turn.

Every setting runs the same seeded episodes as the row without knobs, so the table shows what each
real-world imperfection (latency, weak motors, other masses, friction, sensor noise, pushes, slopes)
costs the policy before it goes on hardware. Writes ``robustness.md``, ``.csv``, ``.json`` and ``.png``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from training.harness import evaluate_policy_file
from wann_ros.sim.knobs import SimKnobs

# One control step of the Ant is 16.5 ms; its 182 kg body gains 0.18 m/s from a 2,000 N, one-step push.
DEFAULT_SWEEP: dict[str, dict[str, Any]] = {
    "none": {},
    "latency 1 step": {"latency_steps": 1},
    "latency 2 steps": {"latency_steps": 2},
    "latency 3 steps": {"latency_steps": 3},
    "motors at 80 %": {"motor_strength": [0.8, 0.8]},
    "motors at 60 %": {"motor_strength": [0.6, 0.6]},
    "link masses x0.8-1.2": {"mass_scale": [0.8, 1.2]},
    "ground friction 0.5": {"ground_friction": [0.5, 0.5]},
    "ground friction 1.2": {"ground_friction": [1.2, 1.2]},
    "joint noise 0.02 rad, 0.5 rad/s": {"joint_pos_noise": 0.02, "joint_vel_noise": 0.5},
    "IMU noise 0.05": {"imu_noise": 0.05},
    "push 2,000 N / 200 steps": {"push_force": 2000.0},
    "slope up to 0.1 rad": {"gravity_tilt": 0.1},
}


# The A1 (12.46 kg, 20 ms control steps) gains the same 0.18 m/s from a 110 N one-step push.
A1_PUSH = ("push 110 N / 200 steps", {"push_force": 110.0})


def default_sweep(task: str) -> dict[str, dict[str, Any]]:
    """The built-in sweep for ``task``: :data:`DEFAULT_SWEEP`, its push scaled to the A1's mass."""
    if task != "a1":
        return DEFAULT_SWEEP
    return dict(A1_PUSH if "push_force" in kn else (label, kn) for label, kn in DEFAULT_SWEEP.items())


def read_sweep(path: str | Path) -> dict[str, dict[str, Any]]:
    """A YAML file mapping a label to a knobs mapping, e.g. ``{none: {}, late: {latency_steps: 2}}``."""
    try:
        sweep = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not YAML: {exc}") from exc
    if not isinstance(sweep, dict) or not sweep:
        raise ValueError(f"{path}: a sweep is a non-empty mapping of label -> knobs mapping")
    return {str(label): knobs or {} for label, knobs in sweep.items()}


def check_sweep(sweep: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse a bad setting by its label before any episode runs."""
    for label, knobs in sweep.items():
        try:
            SimKnobs.from_mapping(knobs)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"sweep setting {label!r}: {exc}") from exc


def run_sweep(
    policy: str | Path,
    task: str,
    sweep: Mapping[str, Mapping[str, Any]],
    **evaluate_args: Any,
) -> dict[str, dict[str, Any]]:
    """``evaluate_policy_file`` once per setting (same episodes and seeds); label -> its report."""
    check_sweep(sweep)
    reports = {}
    for label, knobs in sweep.items():
        report = evaluate_policy_file(policy, task, knobs=dict(knobs), **evaluate_args)
        reports[label] = report
        cells = ", ".join(f"{m} {s['mean']:.1f} ± {s['std']:.1f}" for m, s in report["morphologies"].items())
        print(f"{label:34s} {cells}", flush=True)
    return reports


def _cell(s: Mapping[str, Any]) -> str:
    text = f"{s['mean']:.1f} ± {s['std']:.1f}"
    if "solved_rate" in s:
        text += f" ({s['solved_rate']:.0%} / {s['fell_rate']:.0%})"
    return text


def table_markdown(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """One row per setting, one column per morphology: mean ± std (solved % / fell %)."""
    first = next(iter(reports.values()))
    names = list(first["morphologies"])
    lines = [
        f"`{Path(first['policy']).name}` on {first['task']}, {first['episodes']} episodes per morphology, "
        f"seed {first['seed']}; {first['fitness']}, mean ± std (solved / fell)",
        "",
        "| setting | knobs | " + " | ".join(names) + " |",
        "|---|---|" + "---:|" * len(names),
    ]
    for label, report in reports.items():
        knobs = f"`{json.dumps(report['knobs'])}`" if report["knobs"] else "—"
        cells = " | ".join(_cell(report["morphologies"][m]) for m in names)
        lines.append(f"| {label} | {knobs} | {cells} |")
    return "\n".join(lines) + "\n"


def plot_sweep(reports: Mapping[str, Mapping[str, Any]], out: str | Path) -> Path:
    """Horizontal bars (mean ± std) per setting, one panel per morphology, the first setting's mean dashed
    (the built-in sweep starts without knobs)."""
    labels = list(reports)
    first = reports[labels[0]]
    names = list(first["morphologies"])
    fig = Figure(figsize=(4 + 3.2 * len(names), 1.2 + 0.38 * len(labels)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(names), sharey=True, squeeze=False)[0]
    rows = range(len(labels))
    for ax, name in zip(axes, names, strict=True):
        stats = [reports[label]["morphologies"][name] for label in labels]
        ax.barh(rows, [s["mean"] for s in stats], xerr=[s["std"] for s in stats], color="tab:blue", alpha=0.7)
        ax.axvline(stats[0]["mean"], color="k", ls="--", lw=1)
        ax.set_title(name)
        ax.set_xlabel(first["fitness"])
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(list(rows), labels)
    axes[0].invert_yaxis()
    fig.suptitle(f"{Path(first['policy']).name}: robustness to sim-to-real knobs")
    path = Path(out)
    fig.savefig(path, dpi=100)
    return path


def write_sweep(reports: Mapping[str, Mapping[str, Any]], out_dir: str | Path) -> list[Path]:
    """``robustness.md``, ``.csv`` (a row per setting and morphology), ``.json`` (every episode), ``.png``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, table, js = out / "robustness.md", out / "robustness.csv", out / "robustness.json"
    md.write_text(table_markdown(reports))
    js.write_text(json.dumps(reports, indent=2))
    fields = ["setting", "knobs", "morphology", "episodes", "mean", "std", "solved_rate", "fell_rate"]
    with open(table, "w", newline="") as f:
        writer = csv.DictWriter(f, fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for label, report in reports.items():
            for name, s in report["morphologies"].items():
                knobs = json.dumps(report["knobs"])
                writer.writerow({"setting": label, "knobs": knobs, "morphology": name, **s})
    return [md, table, js, plot_sweep(reports, out / "robustness.png")]
