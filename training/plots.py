"""Training-curve PNGs from a run's ``log.csv`` (works while the run is still writing it)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from training.rundir import RunDir, read_log


def plot_run(run_dir: str | Path) -> Path:
    """Write ``curves.png`` (fitness and complexity per generation) into the run directory."""
    run = RunDir.open(run_dir)
    log = read_log(run.log_csv)
    if not log["generation"]:
        raise ValueError(f"{run.path}: the log has no completed generation yet")
    meta = run.meta()
    fig = Figure(figsize=(9, 6.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax, ax_c = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    gen = [g + 1 for g in log["generation"]]
    for key, style in (("best", "-"), ("median", "--"), ("mean", ":"), ("best_so_far", "-")):
        ax.plot(gen, log[key], style, label=key.replace("_", " "), lw=2 if key == "best_so_far" else 1)
    ax.set_ylabel("fitness")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    ax.set_title(f"{meta['algorithm']} on {meta['task']}, seed {meta['options']['seed']} ({run.path.name})")
    ax_c.plot(gen, log["complexity"], color="k")
    ax_c.set_ylabel("complexity")
    ax_c.set_xlabel("generation")
    ax_c.grid(alpha=0.3)
    out = run.path / "curves.png"
    fig.savefig(out, dpi=100)
    return out
