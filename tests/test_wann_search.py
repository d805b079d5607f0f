"""The WANN search: seeded reproducibility, selection, the engine's run loop with checkpoint/resume."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from training.cli import main as cli_main
from training.loop import RunOptions, run_search
from training.rundir import RunDir
from training.tasks import EpisodeWorker, Job
from training.wann.compare import short_search
from training.wann.config import LAPTOP, PAPER_RANKING, REFERENCE, WannConfig
from training.wann.engine import WannCandidate, WannRunSearch, make_search, wann_task
from training.wann.ranking import nondominated_fronts
from training.wann.search import WannSearch
from training.wann.sources import load_source
from training.wann.swingup_eval import evaluate_jobs, shared_weight_returns
from wann_ros.policies.wann_population import PopulationForward
from wann_ros.sim.swingup import SwingUpParams

TINY = dataclasses.replace(LAPTOP, pop_size=4, weights=(-1.0, 1.0), n_reps=1, best_reps=1, generations=3)


def _fake_returns(search: WannSearch) -> np.ndarray:
    """A deterministic stand-in for episodes: rewards hidden nodes and weight-dependence."""
    w = np.asarray(search.config.weights)
    size = np.array([g.hidden_ids.size + 0.1 * g.n_connections for g in search.population])
    return size[:, None] * (1.0 + 0.1 * w[None, :])


def _run(seed: int, generations: int) -> list[dict]:
    search = WannSearch(dataclasses.replace(REFERENCE, pop_size=24), 5, 1, seed)
    for _ in range(generations):
        search.ask()
        search.tell(_fake_returns(search))
    return [g.to_dict() for g in search.ask()]


def test_defaults_are_the_reference_swingup_settings():
    assert (REFERENCE.pop_size, REFERENCE.n_reps, REFERENCE.tournament_size) == (192, 3, 8)
    assert (REFERENCE.elite_ratio, REFERENCE.cull_ratio) == (0.2, 0.2)
    # prettyNeatWann's ranking as it runs: complexity in 20 % of generations, else the mean alone
    assert (REFERENCE.prob_moo, REFERENCE.other_ranking) == (0.2, "mean")
    assert PAPER_RANKING == {"prob_moo": 0.8, "other_ranking": "peak"}
    assert REFERENCE.weights == (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)
    assert REFERENCE.operator_probabilities == (0.2, 0.25, 0.05, 0.5)
    assert (LAPTOP.pop_size, LAPTOP.n_reps, LAPTOP.elite_ratio, LAPTOP.tournament_size) == (64, 3, 0.05, 4)
    with pytest.raises(ValueError, match="unknown keys"):
        WannConfig.from_dict({"popsize": 3})
    with pytest.raises(ValueError, match="prob_moo"):
        WannConfig(prob_moo=1.5)
    with pytest.raises(ValueError, match="other_ranking"):
        WannConfig(other_ranking="max")


def test_search_is_reproducible_and_selects_for_fitness():
    assert _run(7, 12) == _run(7, 12)
    assert _run(7, 12) != _run(8, 12)
    search = WannSearch(dataclasses.replace(REFERENCE, pop_size=24, prob_moo=0.0), 5, 1, 0)
    first = None
    for _ in range(15):
        search.ask()
        search.tell(_fake_returns(search))
        first = search.fitness.mean() if first is None else first
    assert search.fitness.mean() > first  # the fake fitness rewards growth; selection must follow it


def test_search_starts_from_a_given_network(tmp_path):
    """``init_network``: the first population is that network and single mutations of it."""
    from training.wann.policy import swingup_spec, to_policy
    from wann_ros.formats import save_policy

    grown = WannSearch(dataclasses.replace(REFERENCE, pop_size=24), 5, 1, 1)
    for _ in range(6):
        grown.ask()
        grown.tell(_fake_returns(grown))
    start = max(grown.ask(), key=lambda g: g.n_connections)
    path = tmp_path / "start.wrp"
    save_policy(to_policy(start, swingup_spec(), shared_weight=1.0), path)
    search = WannSearch(dataclasses.replace(REFERENCE, pop_size=12, init_network=str(path)), 5, 1, 0)
    pop = search.ask()
    assert pop[0].n_connections == start.n_connections and pop[0].hidden_ids.size == start.hidden_ids.size
    x = np.random.default_rng(0).normal(size=(1, 7, 5))
    np.testing.assert_allclose(
        PopulationForward([pop[0].to_dag()])(x), PopulationForward([start.to_dag()])(x)
    )
    sizes = [(g.n_connections, g.hidden_ids.size) for g in pop[1:]]
    size0 = (start.n_connections, start.hidden_ids.size)
    # one mutation: at most one more node and one more connection (or an activation change)
    assert all(c - size0[0] in (0, 1) and h - size0[1] in (0, 1) for c, h in sizes)
    assert any(g.to_dict() != pop[0].to_dict() for g in pop[1:])
    wrong = WannSearch(dataclasses.replace(REFERENCE, pop_size=4, init_network=str(path)), 3, 1, 0)
    with pytest.raises(ValueError, match="5 inputs and 1 outputs, the task has 3 and 1"):
        wrong.ask()


def test_elites_survive_unchanged_and_tell_checks_its_input():
    config = dataclasses.replace(REFERENCE, pop_size=20, cull_ratio=0.0, elite_ratio=0.25, prob_moo=0.0)
    search = WannSearch(config, 5, 1, 3)
    pop = search.ask()
    returns = np.arange(20, dtype=float)[:, None] * np.ones((1, 6))  # individual 19 is best
    search.tell(returns)
    children = search.ask()
    assert children[0].to_dict() == pop[19].to_dict()
    assert [c.to_dict() for c in children[:5]] == [pop[i].to_dict() for i in range(19, 14, -1)]
    with pytest.raises(ValueError, match="shape"):
        search.tell(np.zeros((20, 5)))
    with pytest.raises(ValueError, match=r"\+inf"):
        search.tell(np.full((20, 6), np.inf))


def test_batch_evaluator_equals_one_episode_path():
    task = _short_search(TINY, 0).task
    genome = WannSearch(TINY, 5, 1, 0).ask()[0]
    candidates = [WannCandidate(genome, w) for w in (-2.0, 1.0)]
    jobs = [Job(c, 0, e, 500 + e) for c in range(2) for e in range(2)]
    batch = evaluate_jobs(task, candidates, jobs)
    worker = EpisodeWorker(task)
    one_by_one = [worker.run(candidates[j.candidate], j)[0] for j in jobs]
    worker.close()
    np.testing.assert_allclose(batch, one_by_one, rtol=1e-6)
    table = shared_weight_returns([genome.to_dag()], (-2.0, 1.0), [500, 501], SwingUpParams(max_steps=100))
    np.testing.assert_allclose(table.reshape(-1), batch)


def _short_search(config: WannConfig, seed: int) -> WannRunSearch:
    """The swing-up search with 100-step episodes, to keep the test fast."""
    task, n_in, n_out = wann_task("swingup")
    task = dataclasses.replace(task, env_kwargs={"params": SwingUpParams(max_steps=100)})
    return WannRunSearch(config, task, n_in, n_out, seed)


def _run_dir(tmp_path, name: str, config: WannConfig) -> RunDir:
    meta = {"algorithm": "wann", "task": "swingup", "options": {"seed": 5}, "command": "test"}
    return RunDir.create(tmp_path / name, meta, config.to_dict())


@pytest.mark.parametrize("sampling", ["series", "stratified"])
def test_engine_run_resumes_exactly(tmp_path, sampling):
    tiny = dataclasses.replace(TINY, weight_sampling=sampling)
    full = _run_dir(tmp_path, "full", tiny)
    run_search(_short_search(tiny, 5), full, RunOptions(seed=5, progress=False))
    half = dataclasses.replace(tiny, generations=2)
    part = _run_dir(tmp_path, "part", half)
    run_search(_short_search(half, 5), part, RunOptions(seed=5, progress=False))
    summary = run_search(_short_search(tiny, 5), part, RunOptions(seed=5, progress=False), resume=True)
    assert summary.generations == 3
    a = load_checkpoint(full.checkpoint)["search"]
    b = load_checkpoint(part.checkpoint)["search"]
    assert a["wann"]["population"] == b["wann"]["population"]
    assert a["history"] == b["history"] and a["best"] == b["best"]
    assert full.best_policy.is_file() and a["best_fitness"] > 0
    with pytest.raises(ValueError, match="different settings"):
        _short_search(dataclasses.replace(tiny, pop_size=9), 5).load_state_dict(a)


def test_a_kept_best_brings_its_runs_history_up_to_its_generation(tmp_path):
    tiny = dataclasses.replace(TINY, generations=4)
    run = _run_dir(tmp_path, "run", tiny)
    run_search(_short_search(tiny, 5), run, RunOptions(seed=5, progress=False, keep_bests=True))
    kept = sorted((run.path / "bests").iterdir())
    first = kept[0]
    genome, tuned, info = load_source(first)
    assert genome.n_connections > 0
    assert tuned is None and info["run"] == str(run.path)
    generation = info["provenance"]["generation"]
    assert info["generation"] == generation  # the table's exports keep it in their provenance
    assert [h["generation"] for h in info["history"]] == list(range(generation + 1))
    assert "history" not in load_source(run.path / "best.wrp")[2]  # not kept in bests/: no run to read
    (run.path / "checkpoint.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(CheckpointError, match="checkpoint"):
        load_source(first)


def test_stratified_sampling_draws_one_weight_per_slice_each_generation():
    config = dataclasses.replace(REFERENCE, weight_sampling="stratified")
    assert config.confirm_weights == pytest.approx(np.linspace(-2 + 1 / 12, 2 - 1 / 12, 24))
    search = _short_search(dataclasses.replace(TINY, weights=config.weights, weight_sampling="stratified"), 5)
    first = search.generation_weights()
    assert search.generation_weights() == first  # asking twice in a generation draws nothing new
    edges = np.linspace(-2.0, 2.0, 7)
    assert np.all((edges[:-1] <= first) & (np.asarray(first) < edges[1:]))
    assert {c.weight for c in search.ask()} == set(first)
    draws = []
    for _ in range(3):
        search.wann.ask()
        search.wann.tell(_fake_returns(search.wann))
        draws.append(search.generation_weights())
    assert len({*draws, first}) == 4  # a new draw every generation
    assert _short_search(TINY, 5).generation_weights() == TINY.weights
    with pytest.raises(ValueError, match="weight_sampling must be one of"):
        dataclasses.replace(TINY, weight_sampling="random")
    with pytest.raises(ValueError, match="spanning a range"):
        dataclasses.replace(TINY, weights=(1.0,), weight_sampling="stratified")


def test_unknown_task_is_refused():
    with pytest.raises(ValueError, match="unknown task"):
        make_search(TINY, "no-such-task", 0)


def test_empty_networks_do_not_crowd_the_first_front():
    config = dataclasses.replace(REFERENCE, pop_size=6, prob_moo=1.0)
    search = WannSearch(config, 5, 1, 0)
    pop = search.ask()
    for g in pop:
        g.enabled[:] = False
    pop[3].enabled[0] = True
    search.tell(np.where(np.arange(6) == 3, 50.0, 10.0)[:, None] * np.ones((1, 6)))
    fronts = nondominated_fronts(search.objectives())
    assert fronts[0].tolist() == [3]  # one connection and better: it dominates every empty network


def _told_search(config: WannConfig) -> WannSearch:
    """Six genomes told hand-made returns: individual 1 has the best mean, 4 the best peak, 5 is empty."""
    search = WannSearch(dataclasses.replace(config, pop_size=6), 5, 1, 0)
    pop = search.ask()
    for i, g in enumerate(pop):
        g.enabled[:] = np.arange(g.enabled.size) <= i  # individual i has i + 1 connections
    pop[5].enabled[:] = False
    returns = np.array([[10, 10], [60, 60], [30, 30], [20, 20], [-60, 90], [5, 5]], float)
    search.tell(np.repeat(returns, 3, axis=1))
    return search


def test_other_generations_rank_on_the_mean_alone_or_on_mean_and_peak():
    mean_only = _told_search(dataclasses.replace(REFERENCE, prob_moo=0.0, other_ranking="mean"))
    assert mean_only.objectives().shape == (6, 1)
    assert mean_only.ranks().tolist() == [4, 0, 1, 2, 3, 5]  # by mean, best first
    peak = _told_search(dataclasses.replace(REFERENCE, prob_moo=0.0, other_ranking="peak"))
    np.testing.assert_array_equal(peak.objectives()[:, 1], [10, 60, 30, 20, 90, 5])
    assert peak.ranks()[4] < 2  # undominated on the peak despite the worst mean
    complexity = _told_search(dataclasses.replace(REFERENCE, prob_moo=1.0, other_ranking="mean"))
    np.testing.assert_array_equal(complexity.objectives()[:, 1], [-1, -2, -3, -4, -5, -1])


def test_ranking_draw_follows_prob_moo():
    search = _told_search(dataclasses.replace(REFERENCE, prob_moo=0.2))
    widths = [search.objectives().shape[1] for _ in range(2000)]
    assert abs(widths.count(2) / 2000 - 0.2) < 0.03  # (mean, -connections) in 20 % of the draws


def test_short_search_summary_is_seeded():
    config = dataclasses.replace(LAPTOP, pop_size=8, weights=(-1.0, 1.0), n_reps=1)
    short = SwingUpParams(max_steps=50)
    a = short_search(config, 3, 3, "x", confirm_top=2, confirm_episodes=1, params=short)
    b = short_search(config, 3, 3, "x", confirm_top=2, confirm_episodes=1, params=short)
    assert (a.top_mean, a.median_mean, a.confirmed) == (b.top_mean, b.median_mean, b.confirmed)
    assert a.top_mean >= a.median_mean and np.isfinite(a.confirmed) and a.median_connections >= 0
    with pytest.raises(ValueError, match="generations"):
        short_search(config, 3, 0)


def test_checkpoints_from_before_other_ranking_keep_the_peak_ranking():
    old = WannSearch(dataclasses.replace(REFERENCE, pop_size=4, **PAPER_RANKING), 5, 1, 0)
    old.ask()
    state = old.state_dict()
    del state["config"]["other_ranking"]  # as written before the field existed
    same = WannSearch(dataclasses.replace(REFERENCE, pop_size=4, **PAPER_RANKING), 5, 1, 0)
    same.load_state_dict(state)
    assert same.population[0].to_dict() == old.population[0].to_dict()
    changed = WannSearch(dataclasses.replace(REFERENCE, pop_size=4, prob_moo=0.8), 5, 1, 0)
    with pytest.raises(ValueError, match="other_ranking: 'peak' != 'mean'"):
        changed.load_state_dict(state)


def test_cli_resumes_a_run_saved_before_other_ranking_existed(tmp_path):
    config = tmp_path / "old.yaml"
    config.write_text(
        "pop_size: 4\nweights: [-1, 1]\nn_reps: 1\nbest_reps: 1\nprob_moo: 0.8\nother_ranking: peak\n"
    )
    run = tmp_path / "run"
    train = ["wann", "--task", "swingup", "--config", str(config), "--run-dir", str(run), "--no-progress"]
    assert cli_main([*train, "--generations", "1", "--backend", "serial"]) == 0
    meta, state = json.loads((run / "run.json").read_text()), load_checkpoint(run / "checkpoint.npz")
    for saved in (meta["config"], state["search"]["wann"]["config"]):
        del saved["other_ranking"]  # as written before the key existed (those runs ranked on mean, peak)
    (run / "run.json").write_text(json.dumps(meta))
    save_checkpoint(run / "checkpoint.npz", state)
    assert cli_main(["resume", str(run), "--generations", "2", "--no-progress"]) == 0
    assert load_checkpoint(run / "checkpoint.npz")["search"]["wann"]["config"]["other_ranking"] == "peak"
