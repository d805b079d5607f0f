"""Pictures of a WANN: the network diagram (layered by depth), the training curve and the return against
the shared weight (matplotlib, Agg)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from training.wann.genome import Genome
from wann_ros.policies.activations import activation_name


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def network_layout(g: Genome) -> dict[int, tuple[float, float]]:
    """(x, y) of every node: x = depth (outputs in the last column), y spread evenly in each column."""
    depth = g.depths()
    last = 1 + max((depth[int(h)] for h in g.hidden_ids), default=0)
    for o in g.output_ids.tolist():
        depth[o] = last
    columns: dict[int, list[int]] = {}
    for node in g.node_ids().tolist():
        columns.setdefault(depth[node], []).append(node)
    pos = {}
    for x, nodes in columns.items():
        ys = np.linspace(1.0, 0.0, len(nodes) + 2)[1:-1]
        pos.update({n: (float(x), float(y)) for n, y in zip(nodes, ys, strict=True)})
    return pos


def draw_network(
    g: Genome,
    path: str | Path,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    weights: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """Save the enabled network as a PNG: bias/inputs left (named), hidden nodes by activation, outputs right.

    With per-edge ``weights`` (one per enabled connection) edge colour shows the sign, width the size.
    """
    plt = _pyplot()
    names = ["bias", *(input_names or [f"in{i}" for i in range(g.n_in)])]
    if len(names) != g.n_sources:
        raise ValueError(f"{g.n_in} inputs but {len(names) - 1} input names")
    outs = list(output_names or [f"out{i}" for i in range(g.n_out)])
    if len(outs) != g.n_out:
        raise ValueError(f"{g.n_out} outputs but {len(outs)} output names")
    pos = network_layout(g)
    on = np.flatnonzero(g.enabled)
    w = np.ones(on.size) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != on.shape:
        raise ValueError(f"expected {on.size} edge weights, got shape {w.shape}")
    n_cols = 1 + int(max(x for x, _ in pos.values()))
    fig, ax = plt.subplots(figsize=(2.2 * n_cols + 2.5, 0.45 * max(g.n_sources, 8) + 1.5))
    scale = np.abs(w).max(initial=1.0)
    for k, wk in zip(on.tolist(), w.tolist(), strict=True):
        (x0, y0), (x1, y1) = pos[int(g.src[k])], pos[int(g.dst[k])]
        colour = "tab:gray" if weights is None else ("tab:blue" if wk >= 0 else "tab:red")
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "color": colour,
                "lw": 0.5 + 2.0 * abs(wk) / scale,
                "alpha": 0.6,
            },
        )
    labels = dict(enumerate(names))
    for o, name, a in zip(g.output_ids.tolist(), outs, g.out_act.tolist(), strict=True):
        labels[o] = f"{name}\n({activation_name(a)})"
    for h, a in zip(g.hidden_ids.tolist(), g.hidden_act.tolist(), strict=True):
        labels[h] = activation_name(a)
    kind_colour = {"source": "#cfe8ff", "hidden": "#fff2c6", "output": "#d7f5d0"}
    for node, (x, y) in pos.items():
        kind = "source" if node < g.n_sources else "output" if node in g.output_ids else "hidden"
        ax.text(
            x, y, labels[node], ha="center", va="center", fontsize=8,
            bbox={"boxstyle": "round", "fc": kind_colour[kind], "ec": "k", "lw": 0.5},
        )  # fmt: skip
    ax.set_xlim(-0.6, n_cols - 0.4)
    ax.set_ylim(-0.05, 1.05)
    ax.axis("off")
    ax.set_title(title or f"{g.hidden_ids.size} hidden nodes, {g.n_connections} connections", fontsize=10)
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_training_curve(history_csv: str | Path, path: str | Path, title: str = "WANN search") -> Path:
    """Plot the per-generation columns of a WANN history CSV (see :data:`HISTORY_COLUMNS`) to a PNG."""
    plt = _pyplot()
    with open(history_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{history_csv} has no generations")
    missing = [c for c in HISTORY_COLUMNS if c not in rows[0]]
    if missing:
        raise ValueError(f"{history_csv} lacks the columns {missing}")
    col = {c: np.array([float(r[c]) for r in rows]) for c in HISTORY_COLUMNS}
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=(3, 1))
    gen = col["generation"]
    ax.plot(gen, col["best"], label="best so far (mean over weights, confirmed)", lw=2)
    ax.plot(gen, col["elite_mean"], label="best of generation (mean over weights)", lw=1)
    ax.plot(gen, col["elite_peak"], label="best of generation (best weight)", lw=1, ls=":")
    ax.plot(gen, col["median_mean"], label="population median", lw=1, ls="--")
    ax.set_ylabel("return")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title)
    ax2.plot(gen, col["median_connections"], label="median connections", color="tab:gray")
    ax2.plot(gen, col["median_hidden"], label="median hidden nodes", color="tab:brown")
    ax2.set_xlabel("generation")
    ax2.legend(fontsize=8, loc="upper left")
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_weight_sweep(
    weights: np.ndarray,
    mean: np.ndarray,
    path: str | Path,
    chosen: float,
    training_weights: Sequence[float] = (),
    title: str = "return vs shared weight",
) -> Path:
    """Mean return against the shared weight, the chosen weight and the search's weights marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(weights, mean, lw=1, label="mean return")
    ax.axvline(chosen, color="tab:red", lw=1, ls="--", label=f"tuned shared weight {chosen:+.2f}")
    for k, w in enumerate(training_weights):
        ax.axvline(w, color="tab:gray", lw=0.8, ls=":", label="search's weights" if k == 0 else None)
    ax.set_xlabel("shared weight")
    ax.set_ylabel("return")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


HISTORY_COLUMNS = (
    "generation",
    "elite_mean",
    "elite_peak",
    "median_mean",
    "best",
    "median_connections",
    "median_hidden",
)
