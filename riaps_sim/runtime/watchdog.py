"""Watchdogs for one simulated run: a protocol that livelocks, or a run that takes too long, ends it.

A protocol bug that re-arms a timer with no delay never lets virtual time move: SimPy runs the
same instant for ever, and a search that waits on the run hangs with it. Two limits end such a run
with an exception that says what happened, so that ``explore`` reports it as a failure with its
schedule instead of hanging:

- ``Livelock``: a node armed more than ``ZERO_DELAY_TIMERS`` timers due at the very instant they
  were armed, without virtual time moving (``SimDriver`` counts them). Deterministic: the same
  schedule livelocks on any machine, and it replays.
- ``RunTimeLimit``: the run took longer than a wall-clock limit (``wall_clock_limit``), whatever
  the cause (a handler that loops, a livelock of messages). Needs the main thread (it uses
  ``SIGALRM``); elsewhere there is no wall-clock limit.

Both derive from ``BaseException``, as ``KeyboardInterrupt`` does, so that no ``except Exception``
in the runtime (which keeps a loop alive through a bad frame or a raising handler) swallows them.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["Livelock", "RunTimeLimit", "ZERO_DELAY_TIMERS", "wall_clock_limit"]

#: How many timers due at once one node may arm at one instant of virtual time.
ZERO_DELAY_TIMERS = 10_000


class Livelock(BaseException):
    """A node kept arming timers due at once, at virtual time *at*: the run cannot move on."""

    def __init__(self, node: str, at: float) -> None:
        super().__init__(f"node {node} armed over {ZERO_DELAY_TIMERS:,} timers due at once at t={at:.6f} s: virtual time stopped (a livelock)")
        self.node = node
        self.at = at


class RunTimeLimit(BaseException):
    """The run took longer than its wall-clock limit of *seconds*."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the run took over {seconds:g} s of wall-clock time (a livelock, or a handler that never returns)")
        self.seconds = seconds


@contextlib.contextmanager
def wall_clock_limit(seconds: float | None) -> Iterator[bool]:
    """Raise ``RunTimeLimit`` in the block after *seconds* of wall-clock time (None: no limit).

    Yields whether the limit is armed: only in the main thread of a process with ``SIGALRM``.
    """
    if seconds is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield False
        return

    def expired(signum: int, frame: object) -> None:
        raise RunTimeLimit(seconds)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
