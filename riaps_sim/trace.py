"""The event trace: one table of what happened, with the same columns in both worlds.

Every run, simulated or real, yields a ``Trace``. Metrics, invariant checks and plots read the trace
alone, so one analysis serves both worlds and a simulated run can be laid beside a real one.

Columns (``TraceEvent`` fields):

=========== ==============================================================================
time        seconds on the observing node's clock, from the run's time 0 in both worlds
            (skewed and drifting where a fault or the simulation says so)
true_time   seconds of true virtual time in simulation; ``None`` in the real world unless a
            clock-skew fault moved the node's clock (then the wall clock from time 0)
node        the node that observed the event
component   the component instance, or ``None`` for node-level events
group       ``"<type>.<instance>"``, or ``None``
kind        a ``Kind``: send, deliver, drop, state, member_joined, ..., fault, error
peer        the other party (a node, member id in hex, or host), or ``None``
msg_id      a string shared by a message's send, deliver and drop events (the network's
            message number; in the real world a digest of the message, see ``send``) or by a
            poll's events (its ``rfvId``), or ``None``
size        bytes on the wire, or ``None``
term        the election term where it matters, or ``None``
detail      the rest in words: the drop cause, the new role, the vote result, the fault
data        an application event's fields (``Component.record``), a failed join's
            (``error``), or ``None``
=========== ==============================================================================

What each kind carries (the runtimes write these; the analysis reads them):

- ``group_joined`` / ``group_left``: a component joined or left *group*; ``peer`` is its member id
  (hex), ``detail`` the protocol name on joining.
- ``state``: the member's role or term changed; ``detail`` is the new role (``follower``,
  ``precandidate`` (``fixed`` only: asking for pre-votes), ``candidate``, ``leader``), ``term`` the
  term, ``peer`` the member id.
- ``member_joined`` / ``member_left`` / ``leader_elected`` / ``leader_exited``: the component was
  told so; ``peer`` is the member or leader id (hex).
- ``vote_requested`` / ``vote_cast`` / ``vote_announced``: ``msg_id`` is the poll id, ``detail``
  the ballot or result; ``vote_announced`` with a component is a result delivered to it.
- ``vote_expired``: a poll this member asked for had no result by its requester's deadline
  (``fixed``); its component is then told ``timeout`` (the ``vote_announced`` row that follows is
  that, not a leader's announcement).
- ``send`` / ``deliver``: ``detail`` is the command (``tic``, ``ldr``, ``msg``, ...), ``peer`` the
  other node, ``msg_id`` pairs them: in simulation the network's message number; in the real
  world a digest of the command and payload (``#`` and 12 hex digits), which identical messages
  (a member's successive heartbeats) share, so a delivery pairs with the latest send of its
  digest before it.
- ``drop``: ``detail`` is the cause (``partition``, ``loss``, ``hwm``, ``crash``, ``malformed``...).
  ``node`` is where the loss was seen: in simulation the network records it at the sender, with
  the intended receiver as ``peer``; the real world's fault layer records it at the receiver, with
  the sender as ``peer``. A malformed message is recorded by the member that received it.
- ``fault``: ``detail`` describes it, e.g. ``crash n3``, ``partition n1 | n2,n3``, ``heal``.
- ``error``: ``detail`` says what failed; ``loop crashed: ...`` marks a node loop that died. A
  ``joinGroup`` that named a group type the scenario does not define carries ``data``
  ``{"unknown_group_type": ..., "defined": [...]}`` (the verdict counts it as a failed join).
- ``loop``: a real node's loop measurements, written only when asked (``measure_loop``, as
  ``riaps-sim calibrate`` does): ``data`` holds ``service_s`` (seconds each received message took
  to handle) and ``timer_late_s`` (how late each timer ran) since the previous ``loop`` row, and
  in the node's first one ``boot_s`` (seconds from the process's launch to its readiness).
- ``app``: a component's own event (``Component.record``): ``detail`` its kind, ``data`` its fields.
- ``handshake_refused``: a peer turned away by CURVE or the allow-list: ``peer`` its address (when
  known), ``detail`` the port and the reason. ``beacon_rejected``: a discovery beacon not applied
  (forged, replayed, stale): ``peer`` the sender's address, ``detail`` the reason and its UDP
  source. A real node writes the first few of each kind and source in a window as rows, then one
  row of the same kind whose ``data`` is ``{"suppressed": N}``: N more, not written one by one
  (``riaps_sim.runtime.rejections``).

Heartbeats (``tic`` and ``ldr``, ``HEARTBEATS``) are most of a run's messages: every member sends
one per period to every member, so their rows grow as N^2 x T. A trace made with
``Trace(keep_heartbeats=False)`` (what ``Simulation`` does unless asked to keep every row) counts
their ``send`` and ``deliver`` events per ``TallyKey`` (kind, node, peer, group, command) in a
``Tally`` (count, bytes, first and last time, latency) instead of storing rows; everything else,
and a heartbeat delivered to a node that is not a member of the group, stays a row, so checks over
deliveries still see what matters. ``counts()``, ``message_counts()`` and ``tallies()`` include the
counted events; ``select`` and iteration give rows only. ``to_jsonl`` writes tallies after the rows
as lines ``{"tally": {...}}``, which ``from_jsonl`` reads back.

Files (``trace.jsonl``) are strict JSON (RFC 8259), one object per line, readable by ``jq``,
JavaScript or any strict parser: never ``NaN`` or ``Infinity``. Where a number has no finite value,
the file holds ``null``: a tally's ``latency_min`` is ``null`` when none of its deliveries was timed
(``timed`` is 0, as for every ``send`` tally; in memory it is ``inf``), and a number in an app
event's ``data`` that is NaN or infinite is written as ``null``. ``from_jsonl`` also reads files
written before this rule, which held ``Infinity`` there.
"""

from __future__ import annotations

import json
import math
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, overload

__all__ = ["Kind", "TraceEvent", "Trace", "Tally", "TallyKey", "HEARTBEATS", "event_line", "tally_line", "tally_from_json"]

#: The periodic messages a trace may count instead of storing: member and leader heartbeats.
HEARTBEATS = frozenset({"tic", "ldr"})

#: How long (s of ``when``) a counted heartbeat send is remembered to time its deliveries.
LATENCY_HORIZON_S = 60.0


class Kind(StrEnum):
    """What a trace event records."""

    SEND = "send"
    DELIVER = "deliver"
    DROP = "drop"
    STATE = "state"
    MEMBER_JOINED = "member_joined"
    MEMBER_LEFT = "member_left"
    LEADER_ELECTED = "leader_elected"
    LEADER_EXITED = "leader_exited"
    VOTE_REQUESTED = "vote_requested"
    VOTE_CAST = "vote_cast"
    VOTE_ANNOUNCED = "vote_announced"
    VOTE_EXPIRED = "vote_expired"
    GROUP_JOINED = "group_joined"
    GROUP_LEFT = "group_left"
    CALLBACK = "callback"
    FAULT = "fault"
    TIMER = "timer"
    ERROR = "error"
    WARNING = "warning"
    HANDSHAKE_REFUSED = "handshake_refused"
    BEACON_REJECTED = "beacon_rejected"
    APP = "app"
    LOOP = "loop"


class TraceEvent(NamedTuple):
    """One row of the trace; see the module docstring for the columns."""

    time: float
    true_time: float | None
    node: str
    component: str | None
    group: str | None
    kind: str
    peer: str | None = None
    msg_id: str | None = None
    size: int | None = None
    term: int | None = None
    detail: str | None = None
    data: dict[str, Any] | None = None

    @property
    def when(self) -> float:
        """True time where known (simulation), else the observer's clock."""
        return self.time if self.true_time is None else self.true_time


_KINDS = frozenset(Kind)

#: The pandas dtype of each non-text column of ``Trace.to_pandas()``; the rest are ``string``.
_PANDAS_DTYPES = {"time": "float64", "true_time": "Float64", "kind": "category", "size": "Int64", "term": "Int64", "data": "object"}


class TallyKey(NamedTuple):
    """What a ``Tally`` counts: events of *kind* (send or deliver) of *command* seen at *node*, with *peer*, in *group*."""

    kind: str
    node: str
    peer: str | None
    group: str | None
    command: str


@dataclass(slots=True)
class Tally:
    """Heartbeat events counted instead of stored: how many, how many bytes, when, and (deliveries) how late.

    ``first`` and ``last`` are ``when`` of the first and last event counted; ``timed`` deliveries
    had their send in the trace (within ``LATENCY_HORIZON_S``), and give ``latency_sum``,
    ``latency_min`` and ``latency_max`` in seconds.
    """

    count: int = 0
    bytes: int = 0
    first: float = 0.0
    last: float = 0.0
    timed: int = 0
    latency_sum: float = 0.0
    latency_min: float = float("inf")
    latency_max: float = 0.0

    @property
    def latency_mean(self) -> float | None:
        return self.latency_sum / self.timed if self.timed else None

    def combined(self, other: Tally) -> Tally:
        """This tally and *other* (the same key, counted elsewhere: another file, another incarnation) as one."""
        if not self.count:
            return Tally(**asdict(other))
        if not other.count:
            return Tally(**asdict(self))
        return Tally(
            self.count + other.count,
            self.bytes + other.bytes,
            min(self.first, other.first),
            max(self.last, other.last),
            self.timed + other.timed,
            self.latency_sum + other.latency_sum,
            min(self.latency_min, other.latency_min),
            max(self.latency_max, other.latency_max),
        )


def _finite(value: Any) -> Any:
    """*value* with every NaN or infinite float, at any depth of lists and dicts, replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def event_line(event: TraceEvent) -> str:
    """*event* as one line of strict JSON (no NaN or Infinity: see the module's "Files")."""
    fields = event._asdict()
    if event.data is not None:
        fields["data"] = _finite(event.data)
    return json.dumps(fields, separators=(",", ":"), allow_nan=False) + "\n"


def tally_from_json(fields: Mapping[str, Any]) -> tuple[TallyKey, Tally]:
    """The key and tally of a ``tally_line``'s ``"tally"`` object (``latency_min`` ``null`` or ``Infinity``: none timed)."""
    counted = dict(fields)
    key = TallyKey(*(counted.pop(name) for name in TallyKey._fields))
    if counted.get("latency_min") is None:
        counted["latency_min"] = float("inf")
    return key, Tally(**counted)


def tally_line(key: TallyKey, tally: Tally, writer: str | None = None) -> str:
    """A tally as one line ``{"tally": {...}}`` of strict JSON; ``latency_min`` is ``null`` when no delivery was timed.

    With *writer* (a node process's running count, rewritten as it grows) the line says whose it is,
    and a reader keeps each writer's latest line instead of adding them up.
    """
    line: dict[str, Any] = {"tally": _finite({**key._asdict(), **asdict(tally)})}
    if writer is not None:
        line["writer"] = writer
    return json.dumps(line, separators=(",", ":"), allow_nan=False) + "\n"


class Trace:
    """An append-only sequence of ``TraceEvent`` rows, with selection, files and notebook display.

    Examples
    --------
    >>> trace = Trace()
    >>> trace.record(1.5, None, "n1", "c1", "G.g1", Kind.LEADER_ELECTED, peer="n1", term=1)
    >>> [e.kind for e in trace.select(kind="leader_elected")]
    ['leader_elected']
    """

    def __init__(self, events: Iterable[TraceEvent] = (), *, keep_heartbeats: bool = True, tallies: Mapping[TallyKey, Tally] | None = None) -> None:
        self._events: list[TraceEvent] = list(events)
        self.keep_heartbeats = keep_heartbeats
        self._tallies: dict[TallyKey, Tally] = dict(tallies or {})
        self._inside: dict[tuple[str, str | None], bool] = {}  # (node, group) -> a member now (counting mode)
        self._sent_at: dict[object, float] = {}  # counted heartbeat sends' ids -> when, to time deliveries
        self._sent_order: deque[tuple[float, object]] = deque()
        self._watchers: dict[str, list[Callable[[TraceEvent], None]]] = {}

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[TraceEvent]:
        return iter(self._events)

    @overload
    def __getitem__(self, index: int) -> TraceEvent: ...
    @overload
    def __getitem__(self, index: slice) -> Trace: ...
    def __getitem__(self, index: int | slice) -> TraceEvent | Trace:
        """One event by position, or a ``Trace`` of the events in a slice (``trace[:5]``)."""
        if isinstance(index, slice):
            return Trace(self._events[index])
        return self._events[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trace) and self._events == other._events and self._tallies == other._tallies

    def __repr__(self) -> str:
        times = [e.when for e in self._events]
        span = f" {min(times):.3f}..{max(times):.3f} s" if times else ""
        return f"<Trace {len(self._events)} events{span}>"

    def record(self, time: float, true_time: float | None, node: str, component: str | None, group: str | None, kind: str, **fields: Any) -> None:
        """Append one event. *kind* must be a ``Kind`` value; other columns go by keyword.

        A ``msg_id`` is stored as a string whatever its source (the network numbers its messages,
        polls have 8-character ids), so the column has one type.
        """
        if kind not in _KINDS:
            raise ValueError(f"trace kind must be one of {sorted(_KINDS)}, got {kind!r}")
        if not self.keep_heartbeats:
            if (kind == "send" or kind == "deliver") and fields.get("detail") in HEARTBEATS:
                if self._count(
                    time if true_time is None else true_time,
                    node,
                    group,
                    kind,
                    fields["detail"],
                    fields.get("peer"),
                    fields.get("msg_id"),
                    fields.get("size"),
                ):
                    return
            elif kind == "group_joined" or kind == "group_left":
                self._inside[(node, group)] = kind == "group_joined"
        msg_id = fields.get("msg_id")
        if msg_id is not None and msg_id.__class__ is not str:
            fields["msg_id"] = str(msg_id)
        event = TraceEvent(time, true_time, node, component, group, str(kind), **fields)
        self._events.append(event)
        if self._watchers:
            for callback in self._watchers.get(kind, ()):
                callback(event)

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
        """Append (or, for a heartbeat in counting mode, count) a ``send`` or ``deliver`` of *command*: ``record`` without keywords, for the hot path."""
        if not self.keep_heartbeats and command in HEARTBEATS:
            if kind == "deliver":  # the hot path, inline: a delivery inside the group whose tally exists
                tally = self._tallies.get(("deliver", node, peer, group, command))  # type: ignore[call-overload]
                if tally is not None and self._inside.get((node, group), False):
                    when = time if true_time is None else true_time
                    tally.count += 1
                    tally.bytes += size or 0
                    tally.last = when
                    sent = self._sent_at.get(msg_id) if msg_id is not None else None
                    if sent is not None:
                        latency = when - sent
                        tally.timed += 1
                        tally.latency_sum += latency
                        if latency < tally.latency_min:
                            tally.latency_min = latency
                        if latency > tally.latency_max:
                            tally.latency_max = latency
                    return
            if (kind == "send" or kind == "deliver") and self._count(
                time if true_time is None else true_time, node, group, kind, command, peer, msg_id, size
            ):
                return
        if kind not in _KINDS:
            raise ValueError(f"trace kind must be one of {sorted(_KINDS)}, got {kind!r}")
        row_id = msg_id if msg_id is None or msg_id.__class__ is str else str(msg_id)  # one type in the column
        self._events.append(TraceEvent(time, true_time, node, component, group, str(kind), peer, row_id, size, None, command))

    def _count(self, when: float, node: str, group: str | None, kind: str, command: str, peer: str | None, msg_id: object, size: int | None) -> bool:
        """Count a heartbeat send or delivery in its tally; False if it must stay a row (delivered to a non-member)."""
        latency = None
        if kind == "deliver":
            if not self._inside.get((node, group), False):
                return False
            sent = self._sent_at.get(msg_id) if msg_id is not None else None
            if sent is not None:
                latency = when - sent
        elif msg_id is not None:
            self._sent_at[msg_id] = when
            order = self._sent_order
            order.append((when, msg_id))
            while order[0][0] < when - LATENCY_HORIZON_S:
                self._sent_at.pop(order.popleft()[1], None)
        key = (kind, node, peer, group, command)
        tally = self._tallies.get(key)  # type: ignore[call-overload]
        if tally is None:
            tally = self._tallies[TallyKey(str(kind), node, peer, group, command)] = Tally(first=when)
        tally.count += 1
        tally.bytes += size or 0
        tally.last = when
        if latency is not None:
            tally.timed += 1
            tally.latency_sum += latency
            if latency < tally.latency_min:
                tally.latency_min = latency
            if latency > tally.latency_max:
                tally.latency_max = latency
        return True

    def tallies(self) -> Mapping[TallyKey, Tally]:
        """The counted heartbeat events (empty when the trace keeps every row)."""
        return self._tallies

    def message_counts(self, kind: str = Kind.SEND) -> dict[str, int]:
        """How many *kind* (send or deliver) events there were per command, rows and tallies together."""
        counts = Counter(e.detail or "?" for e in self._events if e.kind == kind)
        for key, tally in self._tallies.items():
            if key.kind == kind:
                counts[key.command] += tally.count
        return dict(counts)

    def append(self, event: TraceEvent) -> None:
        """Append a ready-made event."""
        self._events.append(event)

    def watch(self, kind: str, callback: Callable[[TraceEvent], None]) -> None:
        """Call *callback* with every event of *kind* recorded from now on (fault triggers use it).

        Sends and deliveries of heartbeats counted rather than stored are not seen.
        """
        self._watchers.setdefault(kind, []).append(callback)

    def unwatch(self, kind: str, callback: Callable[[TraceEvent], None]) -> None:
        watchers = self._watchers.get(kind, [])
        if callback in watchers:
            watchers.remove(callback)
        if not watchers:
            self._watchers.pop(kind, None)

    def extend(self, events: Iterable[TraceEvent]) -> None:
        self._events.extend(events)

    def select(
        self,
        kind: str | Iterable[str] | None = None,
        node: str | None = None,
        group: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> Trace:
        """The events matching every given filter; times compare against ``when`` (true time if known)."""
        kinds = {kind} if isinstance(kind, str) else (set(kind) if kind is not None else None)
        return Trace(
            e
            for e in self._events
            if (kinds is None or e.kind in kinds)
            and (node is None or e.node == node)
            and (group is None or e.group == group)
            and (since is None or e.when >= since)
            and (until is None or e.when <= until)
        )

    def sorted(self) -> Trace:
        """The events in order of ``when``; ties keep their recorded order (tallies are kept)."""
        return Trace(sorted(self._events, key=lambda e: e.when), keep_heartbeats=self.keep_heartbeats, tallies=self._tallies)

    def nodes(self) -> list[str]:
        """Node names in order of first appearance."""
        return list(dict.fromkeys(e.node for e in self._events))

    def counts(self) -> dict[str, int]:
        """Number of events of each kind, counted heartbeats included."""
        counts = Counter(e.kind for e in self._events)
        for key, tally in self._tallies.items():
            counts[key.kind] += tally.count
        return dict(counts)

    def rows(self) -> list[dict[str, Any]]:
        """The events as dicts, one per row (ready for ``pandas.DataFrame``)."""
        return [e._asdict() for e in self._events]

    def to_pandas(self) -> Any:
        """The events as a ``pandas.DataFrame`` with typed columns, one row per event.

        ``time`` is ``float64``; ``true_time`` ``Float64`` (``<NA>`` in the real world); ``size``
        and ``term`` nullable ``Int64``; ``kind`` a categorical of every ``Kind``; ``data`` (an
        application event's fields) ``object``, dicts or ``None``; the text columns (``node``,
        ``component``, ``group``, ``peer``, ``msg_id``, ``detail``) pandas' ``string`` dtype with
        ``<NA>`` for ``None``. Needs pandas (``pip install 'riaps-sim[pandas]'``).
        """
        from ._pandas import require_pandas

        pd = require_pandas()
        columns = list(zip(*self._events)) if self._events else [() for _ in TraceEvent._fields]
        kinds = pd.CategoricalDtype([str(k) for k in Kind])
        data = {}
        for name, values in zip(TraceEvent._fields, columns):
            dtype = _PANDAS_DTYPES.get(name, "string")
            data[name] = pd.Series(list(values), dtype=kinds if dtype == "category" else dtype)
        return pd.DataFrame(data)

    @classmethod
    def merge(cls, traces: Iterable[Trace]) -> Trace:
        """One trace of several (say, one per node process), in order of ``when``; tallies of one key are combined."""
        parts = list(traces)
        tallies: dict[TallyKey, Tally] = {}
        for part in parts:
            for key, tally in part.tallies().items():
                tallies[key] = tallies[key].combined(tally) if key in tallies else Tally(**asdict(tally))
        merged = cls(
            sorted((e for t in parts for e in t), key=lambda e: e.when), keep_heartbeats=all(p.keep_heartbeats for p in parts), tallies=tallies
        )
        return merged

    def jsonl_lines(self) -> Iterator[str]:
        """The lines ``to_jsonl`` writes: one strict JSON object per event (``event_line``), then one per tally (``tally_line``)."""
        for event in self._events:
            yield event_line(event)
        for key, tally in self._tallies.items():
            yield tally_line(key, tally)

    def to_jsonl(self, path: str | Path) -> None:
        """Write one JSON object per line."""
        with Path(path).open("w", encoding="utf-8") as out:
            out.writelines(self.jsonl_lines())

    @classmethod
    def from_jsonl(cls, path: str | Path) -> Trace:
        """Read a trace written by ``to_jsonl`` (older files with ``Infinity`` too); a bad line raises ``ValueError`` naming file and line."""
        events = []
        tallies: dict[TallyKey, Tally] = {}
        with Path(path).open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    fields = json.loads(line)
                    if "tally" in fields:
                        key, tally = tally_from_json(fields["tally"])
                        tallies[key] = tally
                        continue
                    if fields["kind"] not in _KINDS:
                        raise ValueError(f"unknown kind {fields['kind']!r}")
                    if fields.get("msg_id") is not None:  # traces written before msg_id was always a string
                        fields["msg_id"] = str(fields["msg_id"])
                    events.append(TraceEvent(**fields))
                except (ValueError, TypeError, KeyError) as exc:
                    raise ValueError(f"{path}:{number}: not a trace event: {exc}") from None
        return cls(events, keep_heartbeats=not tallies, tallies=tallies)

    def _repr_html_(self, limit: int = 20) -> str:
        columns = TraceEvent._fields
        head = "".join(f"<th>{c}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{'' if v is None else (f'{v:.4f}' if isinstance(v, float) else v)}</td>" for v in e) + "</tr>"
            for e in self._events[:limit]
        )
        more = f"<p>... {len(self._events) - limit} more</p>" if len(self._events) > limit else ""
        counts = ", ".join(f"{k}: {n}" for k, n in sorted(self.counts().items()))
        return f"<p><b>{len(self._events)} events</b> ({counts})</p><table><tr>{head}</tr>{body}</table>{more}"
