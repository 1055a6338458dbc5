"""The real driver: one ``zmq.Poller`` loop per node, on the real clock.

``RealDriver`` implements the driver interface over real ZeroMQ sockets, plain file descriptors
(the discovery beacon's UDP socket) and fault-layer proxies (``riaps_sim.runtime.faultlayer``).
Timers sit on a heap ordered by due time, then by the order they were set, so ties run in a fixed
order; ready sockets are served in the order they were watched. The loop waits in ``poll`` for the
next timer, socket or held message coming due, never in a sleep.

The node's clock counts from an *origin*: in a ``RealRun`` the run's time 0, so that a real
node's clock, its trace and its components read seconds since the run's start, as a simulated
node's do; a node with no run around it (``riaps-sim node``) keeps the epoch as origin. The clock
can be skewed (fault injection): it reads ``(t0 - origin) + offset + rate * (now - t0)`` seconds,
*now* being the wall clock and *t0* the run's start, as the simulation's host clock reads
``offset + rate * true time``. Timers run on the node's clock, so at rate 2 a 1 s timer fires after
0.5 s of true time.
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
    clock_rate:
        How fast the node's clock runs against the wall clock (1.0 is a perfect clock).
    t0_s:
        The wall-clock time (seconds since the epoch) the rate is measured from: the run's start.
        Default: now.
    origin_s:
        The wall-clock time at which the node's clock reads 0 (before skew): a run's time 0 puts
        real traces on the simulation's time axis; the default 0.0 keeps epoch seconds.
    """

    def __init__(self, clock_offset_s: float = 0.0, clock_rate: float = 1.0, t0_s: float | None = None, origin_s: float = 0.0) -> None:
        self.poller = zmq.Poller()
        self.t0_s = time.time() if t0_s is None else t0_s
        self.origin_s = origin_s
        self.clock_offset_s = 0.0
        self.clock_rate = 1.0
        self._skewed = False
        self.set_clock(clock_offset_s, clock_rate)
        self._watched: dict[Any, Callable[[], None]] = {}
        self._proxies: dict[Any, Any] = {}  # real socket -> fault-layer proxy watched in its place
        self._timers: list[tuple[float, int, TimerHandle]] = []
        self._order = itertools.count()
        self.stopped = False
        self.probe: Any = None  #: a ``LoopProbe`` told how late each timer runs, when the run measures its loops

    def __repr__(self) -> str:
        return f"<RealDriver watching {len(self._watched)} timers {len(self._timers)}>"

    # -- the clock -----------------------------------------------------------------------------------

    def set_clock(self, offset_s: float, rate: float = 1.0) -> None:
        """Make the node's clock read ``(t0 - origin) + offset_s + rate * (wall - t0)`` seconds from now on."""
        if not rate > 0:
            raise ValueError(f"clock rate must be > 0 (1.0 is a perfect clock), got {rate!r}")
        self.clock_offset_s = float(offset_s)
        self.clock_rate = float(rate)
        self._skewed = self._skewed or offset_s != 0 or rate != 1

    def clock(self) -> float:
        if self.clock_rate == 1.0:
            return time.time() - self.origin_s + self.clock_offset_s
        t0 = self.t0_s
        return t0 - self.origin_s + self.clock_offset_s + self.clock_rate * (time.time() - t0)

    def true_time(self) -> float | None:
        """The wall clock from the origin once this node's clock has been skewed (so merged traces keep true order), else ``None``."""
        return time.time() - self.origin_s if self._skewed else None

    # -- timers ----------------------------------------------------------------------------------------

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        """Run *callback* after *delay_s* seconds of the node's clock."""
        return self._push(time.monotonic() + max(0.0, delay_s) / self.clock_rate, callback)

    def call_at(self, wall_s: float, callback: Callable[[], None]) -> TimerHandle:
        """Run *callback* at wall-clock time *wall_s* (seconds since the epoch), whatever the node's clock.

        Past times run at the next turn of the loop, in the order they were set.
        """
        return self._push(time.monotonic() + max(0.0, wall_s - time.time()), callback)

    def _push(self, due: float, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(due, callback)
        heapq.heappush(self._timers, (handle.due, next(self._order), handle))
        return handle

    def cancel(self, handle: Any) -> None:
        if isinstance(handle, TimerHandle):
            handle.cancelled = True

    # -- sockets ---------------------------------------------------------------------------------------

    def watch(self, socket: Any, callback: Callable[[], None]) -> None:
        """Call *callback* when *socket* has input; a fault-layer proxy also when held input comes due."""
        if socket not in self._watched:
            inner = getattr(socket, "zmq_socket", None)
            if inner is not None:
                self._proxies[inner] = socket
            self.poller.register(socket if inner is None else inner, zmq.POLLIN)
        self._watched[socket] = callback

    def unwatch(self, socket: Any) -> None:
        if self._watched.pop(socket, None) is not None:
            inner = getattr(socket, "zmq_socket", None)
            if inner is not None:
                self._proxies.pop(inner, None)
            self.poller.unregister(socket if inner is None else inner)

    # -- the loop ----------------------------------------------------------------------------------------

    def run_once(self, max_wait_s: float) -> None:
        """Serve due timers and ready sockets once, waiting at most *max_wait_s* seconds for work."""
        self._run_due_timers()
        wait = max_wait_s
        now = time.monotonic()
        if self._timers:
            wait = min(wait, max(0.0, self._timers[0][0] - now))
        proxies = self._proxies
        if proxies:
            for proxy in proxies.values():
                due = proxy.due()
                if due is not None:
                    wait = min(wait, max(0.0, due - now))
        events = self.poller.poll(int(wait * 1000) + (wait > 0) if wait > 0 else 0)
        served = set()
        for socket, _ in events:
            watched = proxies.get(socket, socket) if proxies else socket
            callback = self._watched.get(watched)
            if callback is not None:
                served.add(id(watched))
                callback()
        if proxies:
            now = time.monotonic()
            for proxy in list(proxies.values()):
                if id(proxy) in served:
                    continue
                due = proxy.due()
                callback = self._watched.get(proxy)
                if due is not None and due <= now and callback is not None:
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
        probe = self.probe
        while self._timers and self._timers[0][0] <= now:
            _, _, handle = heapq.heappop(self._timers)
            if not handle.cancelled:
                if probe is not None:
                    probe.timer_ran(time.monotonic() - handle.due)
                handle.callback()
