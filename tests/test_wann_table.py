"""The four-row table command, the exported policies and the pictures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.cli import main as cli
from training.wann import tune
from training.wann.genome import minimal
from training.wann.operators import mutate
from training.wann.pictures import HISTORY_COLUMNS, draw_network, plot_training_curve
from training.wann.policy import SWINGUP_INPUT_NAMES, from_policy, swingup_spec, to_policy
from training.wann.swingup_eval import rollout
from training.wann.table import write_history_csv
from wann_ros.formats import load_policy, save_policy
from wann_ros.policies.wann_population import PopulationForward


def _genome(seed: int = 2):
    rng = np.random.default_rng(seed)
    g = minimal(5, 1, 5, 1.0, rng)
    for _ in range(12):
        g = mutate(g, rng, (0.2, 0.25, 0.05, 0.5), tuple(range(1, 11)))
    return g


def test_table_command_prints_four_rows_and_exports(tmp_path, capsys):
    g = _genome()
    source = tmp_path / "net.wrp"
    save_policy(to_policy(g, swingup_spec(), shared_weight=1.0), source)
    out = tmp_path / "out"
    argv = [
        "wann-table",
        str(source),
        "--episodes",
        "3",
        "--sweep-episodes",
        "1",
        "--finetune-generations",
        "2",
    ]
    argv += [
        "--finetune-generations",
        "2",
        "--finetune-popsize",
        "4",
        "--finetune-episodes",
        "1",
        "--out",
        str(out),
    ]
    assert cli(argv) == 0
    text = capsys.readouterr().out
    for row in ("random weights", "random shared weight", "tuned shared weight", "tuned weights"):
        assert row in text
    table = json.loads((out / "wann_table.json").read_text())
    rows = {
        "random weights",
        "random shared weight",
        "tuned shared weight",
        "tuned weights",
        "weight ensemble",
    }
    assert set(table["rows"]) == rows
    assert -2.0 <= table["shared_weight"] <= 2.0 and len(table["finetune_history"]) == 2
    tuned = load_policy(out / "wann_tuned.wrp")
    back, weights = from_policy(tuned)
    assert (back.n_connections, back.hidden_ids.size) == (g.n_connections, g.hidden_ids.size)
    x = np.random.default_rng(0).normal(size=(1, 7, 5))
    same = PopulationForward([g.to_dag(weights)])(x)[0]
    np.testing.assert_allclose(same, tuned.act_batch(x[0]), rtol=1e-12, atol=1e-12)
    assert tuned.spec.control_period == 0.01 and tuned.spec.action.joint_names == ("cart",)
    assert tuned.spec.observation.terms[0].name == "swingup_state"
    shared = load_policy(out / "wann_shared.wrp")
    assert shared.shared_weight == pytest.approx(table["shared_weight"])
    assert load_policy(out / "wann_ensemble.wrp").ensemble_weights.size == 6
    assert (out / "wann_network.png").stat().st_size > 1000
    assert (out / "wann_sweep.png").stat().st_size > 1000
    sweep = table["sweep"]
    assert len(sweep["weights"]) == len(sweep["mean"]) == 400 and 0.0 not in sweep["weights"]
    best = int(np.argmax(sweep["mean"]))
    assert sweep["weights"][best] == pytest.approx(table["shared_weight"]) and sweep["episodes"] == 1


@pytest.mark.parametrize(
    "strategy, step", [("openai-es", {"lr": 5.0}), ("cma", {"sigma": 1.0})], ids=["openai-es", "cma"]
)
def test_finetune_keeps_the_best_validated_mean(strategy, step):
    g = _genome()
    # a step that throws the ES mean around: the kept weights must be the best validated ones
    res = tune.finetune_edges(
        g,
        1.0,
        generations=6,
        popsize=4,
        episodes=1,
        strategy=strategy,
        validation_episodes=3,
        validate_every=2,
        **step,
    )
    assert set(res.validation) == {0, 2, 4, 6}
    assert len(set(res.validation.values())) > 1  # the means differ, so the choice matters
    best = max(res.validation.values())
    assert res.validation[res.best_generation] == best
    seeds = tune._seeds(0, tune.VALIDATION_STREAM, 0, 3)
    kept = rollout([g.to_dag(res.weights)], np.ones((1, 3)), seeds[None, :]).mean()
    assert kept == pytest.approx(best)


def test_finetune_refuses_an_unknown_strategy():
    with pytest.raises(ValueError, match="strategy must be one of"):
        tune.finetune_edges(_genome(), 1.0, generations=1, strategy="sgd")


def test_table_command_reads_a_reference_network(tmp_path, capsys):
    """A network in the reference code's CSV (rows bias, inputs, hidden, outputs; NaN = disabled) gives
    the same policy as the genome it was written from."""
    g = _genome(3)
    policy = to_policy(g, swingup_spec(), shared_weight=1.0)
    n = policy.activations.size
    matrix = np.zeros((n, n + 1))
    src, dst, enabled = policy.connections.T
    matrix[src, dst] = np.where(enabled == 1, 0.37, np.nan)  # stored values are replaced by the shared one
    matrix[:, n] = policy.activations
    source = tmp_path / "swing.out"
    np.savetxt(source, matrix, delimiter=",", fmt="%.2e")
    out = tmp_path / "out"
    argv = ["wann-table", str(source), "--episodes", "2", "--sweep-episodes", "1"]
    assert cli([*argv, "--finetune-generations", "0", "--out", str(out)]) == 0
    assert f"{g.hidden_ids.size} hidden nodes, {g.n_connections} connections" in capsys.readouterr().out
    shared = load_policy(out / "wann_shared.wrp")
    expected = to_policy(g, swingup_spec(), shared_weight=shared.shared_weight)
    x = np.random.default_rng(1).normal(size=(9, 5))
    np.testing.assert_allclose(shared.act_batch(x), expected.act_batch(x), rtol=1e-12, atol=1e-12)
    assert json.loads((out / "wann_table.json").read_text())["source"] == {"reference_net": str(source)}


def test_table_command_refuses_bad_sources(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli(["wann-table", str(tmp_path / "missing")])
    assert "no such run directory or policy file" in capsys.readouterr().err
    (tmp_path / "run").mkdir()
    with pytest.raises(SystemExit):
        cli(["wann-table", str(tmp_path / "run")])
    assert "not a WANN run directory" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("1,2\n")
    with pytest.raises(SystemExit):
        cli(["wann-table", str(tmp_path / "notes.txt")])
    assert "unrecognised policy file" in capsys.readouterr().err


def test_pictures(tmp_path):
    g = _genome(4)
    png = draw_network(g, tmp_path / "net.png", SWINGUP_INPUT_NAMES, ["force"])
    assert png.stat().st_size > 1000
    with pytest.raises(ValueError, match="input names"):
        draw_network(g, tmp_path / "bad.png", ["x"])
    history = [{c: float(i) for c in HISTORY_COLUMNS} for i in range(5)]
    curve = plot_training_curve(write_history_csv(history, tmp_path / "h.csv"), tmp_path / "curve.png")
    assert curve.stat().st_size > 1000
    (tmp_path / "bad.csv").write_text("generation,best\n0,1\n")
    with pytest.raises(ValueError, match="lacks the columns"):
        plot_training_curve(tmp_path / "bad.csv", tmp_path / "x.png")
