"""Wall-clock patience for the tests that run in real time, scaled by how loaded the machine is.

A test on real ZeroMQ waits on a condition with a deadline. On an idle machine a condition that
will hold holds well within a base deadline; at a load of 20 on 2 cores each process gets about a
tenth of a core and the same condition may take ten times as long. ``deadline_s(base)`` scales a
base deadline by the load per core (at least 1, at most ``MAX_SLOWDOWN``), read when it is called.

A longer deadline only lets a test wait longer for what must happen; it never lets a test pass that
should fail. Where a test tells two durations apart (a delayed message from one that is not), it
scales the difference with ``slowdown()`` instead, so that scheduling noise stays small beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The largest factor a deadline is scaled by: a load of 20 on 2 cores.
MAX_SLOWDOWN = 10.0

_LOADAVG = Path("/proc/loadavg")


def runnable_now() -> int:
    """Processes runnable at this instant, this one left out (0 where ``/proc/loadavg`` is missing).

    The load average lags by a minute; a CPU hog started seconds ago shows here first.
    """
    try:
        running = _LOADAVG.read_text(encoding="ascii").split()[3].split("/")[0]
    except (OSError, IndexError):
        return 0
    return max(0, int(running) - 1)


def slowdown() -> float:
    """How many times slower than on an idle machine a real-time step may run now: the load per core,
    the larger of the 1-minute average and the runnable processes now, between 1 and ``MAX_SLOWDOWN``."""
    cores = os.cpu_count() or 1
    try:
        average = os.getloadavg()[0]
    except OSError:  # not available on this platform
        average = 0.0
    return min(MAX_SLOWDOWN, max(1.0, average / cores, runnable_now() / cores))


def deadline_s(base_s: float) -> float:
    """*base_s*, the seconds a wait may take on an idle machine, scaled by ``slowdown()``."""
    return base_s * slowdown()
