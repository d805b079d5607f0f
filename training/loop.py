"""The generation loop shared by every algorithm: ask, evaluate, tell, log, checkpoint, save the best.

Resuming loads the checkpoint (search state, log, best-so-far) and carries on; since every episode
seed is derived from the run seed and the generation, and the search state holds its RNG, a resumed
run ends exactly where an uninterrupted one would. SIGINT/SIGTERM stop the loop at the next safe
point: the state of the last completed generation is checkpointed, then the loop returns.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from training.algorithm import Search
from training.backends import make_backend
from training.checkpoint import load_checkpoint, save_checkpoint
from training.evaluation import Evaluator
from training.interrupt import Interrupted, check_stop, stop_on_signals
from training.rundir import RunDir
from training.strategies.base import nan_as_worst


@dataclass
class RunOptions:
    """How a run executes (none of this changes its results)."""

    seed: int
    backend: str = "serial"
    workers: int | None = None
    ray_address: str | None = None
    checkpoint_every: int = 1
    progress: bool = True  # tqdm bar on stderr (the one-line log per generation is always printed)
    keep_bests: bool = False  # also keep every new best as bests/gen-NNNNN.wrp (not only the last)
    keep_checkpoints: int = 0  # also keep every K-th generation's checkpoint as checkpoints/gen-NNNNN.npz

    def __post_init__(self) -> None:
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")
        if self.keep_checkpoints < 0:
            raise ValueError(
                f"keep_checkpoints must be >= 0 (0: only the last checkpoint), got {self.keep_checkpoints}"
            )
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")


@dataclass
class RunSummary:
    generations: int
    best_fitness: float
    best_generation: int | None
    interrupted_by: int | None  # signal number when stopped early


def _one_line(row: dict[str, Any], total: int, best_generation: int | None) -> str:
    return (
        f"gen {row['generation'] + 1}/{total} | best {row['best']:.4g} mean {row['mean']:.4g} "
        f"median {row['median']:.4g} | best so far {row['best_so_far']:.4g} (gen {best_generation}) | "
        f"{row['wall_s']:.2f} s, {row['cpu_s']:.2f} cpu s | {row['evaluations']} episodes"
    )


class BestPolicyWriter:
    """Builds the best candidate into a policy and saves it with provenance (native format)."""

    def __init__(self, search: Search, run: RunDir, meta: dict[str, Any], keep_bests: bool = False) -> None:
        self.search, self.run, self.meta, self.keep_bests = search, run, meta, keep_bests
        self._env: Any = None

    def save(self, candidate: Any, fitness: float, generation: int) -> None:
        from wann_ros.formats import save_policy
        from wann_ros.policies.spec import Provenance

        if self._env is None:
            self._env = self.search.task.make_env(0)
        policy = self.search.task.build_policy(candidate, self._env)
        provenance = Provenance(
            task=self.meta["task"],
            seed=self.meta["options"]["seed"],
            generation=generation,
            score=float(fitness),
            command=self.meta["command"],
            extra={
                "algorithm": self.meta["algorithm"],
                "run_dir": str(self.run.path),
                "git_commit": self.meta.get("git_commit", "unknown"),
            },
        )
        policy.spec = dataclasses.replace(policy.spec, provenance=provenance)
        save_policy(policy, self.run.best_policy)
        if self.keep_bests:
            save_policy(policy, self.run.kept_best(generation))

    def close(self) -> None:
        if self._env is not None:
            self._env.close()


def run_search(search: Search, run: RunDir, options: RunOptions, resume: bool = False) -> RunSummary:
    """Run ``search`` to ``search.generations`` in ``run`` (continuing from its checkpoint if ``resume``)."""
    rows: list[dict[str, Any]] = []
    best_generation: int | None = None
    if resume:  # the log is rewritten from the checkpoint: rows of a lost generation go
        if run.checkpoint.exists():
            ck = load_checkpoint(run.checkpoint)
            search.load_state_dict(ck["search"])
            rows, best_generation = list(ck["log"]), ck["best_generation"]
        run.write_log(rows)
    meta = run.meta()
    writer = BestPolicyWriter(search, run, meta, options.keep_bests)
    backend = make_backend(options.backend, search.task, options.workers, options.ray_address)
    evaluator = Evaluator(search.task, backend, search.episodes, options.seed)
    in_process = getattr(backend, "in_process", False)  # else worker CPU is added from the episodes
    state = {"search": search.state_dict(), "log": list(rows), "best_generation": best_generation}
    saved = {"checkpoint": True, "policy": best_generation is None or run.best_policy.exists()}
    bar = tqdm(
        total=search.generations,
        initial=search.generation,
        unit="gen",
        disable=not options.progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    interrupted_by, reason = None, ""
    try:
        with stop_on_signals():
            while search.generation < search.generations:
                check_stop()
                gen = search.generation
                wall0, cpu0 = time.perf_counter(), time.process_time()
                candidates = search.ask()
                result = evaluator.evaluate(candidates, gen, search.seed_keys(len(candidates)))
                f = nan_as_worst(result.fitness)
                complexity = search.complexity(candidates[int(np.argmax(f))])
                search.tell(result)
                best, best_fitness = search.best()
                if best is not None and best_fitness > (rows[-1]["best_so_far"] if rows else -np.inf):
                    best_generation, saved["policy"] = gen, False
                row = {
                    "generation": gen,
                    "wall_s": round(time.perf_counter() - wall0, 6),
                    "cpu_s": round(time.process_time() - cpu0 + (0.0 if in_process else result.cpu_s), 6),
                    "evaluations": result.evaluations,
                    "steps": result.steps,
                    "best": float(np.max(f)),
                    "mean": float(np.mean(f)),
                    "median": float(np.median(f)),
                    "best_so_far": best_fitness,
                    "complexity": float(complexity),
                }
                rows.append(row)
                run.append_log(row)
                line = _one_line(row, search.generations, best_generation)
                if options.progress:
                    bar.write(line, file=sys.stdout)
                    bar.update(1)
                else:
                    print(line, flush=True)
                state = {"search": search.state_dict(), "log": list(rows), "best_generation": best_generation}
                saved["checkpoint"] = False
                done = search.generation >= search.generations
                kept = options.keep_checkpoints > 0 and search.generation % options.keep_checkpoints == 0
                if done or kept or search.generation % options.checkpoint_every == 0:
                    _persist(run, state, saved, writer, search)
                if kept:
                    shutil.copyfile(run.checkpoint, run.kept_checkpoint(search.generation))
    except Interrupted as exc:
        interrupted_by, reason = exc.signum, str(exc)
    finally:
        bar.close()
        backend.close()
    if interrupted_by is not None:
        _persist(run, state, saved, writer, search)
        print(f"{reason}; checkpoint at generation {len(state['log'])} in {run.path}", file=sys.stderr)
    writer.close()
    best_fitness = rows[-1]["best_so_far"] if rows else -np.inf
    return RunSummary(len(rows), float(best_fitness), best_generation, interrupted_by)


def _persist(
    run: RunDir, state: dict[str, Any], saved: dict[str, bool], writer: BestPolicyWriter, search: Search
) -> None:
    """Write (when it improved) the best policy of the last completed generation, then the checkpoint.

    In this order a kill between the two repeats the generation on resume, which rewrites the same
    best policy, instead of leaving a checkpoint whose best policy was never written.
    """
    if not saved["policy"] and state["best_generation"] is not None:
        best, fitness = search.best()
        writer.save(best, fitness, state["best_generation"])
        saved["policy"] = True
    if not saved["checkpoint"]:
        save_checkpoint(run.checkpoint, state)
        saved["checkpoint"] = True
