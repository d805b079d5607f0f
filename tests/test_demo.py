"""The README's main command, short: ``python -m wann_ros.demo`` brings up the simulator and controller
nodes as processes over DDS, damages the left front leg mid-run, and writes the summary and the plot."""

import json
import re
import subprocess
import sys

import pytest

from tests.ros_helpers import isolate_ros_domain
from wann_ros.shipped import SHIPPED_POLICIES

pytestmark = pytest.mark.ros
isolate_ros_domain()


def test_demo_walks_is_damaged_and_writes_summary_and_plot(tmp_path):
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "wann_ros.demo", "--duration", "6", "--damage-time", "3", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["policy"].endswith("models/ant_hebbian.wrp")
    assert "PLACEHOLDER" not in summary["policy_note"]
    assert summary["sim_time_s"] >= 6.0 and summary["damage"] == "left_front"
    assert summary["distance_m"] > 0.1  # the shipped policy walks forward from the first seconds
    assert summary["weight_norm_end"] > summary["weight_norm_start"] > 0  # Hebbian weights adapt online
    assert (out / "demo.png").stat().st_size > 10_000
    assert "[damage: left_front]" in done.stdout
    assert re.search(r"stopped all nodes: exit codes \{\d+: 0, \d+: 0\}", done.stdout)


def test_demo_refuses_bad_knobs_before_starting_any_node(tmp_path):
    cmd = [sys.executable, "-m", "wann_ros.demo", "--knobs", "{latency: 2}", "--out", str(tmp_path / "demo")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "unknown knob(s) ['latency']" in done.stderr
    assert "[demo] policy" not in done.stdout and not (tmp_path / "demo").exists()


def test_demo_shows_why_a_node_stopped(tmp_path):
    cmd = [sys.executable, "-m", "wann_ros.demo", "--damage", "left_frnt", "--out", str(tmp_path / "demo")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "a node exited early (code 2)" in done.stderr and "cannot read damage 'left_frnt'" in done.stderr


def test_demo_runs_the_a1_on_position_commands(tmp_path):
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "wann_ros.demo", "--robot", "a1", "--duration", "6", "--out", str(out)]
    done = subprocess.run([*cmd, "--damage", "right_front"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["robot"] == "a1" and summary["sim_time_s"] >= 6.0
    assert summary["policy"].endswith(f"models/{SHIPPED_POLICIES['a1']}")
    assert summary["policy_note"] == "the shipped A1 policy" and summary["weight_norm_start"] is None
    # it trots until the damage (0.45-0.81 m/s in three runs); the damaged body, never trained on, goes down
    # and is pushed back at about 0.3 m/s, so the final distance depends on when the controller came up
    assert summary["speed_before_damage_m_s"] > 0.2
    assert "[damage: right_front]" in done.stdout
    assert re.search(r"stopped all nodes: exit codes \{\d+: 0, \d+: 0\}", done.stdout)
