"""Roles, and the shape of the transition tables that carry the two protocols, ``riaps`` and ``fixed``.

Theory of operation
-------------------
A member of a coordinated group is a machine with one role (:class:`Role`). Every input -- a
decoded network message, a timer expiry, a port report from the runtime, or a local request of the
component -- is looked up in its protocol's table, keyed by ``(role, input key)``; the input key is
the input's class name, or ``TimerFired[<name>]`` for a timer. A missing key is the single error
path (:meth:`~riaps_sim.coord.machine.GroupMachine.handle`): a peer's or the runtime's input is
dropped and traced with its cause naming role, term and input; a local request raises
:class:`~riaps_sim.coord.errors.CoordError`. In both cases the machine's state is unchanged.

A :class:`Row` is a list of :class:`Case` s, tried in order: the first whose *guard* holds (a named
predicate over the machine and the input; no guard means "otherwise") is taken. A case names the
function to run, the role afterwards and how the term changes (:class:`TermChange`). The machine
applies the term change before the action runs and the role after it, in one place
(``GroupMachine._dispatch``): no action writes the role or the term. So each table reads as the
protocol: which input, in which role, under which condition, does what, and where it leads.

The tables themselves live with their protocols: ``RIAPS_TABLE`` in :mod:`riaps_sim.coord.riaps`
and ``FIXED_TABLE`` in :mod:`riaps_sim.coord.fixed`, both built on the rows they share
(:mod:`riaps_sim.coord.actions`). :func:`differences` lists the rows where they differ, guards
included, and :func:`format_table` prints a table.

Membership: every member publishes ``tic`` every heartbeat (timer ``heartbeat``; in ``riaps`` on
the first input a heartbeat after the last, as the reference's loop) and hears its own, so its
view includes itself (B26). Before each table action, peers silent for more than
``peerTimeout`` are dropped and ``handleMemberLeft`` is notified. ``mlt`` removes a peer at once.

Election (a log-less Raft): a FOLLOWER holds a deadline for hearing from a leader (timer
``election``; in ``riaps`` a value looked at only when its one poll timeout, timer ``election``,
fires quietly: B24). When it passes with a quorum in view, ``riaps`` becomes CANDIDATE of ``term + 1``
at once; ``fixed`` first becomes PRECANDIDATE and asks whether it could win (a pre-vote, which
changes no term), and stands only with a majority's assent. A CANDIDATE votes for itself,
publishes ``req`` and waits for votes (timer ``election`` again). Enough ``vot`` make it LEADER: it
asks the runtime to bind its ans port (``BindAnswerPort``; the runtime answers
``AnswerPortBound``, which triggers the first ``ldr``) and publishes ``ldr`` every heartbeat (timer
``leader``). Followers connect their qry port to the endpoint in ``ldr`` and re-arm their deadline
on each ``ldr``, ``rcm`` and ``ann``.

Polls: a member asks the leader (``rfv``); the leader opens the poll and publishes ``rcm``; every
member, leader and requester included, answers ``rtc``; the leader publishes ``ann``. The counting
rules are in :mod:`riaps_sim.coord.polls`.

Timers are named (:data:`TIMERS`). The reference multiplexes all of them on one poll timeout
(B24); ``riaps`` does too (see :mod:`riaps_sim.coord.riaps`) and checks poll expiry whenever that
timeout fires. ``fixed`` arms a ``poll`` timer at the next poll deadline.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Role", "TermChange", "Case", "Row", "Table", "TIMERS", "row", "case", "input_key", "differences", "format_table", "name_of"]


class Role(enum.Enum):
    """The role of a member in its group's election. ``PRECANDIDATE`` exists in ``fixed`` only."""

    FOLLOWER = "FOLLOWER"
    PRECANDIDATE = "PRECANDIDATE"
    CANDIDATE = "CANDIDATE"
    LEADER = "LEADER"


class TermChange(enum.Enum):
    """What a case does to the term, before its action runs."""

    KEEP = "keep"  #: the term stays
    NEXT = "next"  #: term + 1 (a new election)
    ADOPT = "adopt"  #: the input's term (a ``req`` or ``ldr``)


#: Timer names: ``heartbeat`` (tic period), ``election`` (follower's leader deadline, or a
#: (pre-)candidate's wait for votes), ``leader`` (ldr period), ``poll`` (next poll deadline; fixed only).
TIMERS = ("heartbeat", "election", "leader", "poll")

#: ``(machine, input) -> bool``: a named condition; its function name is what the table shows.
Guard = Callable[[Any, Any], bool]
#: ``(machine, input, now) -> None``: what a case does (publish, arm, notify...), never role or term.
Action = Callable[[Any, Any, float], None]


def name_of(function: Callable[..., Any]) -> str:
    """How a table shows a guard or an action: its name without the leading underscore."""
    return function.__name__.lstrip("_")


@dataclass(frozen=True, slots=True)
class Case:
    """One outcome of a row: if *guard* holds (None: otherwise), run *action*; the role is then *target*."""

    action: Action
    target: Role
    guard: Guard | None = None
    term: TermChange = TermChange.KEEP

    def __str__(self) -> str:
        condition = f"[{name_of(self.guard)}] " if self.guard is not None else ""
        term = {TermChange.KEEP: "", TermChange.NEXT: ", term + 1", TermChange.ADOPT: ", its term"}[self.term]
        return f"{condition}{name_of(self.action)} -> {self.target.name}{term}"


@dataclass(frozen=True, slots=True)
class Row:
    """The cases of one ``(role, input key)``, tried in order; the last one has no guard."""

    cases: tuple[Case, ...]

    def __post_init__(self) -> None:
        if not self.cases or self.cases[-1].guard is not None or any(c.guard is None for c in self.cases[:-1]):
            raise ValueError(f"a row's cases need guards, except the last, which has none: {self}")

    def choose(self, machine: Any, event: Any) -> Case:
        """The first case whose guard holds for *machine* and *event*."""
        for candidate in self.cases:
            if candidate.guard is None or candidate.guard(machine, event):
                return candidate
        raise AssertionError("unreachable: the last case has no guard")

    def __str__(self) -> str:
        return "; ".join(str(c) for c in self.cases)


Table = Mapping[tuple[Role, str], Row]


def case(guard: Guard | None, action: Action, target: Role, term: TermChange = TermChange.KEEP) -> Case:
    """A :class:`Case`, written in the order a table reads: condition, action, where it leads."""
    return Case(action=action, target=target, guard=guard, term=term)


def row(*cases: Case | Action, to: Role | None = None, term: TermChange = TermChange.KEEP) -> Row:
    """A :class:`Row`: either guarded cases, or one unguarded action that leads *to* a role."""
    if len(cases) == 1 and not isinstance(cases[0], Case):
        if to is None:
            raise ValueError("row(action) needs to=ROLE")
        return Row((Case(action=cases[0], target=to, term=term),))
    if to is not None or term is not TermChange.KEEP or not all(isinstance(c, Case) for c in cases):
        raise ValueError("row() takes either Cases, or one action with to= (and term=)")
    return Row(tuple(c for c in cases if isinstance(c, Case)))


def input_key(event: object) -> str:
    """The table key of an input: its class name, or ``TimerFired[<name>]`` for a timer."""
    name = type(event).__name__
    if name == "TimerFired":
        return f"TimerFired[{getattr(event, 'name')}]"
    return name


def _order(key: tuple[Role, str]) -> tuple[int, str]:
    return list(Role).index(key[0]), key[1]


def differences(a: Table, b: Table) -> list[tuple[Role, str, Row | None, Row | None]]:
    """The keys where tables *a* and *b* differ, as ``(role, input key, row in a, row in b)``.

    Sorted by role then key; a missing row is None. Rows are equal when their cases are: the same
    guards, the same functions, the same targets and term changes. ``differences(RIAPS_TABLE,
    FIXED_TABLE)`` is the list of what the ``fixed`` protocol changes.
    """
    keys = sorted(set(a) | set(b), key=_order)
    return [(role, key, a.get((role, key)), b.get((role, key))) for role, key in keys if a.get((role, key)) != b.get((role, key))]


def format_table(table: Table) -> str:
    """The table as aligned text, one case per line: ``ROLE  input key  [guard] action -> ROLE``."""
    keys = sorted(table, key=_order)
    width = max(len(k[1]) for k in keys)
    lines = []
    for role, key in keys:
        for i, one in enumerate(table[(role, key)].cases):
            lines.append(f"{role.name if i == 0 else '':<12}  {key if i == 0 else '':<{width}}  {one}")
    return "\n".join(lines)
