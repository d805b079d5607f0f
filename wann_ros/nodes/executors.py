"""The executors a node can spin on, how a node process starts ROS, and the one way to spin until a stop.

``events`` is rclpy's ``EventsExecutor`` (``rclpy.experimental``): it takes each message from the
middleware's event queue straight to its callback instead of rebuilding a wait set on every wake-up, which
is most of a Python node's latency; ``wait_set`` is the classic ``SingleThreadedExecutor``.

A node process starts ROS with :func:`init_ros`: SIGINT and SIGTERM only ask it to stop. rclpy's own
handlers would shut the context down at once, and a controller could then no longer publish its safe
command on the way out.
"""

from __future__ import annotations

import signal
import threading

import rclpy
from rclpy.executors import Executor, SingleThreadedExecutor
from rclpy.experimental import EventsExecutor
from rclpy.signals import SignalHandlerOptions

EXECUTORS = ("events", "wait_set")


def make_executor(kind: str) -> Executor:
    """A new executor of ``kind`` (one of :data:`EXECUTORS`)."""
    if kind not in EXECUTORS:
        raise ValueError(f"io_executor must be one of {EXECUTORS}, got {kind!r}")
    return EventsExecutor() if kind == "events" else SingleThreadedExecutor()


def init_ros(args: list[str] | None) -> threading.Event:
    """``rclpy.init`` without rclpy's signal handlers; the returned event is set by SIGINT or SIGTERM."""
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    return stopping


def spin_until_shutdown(executor: Executor, stopping: threading.Event | None = None) -> None:
    """Spin until the context shuts down or ``stopping`` is set. ``spin_once`` in a loop rather than
    ``spin()``: the EventsExecutor's ``spin()`` ran no timer callbacks with the rclpy wheels used here."""
    while rclpy.ok() and not (stopping is not None and stopping.is_set()):
        executor.spin_once(timeout_sec=0.5)
