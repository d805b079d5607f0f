"""Atomic, pickle-free checkpoints: one ``.npz`` holding the arrays plus a JSON description.

A state tree is nested dicts/lists whose leaves are numpy arrays, numbers, strings, bools or
``None``. Arrays go into the archive as ``a0, a1, ...``; everything else, with ``{"__array__": "aN"}``
placeholders, is JSON in the ``__tree__`` entry (a unicode array, so ``allow_pickle=False`` loads it).
Writing goes to a temporary file in the same directory, which is fsynced and then ``os.replace``d over
the old checkpoint (and the directory fsynced): a reader, or a resume after ``kill -9``, sees either
the old checkpoint or the new one, never a torn file.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, torn or of an unknown format."""


def _split(tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(tree, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = tree
        return {"__array__": key}
    if isinstance(tree, dict):
        for k in tree:
            if not isinstance(k, str):
                raise TypeError(f"checkpoint keys must be strings, got {k!r}")
        return {k: _split(v, arrays) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_split(v, arrays) for v in tree]
    if isinstance(tree, np.generic):
        return tree.item()
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    raise TypeError(f"cannot checkpoint a value of type {type(tree).__name__} without pickle")


def _join(tree: Any, arrays: Any) -> Any:
    if isinstance(tree, dict):
        if set(tree) == {"__array__"}:
            return arrays[tree["__array__"]]
        return {k: _join(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_join(v, arrays) for v in tree]
    return tree


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, fsync it, and move it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (see the module docstring for what it may hold) atomically to ``path``."""
    arrays: dict[str, np.ndarray] = {}
    tree = _split({"format": FORMAT, "state": state}, arrays)
    text = json.dumps(tree, allow_nan=True)

    def write(f: Any) -> None:
        np.savez(f, __tree__=np.array(text), **arrays)

    atomic_write(path, write)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (never unpickles anything)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            tree = json.loads(str(archive["__tree__"]))
            arrays = {k: archive[k] for k in archive.files if k != "__tree__"}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint: {exc}") from exc
    found = tree.get("format") if isinstance(tree, dict) else None
    if found != FORMAT:
        raise CheckpointError(f"{path}: unknown checkpoint format {found!r} (expected {FORMAT})")
    return _join(tree, arrays)["state"]
