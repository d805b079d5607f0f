"""``wann-ros inspect``: the summary, --json, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_native_format import with_provenance
from tests.test_policies import all_kinds
from wann_ros.cli import COMMANDS, main
from wann_ros.formats import file_sha256, save_policy


@pytest.fixture
def policy_file(tmp_path):
    return save_policy(with_provenance(all_kinds()[2]), tmp_path / "chromatic.wrp")


def test_inspect_prints_spec_and_summary(policy_file, capsys):
    assert main(["inspect", str(policy_file)]) == 0
    out = capsys.readouterr().out
    for text in (
        "kind            chromatic",
        "format          native",
        file_sha256(policy_file),
        "[3, 4, 2]",
        "joint_1",
        "limits [-1, 1]",
        "0.02 s (50 Hz)",
        "ant_damaged",
        "317",
        "normalised: mean, std, clip 5",
    ):
        assert text in out


def test_inspect_json(policy_file, capsys):
    assert main(["inspect", str(policy_file), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "chromatic"
    assert summary["parameters"] == 3 + 4 + 2
    assert summary["network"]["layer_sizes"] == [3, 4, 2]
    assert summary["observation"]["terms"] == [{"name": "obs", "size": 3, "params": {}}]
    assert [j["name"] for j in summary["action"]["joints"]] == ["joint_0", "joint_1"]
    assert summary["provenance"]["seed"] == 42
    assert summary["sha256"] == file_sha256(policy_file)


@pytest.mark.parametrize("content", [b"", b"garbage", None])
def test_bad_file_is_one_line_and_exit_2(tmp_path, capsys, content):
    path = tmp_path / "bad.wrp"
    if content is not None:
        path.write_bytes(content)
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("wann-ros inspect: error:") and "bad.wrp" in err


def test_subcommands_come_from_the_registry():
    assert "inspect" in COMMANDS
    with pytest.raises(SystemExit):
        main(["no-such-command"])


def test_console_script_runs(policy_file):
    exe = Path(sys.executable).with_name("wann-ros")
    done = subprocess.run(
        [str(exe), "inspect", str(policy_file), "--json"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["format"] == "native"
    bad = subprocess.run(
        [str(exe), "inspect", "/nonexistent.wrp"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "cannot read" in bad.stderr


def test_rollout_records_frames_and_summarises_the_episode(tmp_path, capsys):
    model = Path(__file__).resolve().parent.parent / "models" / "swingup_wann_tuned.wrp"
    out = tmp_path / "swing.png"
    argv = ["rollout", str(model), "--env", "wann_ros/CartPoleSwingUp-v0", "--out", str(out)]
    assert main([*argv, "--steps", "40", "--every", "20"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 40 and 0 < summary["return"] < 40 and out.stat().st_size > 0
    assert summary["fraction_upright"] == 0.0  # it starts hanging down: 40 steps are too few to swing up
    assert main([*argv[:-1], str(tmp_path / "x.jpg")]) == 2
    assert main(["rollout", str(model), "--env", "NoSuchEnv-v9", "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("wann-ros rollout: error:") and ".jpg" in err[0] and "NoSuchEnv-v9" in err[1]
