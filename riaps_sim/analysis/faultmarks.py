"""Faults as the role timeline draws them: read from the trace's ``fault`` events into typed marks.

The trace words faults the same way in both worlds (``Fault.describe``): ``crash n1``,
``restart n1``, ``partition a,b | c (hold)``, ``heal``, ``clock n2 offset=0.5 rate=1.0``,
``link n1<->n3 loss=0.3``, ``link n0->n4 duplication=0.2``, ``link n0<->n1 delay+0.05`` (earlier
traces: ``latency=Constant(delay=0.05)``), ``pause n2 for 2 s``. ``fault_marks`` turns each into a ``FaultMark``
with the nodes it touches and a short label; ``FAULT_COLOURS`` gives each kind its colour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..trace import Kind, Trace

__all__ = ["FaultMark", "fault_marks", "FAULT_COLOURS", "STRIP_KINDS"]

#: One colour per fault kind, chosen to read on white and apart from the role colours.
FAULT_COLOURS = {
    "partition": "#6a5acd",
    "heal": "#6a5acd",
    "crash": "#b22222",
    "restart": "#1f5fa8",
    "clock": "#1f77b4",
    "loss": "#d62728",
    "duplicate": "#0e8c8c",
    "delay": "#8c564b",
    "pause": "#9467bd",
    "other": "#555555",
}

#: Faults drawn as a thin strip along the nodes they touch: from their time on, or for their duration.
STRIP_KINDS = ("clock", "loss", "duplicate", "delay", "pause")

_LINK = re.compile(r"link (?P<a>\S+?)(?P<arrow><->|->)(?P<b>\S+) (?P<what>loss=|duplication=|latency=|delay\+)(?P<value>.+)")
_PAUSE = re.compile(r"pause (?P<node>\S+) for (?P<seconds>\S+) s")
_CLOCK = re.compile(r"clock (?P<node>\S+) offset=(?P<offset>\S+) rate=(?P<rate>\S+)")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


@dataclass(frozen=True, slots=True)
class FaultMark:
    """One fault as drawn: when (seconds from the plot's origin), its kind, the nodes it touches, a label.

    *duration* is how long it lasts (a pause), or ``None`` if it lasts until something undoes it.
    """

    at: float
    kind: str
    nodes: tuple[str, ...]
    label: str
    detail: str
    duration: float | None = None


def fault_marks(trace: Trace, origin: float = 0.0) -> list[FaultMark]:
    """The ``fault`` events of *trace* as marks, in time order, times relative to *origin*."""
    return [_mark(e.when - origin, e.detail or "") for e in trace.select(kind=Kind.FAULT).sorted()]


def _mark(at: float, detail: str) -> FaultMark:
    verb, _, rest = detail.partition(" ")
    if verb in ("crash", "restart") and rest and " " not in rest:
        return FaultMark(at, verb, (rest,), detail, detail)
    if verb == "partition":
        from .replay import parse_sides

        nodes = tuple(sorted({n for side in parse_sides(detail) for n in side}))
        return FaultMark(at, "partition", nodes, "partition", detail)
    if detail == "heal":
        return FaultMark(at, "heal", (), "heal", detail)
    pause = _PAUSE.fullmatch(detail)
    if pause:
        seconds = float(pause["seconds"])
        return FaultMark(at, "pause", (pause["node"],), f"pause {pause['node']} {seconds:g} s", detail, duration=seconds)
    clock = _CLOCK.fullmatch(detail)
    if clock:
        offset, rate = float(clock["offset"]), float(clock["rate"])
        label = f"clock {clock['node']} {offset:+g} s" + (f" x{rate:g}" if rate != 1.0 else "")
        return FaultMark(at, "clock", (clock["node"],), label, detail)
    link = _LINK.fullmatch(detail)
    if link:
        a, b, arrow = link["a"], link["b"], "\u2194" if link["arrow"] == "<->" else "\u2192"
        numbers = _NUMBER.findall(link["value"])
        value = float(numbers[0]) if numbers else None
        if link["what"] in ("latency=", "delay+"):
            kind, amount = "delay", f"{value * 1000:g} ms" if value is not None else link["value"]
        else:
            kind = "loss" if link["what"] == "loss=" else "duplicate"
            amount = f"{value * 100:g}%" if value is not None else link["value"]
        return FaultMark(at, kind, (a, b), f"{kind} {a}{arrow}{b} {amount}", detail)
    return FaultMark(at, "other", (), detail, detail)
