"""The node's clock and generator behind an unmodified component module's ``time``, ``random`` and ``datetime``.

RIAPS components read ``time.time()``, ``time.ctime()`` and ``datetime.now()`` and call the
module-level ``random`` functions, in constructors and handlers: on RIAPS each actor is a process
on its own host, so nothing stops them, and unmodified applications do.
For a run to be reproducible from its seed, and for clock-skew faults to reach the application,
those calls must read the node's clock and draw from the node's generator.

**How.** Each node loads its own copy of every component module (``riaps_sim.apps.loader``). Once
the copy has executed, ``virtualize`` replaces, in *that module's globals only*, every name bound
to the ``time``, ``random`` or ``datetime`` module, or to one of their functions
(``from time import time``, ``from random import randint``, ``from datetime import datetime``), by a
proxy of the node: ``NodeTime``, ``NodeRandom``, ``NodeDatetime``. Nothing global is patched:
the standard library, the toolkit, other nodes' copies and the user's own code keep the real
modules. Because the copy belongs to one node, the proxies stay for the copy's whole life (its
constructor included) and there is nothing to restore after a handler: this is the
"install around each handler" of the issue, done once per node instead of per call, which is
cheaper and covers constructors and callbacks too. A helper module that a component imports
(``import helpers``) is not a component module; it is loaded once and keeps the real clock.

**Blocking.** ``time.sleep`` in a component raises ``BlockingCallError``: a handler runs to
completion and must not block (riaps-sim's rule for component code). A sleep cannot be modelled
faithfully without running handlers in threads, and pretending it took no time would hide the
delay. Use a sporadic timer (``setDelay`` then ``launch``) for a pause. The error names the call
and the remedy; the node logs it and traces an ``error`` event, and carries on.
"""

from __future__ import annotations

import datetime as _datetime
import random as _random
import time as _time
import types
from collections.abc import Callable
from typing import Any

from ports import OperationError

__all__ = ["BlockingCallError", "NodeTime", "NodeRandom", "NodeDatetime", "virtualize"]

Clock = Callable[[], float]


class BlockingCallError(OperationError):
    """A component called something that blocks (``time.sleep``); handlers must return quickly."""


class NodeTime:
    """The ``time`` module as a component of one node sees it: the node's clock, no sleeping.

    ``time``, ``monotonic``, ``perf_counter`` and their ``_ns`` forms read the node's clock
    (seconds); ``ctime``, ``localtime``, ``gmtime``, ``asctime`` and ``strftime`` default to it.
    Everything else is the real module's.
    """

    def __init__(self, clock: Clock, where: str) -> None:
        self._clock = clock
        self._where = where

    def __repr__(self) -> str:
        return f"<NodeTime of {self._where}>"

    def __getattr__(self, name: str) -> Any:
        return getattr(_time, name)

    def time(self) -> float:
        return self._clock()

    monotonic = perf_counter = process_time = thread_time = time

    def time_ns(self) -> int:
        return int(self._clock() * 1e9)

    monotonic_ns = perf_counter_ns = time_ns

    def ctime(self, secs: float | None = None) -> str:
        return _time.ctime(self._clock() if secs is None else secs)

    def localtime(self, secs: float | None = None) -> _time.struct_time:
        return _time.localtime(self._clock() if secs is None else secs)

    def gmtime(self, secs: float | None = None) -> _time.struct_time:
        return _time.gmtime(self._clock() if secs is None else secs)

    def asctime(self, t: Any = None) -> str:
        return _time.asctime(self.localtime() if t is None else t)

    def strftime(self, format: str, t: Any = None) -> str:
        return _time.strftime(format, self.localtime() if t is None else t)

    def sleep(self, seconds: float) -> None:
        raise BlockingCallError(
            f"time.sleep({seconds!r}) in {self._where}: handlers run to completion and never block in riaps-sim; "
            "for a pause, use a sporadic timer port (setDelay(seconds) then launch()) and continue in its handler"
        )


class NodeRandom:
    """The ``random`` module as a component of one node sees it: its functions draw from the node's generator.

    ``random.Random``, ``random.SystemRandom`` and the other classes and constants stay the real
    module's, so ``random.Random(seed)`` still makes an independent generator.
    """

    def __init__(self, generator: _random.Random, where: str) -> None:
        self._generator = generator
        self._where = where

    def __repr__(self) -> str:
        return f"<NodeRandom of {self._where}>"

    def __getattr__(self, name: str) -> Any:
        value = getattr(_random, name)
        if _of_global_generator(value):
            return getattr(self._generator, name)
        return value


def _of_global_generator(value: Any) -> bool:
    """Whether *value* is a method of ``random``'s hidden global generator (Python or C, e.g. ``random.random``)."""
    return getattr(value, "__self__", None) is _random._inst


def _node_datetime_class(clock: Clock) -> type[_datetime.datetime]:
    class datetime(_datetime.datetime):
        """``datetime.datetime`` whose ``now``, ``utcnow`` and ``today`` read the node's clock."""

        @classmethod
        def now(cls, tz: _datetime.tzinfo | None = None) -> Any:
            return cls.fromtimestamp(clock(), tz)

        @classmethod
        def utcnow(cls) -> Any:
            return cls.fromtimestamp(clock(), _datetime.UTC).replace(tzinfo=None)

        @classmethod
        def today(cls) -> Any:
            return cls.fromtimestamp(clock())

    return datetime


class NodeDatetime:
    """The ``datetime`` module as a component of one node sees it: ``datetime.now()`` is the node's clock."""

    def __init__(self, clock: Clock) -> None:
        self.datetime = _node_datetime_class(clock)

    def __getattr__(self, name: str) -> Any:
        return getattr(_datetime, name)


def virtualize(module: types.ModuleType, clock: Clock, generator: _random.Random, where: str) -> list[str]:
    """Rebind *module*'s globals that name ``time``, ``random``, ``datetime`` or their functions to the node's.

    Returns the names rebound (for the log). See the module docstring for why and what is covered.
    """
    node_time = NodeTime(clock, where)
    node_random = NodeRandom(generator, where)
    node_datetime = NodeDatetime(clock)
    replacements: dict[int, Any] = {
        id(_time): node_time,
        id(_random): node_random,
        id(_datetime): node_datetime,
        id(_datetime.datetime): node_datetime.datetime,
    }
    for name in (
        "time",
        "monotonic",
        "perf_counter",
        "process_time",
        "thread_time",
        "time_ns",
        "monotonic_ns",
        "perf_counter_ns",
        "ctime",
        "localtime",
        "gmtime",
        "asctime",
        "strftime",
        "sleep",
    ):
        replacements[id(getattr(_time, name))] = getattr(node_time, name)
    rebound = []
    for name, value in list(vars(module).items()):
        if name.startswith("__"):
            continue
        replacement = replacements.get(id(value))
        if replacement is None and _of_global_generator(value):
            replacement = getattr(generator, value.__name__)
        if replacement is not None:
            setattr(module, name, replacement)
            rebound.append(name)
    return rebound
