"""Invariant checks over a trace: safety properties every run should keep, and the evidence when it does not.

Each check returns a list of ``Violation`` naming the time, the nodes and the events involved;
``check_all`` runs every check. Tests assert ``check_all(trace) == []``; summaries print them.
The reference protocol (``riaps``) is known to break ``one_leader_per_term`` under partitions
(B6, B12): the check reports it, it is the user's finding. ``checks`` adds the liveness properties
and the health of the run (handler errors, components built, members joined).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from ..trace import Kind, Trace, TraceEvent

__all__ = [
    "Violation",
    "one_leader_per_term",
    "vote_results_agree",
    "no_delivery_outside_group",
    "no_callback_after_leaving",
    "no_crashed_loop",
    "check_all",
    "CHECKS",
]


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken invariant: which, when, where, and the events that show it."""

    invariant: str
    time: float
    nodes: tuple[str, ...]
    events: tuple[TraceEvent, ...]
    text: str

    def __str__(self) -> str:
        where = f", nodes {', '.join(self.nodes)}" if self.nodes else ""
        return f"[{self.invariant}] t={self.time:.3f} s{where}: {self.text}"


def one_leader_per_term(trace: Trace) -> list[Violation]:
    """At most one member becomes leader in any term of one incarnation of a group.

    A group whose last member left or crashed has ended; members that join later form a new
    incarnation, starting again at term 0 (see ``checks.one_leader_per_incarnation_term``).
    """
    from .checks import one_leader_per_incarnation_term

    return one_leader_per_incarnation_term(trace)


def expired_at_requester(trace: Trace) -> set[tuple[str, str | None, object]]:
    """``(node, group, poll id)`` of each poll whose requester's deadline passed with no result (``vote_expired``):
    the ``timeout`` its component was then told is the requester's own, not a leader's announcement."""
    return {(e.node, e.group, e.msg_id) for e in trace.select(kind=Kind.VOTE_EXPIRED)}


def announced(trace: Trace) -> list[TraceEvent]:
    """The ``vote_announced`` rows of leaders' announcements and of the results they gave components, in time order
    (without a requester's own ``timeout`` at its deadline, see :func:`expired_at_requester`)."""
    own = expired_at_requester(trace)
    rows = trace.select(kind=Kind.VOTE_ANNOUNCED).sorted()
    return [e for e in rows if not (e.component and (e.node, e.group, e.msg_id) in own)] if own else list(rows)


def vote_results_agree(trace: Trace) -> list[Violation]:
    """Every member given a poll's result by a leader is given the same result.

    A requester that was told ``timeout`` at its own deadline (``fixed``) is not counted: a result
    the leader decided in time may reach it later, and it cannot wait for it.
    """
    by_poll: dict[tuple[str | None, object], list[TraceEvent]] = defaultdict(list)
    for e in announced(trace):
        by_poll[(e.group, e.msg_id)].append(e)
    out = []
    for (group, rfv), events in by_poll.items():
        results = sorted({e.detail or "" for e in events})
        if len(results) > 1:
            out.append(
                Violation(
                    "vote_results_agree",
                    events[-1].when,
                    tuple(dict.fromkeys(e.node for e in events)),
                    tuple(events),
                    f"poll {rfv} of {group} announced as {results}",
                )
            )
    return out


def _membership_spans(trace: Trace) -> dict[tuple[str, str | None], list[tuple[float, float]]]:
    """(node, group) -> [(joined, left)] spans; an open span ends at infinity."""
    spans: dict[tuple[str, str | None], list[tuple[float, float]]] = defaultdict(list)
    for e in trace.select(kind=[Kind.GROUP_JOINED, Kind.GROUP_LEFT]).sorted():
        key = (e.node, e.group)
        if e.kind == Kind.GROUP_JOINED:
            spans[key].append((e.when, float("inf")))
        elif spans[key] and spans[key][-1][1] == float("inf"):
            spans[key][-1] = (spans[key][-1][0], e.when)
    return spans


def _inside(spans: list[tuple[float, float]], when: float) -> bool:
    return any(start <= when <= end for start, end in spans)


def no_delivery_outside_group(trace: Trace) -> list[Violation]:
    """A node is given a group's messages only while one of its components is a member of that group."""
    spans = _membership_spans(trace)
    out = []
    for e in trace.select(kind=Kind.DELIVER).sorted():
        if e.group is not None and not _inside(spans.get((e.node, e.group), []), e.when):
            out.append(Violation("no_delivery_outside_group", e.when, (e.node,), (e,), f"{e.detail} of {e.group} delivered to a non-member"))
    return out


_CALLBACK_KINDS = (Kind.CALLBACK, Kind.MEMBER_JOINED, Kind.MEMBER_LEFT, Kind.LEADER_ELECTED, Kind.LEADER_EXITED)


def no_callback_after_leaving(trace: Trace) -> list[Violation]:
    """No group callback reaches a component after it left the group (until it joins again)."""
    left_at: dict[tuple[str, str | None, str | None], float] = {}
    out = []
    for e in trace.sorted():
        key = (e.node, e.component, e.group)
        if e.kind == Kind.GROUP_LEFT:
            left_at[key] = e.when
        elif e.kind == Kind.GROUP_JOINED:
            left_at.pop(key, None)
        elif (e.kind in _CALLBACK_KINDS or (e.kind == Kind.VOTE_ANNOUNCED and e.component is not None)) and key in left_at:
            out.append(
                Violation(
                    "no_callback_after_leaving",
                    e.when,
                    (e.node,),
                    (e,),
                    f"{e.kind} for {e.component} after it left {e.group} at {left_at[key]:.3f} s",
                )
            )
    return out


def no_crashed_loop(trace: Trace) -> list[Violation]:
    """No node's loop died of an exception."""
    return [
        Violation("no_crashed_loop", e.when, (e.node,), (e,), e.detail or "")
        for e in trace.select(kind=Kind.ERROR).sorted()
        if (e.detail or "").startswith("loop crashed")
    ]


CHECKS: dict[str, Callable[[Trace], list[Violation]]] = {
    "one_leader_per_term": one_leader_per_term,
    "vote_results_agree": vote_results_agree,
    "no_delivery_outside_group": no_delivery_outside_group,
    "no_callback_after_leaving": no_callback_after_leaving,
    "no_crashed_loop": no_crashed_loop,
}


def check_all(trace: Trace) -> list[Violation]:
    """Run every check; violations in time order."""
    return sorted((v for check in CHECKS.values() for v in check(trace)), key=lambda v: v.time)
