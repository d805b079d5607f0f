"""Tasks: plain, picklable descriptions of what a candidate is evaluated on.

A :class:`Task` names a gymnasium env (``"module:EnvId"`` imports ``module`` first, so the env
registers itself in every worker), the morphologies to average over, a *policy builder* and an
*episode runner*, each as a ``"module:function"`` path plus keyword arguments:

* builder ``(candidate, env, **builder_args) -> Policy``: a search candidate (a flat parameter
  vector for ES; anything picklable for other searches) becomes a deployable policy. ``env`` is the
  task's env (the builder reads its observation/action layout from it).
* runner ``(policy, env, seed, **runner_args) -> (fitness, info)``: one seeded episode; ``info`` is a
  small dict of numbers (``steps`` is counted in the run log when present).
* optional batch evaluator ``(task, candidates, jobs) -> fitness per job``: a vectorised path the
  serial backend uses instead of one episode at a time (it must give the same numbers).

Envs are constructed lazily, once per morphology, in whichever process runs the episodes.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_RUNNER = "training.episodes:run_episode"


@dataclass(frozen=True)
class Job:
    """One episode to run: candidate ``candidate`` on morphology index ``morphology`` with ``seed``."""

    candidate: int
    morphology: int
    episode: int
    seed: int


@dataclass(frozen=True)
class Task:
    """What a candidate is evaluated on (see the module docstring for the three plug-in signatures)."""

    name: str
    env_id: str
    builder: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    morphologies: tuple[str, ...] = ()
    builder_args: dict[str, Any] = field(default_factory=dict)
    runner: str = DEFAULT_RUNNER
    runner_args: dict[str, Any] = field(default_factory=dict)
    batch_evaluator: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "morphologies", tuple(self.morphologies))
        for what in ("builder", "runner", "batch_evaluator"):
            path = getattr(self, what)
            if path is not None and (not isinstance(path, str) or path.count(":") != 1):
                raise ValueError(f"task {self.name!r}: {what} must be a 'module:function' path, got {path!r}")

    @property
    def n_morphologies(self) -> int:
        """Episodes per (candidate, episode index): one per morphology, or one on the env as given."""
        return max(1, len(self.morphologies))

    def env_kwargs_for(self, morphology: int) -> dict[str, Any]:
        kwargs = dict(self.env_kwargs)
        if self.morphologies:
            kwargs["morphology"] = self.morphologies[morphology]
        return kwargs

    def make_env(self, morphology: int = 0) -> Any:
        """Build the env for morphology index ``morphology`` (gymnasium.make; no env checker)."""
        import gymnasium

        return gymnasium.make(self.env_id, disable_env_checker=True, **self.env_kwargs_for(morphology))

    def build_policy(self, candidate: Any, env: Any) -> Any:
        return resolve(self.builder)(candidate, env, **self.builder_args)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["morphologies"] = list(self.morphologies)
        return d


def resolve(path: str) -> Callable[..., Any]:
    """Import ``"module:function"`` and return the function, with a clear error when it is missing."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r} (from {path!r}): {exc}") from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ValueError(f"{path!r}: module {module_name!r} has no function {attr!r}")
    return fn


class EpisodeWorker:
    """Runs jobs of one task; keeps one env per morphology, built on first use, for its lifetime."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self._envs: dict[int, Any] = {}
        self._runner = resolve(task.runner)

    def env(self, morphology: int) -> Any:
        if morphology not in self._envs:
            self._envs[morphology] = self.task.make_env(morphology)
        return self._envs[morphology]

    def run(self, candidate: Any, job: Job) -> tuple[float, dict[str, Any]]:
        """One episode; ``info`` gains ``cpu_s``, the CPU seconds it took in this process."""
        start = time.process_time()
        env = self.env(job.morphology)
        policy = self.task.build_policy(candidate, env)
        fitness, info = self._runner(policy, env, job.seed, **self.task.runner_args)
        return float(fitness), {**info, "cpu_s": time.process_time() - start}

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()


@dataclass(frozen=True)
class TaskPreset:
    """A named task: env, morphologies averaged over, runner arguments (the algorithm adds a builder)."""

    env_id: str
    morphologies: tuple[str, ...] = ()
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    runner_args: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


TASKS: dict[str, TaskPreset] = {
    "toy": TaskPreset(
        "training.toy:ToyReach-v0",
        ("standard", "heavy"),
        summary="numpy point mass reaching a target (tests, examples)",
    ),
    "ant": TaskPreset(
        "wann_ros.sim:wann_ros/AntDamage-v0",
        ("standard", "right_front"),
        runner_args={"fitness": "distance"},
        summary="pybullet Ant; fitness = mean distance over standard and right_front legs",
    ),
    "a1": TaskPreset("wann_ros.sim:wann_ros/A1-v0", summary="pybullet Unitree A1, position control"),
    "swingup": TaskPreset("wann_ros.sim:wann_ros/CartPoleSwingUp-v0", summary="cart-pole swing-up"),
    "bipedal": TaskPreset("BipedalWalker-v3", summary="gymnasium BipedalWalker-v3 (Box2D)"),
}


def make_task(
    name: str,
    builder: str,
    builder_args: dict[str, Any] | None = None,
    *,
    morphologies: tuple[str, ...] | None = None,
    runner_args: dict[str, Any] | None = None,
    batch_evaluator: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> Task:
    """The preset ``name`` with an algorithm's builder (morphologies, runner and env args overridable)."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; available: {', '.join(sorted(TASKS))}")
    p = TASKS[name]
    return Task(
        name=name,
        env_id=p.env_id,
        builder=builder,
        env_kwargs={**p.env_kwargs, **(env_kwargs or {})},
        morphologies=p.morphologies if morphologies is None else tuple(morphologies),
        builder_args=dict(builder_args or {}),
        runner_args={**p.runner_args, **(runner_args or {})},
        batch_evaluator=batch_evaluator,
    )
