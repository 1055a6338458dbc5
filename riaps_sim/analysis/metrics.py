"""Metrics of a run, computed from its trace alone (so they mean the same in both worlds).

All times are in seconds, on true time where the trace has it (simulation) and on the observers'
clocks otherwise. Functions take the trace first and, where a trace may hold several groups, the
group's name (``None`` for the only one).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from ..trace import Kind, Trace
from .replay import only_group, parse_sides, replay

__all__ = [
    "Interval", "Failover", "VoteOutcome",
    "first_leader_time", "agreed_leader_intervals", "leaderless_intervals", "split_brain_intervals",
    "failovers", "term_changes", "vote_outcomes", "message_latencies", "drops_by_cause", "message_rates",
]


@dataclass(frozen=True, slots=True)
class Interval:
    """A span of time ``[start, end)`` and what held during it (``end`` is the trace's end if it still held)."""

    start: float
    end: float
    what: tuple[str, ...] = ()

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Failover:
    """A lost leader and how long the group took to agree on another (``None``: it never did)."""

    lost_at: float
    old_leader: str
    new_leader: str | None
    agreed_at: float | None
    cause: str

    @property
    def duration(self) -> float | None:
        return None if self.agreed_at is None else self.agreed_at - self.lost_at


@dataclass(frozen=True, slots=True)
class VoteOutcome:
    """One poll: when it was requested, the results members were given, and how long that took."""

    rfv_id: str
    requested_at: float | None
    results: dict[str, str]
    first_result_at: float | None

    @property
    def latency(self) -> float | None:
        if self.requested_at is None or self.first_result_at is None:
            return None
        return self.first_result_at - self.requested_at


Sample = tuple[float, tuple[str, ...]]


def _intervals(samples: list[Sample], end: float) -> list[Interval]:
    """Merge (time, value) samples into intervals of constant non-empty value."""
    out: list[Interval] = []
    current: tuple[str, ...] = ()
    since = 0.0
    for time, value in samples + [(end, ())]:
        if value != current:
            if current and time > since:
                out.append(Interval(since, time, current))
            current, since = value, time
    return out


def _end(trace: Trace) -> float:
    return max((e.when for e in trace), default=0.0)


def agreed_leader_intervals(trace: Trace, group: str | None = None, end: float | None = None) -> list[Interval]:
    """Intervals during which exactly one leader held the role and every live member believed in it."""
    samples: list[Sample] = [(event.when, (leader,) if (leader := state.agreed_leader()) else ()) for event, state in replay(trace, group)]
    return _intervals(samples, _end(trace) if end is None else end)


def first_leader_time(trace: Trace, group: str | None = None, since: float | None = None) -> float | None:
    """Seconds from *since* until all live members first agreed on one leader; ``None`` if never.

    By default *since* is the moment the last member joined before that agreement, so the figure
    means the same in simulation (everyone joins at 0) and in the real world (processes start one
    after another).
    """
    intervals = agreed_leader_intervals(trace, group)
    if not intervals:
        return None
    if since is None:
        joins = [e.when for e in trace.select(kind=Kind.GROUP_JOINED, group=only_group(trace, group)) if e.when <= intervals[0].start]
        since = max(joins) if joins else min(e.when for e in trace)
    for interval in intervals:
        if interval.start >= since:
            return interval.start - since
        if interval.end > since:
            return 0.0
    return None


def leaderless_intervals(trace: Trace, group: str | None = None, end: float | None = None) -> list[Interval]:
    """Intervals, after the first leader appeared, during which no live member held the leader role."""
    samples: list[Sample] = []
    seen_leader = False
    for event, state in replay(trace, group):
        leaders = state.leaders()
        seen_leader = seen_leader or bool(leaders)
        samples.append((event.when, ("leaderless",) if seen_leader and not leaders else ()))
    return _intervals(samples, _end(trace) if end is None else end)


def split_brain_intervals(trace: Trace, group: str | None = None, end: float | None = None) -> list[Interval]:
    """Intervals during which more than one live member held the leader role.

    ``what`` names each leader as ``member@node`` followed by its partition side, if any
    (``'ab12…@n1 in {n1,n2}'``), so one sees which component each leader ruled.
    """
    samples: list[Sample] = []
    for event, state in replay(trace, group):
        leaders = sorted(state.leaders())
        if len(leaders) < 2:
            samples.append((event.when, ()))
            continue
        named = []
        for member in leaders:
            node = state.members[member]
            side = state.side_of(node)
            named.append(f"{member[:8]}@{node}" + (f" in {{{','.join(sorted(side))}}}" if side else ""))
        samples.append((event.when, tuple(named)))
    return _intervals(samples, _end(trace) if end is None else end)


def failovers(trace: Trace, group: str | None = None) -> list[Failover]:
    """Each time the leader was lost (crashed, cut off by a partition, or stepped down) and the time to a new agreed leader.

    The new leader must be agreed by every live member that can reach it; the old leader, if cut
    off, is not asked. A loss while no leader was agreed is not counted.
    """
    out: list[Failover] = []
    agreed: str | None = None
    pending: tuple[float, str, str] | None = None  # (lost_at, old leader, cause)
    for event, state in replay(trace, group):
        if pending is None and agreed is not None:
            node = state.members.get(agreed)
            cause = None
            if event.kind == Kind.FAULT and (event.detail or "").startswith("crash ") and node in state.down:
                cause = event.detail
            elif event.kind == Kind.FAULT and (event.detail or "").startswith("partition "):
                side = state.side_of(node) if node else None
                if side is not None and any(len(s) > len(side) for s in parse_sides(event.detail or "")):
                    cause = event.detail
            elif agreed not in state.leaders():
                cause = "stepped down"
            if cause is not None:
                pending = (event.when, agreed, cause)
        if pending is not None:
            lost_at, old, cause = pending
            others = [m for m in state.leaders() if m != old]
            new = others[0] if len(others) == 1 else None
            if new is not None and state.agreed_leader(state.reachable(new)) == new:
                out.append(Failover(lost_at, old, new, event.when, cause))
                pending, agreed = None, new
                continue
        current = state.agreed_leader()
        if pending is None and current is not None:
            agreed = current
    if pending is not None:
        out.append(Failover(pending[0], pending[1], None, None, pending[2]))
    return out


def term_changes(trace: Trace, group: str | None = None) -> list[tuple[float, str, int]]:
    """``(time, node, term)`` whenever a member's term changed."""
    last: dict[str, int | None] = {}
    out = []
    for e in trace.select(kind=Kind.STATE, group=group).sorted():
        key = e.peer or e.node
        if e.term is not None and last.get(key) != e.term:
            out.append((e.when, e.node, e.term))
        last[key] = e.term
    return out


def vote_outcomes(trace: Trace, group: str | None = None) -> list[VoteOutcome]:
    """Every poll in the trace: requested when, which result each member's component was given."""
    requested: dict[str, float] = {}
    results: dict[str, dict[str, str]] = defaultdict(dict)
    first: dict[str, float] = {}
    for e in trace.select(kind=[Kind.VOTE_REQUESTED, Kind.VOTE_ANNOUNCED], group=group).sorted():
        rfv = str(e.msg_id)
        if e.kind == Kind.VOTE_REQUESTED:
            requested.setdefault(rfv, e.when)
        elif e.component is not None:
            results[rfv][f"{e.node}/{e.component}"] = e.detail or ""
            first.setdefault(rfv, e.when)
    ids = list(dict.fromkeys([*requested, *results]))
    return [VoteOutcome(i, requested.get(i), dict(results[i]), first.get(i)) for i in ids]


def message_latencies(trace: Trace) -> dict[str, list[float]]:
    """Delivery latencies in seconds per command (``tic``, ``msg``...), pairing send and deliver by message id."""
    sent: dict[object, float] = {}
    out: dict[str, list[float]] = defaultdict(list)
    for e in trace.select(kind=[Kind.SEND, Kind.DELIVER]).sorted():
        if e.msg_id is None:
            continue
        if e.kind == Kind.SEND:
            sent[e.msg_id] = e.when
        elif e.msg_id in sent:
            out[e.detail or "?"].append(e.when - sent[e.msg_id])
    return dict(out)


def drops_by_cause(trace: Trace) -> dict[str, int]:
    """How many messages were dropped, per cause."""
    return dict(Counter(e.detail or "unknown" for e in trace.select(kind=Kind.DROP)))


def message_rates(trace: Trace) -> dict[str, float]:
    """Messages sent per second by each node, over the span of the trace."""
    sends = trace.select(kind=Kind.SEND)
    span = _end(trace) - min((e.when for e in trace), default=0.0)
    counts = Counter(e.node for e in sends)
    return {node: counts[node] / span if span > 0 else 0.0 for node in trace.nodes() if node in counts}
