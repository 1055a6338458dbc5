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
    "Interval",
    "Failover",
    "VoteOutcome",
    "first_leader_time",
    "agreed_leader_intervals",
    "leaderless_intervals",
    "split_brain_intervals",
    "failovers",
    "term_changes",
    "vote_outcomes",
    "message_latencies",
    "drops_by_cause",
    "message_rates",
    "GroupTimeline",
    "group_timeline",
    "latency_summary",
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
    ends = [t.last for t in trace.tallies().values()]
    return max([e.when for e in trace] + ends, default=0.0)


@dataclass
class GroupTimeline:
    """The interval metrics of one group, computed together in one replay of the state-changing events."""

    leaders: list[Interval]
    leaderless: list[Interval]
    split_brain: list[Interval]
    failovers: list[Failover]


def group_timeline(trace: Trace, group: str | None = None, end: float | None = None) -> GroupTimeline:
    """Agreed leaders, leaderless spans, split brains and failovers of *group*, in one pass over the trace.

    Only the events that can change the group's state are replayed (``replay(changes_only=True)``);
    the others cannot move any of these metrics. See the single-metric functions for their meaning.
    """
    agreed_samples: list[Sample] = []
    leaderless_samples: list[Sample] = []
    split_samples: list[Sample] = []
    seen_leader = False
    out: list[Failover] = []
    agreed: str | None = None
    pending: tuple[float, str, str] | None = None  # (lost_at, old leader, cause)
    stopped: set[str] = set()  # the old leader stopped leading since it was lost (so its re-election is a new one)
    for event, state in replay(trace, group, changes_only=True):
        when = event.when
        leaders = state.leaders()
        current = state.agreed_leader()
        agreed_samples.append((when, (current,) if current else ()))
        seen_leader = seen_leader or bool(leaders)
        leaderless_samples.append((when, ("leaderless",) if seen_leader and not leaders else ()))
        if len(leaders) < 2:
            split_samples.append((when, ()))
        else:
            named = []
            for member in sorted(leaders):
                node = state.members[member]
                side = state.side_of(node)
                named.append(f"{member[:8]}@{node}" + (f" in {{{','.join(sorted(side))}}}" if side else ""))
            split_samples.append((when, tuple(named)))
        # failovers
        if pending is None and agreed is not None:
            leader_node = state.members.get(agreed)
            cause = None
            detail = event.detail or ""
            if event.kind == Kind.FAULT and detail.startswith("crash ") and leader_node in state.down:
                cause = event.detail
            elif event.kind == Kind.FAULT and detail.startswith("partition "):
                side = state.side_of(leader_node) if leader_node else None
                if side is not None and any(len(s) > len(side) for s in parse_sides(detail)):
                    cause = event.detail
            elif agreed not in leaders:
                cause = "stepped down"
            if cause is not None:
                pending = (when, agreed, cause)
        if pending is not None:
            lost_at, old, cause = pending
            if old not in leaders:
                stopped.add(old)
            others = [m for m in leaders if m != old]
            new = others[0] if len(others) == 1 else None
            if new is None and leaders == [old] and old in stopped:  # the same leader elected again completes it too
                new = old
            if new is not None and state.agreed_leader(state.reachable(new)) == new:
                out.append(Failover(lost_at, old, new, when, cause))
                pending, agreed = None, new
                stopped.clear()
                continue
        if pending is None and current is not None:
            agreed = current
    if pending is not None:
        out.append(Failover(pending[0], pending[1], None, None, pending[2]))
    end = _end(trace) if end is None else end
    return GroupTimeline(
        leaders=_intervals(agreed_samples, end),
        leaderless=_intervals(leaderless_samples, end),
        split_brain=_intervals(split_samples, end),
        failovers=out,
    )


def agreed_leader_intervals(trace: Trace, group: str | None = None, end: float | None = None) -> list[Interval]:
    """Intervals during which exactly one leader held the role and every live member believed in it."""
    samples: list[Sample] = [
        (event.when, (leader,) if (leader := state.agreed_leader()) else ()) for event, state in replay(trace, group, changes_only=True)
    ]
    return _intervals(samples, _end(trace) if end is None else end)


def first_leader_time(trace: Trace, group: str | None = None, since: float | None = None, leaders: list[Interval] | None = None) -> float | None:
    """Seconds from *since* until all live members first agreed on one leader; ``None`` if never.

    By default *since* is the moment the last member joined before that agreement, so the figure
    means the same in simulation (everyone joins at 0) and in the real world (processes start one
    after another). *leaders* are the trace's ``agreed_leader_intervals`` if already known.
    """
    intervals = agreed_leader_intervals(trace, group) if leaders is None else leaders
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
    return group_timeline(trace, group, end).leaderless


def split_brain_intervals(trace: Trace, group: str | None = None, end: float | None = None) -> list[Interval]:
    """Intervals during which more than one live member held the leader role.

    ``what`` names each leader as ``member@node`` followed by its partition side, if any
    (``'ab12…@n1 in {n1,n2}'``), so one sees which component each leader ruled.
    """
    return group_timeline(trace, group, end).split_brain


def failovers(trace: Trace, group: str | None = None) -> list[Failover]:
    """Each time the leader was lost (crashed, cut off by a partition, or stepped down) and the time to a new agreed leader.

    The new leader must be agreed by every live member that can reach it; the old leader, if cut
    off, is not asked. A loss while no leader was agreed is not counted.
    """
    return group_timeline(trace, group).failovers


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
    """Delivery latencies in seconds per command (``tic``, ``msg``...), pairing send and deliver rows by message id.

    Heartbeats a trace counted instead of storing (see ``riaps_sim.trace``) have no rows here;
    ``latency_summary`` includes them.
    """
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


def latency_summary(trace: Trace) -> dict[str, dict[str, float]]:
    """Per command: ``count``, ``mean``, ``min`` and ``max`` delivery latency (s), from rows and counted heartbeats."""
    acc: dict[str, list[float]] = {}
    for command, values in message_latencies(trace).items():
        acc[command] = [len(values), sum(values), min(values), max(values)]
    for key, tally in trace.tallies().items():
        if key.kind == Kind.DELIVER and tally.timed:
            a = acc.setdefault(key.command, [0, 0.0, float("inf"), float("-inf")])
            a[0] += tally.timed
            a[1] += tally.latency_sum
            a[2] = min(a[2], tally.latency_min)
            a[3] = max(a[3], tally.latency_max)
    return {k: {"count": n, "mean": total / n, "min": low, "max": high} for k, (n, total, low, high) in acc.items() if n}


def drops_by_cause(trace: Trace) -> dict[str, int]:
    """How many messages were dropped, per cause."""
    return dict(Counter(e.detail or "unknown" for e in trace.select(kind=Kind.DROP)))


def message_rates(trace: Trace) -> dict[str, float]:
    """Messages sent per second by each node, over the span of the trace."""
    sends = trace.select(kind=Kind.SEND)
    starts = [t.first for t in trace.tallies().values()]
    span = _end(trace) - min([e.when for e in trace] + starts, default=0.0)
    counts = Counter(e.node for e in sends)
    for key, tally in trace.tallies().items():
        if key.kind == Kind.SEND:
            counts[key.node] += tally.count
    nodes = list(dict.fromkeys([*trace.nodes(), *(key.node for key in trace.tallies())]))
    return {node: counts[node] / span if span > 0 else 0.0 for node in nodes if node in counts}
