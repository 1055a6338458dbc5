"""The event trace: one table of what happened, with the same columns in both worlds.

Every run, simulated or real, yields a ``Trace``. Metrics, invariant checks and plots read the trace
alone, so one analysis serves both worlds and a simulated run can be laid beside a real one.

Columns (``TraceEvent`` fields):

=========== ==============================================================================
time        seconds on the observing node's clock (skewed and drifting in simulation)
true_time   seconds of true virtual time in simulation; ``None`` in the real world
node        the node that observed the event
component   the component instance, or ``None`` for node-level events
group       ``"<type>.<instance>"``, or ``None``
kind        a ``Kind``: send, deliver, drop, state, member_joined, ..., fault, error
peer        the other party (a node, member id in hex, or host), or ``None``
msg_id      a string shared by a message's send, deliver and drop events (the network's
            message number) or by a poll's events (its ``rfvId``), or ``None``
size        bytes on the wire, or ``None``
term        the election term where it matters, or ``None``
detail      the rest in words: the drop cause, the new role, the vote result, the fault
=========== ==============================================================================

What each kind carries (the runtimes write these; the analysis reads them):

- ``group_joined`` / ``group_left``: a component joined or left *group*; ``peer`` is its member id
  (hex), ``detail`` the protocol name on joining.
- ``state``: the member's role or term changed; ``detail`` is the new role (``follower``,
  ``candidate``, ``leader``), ``term`` the term, ``peer`` the member id.
- ``member_joined`` / ``member_left`` / ``leader_elected`` / ``leader_exited``: the component was
  told so; ``peer`` is the member or leader id (hex).
- ``vote_requested`` / ``vote_cast`` / ``vote_announced``: ``msg_id`` is the poll id, ``detail``
  the ballot or result; ``vote_announced`` with a component is a result delivered to it.
- ``send`` / ``deliver``: ``detail`` is the command (``tic``, ``ldr``, ``msg``, ...), ``peer`` the
  other node, ``msg_id`` pairs them where the world knows it (simulation).
- ``drop``: ``detail`` is the cause (``partition``, ``loss``, ``hwm``, ``crash``, ``malformed``...).
  ``node`` is where the loss was seen: in simulation the network records it at the sender, with
  the intended receiver as ``peer``; the real world's fault layer records it at the receiver, with
  the sender as ``peer``. A malformed message is recorded by the member that received it.
- ``fault``: ``detail`` describes it, e.g. ``crash n3``, ``partition n1 | n2,n3``, ``heal``.
- ``error``: ``detail`` says what failed; ``loop crashed: ...`` marks a node loop that died.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, overload

__all__ = ["Kind", "TraceEvent", "Trace"]


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
    GROUP_JOINED = "group_joined"
    GROUP_LEFT = "group_left"
    CALLBACK = "callback"
    FAULT = "fault"
    TIMER = "timer"
    ERROR = "error"


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

    @property
    def when(self) -> float:
        """True time where known (simulation), else the observer's clock."""
        return self.time if self.true_time is None else self.true_time


_KINDS = frozenset(Kind)

#: The pandas dtype of each non-text column of ``Trace.to_pandas()``; the rest are ``string``.
_PANDAS_DTYPES = {"time": "float64", "true_time": "Float64", "kind": "category", "size": "Int64", "term": "Int64"}


class Trace:
    """An append-only sequence of ``TraceEvent`` rows, with selection, files and notebook display.

    Examples
    --------
    >>> trace = Trace()
    >>> trace.record(1.5, None, "n1", "c1", "G.g1", Kind.LEADER_ELECTED, peer="n1", term=1)
    >>> [e.kind for e in trace.select(kind="leader_elected")]
    ['leader_elected']
    """

    def __init__(self, events: Iterable[TraceEvent] = ()) -> None:
        self._events: list[TraceEvent] = list(events)

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
        return isinstance(other, Trace) and self._events == other._events

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
        msg_id = fields.get("msg_id")
        if msg_id is not None and not isinstance(msg_id, str):
            fields["msg_id"] = str(msg_id)
        self._events.append(TraceEvent(time, true_time, node, component, group, str(kind), **fields))

    def append(self, event: TraceEvent) -> None:
        """Append a ready-made event."""
        self._events.append(event)

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
        """The events in order of ``when``; ties keep their recorded order."""
        return Trace(sorted(self._events, key=lambda e: e.when))

    def nodes(self) -> list[str]:
        """Node names in order of first appearance."""
        return list(dict.fromkeys(e.node for e in self._events))

    def counts(self) -> dict[str, int]:
        """Number of events of each kind."""
        return dict(Counter(e.kind for e in self._events))

    def rows(self) -> list[dict[str, Any]]:
        """The events as dicts, one per row (ready for ``pandas.DataFrame``)."""
        return [e._asdict() for e in self._events]

    def to_pandas(self) -> Any:
        """The events as a ``pandas.DataFrame`` with typed columns, one row per event.

        ``time`` is ``float64``; ``true_time`` ``Float64`` (``<NA>`` in the real world); ``size``
        and ``term`` nullable ``Int64``; ``kind`` a categorical of every ``Kind``; the text
        columns (``node``, ``component``, ``group``, ``peer``, ``msg_id``, ``detail``) pandas'
        ``string`` dtype with ``<NA>`` for ``None``. Needs pandas (``pip install 'riaps-sim[pandas]'``).
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
        """One trace of several (say, one per node process), in order of ``when``."""
        return cls(e for t in traces for e in t).sorted()

    def to_jsonl(self, path: str | Path) -> None:
        """Write one JSON object per line."""
        with Path(path).open("w", encoding="utf-8") as out:
            for event in self._events:
                out.write(json.dumps(event._asdict(), separators=(",", ":")) + "\n")

    @classmethod
    def from_jsonl(cls, path: str | Path) -> Trace:
        """Read a trace written by ``to_jsonl``; a bad line raises ``ValueError`` naming file and line."""
        events = []
        with Path(path).open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    fields = json.loads(line)
                    if fields["kind"] not in _KINDS:
                        raise ValueError(f"unknown kind {fields['kind']!r}")
                    if fields.get("msg_id") is not None:  # traces written before msg_id was always a string
                        fields["msg_id"] = str(fields["msg_id"])
                    events.append(TraceEvent(**fields))
                except (ValueError, TypeError, KeyError) as exc:
                    raise ValueError(f"{path}:{number}: not a trace event: {exc}") from None
        return cls(events)

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
