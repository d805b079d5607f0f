"""The chromatic search on swing-up: antithetic pairs share a colouring, state round trip, the
comparison command is reproducible from its seed."""

import csv

import numpy as np
import pytest

from training.backends import make_backend
from training.chromatic.compare import main as compare_main
from training.chromatic.config import ChromaticConfig
from training.chromatic.search import make_search
from training.cli import main as cli_main
from training.evaluation import Evaluator

TINY = "popsize: 6\nhidden: [4]\ncolors: 3\nmax_steps: 200\n"


def _generation(search, evaluator, gen):
    candidates = search.ask()
    result = evaluator.evaluate(candidates, gen, search.seed_keys(len(candidates)))
    search.tell(result)
    return candidates, result


def test_pairs_share_colouring_and_episodes():
    search = make_search(ChromaticConfig(colors=3, hidden=(4,), popsize=6, max_steps=100), "swingup", 0)
    candidates = search.ask()
    for i in range(3):
        assert np.array_equal(candidates[i].colours, candidates[i + 3].colours)
        np.testing.assert_allclose(
            candidates[i].params + candidates[i + 3].params, 2 * search.strategy.mean, atol=1e-6
        )
    assert list(search.seed_keys(6)) == [0, 1, 2, 0, 1, 2]


def test_state_round_trip_continues_identically():
    config = ChromaticConfig(colors=3, hidden=(4,), popsize=6, max_steps=100)
    a = make_search(config, "swingup", 1)
    evaluator = Evaluator(a.task, make_backend("serial", a.task), 1, 1)
    for g in range(2):
        _generation(a, evaluator, g)
    b = make_search(config, "swingup", 1)
    b.load_state_dict(a.state_dict())
    _, ra = _generation(a, evaluator, 2)
    _, rb = _generation(b, evaluator, 2)
    np.testing.assert_array_equal(ra.fitness, rb.fitness)
    np.testing.assert_array_equal(a.colouring.logits, b.colouring.logits)
    assert a.best()[1] == b.best()[1]
    np.testing.assert_array_equal(a.final().colours, b.final().colours)


def _rows(path):
    with open(path) as f:
        return [{k: v for k, v in row.items() if k != "wall_s"} for row in csv.DictReader(f)]


def test_compare_is_reproducible(tmp_path, capsys):
    (tmp_path / "tiny.yaml").write_text(TINY)
    args = [
        "--task",
        "swingup",
        "--budget",
        "2",
        "--config",
        str(tmp_path / "tiny.yaml"),
        "--eval-episodes",
        "2",
        "--seeds",
        "4",
    ]
    assert compare_main([*args, "--out", str(tmp_path / "a")]) == 0
    assert compare_main([*args, "--out", str(tmp_path / "b")]) == 0
    rows = _rows(tmp_path / "a" / "compare.csv")
    assert [r["structure"] for r in rows] == ["learned", "random", "toeplitz", "masked", "dense"]
    assert rows == _rows(tmp_path / "b" / "compare.csv")
    assert [r["es_dim"] for r in rows] == ["8", "8", "17", "29", "29"]  # 3 + 5 biases; 12 diagonals; 20 edges
    assert (tmp_path / "a" / "compare.png").stat().st_size > 0
    assert (tmp_path / "a" / "learned-s4" / "best.wrp").is_file()
    out = capsys.readouterr().out
    assert "final (held-out)" in out and "toeplitz" in out


def test_compare_refuses_unknown_structure(capsys):
    with pytest.raises(SystemExit) as exc:
        compare_main(["--task", "swingup", "--budget", "1", "--structures", "learned,circulant"])
    assert exc.value.code == 2
    assert "circulant" in capsys.readouterr().err


def test_cli_trains_chromatic(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    code = cli_main(
        [
            "chromatic",
            "--task",
            "swingup",
            "--config",
            str(tmp_path / "tiny.yaml"),
            "--generations",
            "2",
            "--run-dir",
            str(tmp_path / "run"),
            "--no-progress",
        ]
    )
    assert code == 0
    from wann_ros.formats import load_policy

    policy = load_policy(tmp_path / "run" / "best.wrp")
    assert policy.kind == "chromatic" and policy.n_colors == 3
    assert (
        cli_main(
            [
                "chromatic",
                "--task",
                "swingup",
                "--config",
                str(tmp_path / "tiny.yaml"),
                "--generations",
                "0",
                "--run-dir",
                str(tmp_path / "bad"),
            ]
        )
        == 2
    )


def test_export_writes_chroma_with_provenance(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    run = tmp_path / "run"
    assert (
        cli_main(
            [
                "chromatic",
                "--task",
                "swingup",
                "--config",
                str(tmp_path / "tiny.yaml"),
                "--generations",
                "2",
                "--run-dir",
                str(run),
                "--no-progress",
            ]
        )
        == 0
    )
    from wann_ros.formats import load_policy

    assert cli_main(["chromatic-export", str(run), str(tmp_path / "final.chroma"), "--which", "final"]) == 0
    final = load_policy(tmp_path / "final.chroma")
    assert final.kind == "chromatic" and final.spec.provenance.generation == 1
    assert final.spec.provenance.extra["which"] == "final"
    best_native = load_policy(run / "best.wrp")
    assert cli_main(["chromatic-export", str(run), str(tmp_path / "best.chroma")]) == 0
    best = load_policy(tmp_path / "best.chroma")
    x = np.random.default_rng(0).normal(size=5)
    np.testing.assert_allclose(best.act(x), best_native.act(x), rtol=1e-5)
    assert best.spec.provenance.score == pytest.approx(best_native.spec.provenance.score)
