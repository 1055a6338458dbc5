"""RIAPS timer ports on a node's clock: periodic, sporadic, and the methods apps call."""

from __future__ import annotations

import heapq
import itertools
import struct

import pytest

from ports import OperationError
from riaps_sim.apps.timers import TimerPort


class Clock:
    """A scheduler in virtual time: ``advance(t)`` runs everything due by *t*, in order."""

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    def call_later(self, delay_s: float, callback):
        entry = [self.now + delay_s, next(self._order), callback]
        heapq.heappush(self._queue, entry)
        return entry

    def cancel(self, handle) -> None:
        handle[2] = None

    def advance(self, until: float) -> None:
        while self._queue and self._queue[0][0] <= until:
            due, _, callback = heapq.heappop(self._queue)
            self.now = due
            if callback is not None:
                callback()
        self.now = until


def ticking(period_ms: int):
    clock = Clock()
    seen: list[float] = []
    timer = TimerPort("clock", period_ms, clock, lambda t: seen.append(t.recv_pyobj()))
    return clock, timer, seen


def test_periodic_timer_ticks_a_period_after_activation_with_the_node_time() -> None:
    """First tick one period after activate, then every period; recv_pyobj is the node's clock at the tick."""
    clock, timer, seen = ticking(500)
    clock.advance(2.0)
    assert seen == []  # nothing before activation
    timer.activate()
    clock.advance(4.2)
    assert seen == [2.5, 3.0, 3.5, 4.0]
    assert timer.getPeriod() == 0.5 and timer.running()


def test_set_period_cancel_halt_and_launch() -> None:
    """setPeriod applies after the next tick; cancel skips one tick; halt stops; launch restarts a period from now."""
    clock, timer, seen = ticking(1000)
    timer.activate()
    clock.advance(1.0)
    timer.setPeriod(0.25)
    clock.advance(2.5)
    assert seen == [1.0, 2.0, 2.25, 2.5]
    timer.cancel()
    clock.advance(3.0)
    assert seen[-2:] == [2.5, 3.0]  # 2.75 skipped
    timer.halt()
    clock.advance(5.0)
    assert seen[-1] == 3.0 and not timer.running()
    timer.launch()
    clock.advance(5.3)
    assert seen[-1] == 5.25


def test_sporadic_timer_fires_once_after_its_delay() -> None:
    """Period 0 is sporadic: idle until setDelay and launch, then one tick; cancel stops it before it fires."""
    clock, timer, seen = ticking(0)
    timer.activate()
    assert timer.getPeriod() is None and not timer.running()
    with pytest.raises(OperationError, match="setDelay"):
        timer.launch()
    timer.setDelay(1.5)
    timer.launch()
    clock.advance(10.0)
    assert seen == [1.5] and not timer.running()
    timer.launch()
    timer.cancel()
    clock.advance(20.0)
    assert seen == [1.5]


def test_riaps_argument_rules_and_raw_recv() -> None:
    """Times are float seconds > 0 (an int is refused, as in RIAPS); recv() gives RIAPS's 4-byte float; send is refused."""
    clock, timer, _ = ticking(0)
    with pytest.raises(OperationError, match="invalid argument to setDelay: 2"):
        timer.setDelay(2)
    with pytest.raises(OperationError, match="not active"):
        timer.launch()
    with pytest.raises(OperationError, match="cannot send"):
        timer.send_pyobj(1)
    raw = TimerPort("raw", 100, clock, lambda t: None)
    raw.activate()
    clock.advance(0.1)
    assert struct.unpack("f", raw.recv()) == (pytest.approx(0.1),)
    with pytest.raises(OperationError, match="no tick"):
        raw.recv_pyobj()
