"""``LoopProbe``: what a real node's loop measures about itself, for calibrating the simulator.

A real member is not instant: handling a message takes Python time (decoding, the machine, the
component's callback, CURVE on the sends), and a timer runs late when the loop wakes late or is
busy. The simulation knows neither unless a calibration tells it. When a real run is asked to
measure its loops (``measure_loop``; ``riaps-sim calibrate`` does), each node process keeps a
probe: the member reports the time each received message took to handle, the driver how late
each timer ran, and the probe writes what it gathered to the node's trace as a ``loop`` row every
couple of seconds and when the node stops (see ``riaps_sim.trace``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["LoopProbe", "FLUSH_EVERY_S"]

#: How often (seconds) a probe writes its samples to the trace: a node killed by a crash loses at most this much.
FLUSH_EVERY_S = 2.0


class LoopProbe:
    """Samples of handler service time and timer lateness, in seconds, written out by *write*.

    *write* receives the ``data`` of one ``loop`` row (``service_s``, ``timer_late_s``, and
    ``boot_s`` in the first row when known); samples are rounded to the microsecond.
    """

    def __init__(self, write: Callable[[dict[str, Any]], None], boot_s: float | None = None) -> None:
        self._write = write
        self._boot_s = boot_s
        self.service_s: list[float] = []
        self.timer_late_s: list[float] = []

    def __repr__(self) -> str:
        return f"<LoopProbe {len(self.service_s)} handled, {len(self.timer_late_s)} timers pending>"

    def handled(self, seconds: float) -> bool:
        """A received message took *seconds* to handle; False: the loop goes on reading (the node hook's answer)."""
        self.service_s.append(seconds)
        return False

    def timer_ran(self, late_s: float) -> None:
        """A timer ran *late_s* seconds after it fell due."""
        self.timer_late_s.append(late_s)

    def flush(self) -> None:
        """Write what was gathered since the last flush (nothing if nothing was)."""
        if not (self.service_s or self.timer_late_s or self._boot_s is not None):
            return
        data: dict[str, Any] = {
            "service_s": [round(max(0.0, s), 6) for s in self.service_s],
            "timer_late_s": [round(max(0.0, s), 6) for s in self.timer_late_s],
        }
        if self._boot_s is not None:
            data["boot_s"] = round(self._boot_s, 6)
            self._boot_s = None
        self.service_s, self.timer_late_s = [], []
        self._write(data)
