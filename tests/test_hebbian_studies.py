"""The morphology table, the adaptation studies and the bounded long run, on tiny policies."""

import csv
import json

import gymnasium
import numpy as np
import pytest

import wann_ros.sim  # noqa: F401  (registers the envs)
from training.builders import static_mlp
from training.cli import main
from training.episodes import run_episode
from training.hebbian.bounded import long_runner, parse_settings
from training.hebbian.rollout import (
    FreezeAt,
    Saturate,
    ZeroWeights,
    rolling_mean,
    steps_to_recover,
    trace_episode,
)
from training.hebbian.search import hebbian_mlp
from training.hebbian.studies import top_components
from training.seeding import policy_seed
from wann_ros.formats import load_policy, save_policy

STUDY = ["--episodes", "1", "--steps", "60", "--backend", "serial"]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def ant():
    env = gymnasium.make("wann_ros/AntDamage-v0", disable_env_checker=True, early_stop=False)
    yield env
    env.close()


@pytest.fixture(scope="module")
def policies(tmp_path_factory, ant):
    """A tiny Hebbian (28->8->8) and a tiny static policy, saved as native files."""
    root = tmp_path_factory.mktemp("policies")
    rng = np.random.default_rng(7)
    heb = save_policy(hebbian_mlp(rng.normal(0, 0.5, 5 * (28 * 8 + 8 * 8)), ant, hidden=(8,)), root / "h.wrp")
    sta = save_policy(static_mlp(rng.normal(0, 0.3, 28 * 8 + 8 * 8), ant, hidden=(8,)), root / "s.wrp")
    return heb, sta


def test_table_with_two_episodes_on_tiny_policies(tmp_path, policies, capsys):
    heb, sta = policies
    out = tmp_path / "table"
    assert (
        main(
            [
                "hebbian-table",
                "--hebbian",
                str(heb),
                "--static",
                str(sta),
                "--episodes",
                "2",
                "--max-steps",
                "40",
                "--backend",
                "serial",
                "--seed",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = read_csv(out / "table.csv")
    assert [(r["kind"], r["morphology"], r["seen"]) for r in rows] == [
        (kind, morph, str(morph != "left_front"))
        for kind in ("hebbian", "static")
        for morph in ("standard", "right_front", "left_front")
    ]
    assert all(np.isfinite(float(r["distance_mean"])) and r["episodes"] == "2" for r in rows)
    assert all(r["fell_rate"] == "0.0" for r in rows)  # 40 steps: inside the stop rule's grace
    md = (out / "table.md").read_text()
    assert "| left_front (unseen) |" in md and md.count("±") == 12 and "2 seeded episodes" in md
    assert "| hebbian: solved | hebbian: fell | static: distance" in md and "| static: fell |" in md
    report = json.loads((out / "table.json").read_text())
    assert len(report["reports"]["hebbian"]["rows"]) == 6  # 3 morphologies x 2 episodes
    assert "left_front (unseen)" in capsys.readouterr().out


def test_table_takes_several_static_policies_labelled_by_file_name(tmp_path, policies):
    heb, sta = policies
    other = tmp_path / "grown.wrp"
    other.write_bytes(sta.read_bytes())
    out = tmp_path / "table"
    common = ["hebbian-table", "--hebbian", str(heb), "--episodes", "1", "--max-steps", "20"]
    common += ["--backend", "serial"]
    assert main([*common, "--static", str(sta), str(other), "--out", str(out)]) == 0
    rows = read_csv(out / "table.csv")
    assert list(dict.fromkeys(r["kind"] for r in rows)) == ["hebbian", "static s", "static grown"]
    by_kind = {r["kind"]: r["distance_mean"] for r in rows if r["morphology"] == "standard"}
    assert by_kind["static s"] == by_kind["static grown"]  # the same policy on the same seeded episodes
    assert "| static s: distance (paper units) |" in (out / "table.md").read_text()
    twin = tmp_path / "twin" / "s.wrp"
    twin.parent.mkdir()
    twin.write_bytes(sta.read_bytes())
    with pytest.raises(SystemExit):
        main([*common, "--static", str(sta), str(twin), "--out", str(tmp_path / "t2")])
    assert not (tmp_path / "t2").exists()


def test_an_episode_that_ends_with_the_robot_down_is_marked_fell(ant):
    still = static_mlp(np.zeros(28 * 8 + 8 * 8), ant, hidden=(8,))  # zero torque: the torso sinks
    env = gymnasium.make("wann_ros/AntDamage-v0", disable_env_checker=True, morphology="left_front")
    try:
        fitness, info = run_episode(still, env, seed=0, fitness="distance")
        _, short = run_episode(still, env, seed=0, fitness="distance", max_steps=100)
    finally:
        env.close()
    assert info["fell"] and info["steps"] == 202  # the stop rule fires once step_index > 200
    assert not short["fell"] and abs(fitness) < 5
    assert info["down"] == short["down"] == 1.0  # on its belly from the first step


def test_table_refuses_a_static_policy_as_hebbian(tmp_path, policies):
    heb, sta = policies
    assert (
        main(
            [
                "hebbian-table",
                "--hebbian",
                str(sta),
                "--static",
                str(heb),
                "--episodes",
                "1",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )


@pytest.mark.parametrize(
    "study,extra",
    [
        ("freeze", ["--freeze-steps", "0,20,never", "--morphology", "standard,left_front"]),
        ("lesion", ["--at", "30"]),
        ("saturate", ["--at", "20", "--duration", "10"]),
        ("damage", ["--at", "30"]),
        ("pca", ["--stride", "5", "--morphology", "standard,left_front"]),
    ],
)
def test_each_study_writes_png_and_csv(tmp_path, policies, study, extra):
    assert main([f"hebbian-{study}", str(policies[0]), *STUDY, *extra, "--out", str(tmp_path)]) == 0
    assert (tmp_path / f"{study}.png").stat().st_size > 1000
    rows = read_csv(tmp_path / f"{study}.csv")
    assert rows
    if study == "freeze":
        assert {r["freeze_step"] for r in rows} == {"0", "20", "never"} and len(rows) == 6
    if study == "pca":
        assert {r["morphology"] for r in rows} == {"standard", "left_front"} and len(rows) == 24
        assert len(json.loads((tmp_path / "pca.json").read_text())["explained_variance_ratio"]) == 3


def test_studies_refuse_a_static_policy(tmp_path, policies):
    assert main(["hebbian-lesion", str(policies[1]), *STUDY, "--out", str(tmp_path)]) == 2


def test_freezing_at_step_zero_keeps_the_initial_weights(ant, policies):
    policy = load_policy(policies[0])
    trace_episode(policy, ant, 5, [FreezeAt(0)], max_steps=10)
    frozen = policy.weights
    policy.reset(policy_seed(5))
    for a, b in zip(frozen, policy.weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_lesion_zeroes_about_a_third_and_saturation_pins_actions(ant, policies):
    policy = load_policy(policies[0])
    policy.freeze()
    trace_episode(policy, ant, 1, [ZeroWeights(3, 1 / 3, seed=0)], max_steps=5)
    share = np.mean(np.concatenate([w.ravel() for w in policy.weights]) == 0)
    assert 0.25 < share < 0.42
    sat = Saturate(2, duration=3, value=1.0)
    assert np.all(sat.action(3, np.zeros(8)) == 1.0) and np.all(sat.action(5, np.zeros(8)) == 0.0)


def test_lesion_choice_does_not_follow_the_env_start_state(ant, policies):
    """The mask has its own stream: not the generator gymnasium hands the env on the same seed."""
    policy = load_policy(policies[0])
    policy.freeze()
    ones = [np.ones_like(w) for w in policy.weights]
    policy.weights = ones
    ZeroWeights(0, 1 / 3, seed=4).before_step(0, policy, ant)
    mask = policy.weights[0] == 0
    env_stream = np.random.default_rng(4).random(ones[0].shape) < 1 / 3
    assert not np.array_equal(mask, env_stream) and 0.25 < mask.mean() < 0.42


class StepCounter:
    """A policy whose weight norm is the number of steps it has taken."""

    def __init__(self) -> None:
        self.steps = 0

    def reset(self, seed: int) -> None:
        self.steps = 0

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.steps += 1
        return np.zeros(8)

    def weight_norms(self) -> list[float]:
        return [float(self.steps)]


def test_norms_are_recorded_after_the_same_steps_as_the_distance(ant):
    _, info = long_runner(StepCounter(), ant, 0, steps=60, record_every=20)
    assert info["norms"].ravel().tolist() == [20.0, 40.0, 60.0] and info["distance_curve"].size == 3


def test_recovery_steps_from_a_known_speed_profile():
    speed = np.r_[np.full(100, 1.0), np.zeros(20), np.full(100, 1.0)]
    assert steps_to_recover(speed, 100, 120, window=10, frac=0.8) == 10
    assert np.isnan(steps_to_recover(np.r_[np.full(100, 1.0), np.zeros(50)], 100, 100, window=10))
    assert np.isnan(steps_to_recover(np.zeros(200), 100, 120, window=10))  # was not walking before
    np.testing.assert_allclose(rolling_mean(np.arange(5.0), 2), [0, 0.5, 1.5, 2.5, 3.5])


def test_bounded_settings_parse_and_refuse_nonsense():
    assert parse_settings("none,normalize+bound=0.5") == [
        {"name": "none", "weight_bound": None, "normalize": False},
        {"name": "normalize+bound=0.5", "weight_bound": 0.5, "normalize": True},
    ]
    with pytest.raises(ValueError, match="positive number"):
        parse_settings("bound=-1")
    with pytest.raises(ValueError, match="unknown setting 'clip'"):
        parse_settings("clip")


def test_bounded_command_on_a_short_run(tmp_path, policies):
    assert (
        main(
            [
                "hebbian-bounded",
                str(policies[0]),
                "--sim-seconds",
                "2",
                "--record-every",
                "20",
                "--episodes",
                "1",
                "--settings",
                "none,bound=0.5",
                "--backend",
                "serial",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "bounded.json").read_text())["summary"]
    assert summary["none"]["steps"] == summary["bound=0.5"]["steps"] == 121  # 2 s / 0.0165 s
    assert summary["bound=0.5"]["finite"]
    # a 0.5 bound caps every weight, so a layer's norm is at most 0.5 * sqrt(its size)
    assert summary["bound=0.5"]["max_layer_norm"] <= 0.5 * np.sqrt(28 * 8) + 1e-9
    assert set(summary["none"]["score"]) == {"standard", "right_front", "left_front"}
    assert (tmp_path / "bounded.png").stat().st_size > 1000


def test_top_components_match_a_full_svd():
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(300, 4)) * [10.0, 5.0, 2.0, 1.0]) @ rng.normal(size=(4, 50))
    x += 0.01 * rng.normal(size=(300, 50))
    directions, explained = top_components(x)
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(explained, (s**2 / np.sum(s**2))[:3], rtol=1e-6)
    np.testing.assert_allclose(np.abs(np.sum(directions * vt[:3], axis=1)), 1.0, atol=1e-6)
