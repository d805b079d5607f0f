"""The damaged-leg demo: simulator and controller nodes as separate processes over DDS.

A Hebbian policy walks the pybullet Ant; halfway through, the left front leg is cut to a quarter of its
length (``damage:=left_front``) without a reset, and the policy keeps adapting. Once a second the demo
prints sim time, distance, speed and the weight norm; at the end it writes a plot and a summary.
``--robot a1`` runs the Unitree A1 instead (position commands; its policy from ``--policy``, else the
best A1 policy in ``models/``, else a random placeholder).

    python -m wann_ros.demo [--duration 60] [--robot ant|a1] [--policy FILE] [--out runs/demo]
                            [--knobs "{latency_steps: 2}"]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

import numpy as np

from wann_ros.formats import PolicyFileError, load_policy, save_policy
from wann_ros.nodes.processes import (
    LAUNCH_FILE,
    launch_available,
    start_launch,
    start_node,
    stop,
    yaml_string,
)
from wann_ros.shipped import SHIPPED_POLICIES, shipped_policy
from wann_ros.sim import robot_specs as rs
from wann_ros.sim.knobs import SimKnobs, read_knobs_yaml
from wann_ros.sim.robots import ROBOTS as ROBOT_CONFIGS

MODELS = Path(__file__).resolve().parent.parent / "models"


ROBOTS = {  # robot -> (display name, observation spec, action spec); the rest is in wann_ros.sim.robots
    "ant": ("Ant", rs.ant_observation_spec, rs.ant_action_spec),
    "a1": ("A1", rs.a1_observation_spec, rs.a1_action_spec),
}


def find_policy(models: Path, robot: str = "ant") -> tuple[Path | None, str]:
    """The robot's shipped policy (``wann_ros.shipped``, also the launch file's default), else the best
    policy for the robot's joints in ``models/``: Hebbian first, then the highest provenance score."""
    name, _, action_spec = ROBOTS[robot]
    shipped = shipped_policy(robot, models) if robot in SHIPPED_POLICIES else None
    if shipped is not None and shipped.is_file():
        return shipped, f"the shipped {name} policy"
    joints = tuple(action_spec().joint_names)
    candidates = []
    for path in sorted(p for p in models.glob("*") if p.is_file()):
        try:
            policy = load_policy(path)
        except PolicyFileError:
            continue
        if tuple(policy.spec.action.joint_names) != joints:
            continue
        score = policy.spec.provenance.score
        candidates.append((policy.spec.kind == "hebbian", -np.inf if score is None else score, path))
    if not candidates:
        return None, f"no {name} policy in models/"
    is_hebbian, score, path = max(candidates)
    what = "Hebbian" if is_hebbian else "not Hebbian"
    scored = "no recorded score" if score == -np.inf else f"score {score:g}"
    return path, f"{what}: the best {name} policy available ({scored})"


def placeholder_policy(out: Path, seed: int, robot: str = "ant") -> Path:
    """A PLACEHOLDER: a random (untrained) Hebbian network for the robot, written as a native policy file."""
    from wann_ros.policies.hebbian import HebbianPolicy, hebbian_param_count
    from wann_ros.policies.spec import PolicySpec, Provenance

    _, observation_spec, action_spec = ROBOTS[robot]
    spec = PolicySpec(
        "hebbian",
        observation_spec(),
        action_spec(),
        ROBOT_CONFIGS[robot].control_period,
        Provenance(task="placeholder: random untrained Hebbian rules", seed=seed),
    )
    layers = (spec.observation.size, 32, 16, spec.action.size)
    rules = np.random.default_rng(seed).normal(0.0, 0.1, hebbian_param_count(layers))
    path = out / f"placeholder_hebbian_{robot}.wrp"
    save_policy(HebbianPolicy.from_flat(rules, layers, spec), path)
    return path


def plot(
    path: Path, track: np.ndarray, norms: np.ndarray, damage_time: float, damage: str, title: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plastic = len(norms) > 0  # a static policy has no weight norm to draw: one panel
    rows, height = (2, 6) if plastic else (1, 3.5)
    fig, axes = plt.subplots(rows, 1, figsize=(8, height), sharex=True, squeeze=False)
    ax1 = axes[0, 0]
    ax1.plot(track[:, 0], track[:, 1] - track[0, 1], lw=1.5)
    ax1.set_ylabel("distance along +x (m)")
    if plastic:
        axes[1, 0].plot(norms[:, 0], norms[:, 1], "o-", ms=3)
        axes[1, 0].set_ylabel("weight norm (all layers)")
    axes[-1, 0].set_xlabel("sim time (s)")
    for ax in axes[:, 0]:
        ax.axvline(damage_time, color="red", ls="--", label=f"damage: {damage}")
        ax.grid(alpha=0.3)
    ax1.legend(loc="upper left")
    ax1.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=60.0, help="sim seconds to run (real time)")
    ap.add_argument("--damage-time", type=float, default=None, help="sim time of the damage (default: half)")
    ap.add_argument("--robot", choices=sorted(ROBOTS), default="ant", help="simulated robot (default: ant)")
    ap.add_argument("--damage", default="left_front")
    ap.add_argument("--policy", type=Path, default=None, help="policy file (default: from models/)")
    ap.add_argument("--out", type=Path, default=Path("runs/demo"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--trigger",
        choices=("timer", "sensors"),
        default="timer",
        help="controller tick: on its own timer at the policy's rate, or once per complete sensor set",
    )
    ap.add_argument(
        "--knobs",
        default="",
        help='simulator sim-to-real knobs, a YAML mapping of SimKnobs fields, e.g. "{latency_steps: 2}"',
    )
    args = ap.parse_args(argv)
    try:
        knob_fields = read_knobs_yaml(args.knobs)
        knobs = SimKnobs.from_mapping(knob_fields)
    except ValueError as exc:
        ap.error(str(exc))
    damage_time = args.duration / 2 if args.damage_time is None else args.damage_time
    args.out.mkdir(parents=True, exist_ok=True)

    if args.policy is not None:
        policy_path, note = args.policy, "given on the command line"
    else:
        policy_path, note = find_policy(MODELS, args.robot)
        if policy_path is None:
            policy_path = placeholder_policy(args.out, args.seed, args.robot)
            note = f"PLACEHOLDER: {note}, running a random untrained Hebbian network"
    print(f"[demo] policy: {policy_path} ({note})", flush=True)
    if knobs.active:
        print(f"[demo] simulator knobs: {knobs}", flush=True)

    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from wann_ros.nodes.monitor import RunMonitor

    stopping = {"flag": False}
    signal.signal(signal.SIGINT, lambda *_: stopping.update(flag=True))
    signal.signal(signal.SIGTERM, lambda *_: stopping.update(flag=True))
    logs = args.out / "logs"
    common = {"use_sim_time": True, "seed": args.seed}
    if launch_available():
        launch_args = {
            **common,
            "robot": args.robot,
            "policy": policy_path.resolve(),
            "damage": args.damage,
            "damage_time": damage_time,
            "trigger": args.trigger,
            "knobs": args.knobs,
        }
        log_files = [logs / "launch.log"]
        procs = [start_launch(launch_args, log_files[0])]
        print(f"[demo] launched {LAUNCH_FILE.name} (pid {procs[0].pid}); log in {logs}")
    else:
        log_files = [logs / "sim.log", logs / "controller.log"]
        procs = [
            start_node(
                "sim_node",
                {
                    **common,
                    "robot": args.robot,
                    "scheduled_damage": args.damage,
                    "damage_time": damage_time,
                    "knobs": yaml_string(args.knobs),
                },
                log_files[0],
                "sim",
            ),
            start_node(
                "controller_node",
                {**common, "policy": str(policy_path.resolve()), "trigger": args.trigger},
                log_files[1],
                "controller",
            ),
        ]
        print(
            f"[demo] no launch_ros here: started sim (pid {procs[0].pid}) and controller "
            f"(pid {procs[1].pid}) as processes; logs in {logs}"
        )
    rclpy.init(args=[], signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    mode = ROBOTS[args.robot][2]().mode
    monitor = RunMonitor(f"/joint_group_{mode}_controller/commands", name="demo_monitor")
    executor = SingleThreadedExecutor()
    executor.add_node(monitor)
    code = 0
    try:
        last_print, wall0 = 0.0, time.monotonic()
        while not stopping["flag"]:
            executor.spin_once(timeout_sec=0.05)
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                log = log_files[procs.index(dead[0])]
                exit_code = dead[0].returncode
                print(f"[demo] a node exited early (code {exit_code}); the end of {log}:", file=sys.stderr)
                print(*log.read_text(errors="replace").splitlines()[-4:], sep="\n", file=sys.stderr)
                code = 1
                break
            now = time.monotonic()
            if now - last_print >= 1.0:
                last_print = now
                t = monitor.track[-1][0] if monitor.track else 0.0
                norm = monitor.weight_norm()
                state = monitor.diagnostics.get("source", "waiting for the controller")
                norm_text = "-" if norm is None else f"{norm:.4f}"
                damaged = f"  [damage: {args.damage}]" if t >= damage_time else ""
                print(
                    f"[demo] t={t:6.2f} s  distance={monitor.distance():7.3f} m  "
                    f"speed={monitor.speed():6.3f} m/s  weight_norm={norm_text}  ({state}){damaged}",
                    flush=True,
                )
                if t >= args.duration:
                    break
                if now - wall0 > 60.0 + 3 * args.duration:
                    print("[demo] simulation too slow: stopping", file=sys.stderr)
                    code = 1
                    break
    finally:
        codes = stop(procs)
        executor.remove_node(monitor)
        monitor.destroy_node()
        rclpy.try_shutdown()
    print(f"[demo] stopped all nodes: exit codes {codes}")
    if len(monitor.track) < 2:
        print("[demo] no odometry received: nothing to plot", file=sys.stderr)
        return 1
    track = np.array(monitor.track)
    norms = np.array(monitor.norm_track).reshape(-1, 2)
    before = track[track[:, 0] < damage_time]
    after = track[track[:, 0] >= damage_time]
    summary = {
        "robot": args.robot,
        "policy": str(policy_path),
        "policy_note": note,
        "sim_time_s": float(track[-1, 0]),
        "distance_m": float(track[-1, 1] - track[0, 1]),
        "damage": args.damage,
        "damage_time_s": damage_time,
        "trigger": args.trigger,
        "knobs": knob_fields,
        "speed_before_damage_m_s": _speed(before),
        "speed_after_damage_m_s": _speed(after),
        "weight_norm_start": float(norms[0, 1]) if len(norms) else None,
        "weight_norm_end": float(norms[-1, 1]) if len(norms) else None,
    }
    png = args.out / "demo.png"
    title = f"{ROBOTS[args.robot][0]}, {policy_path.name}: damage {args.damage} at {damage_time:g} s"
    if note.startswith("PLACEHOLDER"):
        title = "PLACEHOLDER (random, untrained) " + title
    plot(png, track, norms, damage_time, args.damage, title)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"[demo] {json.dumps(summary)}")
    print(f"[demo] wrote {png} and {args.out / 'summary.json'}")
    return code


def _speed(track: np.ndarray) -> float | None:
    if len(track) < 2 or track[-1, 0] <= track[0, 0]:
        return None
    return float((track[-1, 1] - track[0, 1]) / (track[-1, 0] - track[0, 0]))


if __name__ == "__main__":
    sys.exit(main())
