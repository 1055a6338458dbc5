"""``TimerPort``: a RIAPS timer port on the node's clock, the same in both worlds.

Semantics as RIAPS's timer ports: a periodic timer starts counting at activation and
ticks one period later, then every period (delay-based); a sporadic one (period 0) fires once,
``getDelay()`` seconds after ``launch()``. Each tick carries the node's clock at firing: the
handler ``on_<timer>`` reads it with ``recv_pyobj()`` (a float, seconds) or ``recv()`` (4 bytes,
a single-precision float, as RIAPS gives it). Times are float seconds, as RIAPS's methods take them;
an int or a value <= 0 is an ``OperationError`` there, and here.

The port does not run handlers; it tells its part (``on_tick``) and the part calls the handler.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from ports import OperationError

__all__ = ["TimerPort", "Scheduler"]


class Scheduler(Protocol):
    """What a timer needs from its node: ``clock()``, ``call_later(delay_s, callback)`` and ``cancel(handle)``."""

    def clock(self) -> float: ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Any: ...

    def cancel(self, handle: Any) -> None: ...


class TimerPort:
    """A timer port named *name* with period *period_ms* (0 for sporadic), scheduled on *scheduler*."""

    portKind = "tim"

    def __init__(self, name: str, period_ms: int, scheduler: Any, on_tick: Callable[[TimerPort], None], index: int | None = None) -> None:
        self.name = name
        self.index = index
        self._scheduler = scheduler
        self._on_tick = on_tick
        self._period: float | None = period_ms / 1000.0 if period_ms > 0 else None
        self._delay: float | None = None
        self._handle: Any = None
        self._active = False
        self._running = False
        self._skip = False
        self._ticked = False
        self._ticks: deque[float] = deque()

    def __repr__(self) -> str:
        what = f"every {self._period:g} s" if self._period else f"sporadic delay={self._delay}"
        return f"<TimerPort {self.name!r} {what} {'running' if self._running else 'idle'}>"

    # -- the runtime's side ----------------------------------------------------------------------------

    def activate(self) -> None:
        """Start counting (a periodic timer ticks one period from now)."""
        self._active = True
        if self._period is not None:
            self._start(self._period)

    def deactivate(self) -> None:
        """Stop for good; pending ticks are dropped."""
        self._active = False
        self.halt()
        self._ticks.clear()

    def ready(self) -> bool:
        """Whether a tick waits to be read by ``on_<timer>``."""
        return bool(self._ticks)

    def waiting(self) -> int:
        """How many ticks wait."""
        return len(self._ticks)

    def discard(self) -> bool:
        """Drop the oldest waiting tick (its handler left it unread); False if none waited."""
        if not self._ticks:
            return False
        self._ticks.popleft()
        return True

    def _start(self, delay: float) -> None:
        self._stop_wait()
        self._running = True
        self._handle = self._scheduler.call_later(delay, self._fire)

    def _stop_wait(self) -> None:
        if self._handle is not None:
            self._scheduler.cancel(self._handle)
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        if not self._running:
            return
        if self._period is not None:
            self._handle = self._scheduler.call_later(self._period, self._fire)
            if self._skip and self._ticked:
                self._skip = False
                return
        else:
            self._running = False
        self._ticked = True
        self._ticks.append(self._scheduler.clock())
        self._on_tick(self)

    # -- the component's side (RIAPS names) -------------------------------------------------------------

    def recv_pyobj(self) -> float:
        """The node's clock (seconds) when the tick fired."""
        if not self._ticks:
            raise OperationError(f"timer {self.name!r} has no tick to receive; read it in on_{self.name}()")
        return self._ticks.popleft()

    def recv(self) -> bytes:
        """The tick time as RIAPS's raw form: 4 bytes, a single-precision float (useless as a time, as there)."""
        return struct.pack("f", self.recv_pyobj())

    def send_pyobj(self, msg: Any) -> bool:
        raise OperationError(f"timer {self.name!r} cannot send")

    send = send_pyobj

    def getPeriod(self) -> float | None:
        """The period in seconds; ``None`` for a sporadic timer."""
        return self._period

    def setPeriod(self, period: float) -> None:
        """A new period in seconds (a float > 0); it applies after the next tick."""
        self._period = _seconds(self.name, "setPeriod", period)

    def getDelay(self) -> float | None:
        return self._delay

    def setDelay(self, delay: float) -> None:
        """The delay of a sporadic timer in seconds (a float > 0)."""
        self._delay = _seconds(self.name, "setDelay", delay)

    def launch(self) -> None:
        """Start: a sporadic timer fires once after its delay; a periodic one restarts, first tick a period from now."""
        if not self._active:
            raise OperationError(f"timer {self.name!r} is not active: launch() it from handleActivate or a later handler")
        if self._period is not None:
            self._start(self._period)
        elif self._delay is None:
            raise OperationError(f"sporadic timer {self.name!r} has no delay: setDelay(seconds) before launch()")
        else:
            self._start(self._delay)

    def cancel(self) -> None:
        """Sporadic: stop without firing. Periodic: skip the next tick (only once it has ticked)."""
        if self._period is None:
            self._stop_wait()
            self._running = False
        else:
            self._skip = True

    def halt(self) -> None:
        """Stop any timer; ``launch()`` restarts it."""
        self._stop_wait()
        self._running = False

    def running(self) -> bool:
        return self._running

    def getIndex(self) -> int | None:
        return self.index


def _seconds(name: str, method: str, value: Any) -> float:
    if not isinstance(value, float) or not value > 0:
        raise OperationError(f"timer {name!r}: invalid argument to {method}: {value!r} (a float number of seconds > 0, as in RIAPS)")
    return value
