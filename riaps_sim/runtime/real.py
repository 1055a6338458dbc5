"""The real driver: one ``zmq.Poller`` loop per node, on the real clock.

``RealDriver`` implements the driver interface over real ZeroMQ sockets and plain file descriptors
(the discovery beacon's UDP socket). Timers sit on a heap ordered by due time, then by the order
they were set, so ties run in a fixed order; ready sockets are served in the order they were
watched. The loop waits in ``poll`` for the next timer or socket, never in a sleep.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any

import zmq

__all__ = ["RealDriver", "TimerHandle"]


class TimerHandle:
    """A scheduled callback; ``RealDriver.cancel`` marks it cancelled."""

    __slots__ = ("due", "callback", "cancelled")

    def __init__(self, due: float, callback: Callable[[], None]) -> None:
        self.due = due
        self.callback = callback
        self.cancelled = False


class RealDriver:
    """A node's loop on real ZeroMQ.

    Parameters
    ----------
    clock_offset_s:
        Added to the wall clock the node sees (fault injection of clock skew), in seconds.
    """

    def __init__(self, clock_offset_s: float = 0.0) -> None:
        self.poller = zmq.Poller()
        self.clock_offset_s = clock_offset_s
        self._watched: dict[Any, Callable[[], None]] = {}
        self._timers: list[tuple[float, int, TimerHandle]] = []
        self._order = itertools.count()
        self.stopped = False

    def __repr__(self) -> str:
        return f"<RealDriver watching {len(self._watched)} timers {len(self._timers)}>"

    def clock(self) -> float:
        return time.time() + self.clock_offset_s

    def true_time(self) -> float | None:
        return None

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(time.monotonic() + max(0.0, delay_s), callback)
        heapq.heappush(self._timers, (handle.due, next(self._order), handle))
        return handle

    def cancel(self, handle: Any) -> None:
        if isinstance(handle, TimerHandle):
            handle.cancelled = True

    def watch(self, socket: Any, callback: Callable[[], None]) -> None:
        if socket not in self._watched:
            self.poller.register(socket, zmq.POLLIN)
        self._watched[socket] = callback

    def unwatch(self, socket: Any) -> None:
        if self._watched.pop(socket, None) is not None:
            self.poller.unregister(socket)

    def run_once(self, max_wait_s: float) -> None:
        """Serve due timers and ready sockets once, waiting at most *max_wait_s* seconds for work."""
        self._run_due_timers()
        wait = max_wait_s
        if self._timers:
            wait = min(wait, max(0.0, self._timers[0][0] - time.monotonic()))
        for socket, _ in self.poller.poll(int(wait * 1000) if wait > 0 else 0):
            callback = self._watched.get(socket)
            if callback is not None:
                callback()
        self._run_due_timers()

    def run(self, until: Callable[[], bool] | None = None, duration_s: float | None = None) -> None:
        """Loop until *until* holds, *duration_s* seconds pass, or ``stop`` is called."""
        end = None if duration_s is None else time.monotonic() + duration_s
        while not self.stopped and not (until is not None and until()):
            remaining = 0.1 if end is None else end - time.monotonic()
            if remaining <= 0:
                return
            self.run_once(min(0.1, remaining))

    def stop(self) -> None:
        self.stopped = True

    def _run_due_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, handle = heapq.heappop(self._timers)
            if not handle.cancelled:
                handle.callback()
