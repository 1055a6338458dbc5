"""A real run's trace on disk: each node process appends to its own file, the parent tails them.

Every node process writes its events as JSON lines as they happen (``StreamingTrace``), so a node
killed with SIGKILL leaves its trace up to the moment it died. The parent reads what is new in each
file since it last looked (``TraceFiles``: whole lines only, a line still being written waits for
the next look), so reading the trace again costs the new lines only, not a re-read of every file.
Who leads is not read here: the nodes report it to the parent (``riaps_sim.runtime.reports``).

Heartbeat counts (tallies) are written as snapshots, every second while the node runs and once
more at its end, each line naming its writer (the process); the reader keeps each writer's latest
snapshot. A node killed with SIGKILL thus loses at most its last second of counts, and a
restarted node's new process adds its counts to those of the one before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..trace import Tally, TallyKey, Trace, TraceEvent, event_line, tally_from_json, tally_line

__all__ = ["StreamingTrace", "TraceFiles", "up_to"]


class StreamingTrace(Trace):
    """A trace that also appends each event to a JSON-lines file as it is recorded.

    Heartbeat sends and deliveries are counted, not written, unless *keep_heartbeats* (as in
    simulation, see ``riaps_sim.trace``): 32 members would otherwise write a thousand lines a
    second each. The counts are written as ``tally`` lines, a snapshot of them all signed by
    *writer*, whenever ``write_tallies`` is called (a node does so every second) and when the trace
    is closed; a node killed with SIGKILL loses the counts since its last snapshot, never its rows.
    """

    def __init__(self, path: str | Path, keep_heartbeats: bool = False, writer: str = "") -> None:
        super().__init__(keep_heartbeats=keep_heartbeats)
        self.writer = writer
        self._tallied: dict[TallyKey, int] = {}  # the counts of the last snapshot written
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

    def write_tallies(self) -> None:
        """Write a snapshot of the heartbeat counts that changed since the last one."""
        out = self._out
        if out.closed:
            return
        for key, tally in self.tallies().items():
            if self._tallied.get(key) != tally.count:
                self._tallied[key] = tally.count
                out.write(tally_line(key, tally, self.writer))

    def close(self) -> None:
        if self._out.closed:
            return
        self.write_tallies()
        self._out.close()


class _Tail:
    """The complete lines of one growing file read so far: its events and its tallies."""

    __slots__ = ("path", "offset", "events", "_summed", "_latest")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.events: list[TraceEvent] = []
        self._summed: dict[TallyKey, Tally] = {}  # unsigned tally lines, added up
        self._latest: dict[tuple[str, TallyKey], Tally] = {}  # each writer's latest snapshot of a key

    def tallies(self) -> dict[TallyKey, Tally]:
        """The counts of every writer of the file, each writer's latest snapshot, added up."""
        out = dict(self._summed)
        for (_, key), tally in self._latest.items():
            out[key] = out[key].combined(tally) if key in out else tally
        return out

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
                    writer = fields.get("writer")
                    if writer is not None:
                        self._latest[(str(writer), key)] = tally
                    else:
                        self._summed[key] = self._summed[key].combined(tally) if key in self._summed else tally
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
        merged = []
        for _, tail in sorted(self._tails.items()):
            tallies = tail.tallies()
            merged.append(Trace(tail.events, keep_heartbeats=not tallies, tallies=tallies))
        return Trace.merge(merged)


def up_to(trace: Trace, end: float) -> Trace:
    """*trace* without the events after *end* (seconds), its tallies kept (the same trace if nothing is later)."""
    if all(e.when <= end for e in trace):
        return trace
    return Trace([e for e in trace if e.when <= end], keep_heartbeats=trace.keep_heartbeats, tallies=trace.tallies())
