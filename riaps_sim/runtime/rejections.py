"""Rejected peers in the trace and the log, bounded: a few rows per source, then a count.

A real node writes a ``handshake_refused`` row for each connection the CURVE handshake or the
allow-list turns away and a ``beacon_rejected`` row for each discovery beacon it does not take.
Without a bound, whoever can reach the node decides how large its trace and its log grow (10,000
bad connections once added 965 KB to one trace). ``RejectionLog`` writes the first ``limit``
rejections of each (kind, source) in a window of ``window_s`` seconds as rows and log lines, as
before, and counts the rest; when the window ends it writes one row of the same kind saying how
many more there were (``data={"suppressed": N}``), so every rejection is still counted
(``rejections_in`` counts them from the rows) while the trace grows by at most ``limit + 1`` rows per
source per window. At most ``max_sources`` sources are told apart in a window; the rest share the
source ``"(other sources)"``, so forged beacon addresses cannot grow it either.

``Throttle`` is the bookkeeping alone, a pure object: time is passed in, nothing is read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["OTHER_SOURCES", "RejectionLog", "Suppressed", "Throttle", "rejections_in"]

log = logging.getLogger("riaps_sim.runtime")

#: The shared source of rejections from sources beyond ``max_sources`` in one window.
OTHER_SOURCES = "(other sources)"


@dataclass(frozen=True, slots=True)
class Suppressed:
    """Rejections of *kind* from *source* counted but not written one by one, between *first_s* and *last_s*."""

    kind: str
    source: str
    count: int
    first_s: float
    last_s: float


@dataclass(slots=True)
class _Window:
    start_s: float
    seen: int = 0
    suppressed: int = 0
    first_suppressed_s: float = 0.0
    last_suppressed_s: float = 0.0


class Throttle:
    """Which rejections to write: the first *limit* per (kind, source) in each window of *window_s* seconds.

    >>> throttle = Throttle(limit=2, window_s=10.0)
    >>> [throttle.admit("beacon_rejected", "10.0.0.9", t) for t in (0.0, 1.0, 2.0, 3.0)]
    [True, True, False, False]
    >>> throttle.due(9.0), throttle.due(10.0)
    ([], [Suppressed(kind='beacon_rejected', source='10.0.0.9', count=2, first_s=2.0, last_s=3.0)])
    """

    def __init__(self, limit: int = 5, window_s: float = 10.0, max_sources: int = 64) -> None:
        if limit < 1 or window_s <= 0 or max_sources < 1:
            raise ValueError(f"Throttle needs limit >= 1, window_s > 0 and max_sources >= 1; got {limit}, {window_s}, {max_sources}")
        self.limit = limit
        self.window_s = window_s
        self.max_sources = max_sources
        self._windows: dict[tuple[str, str], _Window] = {}
        self._closed: list[Suppressed] = []

    def __repr__(self) -> str:
        return f"<Throttle {self.limit} per {self.window_s:g} s, {len(self._windows)} source(s) open>"

    def source_of(self, kind: str, source: str) -> str:
        """*source*, or ``OTHER_SOURCES`` when *max_sources* others of *kind* already have an open window."""
        if (kind, source) in self._windows:
            return source
        open_sources = sum(1 for k, s in self._windows if k == kind and s != OTHER_SOURCES)
        return source if open_sources < self.max_sources else OTHER_SOURCES

    def admit(self, kind: str, source: str, now: float) -> bool:
        """Count a rejection at *now*; true when it is one of the first *limit* of its window (write it)."""
        self._close_before(now)
        key = (kind, self.source_of(kind, source))
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(now)
        window.seen += 1
        if window.seen <= self.limit:
            return True
        if not window.suppressed:
            window.first_suppressed_s = now
        window.suppressed += 1
        window.last_suppressed_s = now
        return False

    def due(self, now: float) -> list[Suppressed]:
        """The counts of the windows that ended by *now* with rejections not written, each once."""
        self._close_before(now)
        closed, self._closed = self._closed, []
        return closed

    def drain(self) -> list[Suppressed]:
        """Every count not yet reported, windows still open included (at the end of a run)."""
        self._close_before(float("inf"))
        return self.due(float("inf"))

    def _close_before(self, now: float) -> None:
        ended = [key for key, window in self._windows.items() if now >= window.start_s + self.window_s]
        for key in ended:
            window = self._windows.pop(key)
            if window.suppressed:
                self._closed.append(Suppressed(key[0], key[1], window.suppressed, window.first_suppressed_s, window.last_suppressed_s))


#: ``write(kind, source or None, detail, component, group, data)``: puts one row in a node's trace
RowWriter = Callable[[str, str | None, str, str | None, str | None, dict[str, Any] | None], None]


class RejectionLog:
    """A node's rejected peers, written through a ``Throttle`` to its trace (*write*) and its log.

    *clock* gives the node's time in seconds; ``flush`` (which the node's loop calls every
    ``window_s`` or so, and once at the end with ``final=True``) writes the counts of the windows
    that ended.
    """

    def __init__(self, node: str, write: RowWriter, clock: Callable[[], float], throttle: Throttle | None = None) -> None:
        self.node = node
        self.write = write
        self.clock = clock
        self.throttle = throttle if throttle is not None else Throttle()
        self.written = 0  #: rejections written as rows
        self.suppressed = 0  #: rejections counted in count rows, written or still pending

    def __repr__(self) -> str:
        return f"<RejectionLog {self.node} written={self.written} suppressed={self.suppressed}>"

    def record(self, kind: str, source: str | None, detail: str, component: str | None = None, group: str | None = None) -> None:
        """One rejection of *kind* (``handshake_refused``, ``beacon_rejected``) from *source* (``None``: unknown)."""
        now = self.clock()
        self._write_counts(self.throttle.due(now))
        if self.throttle.admit(kind, source or "", now):
            self.written += 1
            log.warning("node %s: %s from %s: %s", self.node, kind.replace("_", " "), source or "an unknown peer", detail)
            self.write(kind, source, detail, component, group, None)
        else:
            self.suppressed += 1

    def flush(self, final: bool = False) -> None:
        """Write the count rows due now (with *final*, every count still pending)."""
        self._write_counts(self.throttle.drain() if final else self.throttle.due(self.clock()))

    def _write_counts(self, counts: Iterable[Suppressed]) -> None:
        for count in counts:
            source = count.source or "an unknown peer"
            detail = (  # a span, not clock readings: the row's own time says when
                f"{count.count} more from {source} over {count.last_s - count.first_s:.3f} s, "
                f"not written one by one (at most {self.throttle.limit} a source every {self.throttle.window_s:g} s)"
            )
            log.warning("node %s: %s: %s", self.node, count.kind.replace("_", " "), detail)
            self.write(count.kind, count.source or None, detail, None, None, {"suppressed": count.count})


def rejections_in(rows: Iterable[Any]) -> int:
    """How many rejections trace *rows* stand for: one a row, N for a count row (``data={"suppressed": N}``)."""
    total = 0
    for row in rows:
        data = row.data
        total += data["suppressed"] if data and isinstance(data.get("suppressed"), int) else 1
    return total
