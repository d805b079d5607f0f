"""``python -m training chromatic-export RUN_DIR OUT``: a run's best or final policy as a file.

``--which best`` is the best candidate the run evaluated (the one in ``best.wrp``); ``--which final`` is
the ES mean under the controller's most likely colouring at the last checkpoint. ``OUT`` ending in
``.chroma`` is written with the bit-packed writer (chromatic structures only), anything else in the
native format. Provenance: task, seed, generation, training score, the run's command.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from training.checkpoint import load_checkpoint
from training.chromatic.config import ChromaticConfig
from training.chromatic.search import make_search
from training.chromatic.warm_start import describe
from training.config import from_dict
from training.rundir import RunDir
from wann_ros.policies.spec import Provenance

WHICH = ("best", "final")


def export_run(run_dir: str | Path, out: str | Path, which: str = "best", dtype: str = "fp32") -> Path:
    """Write the ``which`` policy of a ``chromatic`` run to ``out``; returns ``out``."""
    if which not in WHICH:
        raise ValueError(f"which must be one of {WHICH}, got {which!r}")
    run = RunDir.open(run_dir)
    meta = run.meta()
    if meta.get("algorithm") != "chromatic":
        raise ValueError(f"{run.path} is a {meta.get('algorithm')!r} run, not a chromatic one")
    if not run.checkpoint.exists():
        raise FileNotFoundError(f"{run.path} has no checkpoint yet")
    config = from_dict(ChromaticConfig, meta["config"])
    search = make_search(config, meta["task"], meta["options"]["seed"])
    state = load_checkpoint(run.checkpoint)
    search.load_state_dict(state["search"])
    log = state["log"]
    if which == "best":
        candidate, score = search.best()
        generation = state["best_generation"]
    else:
        candidate, score, generation = search.final(), float(log[-1]["mean"]), len(log) - 1
    if candidate is None:
        raise ValueError(f"{run.path}: no generation completed yet")
    env = search.task.make_env(0)
    try:
        policy = search.task.build_policy(candidate, env)
    finally:
        env.close()
    provenance = Provenance(
        task=meta["task"],
        seed=meta["options"]["seed"],
        generation=int(generation),
        score=float(score),
        command=meta["command"],
        extra={
            "algorithm": "chromatic",
            "structure": config.structure,
            "which": which,
            "run_dir": str(run.path),
            "git_commit": meta.get("git_commit", "unknown"),
            **({"warm_start": describe(config)} if config.warm_start else {}),
        },
    )
    policy.spec = dataclasses.replace(policy.spec, provenance=provenance)
    out = Path(out)
    if out.suffix == ".chroma":
        from wann_ros.formats.chroma import save_chroma

        if config.structure not in ("learned", "random", "toeplitz"):
            raise ValueError(f"a {config.structure!r} network has no .chroma form; write a .wrp instead")
        save_chroma(policy, out, dtype)
    else:
        from wann_ros.formats import save_policy

        save_policy(policy, out)
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m training chromatic-export", description=__doc__)
    p.add_argument("run_dir", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--which", choices=WHICH, default="best")
    p.add_argument("--fp16", action="store_true", help="store the floats of a .chroma file as float16")
    args = p.parse_args(argv)
    path = export_run(args.run_dir, args.out, args.which, "fp16" if args.fp16 else "fp32")
    print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0
