"""``python -m training robustness``: one policy under each sim-to-real knob, on the same episodes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from training.cli import main
from training.harness import evaluate_policy_file
from training.robustness import DEFAULT_SWEEP, check_sweep, default_sweep

POLICY = Path(__file__).parents[1] / "models" / "ant_hebbian.wrp"


def test_each_setting_runs_the_episodes_of_the_plain_evaluation(tmp_path, capsys):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("none: {}\nlate: {latency_steps: 2}\n")
    out = tmp_path / "out"
    args = ["--episodes", "1", "--morphology", "standard", "--max-steps", "120", "--backend", "serial"]
    assert main(["robustness", str(POLICY), *args, "--sweep", str(sweep), "--out", str(out)]) == 0
    assert "late " in capsys.readouterr().out
    plain = evaluate_policy_file(POLICY, "ant", 1, 0, "standard", "serial", max_steps=120)
    with open(out / "robustness.csv") as f:
        rows = {r["setting"]: r for r in csv.DictReader(f)}
    assert float(rows["none"]["mean"]) == pytest.approx(plain["morphologies"]["standard"]["mean"], abs=1e-9)
    assert float(rows["late"]["mean"]) < float(rows["none"]["mean"])
    table = (out / "robustness.md").read_text()
    assert '| late | `{"latency_steps": 2}` |' in table and "| none | — |" in table
    assert (out / "robustness.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "text, message",
    [
        ("ok: {}\nbad: {latency: 2}\n", "sweep setting 'bad': unknown knob(s) ['latency']"),
        ("ok: {}\nbad: {motor_strength: [1.0, 0.5]}\n", "sweep setting 'bad': SimKnobs.motor_strength needs"),
        ("- {latency_steps: 1}\n", "a sweep is a non-empty mapping"),
        ("a: [\n", "not YAML"),
    ],
)
def test_a_bad_sweep_is_refused_by_name_before_any_episode(text, message, tmp_path, capsys):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(text)
    out = tmp_path / "out"
    code = main(["robustness", str(POLICY), "--episodes", "1", "--sweep", str(sweep), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_the_default_sweep_is_valid_and_starts_without_knobs():
    check_sweep(DEFAULT_SWEEP)
    assert next(iter(DEFAULT_SWEEP.values())) == {}
    a1 = default_sweep("a1")
    check_sweep(a1)
    assert default_sweep("ant") is DEFAULT_SWEEP and len(a1) == len(DEFAULT_SWEEP)
    assert a1["push 110 N / 200 steps"] == {"push_force": 110.0} and "push 2,000 N / 200 steps" not in a1
