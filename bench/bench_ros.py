"""Controller latency (JointState in -> command out) against a bare echo node, overruns and memory growth.

    ROS_DOMAIN_ID=77 ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST .venv/bin/python bench/bench_ros.py \
        --rates 100 500 --seconds 10 [--soak-seconds 300] [--pin]

Both nodes run as separate processes. This process plays the robot: at each rate it publishes IMU, odometry
and contacts, then a JointState, and times the command that comes back. The controller runs in lock-step
mode (one step per complete sensor set), so the latency is the controller's own path, not a timer phase;
the echo node answers every JointState with a Float64MultiArray on the same topic, and a second echo node,
built like the controller's I/O node, subscribes to the same four inputs and answers each complete set
(rclpy's executor wakes once per message: what the controller pays before its own work). The controller
runs with its default I/O executor (rclpy's EventsExecutor) and with ``io_executor: wait_set`` (rclpy's
SingleThreadedExecutor), and the bare echo also on the EventsExecutor (see ``TARGETS``). The soak run
reports the controller's overruns (diagnostics) and its resident memory at start and end. ``--pin`` puts
this process on CPU 0 and every node under test on CPU 1 (the controller through its ``cpu_affinity``
parameter), as a robot gives its controller a core of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOPIC = "/joint_group_effort_controller/commands"
# bare echo (default rclpy node and executor), the same on rclpy's EventsExecutor, the four-input echo,
# the controller (its default EventsExecutor I/O side) and the controller with io_executor: wait_set
TARGETS = ("echo", "echo_events", "echo4", "controller", "controller_wait_set")


def echo_main(all_inputs: bool, cpus: str, events: bool = False) -> int:
    """The bare echo node: a default rclpy node, JointState in -> Float64MultiArray out, nothing else.
    With ``all_inputs`` it is built like the controller's I/O node (no parameter services, no default QoS
    event handlers), also subscribes to IMU, odometry and contacts and answers once a complete set
    arrived (the controller's lock-step rule): what the controller pays before its own work. ``cpus``
    pins it as the controller's ``cpu_affinity`` parameter pins the controller. ``events`` spins it with
    rclpy's EventsExecutor (the controller's default I/O executor) instead of the default one."""
    import rclpy
    from nav_msgs.msg import Odometry
    from rclpy.event_handler import SubscriptionEventCallbacks
    from rclpy.node import Node
    from sensor_msgs.msg import Imu, JointState
    from std_msgs.msg import Float64MultiArray

    from wann_ros.nodes.processes import parse_cpus, pin_process
    from wann_ros.nodes.ros_msgs import reliable_qos

    rclpy.init()
    if cpus:
        pin_process(parse_cpus(cpus))
    if all_inputs:
        node = Node("echo4", start_parameter_services=False)
        events = {"event_callbacks": SubscriptionEventCallbacks(use_default_callbacks=False)}
    else:
        node, events = Node("echo"), {}
    q = reliable_qos(True)
    pub = node.create_publisher(Float64MultiArray, TOPIC, q)
    arrivals = {"joint_states": 0, "imu": 0, "odom": 0, "contacts": 0}
    last, handled = {}, [0]

    def on(name: str):
        def callback(msg) -> None:
            arrivals[name] += 1
            last[name] = msg
            n = arrivals["joint_states"]
            if n > handled[0] and all(k >= n for k in arrivals.values()):
                handled[0] = n
                pub.publish(Float64MultiArray(data=list(last["joint_states"].position)))

        return callback

    node.create_subscription(JointState, "/joint_states", on("joint_states"), q, **events)
    if all_inputs:
        node.create_subscription(Imu, "/imu/data", on("imu"), q, **events)
        node.create_subscription(Odometry, "/odom", on("odom"), q, **events)
        node.create_subscription(Float64MultiArray, "/foot_contacts", on("contacts"), q, **events)
    else:
        arrivals = {"joint_states": 0}
    with contextlib.suppress(KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        if events:
            from wann_ros.nodes.executors import make_executor, spin_until_shutdown

            executor = make_executor("events")
            executor.add_node(node)
            spin_until_shutdown(executor)
        else:
            rclpy.spin(node)
    rclpy.try_shutdown()
    return 0


def idle_spin_us(spins: int = 2000) -> float:
    """Microseconds of one ``spin_once`` with nothing to do: rclpy's executor cost per wake-up."""
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node

    node = Node("bench_spin")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    for _ in range(100):
        executor.spin_once(timeout_sec=0)
    start = time.perf_counter()
    for _ in range(spins):
        executor.spin_once(timeout_sec=0)
    cost = (time.perf_counter() - start) / spins * 1e6
    executor.shutdown()
    node.destroy_node()
    return cost


def in_process_set_us(policy: Path, sets: int = 3000, gap: float = 0.0) -> float:
    """Median microseconds of the controller's own work per sensor set, without DDS: the four message
    conversions and sensor checks, one ``ControlLoop.step`` (observation, policy, safety), the command
    message and the deferred plastic update, as the node does them; ``gap`` seconds of sleep between
    sets (the robot's period) let the rest of the machine run in between, as it does at a real rate."""
    from wann_ros.formats import load_policy
    from wann_ros.nodes import ros_msgs
    from wann_ros.nodes.control_loop import ControlLoop, LoopConfig
    from wann_ros.sim import robot_specs as rs

    loop = ControlLoop(load_policy(policy), LoopConfig(soft_start=0.0), 0.01)
    loop.activate()
    quat, zeros = np.array([0.0, 0.0, 0.0, 1.0]), np.zeros(3)
    js = ros_msgs.joint_state_msg(0.0, rs.ANT_JOINTS, 0.1 * np.arange(8), np.zeros(8))
    imu = ros_msgs.imu_msg(0.0, "base_link", quat, zeros, zeros)
    odom = ros_msgs.odom_msg(0.0, "world", "base", np.array([0, 0, 0.6]), quat, zeros, zeros)
    contacts = ros_msgs.array_msg([1.0, 0.0, 1.0, 0.0])
    sensors, watchdog, out = loop.sensors, loop.watchdog, ros_msgs.array_msg([])

    def one_set(t: float) -> None:
        sensors.update_joints(js.name, js.position, js.velocity)
        sensors.update_imu(*ros_msgs.imu_values(imu))
        sensors.update_odom(*ros_msgs.odom_values(odom))
        sensors.update_contacts(contacts.data)
        for name in ("joint_states", "imu", "odom", "contacts"):
            watchdog.feed(name, t)
        out.data = loop.step(t).command
        loop.finish_step()

    for k in range(200):
        one_set(0.01 * k)
    times = np.empty(sets)
    for k in range(sets):
        if gap:
            time.sleep(gap)
        start = time.perf_counter()
        one_set(2.0 + 0.01 * k)
        times[k] = time.perf_counter() - start
    return float(np.median(times)) * 1e6


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(robot, executor, rate: float, seconds: float) -> tuple[np.ndarray, int]:
    """Ping-pong at ``rate``: one sensor set per period, wait (at most the period) for its command.

    Returns the latencies (s) and the number of sets whose command did not come within the period (after
    such a miss the late reply is drained, so it is never paired with the next set)."""
    period = 1.0 / rate
    latencies, missed = [], 0
    start = next_t = time.perf_counter()
    while time.perf_counter() - start < seconds:
        robot.reply = None
        sent = robot.send()
        deadline = sent + period
        while robot.reply is None and (left := deadline - time.perf_counter()) > 0:
            executor.spin_once(timeout_sec=left)
        if robot.reply is None:
            missed += 1
            drain = time.perf_counter() + 0.05
            while time.perf_counter() < drain:
                executor.spin_once(timeout_sec=0.01)
            next_t = time.perf_counter()
        else:
            latencies.append(robot.reply - sent)
        next_t += period
        while (left := next_t - time.perf_counter()) > 0:
            executor.spin_once(timeout_sec=left)
    return np.array(latencies), missed


def make_robot():
    from nav_msgs.msg import Odometry
    from rclpy.node import Node
    from sensor_msgs.msg import Imu, JointState
    from std_msgs.msg import Float64MultiArray

    from wann_ros.nodes import ros_msgs
    from wann_ros.sim import robot_specs as rs

    class Robot(Node):
        def __init__(self) -> None:
            super().__init__("bench_robot")
            q = ros_msgs.reliable_qos(True)
            self.js = self.create_publisher(JointState, "/joint_states", q)
            self.imu = self.create_publisher(Imu, "/imu/data", q)
            self.odom = self.create_publisher(Odometry, "/odom", q)
            self.contacts = self.create_publisher(Float64MultiArray, "/foot_contacts", q)
            self.create_subscription(Float64MultiArray, TOPIC, self._on_cmd, q)
            self.reply: float | None = None
            self.received = 0
            self.k = 0

        def send(self) -> float:
            self.k += 1
            t = self.k * 0.002
            quat = np.array([0.0, 0.0, 0.0, 1.0])
            self.imu.publish(ros_msgs.imu_msg(t, "base_link", quat, np.zeros(3), np.zeros(3)))
            self.odom.publish(
                ros_msgs.odom_msg(t, "world", "base", np.array([0, 0, 0.6]), quat, np.zeros(3), np.zeros(3))
            )
            self.contacts.publish(ros_msgs.array_msg([1.0, 0.0, 1.0, 0.0]))
            pos = 0.1 * np.sin(0.01 * self.k + np.arange(8))
            msg = ros_msgs.joint_state_msg(t, rs.ANT_JOINTS, pos, np.zeros(8))
            sent = time.perf_counter()
            self.js.publish(msg)
            return sent

        def _on_cmd(self, msg) -> None:
            self.reply = time.perf_counter()
            self.received += 1

    return Robot()


def run_target(kind: str, policy: Path, rate: float, seconds: float, log_dir: Path, cpus: str = "") -> dict:
    from rclpy.executors import SingleThreadedExecutor

    from wann_ros.nodes.monitor import RunMonitor
    from wann_ros.nodes.processes import start_node, stop

    if kind.startswith("echo"):
        import subprocess

        cmd = [sys.executable, __file__, "--echo4" if kind == "echo4" else "--echo", "--cpus", cpus]
        proc = subprocess.Popen(cmd + (["--events"] if kind == "echo_events" else []), start_new_session=True)
    else:
        params = {
            "policy": str(policy),
            "lockstep": True,
            "rate": rate,
            "soft_start": 0.0,
            "startup_timeout": 10.0,
            "io_executor": "wait_set" if kind == "controller_wait_set" else "events",
            **({"cpu_affinity": cpus} if cpus else {}),
        }
        proc = start_node("controller_node", params, log_dir / f"controller_{rate:g}.log")
    robot = make_robot()
    monitor = RunMonitor(TOPIC, name="bench_monitor")
    executor = SingleThreadedExecutor()
    executor.add_node(robot)
    executor.add_node(monitor)
    try:
        warm = time.perf_counter()
        while robot.received < 20 and time.perf_counter() - warm < 30:  # discovery, configure, activate
            robot.send()
            end = time.perf_counter() + 0.05
            while time.perf_counter() < end:
                executor.spin_once(timeout_sec=0.01)
        if robot.received < 20:
            raise RuntimeError(f"{kind} did not answer; see {log_dir}")
        rss0 = rss_mb(proc.pid)
        lat, missed = measure(robot, executor, rate, seconds)
        rss1 = rss_mb(proc.pid)
        diag = dict(monitor.diagnostics)
    finally:
        stop([proc])
        executor.shutdown()
        robot.destroy_node()
        monitor.destroy_node()
    return {
        "target": kind,
        "rate_hz": rate,
        "seconds": seconds,
        "answered": len(lat),
        "missed": missed,
        "median_ms": 1e3 * float(np.median(lat)),
        "p99_ms": 1e3 * float(np.percentile(lat, 99)),
        "rss_start_mb": rss0,
        "rss_end_mb": rss1,
        "overruns": int(diag.get("overruns", -1)) if kind.startswith("controller") else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--echo", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--echo4", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--events", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--rates", type=float, nargs="+", default=[100.0, 500.0])
    ap.add_argument("--seconds", type=float, default=10.0, help="latency run length per rate and target")
    ap.add_argument("--repeats", type=int, default=3, help="alternating runs per rate (medians reported)")
    ap.add_argument("--soak-seconds", type=float, default=300.0, help="500 Hz overrun/memory run (0 = skip)")
    ap.add_argument(
        "--pin",
        action="store_true",
        help="pin this process (the robot) to CPU 0 and each node under test to CPU 1, as a robot pins its "
        "controller to a core of its own",
    )
    ap.add_argument("--cpus", default="", help=argparse.SUPPRESS)  # the echo nodes' pinning
    ap.add_argument(
        "--policy",
        type=Path,
        default=ROOT / "models" / "ant_hebbian.wrp",
        help="policy file (default: the shipped Hebbian Ant, 28-128-64-8); 'random' for a 28-16-8 one",
    )
    args = ap.parse_args()
    if args.echo or args.echo4:
        return echo_main(all_inputs=args.echo4, cpus=args.cpus, events=args.events)
    import rclpy

    tmp = Path(tempfile.mkdtemp(prefix="bench_ros_"))
    policy = args.policy
    if str(policy) == "random":
        from tests.ros_helpers import write_policy

        policy = write_policy(tmp / "bench.wrp")
    cpus = ""
    if args.pin:
        from wann_ros.nodes.processes import pin_process

        pin_process({0})
        cpus = "1"
        print("pinned: this process (the robot) to CPU 0, each node under test to CPU 1", flush=True)
    rclpy.init()
    results = []
    try:
        print(f"idle spin_once of a plain rclpy node: {idle_spin_us():.0f} us", flush=True)
        work = [in_process_set_us(policy, n, gap) for n, gap in ((3000, 0.0), (500, 0.002), (300, 0.01))]
        print(
            "controller work per sensor set, in-process (median): {:.0f} us back to back, {:.0f} us 2 ms "
            "apart, {:.0f} us 10 ms apart".format(*work),
            flush=True,
        )
        for rate in args.rates:
            runs: dict[str, list[dict]] = {k: [] for k in TARGETS}
            for _ in range(args.repeats):  # alternate the targets so a machine's mood hits all alike
                for kind, rows in runs.items():
                    r = run_target(kind, policy, rate, args.seconds, tmp, cpus)
                    rows.append(r)
                    results.append(r)
                    print(json.dumps(r), flush=True)
            med = {k: float(np.median([r["median_ms"] for r in rows])) for k, rows in runs.items()}
            p99 = {k: float(np.median([r["p99_ms"] for r in rows])) for k, rows in runs.items()}
            print(
                f"rate {rate:g} Hz, medians of {args.repeats} runs (ms, p99 in brackets): "
                + ", ".join(f"{k} {med[k]:.3f} ({p99[k]:.3f})" for k in TARGETS)
                + f"; controller / bare echo {med['controller'] / med['echo']:.2f} (target <= 1.2), "
                f"/ EventsExecutor echo {med['controller'] / med['echo_events']:.2f}, "
                f"/ four-input echo {med['controller'] / med['echo4']:.2f}; "
                f"wait-set controller / bare echo {med['controller_wait_set'] / med['echo']:.2f}",
                flush=True,
            )
        if args.soak_seconds > 0:
            r = run_target("controller", policy, 500.0, args.soak_seconds, tmp, cpus)
            print(json.dumps({**r, "soak": True}), flush=True)
            print(
                f"soak 500 Hz for {args.soak_seconds:g} s: overruns {r['overruns']}, RSS "
                f"{r['rss_start_mb']:.1f} -> {r['rss_end_mb']:.1f} MB",
                flush=True,
            )
    finally:
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
