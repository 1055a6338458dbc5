"""The properties a check holds protocols to: named, documented objects over one step of the world.

*Always* properties must hold in every step of every explored path; a protocol is held only to
those it declares in its class attribute ``PROMISES`` (never to anything keyed to its name). A
violation stops the search: being breadth-first, the path to it is a shortest one.

*Sometimes* properties must hold in at least one explored step, whatever the protocol: they are
how a check shows that it explored the interesting part at all. A checker that explores nothing,
or a bound that cuts off elections or polls, fails them rather than passing quietly.

Each property reads a :class:`Transition`: the world before, the step, the world after (with the
history it keeps: who led which term, which polls were opened, who was told which result) and
the notes the stepping machine produced (its ``Notify`` and ``TraceEvent`` commands).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..coord.commands import Notify, TraceEvent
from ..coord.election import Role
from ..coord.events import LeaderAnnounce
from ..coord.promises import Promise
from .moves import Move, Step
from .world import World

__all__ = ["Kind", "Property", "Transition", "PROPERTIES", "ALWAYS", "SOMETIMES", "SYMMETRY", "promised"]

#: The promise that lets the checker merge states that differ only by a renaming of members.
SYMMETRY = "member_symmetric"


class Kind(enum.Enum):
    """When a property must hold."""

    ALWAYS = "always"
    SOMETIMES = "sometimes"


@dataclass(frozen=True, slots=True)
class Transition:
    """One explored step: *before*, the *step*, *after*."""

    before: World
    step: Step
    after: World

    def results(self, own: bool = False) -> Iterator[tuple[int, int, str, str]]:
        """``(member, incarnation, poll, result)`` for each result a leader decided that the stepping member was
        told; with *own*, also a requester's own ``timeout`` at its deadline (``vote_expired``), which no leader decided."""
        expired = {
            (n.member, n.incarnation, n.what.rfv_id) for n in self.after.notes if isinstance(n.what, TraceEvent) and n.what.kind == "vote_expired"
        }
        for note in self.after.notes:
            what = note.what
            if not (isinstance(what, Notify) and what.callback == "handleVoteResult"):
                continue
            if own or (note.member, note.incarnation, str(what.args[0])) not in expired:
                yield note.member, note.incarnation, str(what.args[0]), str(what.args[1])

    def new_leaders(self) -> frozenset[tuple[int, int]]:
        """``(term, member)`` that started leading in this step."""
        return self.after.leaders - self.before.leaders


@dataclass(frozen=True, slots=True)
class Property:
    """A named property. *test* returns a sentence when the step violates it (always) or reaches it
    (sometimes), else None. *reference_bugs* are the reference's bug codes (docs/glossary.md) that
    break it, printed with a violation."""

    name: str
    kind: Kind
    doc: str
    test: Callable[[Transition], str | None]
    reference_bugs: tuple[str, ...] = ()


def _name(slot: int) -> str:
    return f"n{slot + 1}"


# ---------------------------------------------------------------------- always


def _one_leader_per_term(t: Transition) -> str | None:
    for term, slot in t.new_leaders():
        others = sorted(s for u, s in t.after.leaders if u == term and s != slot)
        if others:
            return f"{_name(slot)} leads term {term}, which {', '.join(map(_name, others))} led too"
    return None


def _poll_results_agree(t: Transition) -> str | None:
    for slot, _, rfv_id, result in t.results():
        other = sorted(r for p, r in t.before.results if p == rfv_id and r != result)
        if other:
            return f"{_name(slot)} is told {result!r} for poll {rfv_id}, another member {other[0]!r}"
    return None


def _result_only_for_opened_poll(t: Transition) -> str | None:
    for slot, _, rfv_id, result in t.results():
        if rfv_id not in t.after.opened:
            return f"{_name(slot)} is told {result!r} for poll {rfv_id}, which no leader opened"
    return None


def _one_result_per_poll(t: Transition) -> str | None:
    for slot, incarnation, rfv_id, result in t.results(own=True):
        if (slot, incarnation, rfv_id) in t.before.told:
            return f"{_name(slot)} is told the result of poll {rfv_id} a second time ({result!r})"
    return None


def _no_lower_term_leader(t: Transition) -> str | None:
    step = t.step
    if step.move is not Move.DELIVER or step.envelope is None or not isinstance(step.envelope.event, LeaderAnnounce):
        return None
    before, after = t.before.machines[step.member], t.after.machines[step.member]
    event = step.envelope.event
    if before is None or after is None or event.term >= before.term or after.leader != event.leader:
        return None
    was = "leads" if before.role is Role.LEADER else "is in"
    return f"{_name(step.member)}, which {was} term {before.term}, follows {_name(step.envelope.src)}'s ldr of term {event.term}"


# ---------------------------------------------------------------------- sometimes


def _leader_elected(t: Transition) -> str | None:
    for term, slot in sorted(t.new_leaders()):
        return f"{_name(slot)} leads term {term}"
    return None


def _failover(t: Transition) -> str | None:
    for term, slot in sorted(t.new_leaders()):
        earlier = sorted(s for u, s in t.before.leaders if u < term and s != slot)
        if earlier:
            return f"{_name(slot)} leads term {term} after {_name(earlier[-1])}"
    return None


def _poll_decided_yes(t: Transition) -> str | None:
    for slot, _, rfv_id, result in t.results():
        if result == "yes":
            return f"{_name(slot)} is told 'yes' for poll {rfv_id}"
    return None


ALWAYS = (
    Property(
        "one_leader_per_term",
        Kind.ALWAYS,
        "At most one member leads a term, across crashes and restarts (a restarted member keeps its slot).",
        _one_leader_per_term,
        ("B6", "B9", "B12"),
    ),
    Property("poll_results_agree", Kind.ALWAYS, "No two members are told different results of one poll.", _poll_results_agree, ("B17",)),
    Property(
        "result_only_for_opened_poll", Kind.ALWAYS, "A member is told a result only for a poll that a leader opened.", _result_only_for_opened_poll
    ),
    Property(
        "one_result_per_poll",
        Kind.ALWAYS,
        "Each member (each incarnation) is told the result of a poll at most once.",
        _one_result_per_poll,
        ("B17",),
    ),
    Property(
        "no_lower_term_leader",
        Kind.ALWAYS,
        "No member follows, and no leader yields to, the ldr of a term below its own.",
        _no_lower_term_leader,
        ("B9",),
    ),
)
SOMETIMES = (
    Property("leader_elected", Kind.SOMETIMES, "Some member becomes leader.", _leader_elected),
    Property("failover", Kind.SOMETIMES, "A member leads a term after another member led an earlier one.", _failover),
    Property("poll_decided_yes", Kind.SOMETIMES, "Some member is told 'yes' for a poll.", _poll_decided_yes),
)
PROPERTIES = {p.name: p for p in ALWAYS + SOMETIMES}


def promised(protocol: type) -> tuple[Property, ...]:
    """The always properties *protocol* promises (its ``PROMISES``), in catalogue order.

    Raises
    ------
    ValueError
        For a promise that names no always property (a typo would otherwise check nothing).
    """
    promises = frozenset(getattr(protocol, "PROMISES", frozenset()))
    unknown = sorted(promises - set(Promise))
    if unknown:
        raise ValueError(f"{protocol.__name__}.PROMISES names unknown promises {unknown}; known: {sorted(Promise)} (riaps_sim.coord.promises)")
    return tuple(p for p in ALWAYS if p.name in promises)
