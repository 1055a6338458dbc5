"""A real run's trace on disk: each node process appends to its own file, the parent tails them.

Every node process writes its events as JSON lines as they happen (``StreamingTrace``), so a node
killed with SIGKILL leaves its trace up to the moment it died. The parent reads what is new in each
file since it last looked (``TraceFiles``: whole lines only, a line still being written waits for
the next look) and keeps the roles it has seen (``LeaderTracker``), so asking who leads now costs
the new events only, not a re-read of every file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..trace import Kind, Tally, TallyKey, Trace, TraceEvent, event_line, tally_from_json, tally_line

__all__ = ["StreamingTrace", "TraceFiles", "LeaderTracker", "Role"]


class StreamingTrace(Trace):
    """A trace that also appends each event to a JSON-lines file as it is recorded.

    Heartbeat sends and deliveries are counted, not written, unless *keep_heartbeats* (as in
    simulation, see ``riaps_sim.trace``): 32 members would otherwise write a thousand lines a
    second each. The counts are written as ``tally`` lines when the trace is closed; a node killed
    with SIGKILL loses its counts, never its rows.
    """

    def __init__(self, path: str | Path, keep_heartbeats: bool = False) -> None:
        super().__init__(keep_heartbeats=keep_heartbeats)
        path = Path(path)
        torn = path.exists() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
        self._out = path.open("a", encoding="utf-8", buffering=1)
        if torn:  # the last writer was killed mid-line (a crash before a restart): start on a new line
            self._out.write("\n")

    def append(self, event: TraceEvent) -> None:
        super().append(event)
        self._write_from(len(self) - 1)

    def record(self, time: float, true_time: float | None, node: str, component: str | None, group: str | None, kind: str, **fields: Any) -> None:
        before = len(self)
        super().record(time, true_time, node, component, group, kind, **fields)
        self._write_from(before)

    def record_message(
        self,
        time: float,
        true_time: float | None,
        node: str,
        component: str | None,
        group: str | None,
        kind: str,
        command: str,
        peer: str | None,
        msg_id: int | str | None,
        size: int | None,
    ) -> None:
        before = len(self)
        super().record_message(time, true_time, node, component, group, kind, command, peer, msg_id, size)
        self._write_from(before)

    def _write_from(self, start: int) -> None:
        out = self._out
        if out.closed:
            return
        for index in range(start, len(self)):
            out.write(event_line(self[index]))

    def close(self) -> None:
        if self._out.closed:
            return
        for key, tally in self.tallies().items():
            self._out.write(tally_line(key, tally))
        self._out.close()


class _Tail:
    """The complete lines of one growing file read so far: its events and its tallies."""

    __slots__ = ("path", "offset", "events", "tallies")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.events: list[TraceEvent] = []
        self.tallies: dict[TallyKey, Tally] = {}

    def read_new(self) -> list[TraceEvent]:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1
        if end == 0:
            return []
        self.offset += end
        new = []
        for line in chunk[:end].splitlines():
            try:
                fields = json.loads(line)
                if "tally" in fields:
                    key, tally = tally_from_json(fields["tally"])
                    self.tallies[key] = self.tallies[key].combined(tally) if key in self.tallies else tally
                else:
                    new.append(TraceEvent(**fields))
            except (ValueError, TypeError, KeyError):
                continue  # the torn tail of a killed writer
        self.events.extend(new)
        return new


class TraceFiles:
    """The ``*.jsonl`` trace files of a folder, read incrementally.

    ``update()`` reads what was appended since the last call and returns the new events;
    ``trace()`` merges everything read so far (after an update) in time order.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._tails: dict[Path, _Tail] = {}

    def update(self) -> list[TraceEvent]:
        new: list[TraceEvent] = []
        for path in sorted(self.folder.glob("*.jsonl")):
            tail = self._tails.get(path)
            if tail is None:
                tail = self._tails[path] = _Tail(path)
            new.extend(tail.read_new())
        return new

    def trace(self) -> Trace:
        self.update()
        return Trace.merge(Trace(t.events, keep_heartbeats=not t.tallies, tallies=t.tallies) for _, t in sorted(self._tails.items()))


@dataclass(frozen=True, slots=True)
class Role:
    """A member's latest role as its ``state`` events tell it."""

    node: str
    member: str
    role: str
    term: int


class LeaderTracker:
    """Who leads now, from the ``state`` events seen so far (fed incrementally)."""

    def __init__(self) -> None:
        self._roles: dict[str, Role] = {}

    def feed(self, events: list[TraceEvent]) -> None:
        for event in events:
            if event.kind == Kind.STATE and event.peer:
                self._roles[event.peer] = Role(event.node, event.peer, event.detail or "", event.term or 0)

    def leader(self, alive: set[str]) -> str | None:
        """The node whose member leads among the *alive* nodes (the highest term wins), or ``None``."""
        leading = [(r.term, r.node) for r in self._roles.values() if r.role == "leader" and r.node in alive]
        return max(leading)[1] if leading else None
