"""Socket monitors: libzmq's two-frame event messages, and the methods that make and feed a monitor socket.

A monitor message is exactly what libzmq sends: frame 0 packs the event id and value as
``=HI``, frame 1 is the endpoint, so ``zmq.utils.monitor.parse_monitor_message`` reads it. The
ports drain it in ``checkSecurity()`` to report refused CURVE handshakes.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

import zmq

__all__ = ["monitor_frames", "MonitorMixin"]


def monitor_frames(event: int, value: int, endpoint: str) -> tuple[bytes, bytes]:
    """A monitor message exactly as libzmq sends it: ``=HI`` event and value, then the endpoint."""
    return (struct.pack("=HI", event, value & 0xFFFFFFFF), endpoint.encode("utf-8"))


class MonitorMixin:
    """``get_monitor_socket``/``disable_monitor`` for ``SimSocket``, and ``report_event`` to report to the monitor."""

    if TYPE_CHECKING:
        context: Any
        _monitor: Any
        _monitor_events: int

        def check_open(self) -> None: ...

    def get_monitor_socket(self, events: int | None = None, addr: str | None = None) -> Any:
        """A PAIR-like socket on which this socket's *events* arrive as libzmq monitor messages.

        Each message is two frames, ``=HI`` event id and value then the endpoint, so
        ``zmq.utils.monitor.parse_monitor_message`` reads it.
        """
        self.check_open()
        from .socktypes import MonitorSocket

        if self._monitor is not None:
            self.disable_monitor()
        self._monitor = MonitorSocket(self.context, self)  # type: ignore[arg-type]
        self._monitor_events = zmq.EVENT_ALL if events is None else events
        return self._monitor

    def disable_monitor(self) -> None:
        """Stop reporting events; the monitor socket receives ``EVENT_MONITOR_STOPPED`` last."""
        if self._monitor is not None:
            self._monitor.push(monitor_frames(zmq.EVENT_MONITOR_STOPPED, 0, ""))
            self._monitor = None
            self._monitor_events = 0

    def monitor_closed(self, monitor: Any) -> None:
        """*monitor*, this socket's monitor socket, was closed: report nothing more to it."""
        if self._monitor is monitor:
            self._monitor = None

    def report_event(self, event: int, value: int, endpoint: str) -> None:
        monitor = self._monitor
        if monitor is not None and event & self._monitor_events and not monitor.closed:
            monitor.push(monitor_frames(event, value, endpoint))
