"""``Driver``: the little a node needs from its world, so everything above it is the same in both.

A driver owns the loop. The simulated driver runs it as a SimPy process in virtual time; the
real driver runs a ``zmq.Poller`` loop in an OS process. Each tells the node the time, runs
callbacks when timers fall due, and calls the node back when a watched socket becomes readable.
Nothing else differs between the worlds, so the same handlers run in the same order for the same
events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Driver"]


class Driver(Protocol):
    """The loop a node runs on."""

    def clock(self) -> float:
        """The node's clock, in seconds."""

    def true_time(self) -> float | None:
        """True virtual time in seconds (simulation), or ``None`` in the real world."""

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Any:
        """Run *callback* after *delay_s* seconds of the node's clock; return a handle for ``cancel``."""

    def cancel(self, handle: Any) -> None:
        """Forget a scheduled callback; no-op if it already ran or was cancelled."""

    def watch(self, socket: Any, callback: Callable[[], None]) -> None:
        """Call *callback* whenever *socket* has input, until ``unwatch``."""

    def unwatch(self, socket: Any) -> None:
        """Stop watching *socket* (no-op if not watched)."""
