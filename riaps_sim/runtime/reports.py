"""What node processes tell their parent as a real run goes on, and what the parent makes of it.

A node process watches its own trace and reports on its control connection (``Observed``): every
role change (``state``) and group departure (``group_left``) of its members, and the first event
of each kind a triggered fault waits for. The parent feeds these to its ``LeaderTracker`` (who
leads now, for ``current_leader()`` and ``@leader``) and its ``Triggers`` (when a triggered fault
falls due). Neither reads the trace files, so a user's ``wait_until`` or ``trace()`` reading them
cannot leave the parent's view stale: the control connection is the one channel for it, as the
simulation's resolver asks its members directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..faults import Fault
from ..trace import Kind, Trace, TraceEvent
from .launch import Observed

__all__ = ["ROLE_KINDS", "Reporter", "Role", "LeaderTracker", "Triggers"]

#: The kinds a node always reports to its parent: what the leader tracker needs.
ROLE_KINDS: tuple[str, ...] = (Kind.STATE, Kind.GROUP_LEFT)


class Reporter:
    """A node's side: report role events, and the first event of each *first_of* kind, through *send*.

    *send* takes an ``Observed``; it must not raise (a parent gone is the node's loop's business).
    """

    def __init__(self, send: Callable[[Observed], None], first_of: Iterable[str] = ()) -> None:
        self.send = send
        self.first_of = tuple(k for k in dict.fromkeys(first_of) if k not in ROLE_KINDS)
        self._trace: Trace | None = None

    def attach(self, trace: Trace) -> None:
        """Start watching *trace* (the node's own)."""
        self._trace = trace
        for kind in ROLE_KINDS:
            trace.watch(kind, self._report)
        for kind in self.first_of:
            trace.watch(kind, self._report_first)

    def _report(self, event: TraceEvent) -> None:
        self.send(Observed(event))

    def _report_first(self, event: TraceEvent) -> None:
        if self._trace is not None:
            self._trace.unwatch(event.kind, self._report_first)
        self.send(Observed(event))


@dataclass(frozen=True, slots=True)
class Role:
    """A member's latest role as its node reported it."""

    node: str
    member: str
    role: str
    term: int


class LeaderTracker:
    """Who leads now, from the role events the nodes report (fed one at a time)."""

    def __init__(self) -> None:
        self._roles: dict[str, Role] = {}

    def __repr__(self) -> str:
        return f"<LeaderTracker members={len(self._roles)}>"

    def feed(self, event: TraceEvent) -> None:
        """Take a reported ``state`` (the member's new role) or ``group_left`` (the member is gone)."""
        if not event.peer:
            return
        if event.kind == Kind.STATE:
            self._roles[event.peer] = Role(event.node, event.peer, event.detail or "", event.term or 0)
        elif event.kind == Kind.GROUP_LEFT:
            self._roles.pop(event.peer, None)

    def forget(self, node: str) -> None:
        """Drop every member of *node* (its process was killed, or a fresh one replaces it)."""
        self._roles = {m: r for m, r in self._roles.items() if r.node != node}

    def leader(self, alive: set[str]) -> str | None:
        """The node whose member leads among the *alive* nodes (the highest term wins), or ``None``."""
        leading = [(r.term, r.node) for r in self._roles.values() if r.role == "leader" and r.node in alive]
        return max(leading)[1] if leading else None


class Triggers:
    """Faults waiting for the first event of their ``after`` kind; ``seen`` says which fall due, and when."""

    def __init__(self, faults: Iterable[Fault]) -> None:
        self.waiting = [f for f in faults if f.after is not None]

    def __bool__(self) -> bool:
        return bool(self.waiting)

    def kinds(self) -> tuple[str, ...]:
        """The kinds the nodes must report the first event of."""
        return tuple(dict.fromkeys(f.after for f in self.waiting if f.after is not None))

    def seen(self, event: TraceEvent) -> list[tuple[float, Fault]]:
        """The faults *event* triggers, each with when it falls due (the event's time plus the fault's delay)."""
        fired = [f for f in self.waiting if f.after == event.kind]
        for fault in fired:
            self.waiting.remove(fault)
        return [(event.when + fault.delay, fault) for fault in fired]
