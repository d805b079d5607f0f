"""The evaluation engine: seeded jobs, serial/process/ray backends, dead workers, bad episodes."""

import numpy as np
import pytest

from training.backends import EvaluationError, make_backend, split_by_candidate
from training.episodes import run_episode
from training.evaluation import Evaluator
from training.seeding import EVAL_STREAM, episode_seed, policy_seed
from training.tasks import Job, Task

TOY = dict(
    name="toy",
    env_id="training.toy:ToyReach-v0",
    builder="training.toy:linear_policy",
    morphologies=("standard", "heavy"),
    runner="training.toy:run_episode",
)


def toy_task(**changes) -> Task:
    return Task(**{**TOY, **changes})


def candidates(n: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.5, (n, 12))


def evaluate(backend: str, task: Task, cands: np.ndarray, episodes: int = 2, seed: int = 5, **kwargs):
    engine = make_backend(backend, task, **kwargs)
    try:
        return Evaluator(task, engine, episodes, seed).evaluate(cands, generation=3), engine
    finally:
        engine.close()


@pytest.fixture(scope="module")
def serial_result():
    result, _ = evaluate("serial", toy_task(), candidates())
    return result


def test_episode_seeds_come_from_the_run_seed_and_the_episode_position():
    assert episode_seed(7, 2, 3, 4) == episode_seed(7, 2, 3, 4)
    seeds = {episode_seed(7, g, c, e) for g in range(3) for c in range(10) for e in range(3)}
    assert len(seeds) == 90
    assert episode_seed(7, 0, 0, 0) != episode_seed(8, 0, 0, 0) != episode_seed(7, 0, 0, 0, EVAL_STREAM)
    assert policy_seed(123) != 123
    with pytest.raises(ValueError, match="non-negative integer"):
        episode_seed(-1, 0, 0, 0)


def test_fitness_is_the_mean_over_morphologies_and_episodes(serial_result):
    r = serial_result
    assert r.episode_fitness.shape == (6, 2, 2) and r.evaluations == 24
    np.testing.assert_allclose(r.fitness, r.episode_fitness.mean(axis=(1, 2)))
    assert not np.allclose(r.episode_fitness[:, 0], r.episode_fitness[:, 1])  # the heavy body differs
    assert r.steps == 24 * 40 and r.info["steps"].shape == (6, 2, 2)
    assert r.cpu_s > 0


def test_same_seed_same_fitness_serial_batch_and_process(serial_result):
    batch, _ = evaluate("serial", toy_task(batch_evaluator="training.toy:evaluate_batch"), candidates())
    np.testing.assert_array_equal(batch.episode_fitness, serial_result.episode_fitness)
    pooled, _ = evaluate("process", toy_task(), candidates(), workers=2)
    np.testing.assert_array_equal(pooled.episode_fitness, serial_result.episode_fitness)
    other_seed, _ = evaluate("serial", toy_task(), candidates(), seed=6)
    assert not np.array_equal(other_seed.fitness, serial_result.fitness)


def test_the_process_pool_splits_a_batch_task_by_candidate(serial_result):
    task = toy_task(batch_evaluator="training.toy:evaluate_batch")
    pooled, engine = evaluate("process", task, candidates(), workers=2)
    np.testing.assert_array_equal(pooled.episode_fitness, serial_result.episode_fitness)
    assert engine.deaths == 0 and pooled.cpu_s > 0
    jobs = [Job(c, m, e, 0) for c in range(5) for m in range(2) for e in range(2)]
    chunks = split_by_candidate(jobs, 2)
    assert len(chunks) == 2 and sorted(i for ch in chunks for i in ch) == list(range(20))
    assert {jobs[i].candidate for i in chunks[0]}.isdisjoint({jobs[i].candidate for i in chunks[1]})
    assert len(split_by_candidate(jobs[:4], 8)) == 1  # one candidate: one chunk
    broken = toy_task(batch_evaluator="training.toy:run_episode")  # wrong signature: raises in the worker
    with pytest.raises(EvaluationError, match="a batch of 12 jobs failed in a worker"):
        evaluate("process", broken, candidates(), workers=2)


@pytest.mark.parametrize(
    "backend, batch, die",
    [("serial", False, False), ("serial", True, False), ("process", False, True), ("process", True, False)],
)
def test_done_is_told_of_every_finished_job_once(tmp_path, backend, batch, die):
    task = toy_task(
        batch_evaluator="training.toy:evaluate_batch" if batch else None,
        runner_args={"die_marker": str(tmp_path / "died")} if die else {},
    )
    engine = make_backend(backend, task, **({"workers": 2} if backend == "process" else {}))
    told: list[int] = []
    try:
        Evaluator(task, engine, 2, 5).evaluate(candidates(), generation=3, done=told.append)
    finally:
        engine.close()
    assert sum(told) == 24 and all(n > 0 for n in told)  # a killed worker's rerun job counts once
    assert len(told) > 1 or batch


def test_shared_seed_keys_give_candidates_the_same_episodes():
    task = toy_task()
    engine = make_backend("serial", task)
    same = np.repeat(candidates(1), 4, axis=0)
    ev = Evaluator(task, engine, 1, 9)
    shared = ev.evaluate(same, 0, seed_keys=[0, 1, 0, 1]).fitness
    assert shared[0] == shared[2] and shared[1] == shared[3] and shared[0] != shared[1]
    with pytest.raises(ValueError, match="seed_keys"):
        ev.evaluate(same, 0, seed_keys=[0, 1])


def test_a_worker_killed_mid_generation_has_its_job_rerun(tmp_path, serial_result):
    marker = tmp_path / "died"
    task = toy_task(runner_args={"die_marker": str(marker)})
    result, engine = evaluate("process", task, candidates(), workers=2)
    assert marker.exists() and engine.deaths == 1
    np.testing.assert_array_equal(result.episode_fitness, serial_result.episode_fitness)


def test_an_episode_that_raises_is_reported_with_its_job():
    task = toy_task(builder="training.toy:linear_policy")
    with pytest.raises(EvaluationError, match=r"(?s)candidate 0 episode 0 on 'standard'.*needs 12 param"):
        evaluate("process", task, np.zeros((2, 5)), workers=1)
    with pytest.raises(EvaluationError, match="candidate 0 episode 0"):
        evaluate("serial", task, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="unknown backend"):
        make_backend("threads", task)
    with pytest.raises(ValueError, match="module:function"):
        toy_task(builder="no_colon")


def test_ray_gives_the_same_fitness_as_serial(serial_result):
    ray = pytest.importorskip("ray")
    try:
        result, _ = evaluate("ray", toy_task(), candidates(), workers=2)
        batch = toy_task(batch_evaluator="training.toy:evaluate_batch")
        batch_task, _ = evaluate("ray", batch, candidates(), workers=2)  # one batch call per actor
        engine = make_backend("ray", toy_task(), workers=2)
        told: list[int] = []
        Evaluator(toy_task(), engine, 2, 5).evaluate(candidates(), generation=3, done=told.append)
        engine.close()
    finally:
        ray.shutdown()
    np.testing.assert_array_equal(result.episode_fitness, serial_result.episode_fitness)
    np.testing.assert_array_equal(batch_task.episode_fitness, serial_result.episode_fitness)
    assert sum(told) == 24 and len(told) > 1


class _Track:
    """An env whose distance follows a script: ``path[t]`` after step ``t + 1``."""

    def __init__(self, path: list[float]) -> None:
        self.path, self.t = path, 0

    def reset(self, seed: int):
        self.t = 0
        return np.zeros(1), {}

    def step(self, action):
        self.t += 1
        done = self.t == len(self.path)
        return np.zeros(1), 1.0, False, done, {"distance": self.path[self.t - 1]}


class _Still:
    def reset(self, seed: int) -> None:
        pass

    def act(self, obs):
        return obs


@pytest.mark.parametrize(
    ("path", "solved", "backstep"),
    [
        ([10.0 * t for t in range(1, 31)], True, 0),  # 10 units a step, ends at 300
        ([0.0] * 9 + [-1.0] + [20.0 * t for t in range(20)], False, 10),  # steps back first
        ([10.0 * t for t in range(1, 30)] + [200.0], False, 30),  # last step goes back
        ([1.0 * t for t in range(1, 31)], False, 0),  # monotone but short of 100
        ([0.0, -5.0] + [10.0 * t for t in range(28)], True, 0),  # back inside one window does not count
    ],
)
def test_solved_needs_the_distance_and_windows_that_never_go_back(path, solved, backstep):
    fitness, info = run_episode(
        _Still(), _Track(path), 0, fitness="distance", solved_distance=100.0, solved_window=5
    )
    assert fitness == path[-1] and info["steps"] == 30
    assert info["solved"] is solved and info["backstep"] == backstep


class _Metres(_Track):
    """A track whose env reports its distance in paper units and metres, as the quadrupeds do."""

    def step(self, action):
        obs, reward, term, trunc, info = super().step(action)
        return obs, reward, term, trunc, {"distance": {"paper_units": info["distance"], "metres": -1.0}}


def test_metres_are_reported_whatever_the_fitness():
    fitness, info = run_episode(_Still(), _Metres([1.0, 2.0, 5.0]), 0)
    assert fitness == 3.0 and info["distance_m"] == -1.0  # the sum of rewards, and the metres
    fitness, info = run_episode(_Still(), _Metres([1.0, 2.0, 5.0]), 0, fitness="distance")
    assert fitness == 5.0 and info["distance_m"] == -1.0
    assert "distance_m" not in run_episode(_Still(), _Track([1.0, 2.0]), 0)[1]  # a plain number has no unit
