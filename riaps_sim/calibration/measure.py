"""What a real trace says about the real system: one-way latencies, handler service time, timer lateness, boot time.

Latencies pair each ``deliver`` with the latest ``send`` of the same message id (the real world's
ids are digests of the message, see ``riaps_sim.trace``) stamped no later than the delivery, and
attribute it to the link from the sending node to the receiving one; a member's delivery of its
own publication is left out (it never leaves the process's host). Deliveries while a fault other
than a crash or a restart stands (a partition holding traffic, injected loss or delay, skewed
clocks), and for a second after its heal, are left out too: they measure the fault, not the
system. Service times, timer lateness and boot times come from the ``loop`` rows a run writes when
it measures its loops (``run_real(..., measure_loop=True)``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..trace import Kind, Trace

__all__ = ["Measurements", "measure_trace", "HEAL_MARGIN_S", "SEND_SLACK_S"]

#: Deliveries this long after a heal are still left out (held traffic drains).
HEAL_MARGIN_S = 1.0

#: A send stamped up to this much after its delivery still pairs with it (the two processes' clock readings race).
SEND_SLACK_S = 0.0005

_UNDISTURBING = ("crash", "restart", "heal", "refused")


@dataclass
class Measurements:
    """Samples in seconds gathered from real traces: by link, by command, and by node for the loop's numbers."""

    links: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    commands: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    service_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    timer_late_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    boot_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    runs: int = 0

    def __repr__(self) -> str:
        return (
            f"<Measurements {self.runs} run(s): {len(self.latencies())} latencies over {len(self.links)} links, "
            f"{len(self.service())} handled messages, {len(self.lateness())} timers>"
        )

    def latencies(self) -> list[float]:
        """Every one-way latency, all links together."""
        return [v for values in self.links.values() for v in values]

    def service(self) -> list[float]:
        """Every handler service time, all nodes together."""
        return [v for values in self.service_s.values() for v in values]

    def lateness(self) -> list[float]:
        """Every timer's lateness, all nodes together."""
        return [v for values in self.timer_late_s.values() for v in values]

    def boots(self) -> list[float]:
        """Every process's boot time."""
        return [v for values in self.boot_s.values() for v in values]

    def add(self, trace: Trace) -> None:
        """Add what *trace* (one real run) shows."""
        self.runs += 1
        disturbed = _disturbed_windows(trace)
        sends: dict[str, list[tuple[float, str]]] = defaultdict(list)  # msg id -> (time, node) of its sends, in time order
        deliveries: list[tuple[float, str, str, str | None]] = []
        for e in sorted(trace.select(kind=[Kind.SEND, Kind.DELIVER]), key=lambda e: e.when):
            if e.msg_id is None:
                continue
            if e.kind == Kind.SEND:
                sends[e.msg_id].append((e.when, e.node))
            else:
                deliveries.append((e.when, e.msg_id, e.node, e.detail))
        for when, msg_id, receiver, command in deliveries:
            send = _latest_before(sends.get(msg_id, []), when + SEND_SLACK_S)
            if send is None or send[1] == receiver or _inside(when, disturbed):
                continue
            latency = max(0.0, when - send[0])
            self.links[(send[1], receiver)].append(latency)
            self.commands[command or "?"].append(latency)
        for e in trace.select(kind=Kind.LOOP):
            data = e.data or {}
            self.service_s[e.node].extend(float(v) for v in data.get("service_s", ()))
            self.timer_late_s[e.node].extend(float(v) for v in data.get("timer_late_s", ()))
            if data.get("boot_s") is not None:
                self.boot_s[e.node].append(float(data["boot_s"]))


def _latest_before(sends: list[tuple[float, str]], limit: float) -> tuple[float, str] | None:
    """The latest of *sends* (in time order) stamped at or before *limit*."""
    low, high = 0, len(sends)
    while low < high:
        mid = (low + high) // 2
        if sends[mid][0] <= limit:
            low = mid + 1
        else:
            high = mid
    return sends[low - 1] if low else None


def _disturbed_windows(trace: Trace) -> list[tuple[float, float]]:
    """Spans in which a fault other than a crash or restart stood, to its heal plus ``HEAL_MARGIN_S`` (or the end)."""
    faults = sorted(trace.select(kind=Kind.FAULT), key=lambda e: e.when)
    end = max((e.when for e in trace), default=0.0)
    windows: list[tuple[float, float]] = []
    start: float | None = None
    for e in faults:
        detail = e.detail or ""
        if detail.startswith("heal"):
            if start is not None:
                windows.append((start, e.when + HEAL_MARGIN_S))
                start = None
        elif not detail.startswith(_UNDISTURBING) and start is None:
            start = e.when
    if start is not None:
        windows.append((start, end + 1.0))
    return windows


def _inside(when: float, windows: list[tuple[float, float]]) -> bool:
    return any(low <= when <= high for low, high in windows)


def measure_trace(traces: Trace | Iterable[Trace]) -> Measurements:
    """The measurements of one real run's trace, or of several runs' traces together."""
    out = Measurements()
    for trace in [traces] if isinstance(traces, Trace) else traces:
        out.add(trace)
    return out
