"""Runs end to end: config validation, CLI run directories, kill -9 + resume, SIGTERM, the harness."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from training.algorithm import available, get_algorithm
from training.builders import static_mlp
from training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from training.cli import main
from training.config import ConfigError, load_config
from training.es import ESConfig
from training.es import make_search as make_es_search
from training.harness import evaluate_policy_file, format_report, morphologies_for
from training.rundir import LOG_COLUMNS, read_log
from wann_ros.cli import main as wann_ros_main
from wann_ros.formats import load_policy, save_policy
from wann_ros.sim import robot_specs as rs

TOY_CONFIG = "popsize: 16\nhidden: [4]\ngenerations: {g}\nlr: 0.05\nsigma: 0.2\nepisodes: 1\n"
FITNESS_COLUMNS = [
    "generation",
    "evaluations",
    "steps",
    "best",
    "mean",
    "median",
    "best_so_far",
    "complexity",
]


def write_config(tmp_path: Path, generations: int) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(TOY_CONFIG.format(g=generations))
    return path


def train_cmd(config: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "training",
        "es",
        "--task",
        "toy",
        "--config",
        str(config),
        "--seed",
        "3",
        "--run-dir",
        str(run_dir),
        "--no-progress",
        *extra,
    ]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout, cwd=Path(__file__).parent
    )


def log_rows(run_dir: Path) -> int:
    try:
        return len(read_log(run_dir / "log.csv")["generation"])
    except FileNotFoundError:
        return 0


def final_state(run_dir: Path) -> tuple[dict, dict]:
    ck = load_checkpoint(run_dir / "checkpoint.npz")
    log = read_log(run_dir / "log.csv")
    return ck, {c: log[c] for c in FITNESS_COLUMNS}


def test_config_rejects_unknown_keys_and_wrong_types(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("popsize: 8\npop_size: 8\n")
    with pytest.raises(ConfigError, match=r"unknown key 'pop_size'; allowed keys: .*popsize"):
        load_config(ESConfig, bad)
    bad.write_text("popsize: eight\n")
    with pytest.raises(ConfigError, match=r"config.popsize: expected an integer, got 'eight'"):
        load_config(ESConfig, bad)
    bad.write_text("hidden: [4, 'x']\n")
    with pytest.raises(ConfigError, match=r"config.hidden\[1\]: expected an integer"):
        load_config(ESConfig, bad)
    bad.write_text("strategy: sgd\n")
    with pytest.raises(ConfigError, match="strategy must be one of"):
        load_config(ESConfig, bad)
    bad.write_text("max_steps: 0\n")
    with pytest.raises(ConfigError, match="max_steps must be >= 1"):
        load_config(ESConfig, bad)
    bad.write_text("strategy: cma_es\nlr: 0.5\nmirrored_seeds: false\n")
    with pytest.raises(ConfigError, match=r"uses only sigma.*\['lr', 'mirrored_seeds'\]"):
        load_config(ESConfig, bad)
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(ESConfig, bad)
    good = tmp_path / "good.yaml"
    good.write_text("lr: 1e-3\nhidden: [8, 8]\nmorphologies: [standard]\nmax_steps: null\n")
    config = load_config(ESConfig, good, {"generations": 7})
    assert config.lr == 0.001 and config.hidden == (8, 8) and config.morphologies == ("standard",)
    assert config.generations == 7
    assert main(["es", "--task", "toy", "--config", str(bad)]) == 2


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).parent.parent / "training" / "configs").glob("*.yaml"))
)
def test_every_shipped_config_loads_into_its_algorithm(path):
    algorithm = get_algorithm(path.stem.split("_")[0])  # files are named <algorithm>_<what>.yaml
    config = load_config(algorithm.config_cls, path)
    assert isinstance(config, algorithm.config_cls)  # unknown keys raise
    for key in ("init_network", "init_rules"):  # a start file, relative to the repository root
        start = getattr(config, key, None)
        assert not start or (path.parent.parent.parent / start).is_file()


def test_registry_and_checkpoint_errors(tmp_path):
    assert "es" in available() and get_algorithm("es").config_cls is ESConfig
    with pytest.raises(ValueError, match="unknown algorithm 'nope'"):
        get_algorithm("nope")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.npz")
    (tmp_path / "torn.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "torn.npz")
    with pytest.raises(TypeError, match="without pickle"):
        save_checkpoint(tmp_path / "x.npz", {"f": object()})


def test_help_lists_algorithms_every_command_and_tasks(capsys):
    assert main(["--help"]) == 0
    lines = {line.split(":")[0]: line for line in capsys.readouterr().out.splitlines() if ":" in line}
    assert "es" in lines["algorithms"] and "ant (" in lines["tasks"]
    for command in ("resume", "evaluate", "hebbian-table", "chromatic-export", "wann-table"):
        assert command in lines["commands"]


def test_cli_run_directory_best_policy_plot_and_harness(tmp_path):
    config = write_config(tmp_path, 6)
    run = tmp_path / "run"
    done = run_cli(*train_cmd(config, run, "--backend", "process", "--workers", "2", "--keep-bests"))
    assert done.returncode == 0, done.stderr
    for name in ("run.json", "config.yaml", "log.csv", "checkpoint.npz", "best.wrp", "curves.png"):
        assert (run / name).is_file(), name
    meta = json.loads((run / "run.json").read_text())
    assert meta["algorithm"] == "es" and meta["options"]["seed"] == 3 and meta["config"]["popsize"] == 16
    assert meta["version"] and meta["git_commit"]
    log = read_log(run / "log.csv")
    assert list(log) == list(LOG_COLUMNS) and log["generation"] == [0, 1, 2, 3, 4, 5]
    assert all(e == 32 for e in log["evaluations"]) and all(c == 32 for c in log["complexity"])
    assert log["best_so_far"] == list(np.maximum.accumulate(log["best"]))
    policy = load_policy(run / "best.wrp")
    prov = policy.spec.provenance
    assert (prov.task, prov.seed) == ("toy", 3) and prov.score == pytest.approx(max(log["best"]))
    assert prov.generation == int(np.argmax(log["best"])) and "es --task toy" in prov.command
    assert "gen 6/6 | best" in done.stdout
    improved = [g for g, b in enumerate(log["best_so_far"]) if g == 0 or b > log["best_so_far"][g - 1]]
    kept = sorted(p.name for p in (run / "bests").iterdir())
    assert kept == [f"gen-{g:05d}.wrp" for g in improved]
    for g in improved:
        assert load_policy(run / "bests" / f"gen-{g:05d}.wrp").spec.provenance.generation == g
    np.testing.assert_array_equal(load_policy(run / "bests" / kept[-1]).to_flat(), policy.to_flat())

    (run / "curves.png").unlink()
    assert run_cli(sys.executable, "-m", "training", "plot", str(run)).returncode == 0
    assert (run / "curves.png").stat().st_size > 10_000

    report = evaluate_policy_file(run / "best.wrp", "toy", episodes=6, seed=1, backend="serial")
    pooled = evaluate_policy_file(run / "best.wrp", "toy", episodes=6, seed=1, backend="process", workers=2)
    assert report["morphologies"] == pooled["morphologies"]
    standard = [r["fitness"] for r in report["rows"] if r["morphology"] == "standard"]
    assert report["morphologies"]["standard"]["mean"] == pytest.approx(np.mean(standard))
    assert report["morphologies"]["standard"]["std"] == pytest.approx(np.std(standard))
    out = run_cli(
        sys.executable,
        "-m",
        "training",
        "evaluate",
        str(run / "best.wrp"),
        "--task",
        "toy",
        "--episodes",
        "4",
        "--seed",
        "1",
        "--workers",
        "2",
        "--out",
        str(tmp_path / "eval"),
    )
    assert out.returncode == 0, out.stderr
    assert "standard" in out.stdout and "±" in out.stdout
    saved = json.loads((tmp_path / "eval" / "eval.json").read_text())
    assert len(saved["rows"]) == 8 and (tmp_path / "eval" / "eval.csv").read_text().count("\n") == 9


def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path):
    config = write_config(tmp_path, 24)
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    proc = subprocess.Popen(train_cmd(config, killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while log_rows(killed) < 6 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert 6 <= log_rows(killed) < 24
    reference = run_cli(*train_cmd(config, whole))
    assert reference.returncode == 0, reference.stderr
    resumed = run_cli(sys.executable, "-m", "training", "resume", str(killed), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    ck_whole, log_whole = final_state(whole)
    ck_killed, log_killed = final_state(killed)
    assert log_killed == log_whole and len(log_whole["generation"]) == 24
    for key in ("theta", "best", "sigma", "best_fitness", "rng", "generation"):
        np.testing.assert_equal(ck_killed["search"][key], ck_whole["search"][key])
    best_killed, best_whole = load_policy(killed / "best.wrp"), load_policy(whole / "best.wrp")
    np.testing.assert_array_equal(best_killed.to_flat(), best_whole.to_flat())


def test_sigterm_checkpoints_the_last_generation_and_exits_cleanly(tmp_path):
    config = write_config(tmp_path, 400)
    run = tmp_path / "run"
    proc = subprocess.Popen(train_cmd(config, run), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while log_rows(run) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    ck = load_checkpoint(run / "checkpoint.npz")
    assert ck["search"]["generation"] == len(ck["log"]) == log_rows(run) >= 3
    resumed = run_cli(
        sys.executable,
        "-m",
        "training",
        "resume",
        str(run),
        "--generations",
        str(len(ck["log"]) + 2),
        "--no-progress",
    )
    assert resumed.returncode == 0, resumed.stderr
    assert log_rows(run) == len(ck["log"]) + 2
    assert os.path.getsize(run / "best.wrp") > 0


@pytest.mark.parametrize(
    "name, delay", [("SIGTERM", 0.05), ("SIGTERM", 0.5), ("SIGTERM", 1.0), ("SIGINT", 0.5)]
)
def test_a_stop_signal_to_the_whole_process_group_stops_a_process_pool_run_cleanly(tmp_path, name, delay):
    """As ``kill -- -PGID`` or a terminal's Ctrl-C do: the busy workers and the forkserver get it too.
    (Racy by nature: before the fix, one SIGTERM run in a few respawned workers and died in a traceback.)"""
    config = tmp_path / "ant.yaml"  # Ant episodes, so the signal finds the workers mid-episode
    config.write_text("popsize: 4\nhidden: [8]\ngenerations: 100\nepisodes: 1\nmax_steps: 400\n")
    run, err_path = tmp_path / "run", tmp_path / "stderr.txt"
    cmd = [sys.executable, "-m", "training", "es", "--task", "ant", "--config", str(config), "--seed", "1"]
    cmd += ["--run-dir", str(run), "--no-progress", "--backend", "process", "--workers", "2"]
    with err_path.open("w") as err_file:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err_file, start_new_session=True)
        deadline = time.monotonic() + 60
        while log_rows(run) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
        os.killpg(proc.pid, getattr(signal, name))
        proc.wait(timeout=60)
    err = err_path.read_text()
    assert proc.returncode == 128 + getattr(signal, name), err
    assert f"stopped by {name}" in err and "Traceback" not in err
    ck = load_checkpoint(run / "checkpoint.npz")
    assert ck["search"]["generation"] == len(ck["log"]) == log_rows(run) >= 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--task", "swingup"], "do not match the env's ('cart',)"),
        (["--task", "ant", "--morphology", "standard,left_frnt"], "unknown morphology 'left_frnt'"),
        (["--task", "toy", "--knobs", "{imu_noise: 0.1}"], "knobs apply to the quadruped tasks"),
        (["--task", "ant", "--knobs", "{slope: 0.1}"], "unknown knob(s) ['slope']"),
        (["--task", "ant", "--knobs", "{gravity_tilt: 3}"], "SimKnobs.gravity_tilt needs"),
        (["--task", "ant", "--knobs", "[0.1]"], "knobs must be a YAML mapping"),
        (["--task", "ant", "--knobs", "{a: [}"], "knobs are not YAML"),
    ],
)
def test_evaluate_refuses_a_mismatch_before_any_worker_starts(args, message, tmp_path, capsys):
    policy = Path(__file__).parents[1] / "models" / "ant_static.wrp"
    code = main(["evaluate", str(policy), "--episodes", "1", "--out", str(tmp_path), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_evaluate_with_knobs_changes_the_episodes_and_records_them():
    policy = Path(__file__).parents[1] / "models" / "ant_hebbian.wrp"
    args = dict(episodes=1, morphology="standard", backend="serial", max_steps=300)
    level = evaluate_policy_file(policy, "ant", **args)
    slope = {"gravity_tilt": [0.2, 0.2], "gravity_heading": [3.14, 3.14]}  # uphill along +x, once walking
    tilted = evaluate_policy_file(policy, "ant", knobs=slope, **args)
    assert level["knobs"] == {} and tilted["knobs"] == slope
    assert tilted["rows"][0]["fitness"] < level["rows"][0]["fitness"]
    assert "knobs {'gravity_tilt'" in format_report(tilted)


def test_evaluate_max_steps_runs_episodes_longer_than_the_env_default():
    """The Ant env ends at 1,000 env steps (960 policy steps after the burn-in); --max-steps 1,200 runs
    1,200 policy steps, so a damage at step 1,100 is valid and fires."""
    policy = Path(__file__).parents[1] / "models" / "ant_static_grown.wrp"  # walks: no early stop
    report = evaluate_policy_file(
        policy, "ant", episodes=1, morphology="left_front@1100-1100", backend="serial", max_steps=1200
    )
    assert report["rows"][0]["steps"] == 1200
    with pytest.raises(ValueError, match="past the episode's last policy step 959"):
        evaluate_policy_file(policy, "ant", episodes=1, morphology="left_front@1100-1100", backend="serial")


def test_morphology_lists_expand_all_inside_a_comma_list():
    three = ("standard", "right_front", "left_front")
    assert morphologies_for("ant", "all") == three
    assert morphologies_for("ant", "all, shorten:back_left=0.25") == (*three, "shorten:back_left=0.25")
    assert morphologies_for("ant", "left_front,all,,standard") == ("left_front", "standard", "right_front")
    assert morphologies_for("ant", None) is None


def test_evaluate_refuses_a_file_that_is_no_policy(tmp_path, capsys):
    text = tmp_path / "notes.md"
    text.write_text("# not a policy\n")
    code = main(["evaluate", str(text), "--task", "toy", "--episodes", "1", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "unrecognised policy file" in capsys.readouterr().err


def test_resume_rewrites_a_lost_best_policy_and_keeps_a_new_total(tmp_path):
    run = tmp_path / "run"
    assert main(train_cmd(write_config(tmp_path, 2), run)[3:]) == 0
    best = load_policy(run / "best.wrp").to_flat()
    (run / "best.wrp").unlink()  # as if killed between the best policy and the checkpoint
    assert main(["resume", str(run), "--generations", "3", "--no-progress"]) == 0
    assert (run / "best.wrp").is_file() and log_rows(run) == 3
    if load_checkpoint(run / "checkpoint.npz")["best_generation"] < 2:  # no better one in generation 3
        np.testing.assert_array_equal(load_policy(run / "best.wrp").to_flat(), best)
    assert json.loads((run / "run.json").read_text())["config"]["generations"] == 3
    assert "generations: 3" in (run / "config.yaml").read_text()
    assert main(["resume", str(run), "--no-progress"]) == 0  # nothing left: the new total was kept
    assert log_rows(run) == 3


@pytest.mark.parametrize(
    "option", [["--checkpoint-every", "0"], ["--workers", "0"], ["--keep-checkpoints", "-1"]]
)
def test_bad_run_options_fail_before_the_run_directory_is_made(tmp_path, option, capsys):
    run = tmp_path / "run"
    assert main(train_cmd(write_config(tmp_path, 2), run, *option)[3:]) == 2
    assert "must be >= " in capsys.readouterr().err and not run.exists()


def test_an_a1_policy_with_a_gait_clock_trains_exports_and_evaluates_with_its_clock(tmp_path):
    config = tmp_path / "clock.yaml"
    config.write_text(
        "generations: 1\npopsize: 4\nmax_steps: 10\nhidden: [8]\nbias: true\n"
        "env_kwargs: {gait_clock_hz: 2.5}\n"
    )
    run = tmp_path / "run"
    args = ["es", "--task", "a1", "--config", str(config), "--seed", "0", "--backend", "serial"]
    assert main([*args, "--run-dir", str(run), "--no-progress"]) == 0
    spec = load_policy(run / "best.wrp").spec.observation
    assert rs.gait_clock_hz(spec) == 2.5 and spec.size == rs.a1_observation_spec().size + 2
    report = evaluate_policy_file(run / "best.wrp", "a1", 1, 0, backend="serial", max_steps=10)
    assert np.isfinite(report["morphologies"]["default"]["mean"])  # the env fed the clock the policy expects
    out = tmp_path / "a1.png"
    assert (
        wann_ros_main(
            ["rollout", str(run / "best.wrp"), "--env", "wann_ros/A1-v0", "--out", str(out), "--steps", "3"]
        )
        == 0
    )
    assert out.stat().st_size > 1000
    assert main(["hebbian-export", str(run), "--which", "mean", "--out", str(tmp_path / "a1.wrp")]) == 0
    card = (tmp_path / "a1.md").read_text()
    assert "`a1` task (env wann_ros/A1-v0)" in card and "(mean episode reward over standard" in card


def test_es_warm_starts_from_a_static_policy_file_and_refuses_one_that_does_not_fit(tmp_path):
    config = ESConfig(popsize=4, hidden=(4,), bias=True, generations=1)
    cold = make_es_search(config, "toy", 0)
    params = cold.strategy.mean + 0.5  # anything but the random start
    env = cold.task.make_env(0)
    path = save_policy(static_mlp(params, env, hidden=(4,), bias=True), tmp_path / "start.wrp")
    env.close()
    warm = make_es_search(replace(config, init_policy=str(path)), "toy", 0)
    np.testing.assert_array_equal(warm.strategy.mean, params)
    with pytest.raises(ValueError, match=r"is a \[.*\] network"):
        make_es_search(replace(config, hidden=(5,), init_policy=str(path)), "toy", 0)
    with pytest.raises(ValueError, match="non-zero biases, which a network with bias: false"):
        make_es_search(replace(config, bias=False, init_policy=str(path)), "toy", 0)
    env = cold.task.make_env(0)
    weights_only = np.arange(
        make_es_search(replace(config, bias=False), "toy", 0).strategy.mean.size, dtype=float
    )
    path = save_policy(static_mlp(weights_only, env, hidden=(4,)), tmp_path / "no_bias.wrp")
    env.close()
    warm = make_es_search(replace(config, bias=False, init_policy=str(path)), "toy", 0)
    np.testing.assert_array_equal(warm.strategy.mean, weights_only)
    hebbian = Path(__file__).parents[1] / "models" / "ant_hebbian.wrp"
    with pytest.raises(ValueError, match="not a static one"):
        make_es_search(replace(config, init_policy=str(hebbian)), "toy", 0)


def test_es_knobs_reach_the_training_env_and_are_checked():
    config = ESConfig(
        popsize=4,
        hidden=(4,),
        generations=1,
        env_kwargs={"gait_clock_hz": 2.0},
        knobs={"latency_steps": [0, 2], "ground_friction": [0.5, 1.0]},
    )
    env = make_es_search(config, "a1", 0).task.make_env(0)
    try:
        knobs = env.unwrapped.world.knobs
        assert knobs.latency_steps == (0, 2) and knobs.ground_friction == (0.5, 1.0)
        assert rs.gait_clock_hz(env.unwrapped.obs_spec) == 2.0  # env_kwargs still reach it
    finally:
        env.close()
    assert ESConfig().env_options() == {}
    with pytest.raises(ValueError, match=r"unknown knob\(s\) \['latency'\]"):
        ESConfig(knobs={"latency": 1})
    with pytest.raises(ValueError, match="with the knobs key"):
        ESConfig(knobs={"latency_steps": 1}, env_kwargs={"knobs": None})
