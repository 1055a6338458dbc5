"""State fingerprints: a world as a canonical tuple of plain values, hashed; with symmetry over members.

Two worlds get the same fingerprint when every member's machine, every message in flight and the
history the properties read are the same up to what cannot change any future step:

- **time is relative** to the clock: a timer is stored as how far ahead it is due (an overdue
  one as 0, since it fires at the clock either way), a last-heard time as its age. An age beyond
  :data:`AGE_CAP` (above every timing constant a machine compares an age with) is stored as the
  cap: it only grows, so every comparison keeps its answer;
- **member ids** are stored as (slot, incarnation); the order in which a member first heard its
  peers is dropped (sets, not sequences);
- with **symmetry** (only for a protocol that promises ``member_symmetric``), the fingerprint is the
  smallest over every renaming of the members' slots, so states that differ by which member is
  which are explored once.

A fingerprint is Python's 64-bit ``hash`` of the canonical tuple (as TLC keeps 64-bit
fingerprints): two distinct states collide with a probability of about ``n**2 / 2**65`` for ``n``
distinct states, which is below one in a million up to some six million states.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from ..coord.events import Input, PollSpec
from ..coord.machine import GroupMachine
from .moves import Envelope, member_id
from .world import World

__all__ = ["fingerprint", "canonical", "AGE_CAP"]

#: Ages (s) at or above this behave alike: above ``peerTimeout`` (3 s by default), the largest
#: duration a machine compares an age with. :func:`age_cap` derives it from a machine's timing.
AGE_CAP = 3.001


def _ids(world: World, perm: Sequence[int]) -> dict[bytes, tuple[int, int]]:
    """Every member id of every incarnation so far, to its renamed (slot, incarnation)."""
    out: dict[bytes, tuple[int, int]] = {}
    for slot, newest in enumerate(world.incarnations):
        for incarnation in range(newest + 1):
            out[member_id(slot, incarnation)] = (perm[slot], incarnation)
    return out


def _value(v: Any, ids: dict[bytes, tuple[int, int]], clock: float) -> Any:
    """A field's value with member ids renamed and poll times made relative."""
    if type(v) is bytes:
        return ids.get(v, v)
    if type(v) is PollSpec:
        return (v.rfv_id, v.topic, v.kind, v.subject, v.timeout_s, max(v.started_s - clock, -AGE_CAP))
    return v


#: Each input class's field names (a subclass's ``__slots__`` holds only its own).
_FIELDS: dict[type, tuple[str, ...]] = {}


def _event(event: Input, ids: dict[bytes, tuple[int, int]], clock: float) -> tuple[Any, ...]:
    cls = type(event)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    return (type(event).__name__, *(_value(getattr(event, name), ids, clock) for name in names))


def _envelope(e: Envelope, perm: Sequence[int], ids: dict[bytes, tuple[int, int]], clock: float) -> tuple[Any, ...]:
    return (perm[e.src], perm[e.dst], _event(e.event, ids, clock))


def _ahead(due: float, clock: float) -> float:
    return max(due - clock, 0.0)


def _age(at: float | None, clock: float) -> float | None:
    return None if at is None else min(clock - at, AGE_CAP)


def _machine(m: GroupMachine, ids: dict[bytes, tuple[int, int]], clock: float) -> tuple[Any, ...]:
    """The machine's snapshot, canonical: every value of :meth:`GroupMachine.snapshot`, renamed and relative."""
    out: list[Any] = []
    for key, value in m.snapshot().items():
        if key == "peers":
            value = frozenset((ids.get(p, p), _age(at, clock)) for p, at in value)
        elif key == "timers":
            value = frozenset((name, _ahead(due, clock)) for name, due in value.items())
        elif key == "leader_heard_at":
            value = _age(value, clock)
        elif key == "voters" or key == "prevoters":
            value = frozenset(ids.get(v, v) for v in value)
        elif key == "configuration":
            value = frozenset(ids.get(v, v) for v in value.values())
        elif key == "polls":
            value = frozenset(
                (rfv_id, count, yes, frozenset((ids.get(b, b), vote) for b, vote in ballots)) for rfv_id, (count, yes, ballots) in value.items()
            )
        elif key == "known_polls" or key == "told":
            pass
        elif key == "awaiting":  # fixed: polls asked, by deadline
            value = frozenset((rfv_id, _ahead(due, clock)) for rfv_id, due in value.items())
        elif key == "first_heard":  # fixed: members in view not yet in the configuration
            value = frozenset((ids.get(m, m), _age(at, clock)) for m, at in value.items())
        elif key == "leader_deadline":  # riaps: the follower's deadline, looked at on quiet timeouts
            value = None if value is None else _ahead(value, clock)
        elif key == "last_tic":  # riaps: when the loop last sent a tic
            value = _age(value, clock)
        else:
            value = _value(value, ids, clock)
        out.append(value)
    # what snapshot() leaves to the poll records: deadlines, electorates and requesters
    out.append(
        frozenset(
            (
                rfv_id,
                max(p.deadline_s - clock, -1.0),
                frozenset(ids.get(v, v) for v in p.electorate),
                ids.get(p.requester, p.requester),
                _value(p.spec, ids, clock),
            )
            for rfv_id, p in m.polls.items()
        )
    )
    return tuple(out)


def _member(world: World, slot: int, ids: dict[bytes, tuple[int, int]]) -> tuple[Any, ...]:
    m, durable = world.machines[slot], world.durable[slot]
    stored = (
        None
        if durable is None
        else (
            durable.term,
            None if durable.voted_for is None else ids.get(durable.voted_for, durable.voted_for),
            frozenset(ids.get(c, c) for c in durable.configuration),
        )
    )
    return (world.incarnations[slot], stored, None if m is None else _machine(m, ids, world.clock))


def _history(world: World, perm: Sequence[int]) -> tuple[Any, ...]:
    return (
        frozenset((term, perm[s]) for term, s in world.leaders),
        world.opened,
        world.results,
        frozenset((perm[s], i, r) for s, i, r in world.told),
        frozenset((perm[s], i, r) for s, i, r in world.asked),
        None if world.cut is None else frozenset(perm[s] for s in world.cut),
        (world.drops, world.duplicates, world.crashes, world.partitions, world.polls),
    )


def canonical(world: World, perm: Sequence[int]) -> tuple[Any, ...]:
    """The world as plain values, its members renamed by *perm* (slot ``i`` becomes ``perm[i]``)."""
    ids, clock, n = _ids(world, perm), world.clock, len(perm)
    members: list[Any] = [None] * n
    for slot in range(n):
        members[perm[slot]] = _member(world, slot, ids)
    flight = frozenset(Counter(_envelope(e, perm, ids, clock) for e in world.flight).items())  # a multiset
    return (tuple(members), flight, _history(world, perm))


def _machine_fast(m: GroupMachine, clock: float) -> tuple[Any, ...]:
    """:func:`_machine` without renaming (ids stay bytes): the same information, built faster."""
    snap = m.snapshot()
    snap["peers"] = frozenset((p, min(clock - at, AGE_CAP)) for p, at in snap["peers"])
    snap["timers"] = frozenset((name, max(due - clock, 0.0)) for name, due in snap["timers"].items())
    heard = snap["leader_heard_at"]
    snap["leader_heard_at"] = None if heard is None else min(clock - heard, AGE_CAP)
    snap["voters"] = frozenset(snap["voters"])
    if "prevoters" in snap:
        snap["prevoters"] = frozenset(snap["prevoters"])
    if "configuration" in snap:
        snap["configuration"] = frozenset(snap["configuration"].values())
    if "awaiting" in snap:  # fixed: polls asked, by deadline; members in view not yet in the configuration
        snap["awaiting"] = frozenset((rfv_id, max(due - clock, 0.0)) for rfv_id, due in snap["awaiting"].items())
        snap["first_heard"] = frozenset((p, min(clock - at, AGE_CAP)) for p, at in snap["first_heard"].items())
    if "last_tic" in snap:  # riaps: the loop's deadline and last tic
        deadline, last = snap["leader_deadline"], snap["last_tic"]
        snap["leader_deadline"] = None if deadline is None else max(deadline - clock, 0.0)
        snap["last_tic"] = None if last is None else min(clock - last, AGE_CAP)
    if m.polls:
        snap["polls"] = frozenset(
            (rfv_id, p.count, p.yes, frozenset(p.ballots.items()), max(p.deadline_s - clock, -1.0), frozenset(p.electorate), p.requester, p.spec)
            for rfv_id, p in m.polls.items()
        )
    else:
        snap["polls"] = None
    return tuple(snap.values())


def _identity(world: World) -> tuple[Any, ...]:
    """:func:`canonical` without renaming, fast: ids stay bytes, each member's part is kept on the world
    until its machine or the clock changes, a message in flight is its own (hashable) value."""
    keys, clock = world.keys, world.clock
    for slot, key in enumerate(keys):
        if key is None:
            m = world.machines[slot]
            keys[slot] = (world.incarnations[slot], world.durable[slot], None if m is None else _machine_fast(m, clock))
    return (tuple(keys), frozenset(Counter(world.flight).items()), _history(world, range(len(keys))))


def fingerprint(world: World, symmetric: bool) -> int:
    """The world's fingerprint; with *symmetric*, the smallest over every renaming of its members."""
    if not symmetric:
        return hash(_identity(world))
    return min(hash(canonical(world, perm)) for perm in _orderings(world))


def _signature(world: World, slot: int) -> tuple[Any, ...]:
    """What a member looks like without naming anyone: equal for members a renaming could swap."""
    m = world.machines[slot]
    if m is None:
        return (0, world.incarnations[slot])
    timers = tuple(sorted((name, max(due - world.clock, 0.0)) for name, due in m.timers.items()))
    return (1, world.incarnations[slot], m.role.value, m.term, m.voted_for is None, m.leader is None, len(m.peers), timers)


def _orderings(world: World) -> list[tuple[int, ...]]:
    """The renamings that put members in the order of their signatures (only ties are permuted):
    renamed worlds have the same set of them, so the smallest hash over it is the same for both."""
    n = world.setting.members
    signatures = [_signature(world, slot) for slot in range(n)]
    ranked = sorted(range(n), key=lambda slot: signatures[slot])
    groups: list[list[int]] = []
    for slot in ranked:
        if groups and signatures[groups[-1][0]] == signatures[slot]:
            groups[-1].append(slot)
        else:
            groups.append([slot])
    out = []
    for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
        order = [slot for group in choice for slot in group]  # order[k]: the slot that becomes k
        perm = [0] * n
        for k, slot in enumerate(order):
            perm[slot] = k
        out.append(tuple(perm))
    return out
