"""The ``hebbian`` algorithm: flat layout, morphology averaging, per-episode initial weights, run + resume."""

import signal
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import training.loop
import wann_ros.sim  # noqa: F401  (registers the envs)
from training.algorithm import get_algorithm
from training.backends import make_backend
from training.checkpoint import load_checkpoint
from training.cli import main
from training.config import ConfigError, load_config
from training.episodes import run_episode
from training.evaluation import Evaluator
from training.hebbian.config import HebbianConfig
from training.hebbian.search import hebbian_mlp, make_search
from training.interrupt import Interrupted
from training.rundir import read_log
from training.seeding import policy_seed
from wann_ros.formats import load_policy

TINY = "generations: {g}\npopsize: 4\nepisodes: 1\nhidden: [8]\nmax_steps: 25\n"


@pytest.fixture(scope="module")
def ant():
    env = gymnasium.make("wann_ros/AntDamage-v0", disable_env_checker=True)
    yield env
    env.close()


def test_flat_layout_is_61440_for_the_paper_network(ant):
    rng = np.random.default_rng(0)
    policy = hebbian_mlp(rng.normal(size=61_440), ant, hidden=(128, 64))
    assert tuple(policy.layer_sizes) == (28, 128, 64, 8)
    assert policy.n_params == 61_440 == 5 * (28 * 128 + 128 * 64 + 64 * 8)
    # synapse (i, j) of layer 0 owns the 5 adjacent numbers at 5 * (i * 128 + j)
    flat = policy.to_flat()
    np.testing.assert_array_equal(policy.rules[0][3, 7], flat[5 * (3 * 128 + 7) : 5 * (3 * 128 + 7) + 5])
    with pytest.raises(ValueError, match="needs 61440 coefficients, got shape"):
        hebbian_mlp(np.zeros(61_439), ant, hidden=(128, 64))


def test_default_search_is_the_paper_protocol():
    search = make_search(HebbianConfig(popsize=4), "ant", 0)
    assert search.strategy.dim == 61_440
    assert search.task.morphologies == ("standard", "right_front")  # left_front is held out
    assert search.task.runner_args["fitness"] == "distance"
    assert search.task.builder_args["init"] == "uniform" and search.task.builder_args["init_scale"] == 0.1
    # a mirrored pair shares its episodes (and so its initial weights)
    assert list(search.seed_keys(4)) == [0, 1, 0, 1]


def test_compact_rules_have_per_neuron_parameter_counts():
    def dim(mode: str) -> int:
        return make_search(HebbianConfig(popsize=4, rule_mode=mode), "ant", 0).strategy.dim

    assert dim("post") == 5 * (128 + 64 + 8)  # one rule per output neuron
    assert dim("pre") == 5 * (28 + 128 + 64)  # one rule per input neuron


def test_config_refuses_bad_values(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("popsize: 5\n")
    with pytest.raises(ConfigError, match="popsize must be even"):
        load_config(HebbianConfig, path)
    path.write_text("rule_mode: per_layer\n")
    with pytest.raises(ConfigError, match="rule_mode must be one of"):
        load_config(HebbianConfig, path)


def test_initial_weights_differ_per_episode_seed_but_are_reproducible(ant):
    policy = hebbian_mlp(np.random.default_rng(1).normal(size=61_440), ant)
    policy.reset(policy_seed(11))
    first = policy.weights
    policy.reset(policy_seed(12))
    other = policy.weights
    policy.reset(policy_seed(11))
    again = policy.weights
    for a, b, c in zip(first, other, again, strict=True):
        np.testing.assert_array_equal(a, c)
        assert not np.allclose(a, b)
        assert np.abs(a).max() <= 0.1
    # and whole episodes repeat exactly: the runner resets the weights from the episode seed
    runs = [run_episode(policy, ant, seed, max_steps=30, fitness="distance")[0] for seed in (5, 5, 6)]
    assert runs[0] == runs[1] != runs[2]


def test_fitness_is_the_mean_over_the_training_morphologies():
    search = make_search(HebbianConfig(popsize=4, hidden=(8,), max_steps=40), "ant", 2)
    backend = make_backend("serial", search.task)
    try:
        result = Evaluator(search.task, backend, 1, 2).evaluate(search.ask(), 0, search.seed_keys(4))
    finally:
        backend.close()
    assert result.episode_fitness.shape == (4, 2, 1)
    np.testing.assert_allclose(result.fitness, result.episode_fitness.mean(axis=(1, 2)))
    assert not np.allclose(result.episode_fitness[:, 0], result.episode_fitness[:, 1])  # two real bodies


def test_tiny_run_end_to_end_and_resume_equals_an_uninterrupted_run(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY.format(g=2))
    common = ["--task", "ant", "--config", str(config), "--seed", "4", "--no-progress"]
    assert main(["hebbian", *common, "--run-dir", str(tmp_path / "a")]) == 0
    assert main(["resume", str(tmp_path / "a"), "--generations", "3"]) == 0
    assert main(["hebbian", *common, "--generations", "3", "--run-dir", str(tmp_path / "b")]) == 0
    a, b = (load_checkpoint(tmp_path / r / "checkpoint.npz")["search"] for r in "ab")
    assert a["generation"] == b["generation"] == 3
    np.testing.assert_array_equal(a["theta"], b["theta"])
    assert read_log(tmp_path / "a" / "log.csv")["best"] == read_log(tmp_path / "b" / "log.csv")["best"]
    policy = load_policy(tmp_path / "a" / "best.wrp")
    assert policy.spec.kind == "hebbian" and policy.n_params == 5 * (28 * 8 + 8 * 8)
    assert get_algorithm("hebbian").config_cls is HebbianConfig
    assert "done: 3 generations" in capsys.readouterr().out
    assert main(["hebbian-progress", str(tmp_path / "a")]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[0] == str(tmp_path / "a") and row[1] == "3"  # generations done


def test_export_writes_policy_and_model_card(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY.format(g=1))
    run = tmp_path / "run"
    assert (
        main(
            [
                "hebbian",
                "--task",
                "ant",
                "--config",
                str(config),
                "--seed",
                "1",
                "--no-progress",
                "--run-dir",
                str(run),
            ]
        )
        == 0
    )
    out = tmp_path / "models" / "ant_hebbian.wrp"
    assert main(["hebbian-export", str(run), "--out", str(out), "--which", "mean"]) == 0
    policy = load_policy(out)
    np.testing.assert_allclose(policy.to_flat(), load_checkpoint(run / "checkpoint.npz")["search"]["theta"])
    card = Path(out.with_suffix(".md")).read_text()
    assert "seed 1, 1 generations" in card and "python -m training hebbian --task ant" in card
    out.with_suffix(".md").write_text(card + "\n## Harness scores\n")  # what a publisher adds
    with pytest.raises(SystemExit) as exc:
        main(["hebbian-export", str(run), "--out", str(out), "--which", "mean"])
    assert exc.value.code == 2 and "--force replaces them" in capsys.readouterr().err
    assert out.with_suffix(".md").read_text().endswith("## Harness scores\n")
    assert main(["hebbian-export", str(run), "--out", str(out), "--which", "mean", "--force"]) == 0
    assert "## Harness scores" not in out.with_suffix(".md").read_text()


def test_continue_config_goes_on_from_the_exported_mean_where_the_schedules_were(
    tmp_path, capsys, monkeypatch
):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY.format(g=5) + "sigma_decay: 0.5\nlr_decay: 0.9\n")
    run = tmp_path / "run"
    common = ["--task", "ant", "--config", str(config), "--seed", "3", "--no-progress"]
    polls = iter(range(10))

    def sigterm_after_two_generations() -> None:
        if next(polls) == 2:
            raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(training.loop, "check_stop", sigterm_after_two_generations)
    assert main(["hebbian", *common, "--run-dir", str(run)]) == 128 + signal.SIGTERM
    monkeypatch.undo()
    out, follow = tmp_path / "mean.wrp", tmp_path / "go_on.yaml"
    export = ["hebbian-export", str(run), "--out", str(out), "--which", "mean"]
    assert main([*export, "--continue-config", str(follow)]) == 0
    assert "(3 generations to go)" in capsys.readouterr().out
    state = load_checkpoint(run / "checkpoint.npz")["search"]
    assert state["sigma"] == pytest.approx(0.1 * 0.5**2)  # the schedules of two generations
    assert state["optimizer"]["lr"] == pytest.approx(0.2 * 0.9**2)
    go_on = load_config(HebbianConfig, follow)
    assert go_on.init_rules == str(out) and go_on.generations == 3 and go_on.hidden == (8,)
    search = make_search(go_on, "ant", 9).strategy.state_dict()
    np.testing.assert_array_equal(search["theta"], state["theta"])
    assert search["sigma"] == state["sigma"] and search["optimizer"]["lr"] == state["optimizer"]["lr"]
    assert follow.read_text().startswith(f"# Continues {run} (seed 3) from generation 2")
    # only the ES mean carries the state; a finished run has nothing left; momentum cannot be carried
    with pytest.raises(SystemExit):
        main([*export[:-1], "best", "--force", "--continue-config", str(follow)])
    assert "use it with --which mean" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # an existing config is only replaced with --force, like the card
        main([*export, "--continue-config", str(follow)])
    assert f"and {follow} exist; --force" in capsys.readouterr().err
    assert main(["resume", str(run), "--no-progress"]) == 0
    with pytest.raises(SystemExit):
        main([*export, "--force", "--continue-config", str(follow)])
    assert "all 5 generations are done" in capsys.readouterr().err
    config.write_text(TINY.format(g=1) + "momentum: 0.9\n")
    assert main(["hebbian", *common, "--run-dir", str(tmp_path / "m")]) == 0
    with pytest.raises(SystemExit):
        main(["hebbian-export", str(tmp_path / "m"), *export[2:], "--force", "--continue-config", "m.yaml"])
    assert "continue it with `python -m training resume`" in capsys.readouterr().err


def test_kept_checkpoints_export_and_score_per_generation(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY.format(g=3))
    run = tmp_path / "run"
    common = ["--task", "ant", "--config", str(config), "--seed", "4", "--no-progress"]
    assert main(["hebbian", *common, "--run-dir", str(run), "--keep-checkpoints", "2"]) == 0
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["gen-00002.npz"]
    assert main(["resume", str(run), "--generations", "4", "--no-progress"]) == 0  # the option is kept
    kept = sorted((run / "checkpoints").iterdir())
    assert [p.name for p in kept] == ["gen-00002.npz", "gen-00004.npz"]
    at_2, last = (load_checkpoint(p)["search"] for p in (kept[0], run / "checkpoint.npz"))
    assert at_2["generation"] == 2 and last["generation"] == 4
    assert not np.array_equal(at_2["theta"], last["theta"])
    out = tmp_path / "g2.wrp"
    export = ["hebbian-export", str(run), "--out", str(out), "--which", "mean", "--checkpoint", str(kept[0])]
    assert main(export) == 0
    np.testing.assert_allclose(load_policy(out).to_flat(), at_2["theta"])
    assert load_policy(out).spec.provenance.generation == 2
    with pytest.raises(SystemExit):
        main([*export[:-1], str(run / "checkpoints" / "gen-00003.npz"), "--force"])
    assert "no checkpoint file" in capsys.readouterr().err
    score = ["hebbian-checkpoints", str(run), "--morphology", "standard,left_front", "--episodes", "1"]
    assert main([*score, "--backend", "serial"]) == 0
    printed, bar = capsys.readouterr()
    assert printed.count("generation ") == 4 and "checkpoint_scores.png" in printed
    assert "gen-00004.wrp" in bar  # a bar of finished episodes per checkpoint
    rows = (run / "checkpoint_scores.csv").read_text().splitlines()
    assert rows[0].startswith("generation,morphology,episodes,seed,mean") and len(rows) == 5
    assert [r.split(",")[:2] for r in rows[1:]] == [
        ["2", "left_front"],
        ["2", "standard"],
        ["4", "left_front"],
        ["4", "standard"],
    ]
    assert (run / "checkpoint_scores.png").stat().st_size > 0
    assert main([*score, "--backend", "serial"]) == 0  # already scored: nothing is rerun
    assert capsys.readouterr().out.count("generation ") == 0
    other = ["hebbian-checkpoints", str(run), "--morphology", "standard", "--episodes", "2"]
    assert main([*other, "--backend", "serial", "--no-progress"]) == 0  # new rows, the old ones kept
    assert "gen-0000" not in capsys.readouterr().err
    rows = (run / "checkpoint_scores.csv").read_text().splitlines()
    assert (
        len(rows) == 7 and rows[1].startswith("2,left_front,1,0,") and rows[5].startswith("2,standard,2,0,")
    )
    with pytest.raises(SystemExit):
        main(["hebbian-checkpoints", str(tmp_path / "nowhere")])
    assert "not a run directory" in capsys.readouterr().err
    for p in kept:
        p.unlink()
    with pytest.raises(SystemExit):
        main(score)
    assert "no kept checkpoints (train or resume it with --keep-checkpoints K)" in capsys.readouterr().err


def test_export_selects_on_the_runs_own_training_bodies(tmp_path, capsys):
    config = tmp_path / "bodies.yaml"
    config.write_text(TINY.format(g=1) + 'morphologies: [standard, "shorten:back_left=0.25"]\n')
    run = tmp_path / "run"
    common = ["--task", "ant", "--config", str(config), "--seed", "2", "--no-progress"]
    assert main(["hebbian", *common, "--run-dir", str(run)]) == 0
    out = tmp_path / "four.wrp"
    args = ["--out", str(out), "--select-episodes", "1", "--backend", "serial"]
    assert main(["hebbian-export", str(run), *args]) == 0
    assert "selection: mean" in capsys.readouterr().out
    card = out.with_suffix(".md").read_text()
    assert "(mean harness distance, paper units on standard + shorten:back_left=0.25)" in card
    assert "for the `ant` task (env wann_ros/AntDamage-v0)" in card
    assert "right_front" not in card.split("## Protocol")[0]


def test_env_settings_reach_the_env(tmp_path):
    full, strict = tmp_path / "full.yaml", tmp_path / "strict.yaml"
    full.write_text(TINY.format(g=1) + "early_stop: false\n")
    extra = "early_stop_grace: 100\nfall_height: 0.3\nknobs: {motor_strength: [0.5, 0.6]}\n"
    strict.write_text(TINY.format(g=1) + extra)
    configs = [load_config(HebbianConfig, c) for c in (None, full, strict)]
    envs = [make_search(c, "ant", seed=1).task.make_env(0) for c in configs]
    try:
        assert [env.unwrapped.early_stop for env in envs] == [True, False, True]
        assert [env.unwrapped.stop_rule.grace for env in envs] == [200, 200, 100]
        assert [env.unwrapped.fall_height for env in envs] == [None, None, 0.3]
        assert configs[0].env_options() == {}  # a default config leaves any task's env as it is
        assert [env.unwrapped.world.knobs.motor_strength for env in envs] == [None, None, (0.5, 0.6)]
        envs[2].reset(seed=3)  # the motor strengths are drawn at every reset
        assert all(0.5 <= g <= 0.6 for g in envs[2].unwrapped.world._knob_strength)
    finally:
        for env in envs:
            env.close()
    with pytest.raises(ValueError, match=r"unknown knob\(s\) \['motor_strenght'\]"):
        HebbianConfig(knobs={"motor_strenght": [0.5, 1.0]})


def test_init_rules_warm_starts_from_a_policy_file_and_refuses_a_mismatch(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY.format(g=1))
    common = ["--task", "ant", "--config", str(config), "--no-progress"]
    assert main(["hebbian", *common, "--seed", "1", "--run-dir", str(tmp_path / "a")]) == 0
    source = tmp_path / "a" / "best.wrp"
    warm = tmp_path / "warm.yaml"
    warm.write_text(TINY.format(g=1) + f"init_rules: {source}\nweight_bound: 0.5\n")
    search = make_search(load_config(HebbianConfig, warm), "ant", seed=9)
    np.testing.assert_array_equal(search.strategy.mean, load_policy(source).to_flat())
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(TINY.format(g=1).replace("[8]", "[16]") + f"init_rules: {source}\n")
    with pytest.raises(ValueError, match=r"init_rules: .* needs \[28, 16, 8\]"):
        make_search(load_config(HebbianConfig, wrong), "ant", seed=9)


def test_a_warm_started_run_resumes_and_exports_after_its_start_file_is_gone(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY.format(g=1))
    common = ["--task", "ant", "--no-progress", "--backend", "serial"]
    assert (
        main(["hebbian", *common, "--config", str(config), "--seed", "1", "--run-dir", str(tmp_path / "a")])
        == 0
    )
    source = tmp_path / "start.wrp"
    (tmp_path / "a" / "best.wrp").rename(source)
    warm = tmp_path / "warm.yaml"
    warm.write_text(TINY.format(g=1) + f"init_rules: {source}\n")
    run = tmp_path / "b"
    assert main(["hebbian", *common, "--config", str(warm), "--seed", "2", "--run-dir", str(run)]) == 0
    source.unlink()  # the checkpoint holds the search's state; the start file is not needed again
    assert main(["resume", str(run), "--generations", "2", "--no-progress"]) == 0
    assert load_checkpoint(run / "checkpoint.npz")["search"]["generation"] == 2
    out = tmp_path / "mean.wrp"
    assert (
        main(["hebbian-export", str(run), "--which", "mean", "--out", str(out), "--backend", "serial"]) == 0
    )
    assert load_policy(out).n_params == 5 * (28 * 8 + 8 * 8)
