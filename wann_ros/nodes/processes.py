"""Start the nodes as separate processes (no ROS distribution needed) and stop them without leaving orphans.

Each node runs in its own session (process group), so a Ctrl-C in the terminal reaches only the parent,
which then stops every child: SIGINT, then SIGTERM, then SIGKILL, each after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

NODE_MODULES = {
    "sim_node": "wann_ros.nodes.sim",
    "controller_node": "wann_ros.nodes.controller",
    "bag_recorder": "wann_ros.nodes.recorder",
}


def parse_cpus(value: str | int | Sequence[int]) -> set[int]:
    """A ``cpu_affinity`` parameter as a set of CPU ids: ``"2,3"``, ``1`` or ``[2, 3]`` (a command line or
    a YAML file may type it either way); ``""`` or ``[]``: no pinning. Refuses ids that are not numbers or
    not CPUs of this machine."""
    text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    if not text.strip():
        return set()
    try:
        cpus = {int(c) for c in text.split(",")}
    except ValueError:
        raise ValueError(f"expected CPU ids separated by commas, e.g. '1' or '2,3'; got {text!r}") from None
    count = os.cpu_count() or 1
    unknown = sorted(c for c in cpus if not 0 <= c < count)
    if unknown:
        raise ValueError(f"CPUs {unknown} do not exist; this machine has 0-{count - 1}")
    return cpus


def pin_process(cpus: set[int]) -> None:
    """Pin every thread of this process to ``cpus`` (Linux); threads started later inherit it. A set the
    kernel refuses (e.g. outside this container's cpuset) raises ValueError."""
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except ProcessLookupError:  # a thread that ended meanwhile
            continue
        except OSError as exc:
            raise ValueError(f"cannot pin to CPUs {sorted(cpus)}: {exc.strerror}") from None


def ros_value(value: object) -> str:
    """A parameter value as the ``--ros-args -p name:=value`` syntax wants it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(ros_value(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def yaml_string(text: str) -> str:
    """``text`` as a single-quoted YAML string, so that ``-p name:=value`` keeps it a string parameter
    (``-p knobs:={latency_steps: 2}`` would be read as a mapping)."""
    return "'" + text.replace("'", "''") + "'"


def node_command(executable: str, params: Mapping[str, object], name: str | None = None) -> list[str]:
    if executable not in NODE_MODULES:
        raise ValueError(f"unknown node executable {executable!r}; known: {sorted(NODE_MODULES)}")
    cmd = [sys.executable, "-m", NODE_MODULES[executable], "--ros-args"]
    if name:
        cmd += ["-r", f"__node:={name}"]
    for key, value in params.items():
        cmd += ["-p", f"{key}:={ros_value(value)}"]
    return cmd


def start_node(
    executable: str, params: Mapping[str, object], log: Path, name: str | None = None
) -> subprocess.Popen:
    """Start one node; stdout and stderr go to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "wb")  # noqa: SIM115 - the child owns it; closed when the Popen object is collected
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        node_command(executable, params, name),
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )


LAUNCH_FILE = Path(__file__).resolve().parents[2] / "launch" / "quadruped.launch.py"
_RUN_LAUNCH = """
import sys
from launch import LaunchService
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
args = [a.split(":=", 1) for a in sys.argv[2:]]
service = LaunchService()
service.include_launch_description(
    IncludeLaunchDescription(PythonLaunchDescriptionSource(sys.argv[1]), launch_arguments=args))
sys.exit(service.run())
"""


def launch_available() -> bool:
    """True when launch_ros is importable and wann_ros is an installed ROS package (its executables exist)."""
    try:
        import launch_ros  # noqa: F401
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:
        return False
    try:
        prefix = Path(get_package_prefix("wann_ros"))
    except PackageNotFoundError:
        return False
    return all((prefix / "lib" / "wann_ros" / exe).exists() for exe in NODE_MODULES)


def start_launch(
    arguments: Mapping[str, object], log: Path, launch_file: Path = LAUNCH_FILE
) -> subprocess.Popen:
    """Run ``launch_file`` with ``name:=value`` arguments through launch's LaunchService, own session."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "wb")  # noqa: SIM115 - the child owns it
    cmd = [sys.executable, "-c", _RUN_LAUNCH, str(launch_file)]
    cmd += [f"{k}:={ros_value(v)}" for k, v in arguments.items()]
    return subprocess.Popen(
        cmd,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def stop(procs: list[subprocess.Popen], grace: float = 5.0) -> dict[int, int]:
    """Stop every process (and its process group); returns pid -> exit code."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        alive = [p for p in procs if p.poll() is None]
        if not alive:
            break
        for p in alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(p.poll() is None for p in alive):
            time.sleep(0.05)
    for p in procs:
        p.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):  # grandchildren left in the group
            os.killpg(p.pid, signal.SIGKILL)
    return {p.pid: p.returncode for p in procs}
