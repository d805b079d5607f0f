"""The ``python -m training hebbian-*`` commands (filled in as the studies land)."""

from __future__ import annotations

from collections.abc import Callable

COMMANDS: dict[str, Callable[[list[str]], int]] = {}
