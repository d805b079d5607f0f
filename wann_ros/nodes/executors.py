"""The executors a node can spin on, and the one way to spin them until shutdown.

``events`` is rclpy's ``EventsExecutor`` (``rclpy.experimental``): it takes each message from the
middleware's event queue straight to its callback instead of rebuilding a wait set on every wake-up, which
is most of a Python node's latency; ``wait_set`` is the classic ``SingleThreadedExecutor``.
"""

from __future__ import annotations

import rclpy
from rclpy.executors import Executor, SingleThreadedExecutor
from rclpy.experimental import EventsExecutor

EXECUTORS = ("events", "wait_set")


def make_executor(kind: str) -> Executor:
    """A new executor of ``kind`` (one of :data:`EXECUTORS`)."""
    if kind not in EXECUTORS:
        raise ValueError(f"io_executor must be one of {EXECUTORS}, got {kind!r}")
    return EventsExecutor() if kind == "events" else SingleThreadedExecutor()


def spin_until_shutdown(executor: Executor) -> None:
    """Spin until the context shuts down. ``spin_once`` in a loop rather than ``spin()``: the
    EventsExecutor's ``spin()`` ran no timer callbacks with the rclpy wheels used here."""
    while rclpy.ok():
        executor.spin_once(timeout_sec=0.5)
