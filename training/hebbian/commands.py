"""The ``python -m training hebbian-*`` commands."""

from __future__ import annotations

from collections.abc import Callable

from training.hebbian import bounded, checkpoints, export, progress, snapshot, studies, table

COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "hebbian-table": table.main,
    "hebbian-freeze": studies.freeze_main,
    "hebbian-lesion": studies.lesion_main,
    "hebbian-saturate": studies.saturate_main,
    "hebbian-damage": studies.damage_main,
    "hebbian-pca": studies.pca_main,
    "hebbian-bounded": bounded.main,
    "hebbian-export": export.main,
    "hebbian-progress": progress.main,
    "hebbian-checkpoints": checkpoints.main,
    "hebbian-snapshot": snapshot.main,
}
