"""Cooperative stop on SIGINT/SIGTERM: handlers only set a flag; loops poll it at safe points.

A search polls :func:`check_stop` between jobs and between generations, so a signal never lands in
the middle of a checkpoint write. A second SIGINT raises ``KeyboardInterrupt`` at once.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_requested: list[int] = []


class Interrupted(Exception):
    """A stop was requested by ``signum``; the search stops at the last completed generation."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def check_stop() -> None:
    """Raise :class:`Interrupted` if a stop signal arrived."""
    if _requested:
        raise Interrupted(_requested[0])


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM request a stop instead of killing the process."""

    def handler(signum: int, frame: Any) -> None:
        if _requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        _requested.append(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    _requested.clear()
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _requested.clear()
