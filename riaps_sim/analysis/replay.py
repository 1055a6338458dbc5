"""Replay a trace event by event, keeping what every member believed at each moment.

The metrics and invariant checks all need the same picture of a group over time: who is a member
and alive, who holds which role in which term, whom each member takes for leader, and how the
network is partitioned. ``replay`` walks the trace once, in time order, and yields that picture
after every event.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..trace import Kind, Trace, TraceEvent

__all__ = ["GroupState", "replay", "only_group", "parse_sides", "STATE_KINDS"]


def parse_sides(detail: str) -> list[set[str]]:
    """The node sets of a fault detail ``"partition a,b | c,d (hold)"`` (``[{'a','b'}, {'c','d'}]``)."""
    body = detail.split(" ", 1)[1] if " " in detail else ""
    body = body.split(" (", 1)[0]
    return [set(filter(None, (n.strip() for n in side.split(",")))) for side in body.split("|")]


@dataclass
class GroupState:
    """What a group looked like just after one event.

    ``members`` maps member id to node for members that joined and have not left; ``down`` holds
    crashed nodes; ``roles`` maps member id to ``(role, term)``; ``views`` maps member id to the
    leader id it believes in (or ``None``); ``sides`` is the current partition, one node set per
    side, empty when the network is whole. ``newcomers`` holds members that joined while a leader
    was agreed, with their joining time: for ``NEWCOMER_GRACE_S`` they do not count against the
    agreement while they learn who leads (a restarted follower does not break the leader's
    interval). ``now`` is the time of the last event.
    """

    members: dict[str, str] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    roles: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    views: dict[str, str | None] = field(default_factory=dict)
    sides: list[set[str]] = field(default_factory=list)
    newcomers: dict[str, float] = field(default_factory=dict)
    now: float = 0.0

    def live(self) -> list[str]:
        """Member ids whose node is up."""
        return [m for m, node in self.members.items() if node not in self.down]

    def leaders(self) -> list[str]:
        """Live member ids that hold the leader role."""
        return [m for m in self.live() if self.roles.get(m, ("", None))[0] == "leader"]

    def side_of(self, node: str) -> set[str] | None:
        """The partition side holding *node*, or ``None`` if the network is whole."""
        for side in self.sides:
            if node in side:
                return side
        return None

    def reachable(self, member: str) -> list[str]:
        """Live members in the same partition side as *member* (all live members if whole)."""
        side = self.side_of(self.members[member])
        return [m for m in self.live() if side is None or self.members[m] in side]

    def agreed_leader(self, among: list[str] | None = None) -> str | None:
        """The leader every member in *among* (default: all live) believes in, if exactly one such leader holds the role."""
        among = self.live() if among is None else among
        leaders = [m for m in self.leaders() if m in among]
        if len(leaders) != 1 or not among:
            return None
        leader = leaders[0]
        return leader if all(self.views.get(m) == leader or m == leader or self._learning(m) for m in among) else None

    def _learning(self, member: str) -> bool:
        joined = self.newcomers.get(member)
        return joined is not None and self.views.get(member) is None and self.now - joined < NEWCOMER_GRACE_S


#: How long a member that joins an agreed group may take to learn who leads before it counts as disagreeing.
NEWCOMER_GRACE_S = 3.0


def only_group(trace: Trace, group: str | None) -> str | None:
    """*group*, or the trace's only group when *group* is ``None``; raise if that is ambiguous."""
    if group is not None:
        return group
    groups = sorted({e.group for e in trace if e.group is not None})
    if len(groups) > 1:
        raise ValueError(f"the trace has several groups {groups}; name one with group=...")
    return groups[0] if groups else None


#: The kinds of event that can change a ``GroupState``; the others (sends, deliveries, votes...) cannot.
STATE_KINDS = frozenset({Kind.FAULT, Kind.GROUP_JOINED, Kind.GROUP_LEFT, Kind.STATE, Kind.LEADER_ELECTED, Kind.LEADER_EXITED})


def replay(trace: Trace, group: str | None = None, changes_only: bool = False) -> Iterator[tuple[TraceEvent, GroupState]]:
    """Yield ``(event, state)`` after each event of *group* (and each fault), in time order.

    With *changes_only*, only after the events that can change the state (``STATE_KINDS``): a
    metric that samples the state gives the same result from these alone, at a fraction of the cost.
    The same ``GroupState`` object is updated in place: copy what you keep.
    """
    group = only_group(trace, group)
    state = GroupState()
    member_of: dict[tuple[str, str | None], str] = {}  # (node, component) -> member id
    events = trace.sorted()
    if changes_only:
        events = Trace(e for e in events if e.kind in STATE_KINDS)
    for event in events:
        kind = event.kind
        state.now = event.when
        if kind == Kind.FAULT:
            _apply_fault(state, event.detail or "")
            yield event, state
            continue
        if event.group != group:
            continue
        member = member_of.get((event.node, event.component))
        if kind == Kind.GROUP_JOINED and event.peer:
            if state.agreed_leader() is not None:
                state.newcomers[event.peer] = event.when
            member = member_of[(event.node, event.component)] = event.peer
            state.members[member] = event.node
            state.roles[member] = ("follower", None)
            state.views[member] = None
        elif kind == Kind.GROUP_LEFT and member is not None:
            for table in (state.members, state.roles, state.views, state.newcomers):
                table.pop(member, None)
            del member_of[(event.node, event.component)]
        elif kind == Kind.STATE:
            member = event.peer or member
            if member is not None:
                state.roles[member] = (event.detail or "", event.term)
        elif kind == Kind.LEADER_ELECTED and member is not None:
            state.views[member] = event.peer
            state.newcomers.pop(member, None)
        elif kind == Kind.LEADER_EXITED and member is not None:
            state.views[member] = None
        yield event, state


def _apply_fault(state: GroupState, detail: str) -> None:
    verb, _, rest = detail.partition(" ")
    if verb == "crash":
        node = rest.strip()
        state.down.add(node)
        for member, where in state.members.items():
            if where == node:
                state.roles[member] = ("down", None)
                state.views[member] = None
    elif verb == "restart":
        node = rest.strip()
        state.down.discard(node)
        # the node's old incarnation is dead for good: its members are retired (the new one joins afresh)
        for member in [m for m, where in state.members.items() if where == node]:
            for table in (state.members, state.roles, state.views, state.newcomers):
                table.pop(member, None)
    elif verb == "partition":
        state.sides = parse_sides(detail)
    elif verb == "heal":
        state.sides = []
