"""Training-curve PNGs from a run's ``log.csv`` (works while the run is still writing it)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from training.rundir import RunDir, read_log


def plot_run(run_dir: str | Path) -> Path:
    """Write ``curves.png`` into the run directory: fitness, the best's complexity where it changes
    (a fixed-size genome, as Hebbian or ES, has no such panel) and wall/CPU seconds per generation."""
    run = RunDir.open(run_dir)
    log = read_log(run.log_csv)
    if not log["generation"]:
        raise ValueError(f"{run.path}: the log has no completed generation yet")
    meta = run.meta()
    show_complexity = len(set(log["complexity"])) > 1
    ratios = (3, 1, 1) if show_complexity else (3, 1)
    fig = Figure(figsize=(9, 8 if show_complexity else 6.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(ratios), 1, sharex=True, height_ratios=ratios)
    ax, ax_t = axes[0], axes[-1]
    gen = [g + 1 for g in log["generation"]]
    for key, style in (("best", "-"), ("median", "--"), ("mean", ":"), ("best_so_far", "-")):
        ax.plot(gen, log[key], style, label=key.replace("_", " "), lw=2 if key == "best_so_far" else 1)
    ax.set_ylabel("fitness")
    ax.legend(loc="lower right")
    ax.set_title(f"{meta['algorithm']} on {meta['task']}, seed {meta['options']['seed']} ({run.path.name})")
    if show_complexity:
        axes[1].plot(gen, log["complexity"], color="k")
        axes[1].set_ylabel("complexity")
    ax_t.plot(gen, log["wall_s"], color="tab:blue", label="wall")
    ax_t.plot(gen, log["cpu_s"], color="tab:gray", label="CPU")
    ax_t.set_ylabel("s / generation")
    ax_t.set_ylim(bottom=0)
    ax_t.legend(loc="upper left")
    ax_t.set_xlabel("generation")
    for a in axes:
        a.grid(alpha=0.3)
    out = run.path / "curves.png"
    fig.savefig(out, dpi=100)
    return out
