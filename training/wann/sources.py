"""Where a WANN genome comes from: a run directory, a WANN policy file or a reference export.

A policy file kept by ``--keep-bests`` (``RUN/bests/gen-NNNNN.wrp``) also brings its run's history up to
that generation, so ``wann-table`` draws the curve that led to it.

Used by ``wann-table`` (its SOURCE) and by the search's ``init_network``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from training.checkpoint import load_checkpoint
from training.wann.genome import Genome
from training.wann.policy import from_policy, swingup_spec
from training.wann.swingup_eval import N_INPUTS, N_OUTPUTS


def load_source(source: str | Path) -> tuple[Genome, np.ndarray | None, dict[str, Any]]:
    """Genome, tuned weights (or ``None``) and what is known about where they came from."""
    path = Path(source)
    if path.is_dir():
        state = _search_state(path)
        if state["best"] is None:
            raise ValueError(f"{path}: the search has not completed a generation yet")
        info = {
            "run": str(path),
            "generation": int(state["wann"]["generation"]),
            "search_score": float(state["best_fitness"]),
            "search_weight": float(state["best"]["weight"]),
            "history": state["history"],
        }
        return Genome.from_dict(state["best"]["genome"]), None, info
    if not path.is_file():
        raise ValueError(f"{path}: no such run directory or policy file")
    from wann_ros.formats import PolicyFileError, load_policy
    from wann_ros.formats.wann_reference import read_wann_reference

    try:
        policy = load_policy(path)
    except PolicyFileError as exc:
        try:  # a network exported by the reference code: its topology, at a shared weight
            policy = read_wann_reference(path, N_INPUTS, N_OUTPUTS, swingup_spec(), shared_weight=1.0)
        except PolicyFileError:
            raise exc from None
        return from_policy(policy)[0], None, {"reference_net": str(path)}
    if getattr(policy, "kind", None) != "wann":
        raise ValueError(f"{path} holds a {getattr(policy, 'kind', '?')!r} policy, not a WANN")
    genome, tuned = from_policy(policy)
    generation = policy.spec.provenance.generation
    info: dict[str, Any] = {
        "policy": str(path),
        "provenance": policy.spec.provenance.to_dict(),
        "generation": generation,
    }
    run = path.parent.parent
    if path.parent.name == "bests" and (run / "checkpoint.npz").is_file() and generation is not None:
        # a best kept by --keep-bests: its run's curve up to the generation it was found at
        history = _search_state(run)["history"]
        info.update(run=str(run), history=[h for h in history if h["generation"] <= generation])
    return genome, tuned, info


def _search_state(run: Path) -> dict[str, Any]:
    ck = run / "checkpoint.npz"
    if not ck.is_file():
        raise ValueError(f"{run} is not a WANN run directory (no checkpoint.npz)")
    state = load_checkpoint(ck)["search"]
    if not isinstance(state, dict) or "wann" not in state:
        raise ValueError(f"{run} holds a checkpoint of another algorithm, not of a WANN search")
    return state
