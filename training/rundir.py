"""Run directories: metadata, the per-generation CSV log, checkpoint, best policy and plots.

Layout of ``runs/<algorithm>-<task>-<YYYYmmdd-HHMMSS>-s<seed>/``:
``run.json`` (algorithm, task, options, package version, git commit, command), ``config.yaml``
(the resolved config, reusable with ``--config``), ``log.csv``, ``checkpoint.npz``, ``best.wrp``
(the best policy so far, native format), ``curves.png``; with ``--keep-bests`` also
``bests/gen-NNNNN.wrp``, every best as it was when found (NNNNN: its generation); with
``--keep-checkpoints K`` also ``checkpoints/gen-NNNNN.npz``, the checkpoint after every K-th generation.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

import wann_ros
from training.checkpoint import atomic_write

LOG_COLUMNS = (
    "generation",
    "wall_s",
    "cpu_s",
    "evaluations",
    "steps",
    "best",
    "mean",
    "median",
    "best_so_far",
    "complexity",
)


def git_commit() -> str:
    """The commit of the source tree this package runs from (``+dirty`` if modified), or ``unknown``."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def default_run_dir(algorithm: str, task: str, seed: int, root: str | Path = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{algorithm}-{task}-{stamp}-s{seed}"


class RunDir:
    """One run's directory. ``create`` starts a new run, ``open`` an existing one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.npz"

    @property
    def log_csv(self) -> Path:
        return self.path / "log.csv"

    @property
    def best_policy(self) -> Path:
        return self.path / "best.wrp"

    def kept_best(self, generation: int) -> Path:
        """Where ``--keep-bests`` keeps the best found at ``generation`` (the directory is created)."""
        folder = self.path / "bests"
        folder.mkdir(exist_ok=True)
        return folder / f"gen-{generation:05d}.wrp"

    def kept_checkpoint(self, generation: int) -> Path:
        """Where ``--keep-checkpoints`` keeps the checkpoint after ``generation`` generations."""
        folder = self.path / "checkpoints"
        folder.mkdir(exist_ok=True)
        return folder / f"gen-{generation:05d}.npz"

    def kept_checkpoints(self) -> dict[int, Path]:
        """The checkpoints ``--keep-checkpoints`` kept, by generation."""
        found = {}
        for path in sorted((self.path / "checkpoints").glob("gen-*.npz")):
            try:
                found[int(path.stem.removeprefix("gen-"))] = path
            except ValueError:
                continue
        return found

    @classmethod
    def create(cls, path: str | Path, meta: dict[str, Any], config: dict[str, Any]) -> RunDir:
        """Make the directory and write ``run.json``, ``config.yaml`` and an empty log."""
        run = cls(path)
        if run.path.exists() and any(run.path.iterdir()):
            raise FileExistsError(f"run directory {run.path} already exists and is not empty")
        run.path.mkdir(parents=True, exist_ok=True)
        meta = {
            **meta,
            "config": config,
            "version": wann_ros.__version__,
            "git_commit": git_commit(),
            "python": sys.version.split()[0],
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        run._write_meta(meta)
        run.write_log([])
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        run = cls(path)
        if not (run.path / "run.json").is_file():
            raise FileNotFoundError(f"{run.path} is not a run directory (no run.json)")
        return run

    def meta(self) -> dict[str, Any]:
        return json.loads((self.path / "run.json").read_text())

    def set_generations(self, generations: int) -> None:
        """Record a new total of generations in ``run.json`` and ``config.yaml`` (resume --generations)."""
        meta = self.meta()
        meta["config"]["generations"] = generations
        self._write_meta(meta)

    def _write_meta(self, meta: dict[str, Any]) -> None:
        """``run.json`` and its config as ``config.yaml`` (atomically)."""
        atomic_write(self.path / "run.json", lambda f: f.write(json.dumps(meta, indent=2).encode()))
        config_yaml = yaml.safe_dump(meta["config"], sort_keys=False).encode()
        atomic_write(self.path / "config.yaml", lambda f: f.write(config_yaml))

    def write_log(self, rows: list[dict[str, Any]]) -> None:
        """Replace ``log.csv`` with ``rows`` (atomically; used at creation and on resume)."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, LOG_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(self.log_csv, lambda f: f.write(buf.getvalue().encode()))

    def append_log(self, row: dict[str, Any]) -> None:
        with open(self.log_csv, "a", newline="") as f:
            csv.DictWriter(f, LOG_COLUMNS, lineterminator="\n").writerow(row)


def read_log(path: str | Path) -> dict[str, list[float]]:
    """Columns of a ``log.csv`` as floats; a half-written last line (a run still writing) is skipped."""
    columns: dict[str, list[float]] = {c: [] for c in LOG_COLUMNS}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                values = {c: float(row[c]) for c in LOG_COLUMNS}
            except (TypeError, ValueError, KeyError):
                continue
            if not math.isnan(values["generation"]):
                for c in LOG_COLUMNS:
                    columns[c].append(values[c])
    return columns
