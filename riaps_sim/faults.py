"""One typed fault model for both worlds.

A fault is a frozen dataclass and nothing else: no fault travels as text between layers. Each world
applies a fault by its type: the simulated network and runtime (``riaps_sim.runtime.simfaults``),
the real message-level fault layer and the parent of the node processes
(``riaps_sim.runtime.process``), or the namespace firewall. Adding a kind means one class here and
one applier per world.

=========================  =====================================================================
fault                      what happens
=========================  =====================================================================
``Partition``              no traffic between the *sides* (one-way: only from the first to the
                           second; one side means it against all the others); ``mode="hold"``
                           delays it until the heal (TCP under a firewall DROP, the default),
                           ``"drop"`` loses it
``Heal``                   every partition ends
``Crash`` / ``Restart``    a node dies at once / comes back with fresh components
``Pause``                  a node stalls for *duration_s* (SIGSTOP then SIGCONT): its timers and
                           handlers wait, traffic to it queues as the kernel would queue it
``ClockSkew``              a node's clock becomes ``offset_s + rate * true time``
``Loss`` / ``Duplicate``   each message from *a* to *b* (and back unless *one_way*) is lost /
                           duplicated with *rate*, whatever the route between them
``Delay``                  messages between *a* and *b* take *latency_s* seconds more (0: no more)
=========================  =====================================================================

**When.** A fault falls due at ``at`` seconds from the run's start, or *delay* seconds after the
first trace event of kind *after* (``TRIGGERS``), e.g. ``Crash(node="@leader",
after="vote_announced", delay=0.5)``.

**Who.** Wherever a fault names a node it may name a role instead, resolved when the fault falls
due, the same way in both worlds (``Roles``): ``@leader`` (the node whose member leads; the highest
term wins), ``@crashed`` (the node the most recent crash took down and that is still down), and,
in a partition's sides, ``@followers`` (every live node but the leader) and ``@leader+K`` (the
leader and *K* followers, chosen from the run's seed).
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LEADER",
    "FOLLOWERS",
    "CRASHED",
    "ROLE_NAMES",
    "TRIGGERS",
    "leader_plus",
    "is_role",
    "Fault",
    "Partition",
    "Heal",
    "Crash",
    "Restart",
    "Pause",
    "ClockSkew",
    "Loss",
    "Duplicate",
    "Delay",
    "FaultSchedule",
    "Roles",
    "Unresolved",
    "resolve",
    "resolve_leader",
    "check_restarts",
]

#: The node that leads when the fault falls due (the highest term wins).
LEADER = "@leader"
#: Every live node but the leader (partition sides only).
FOLLOWERS = "@followers"
#: The node the most recent crash took down, while it is still down.
CRASHED = "@crashed"
ROLE_NAMES = (LEADER, FOLLOWERS, CRASHED, "@leader+K")
_ROLE = re.compile(r"^@(leader(\+(?P<k>[0-9]+))?|followers|crashed)$")

#: The trace event kinds a fault may be triggered by (``after=``).
TRIGGERS = (
    "group_joined",
    "group_left",
    "member_joined",
    "member_left",
    "leader_elected",
    "leader_exited",
    "state",
    "vote_requested",
    "vote_cast",
    "vote_announced",
    "fault",
    "app",
    "error",
)


def leader_plus(k: int) -> str:
    """The role ``@leader+K``: the leader and *k* followers."""
    return f"@leader+{int(k)}"


def is_role(name: str) -> bool:
    """Whether *name* is a role (``@leader``, ``@followers``, ``@crashed``, ``@leader+K``), not a node."""
    return bool(_ROLE.match(name))


def _check_name(owner: str, field_name: str, value: Any, single: bool) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{owner}.{field_name} must be a node name or a role, got {value!r}")
    if value.startswith("@"):
        match = _ROLE.match(value)
        if match is None:
            raise ValueError(f"{owner}.{field_name}: unknown role {value!r}; roles are {list(ROLE_NAMES)}")
        if single and value not in (LEADER, CRASHED):
            raise ValueError(f"{owner}.{field_name} names one node: {value!r} may stand for several; use {LEADER!r} or {CRASHED!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """Base of the faults: due at *at* seconds, or *delay* seconds after the first *after* event."""

    at: float | None = None
    after: str | None = None
    delay: float = 0.0

    def __post_init__(self) -> None:
        name = type(self).__name__
        if (self.at is None) == (self.after is None):
            raise ValueError(f"{name} needs exactly one of at= (seconds) and after= (a trace event kind), got at={self.at!r}, after={self.after!r}")
        if self.at is not None and (not isinstance(self.at, (int, float)) or isinstance(self.at, bool) or not self.at >= 0):
            raise ValueError(f"{name}.at must be a time >= 0 in seconds, got {self.at!r}")
        if self.after is not None and self.after not in TRIGGERS:
            raise ValueError(f"{name}.after must be one of {list(TRIGGERS)}, got {self.after!r}")
        if not isinstance(self.delay, (int, float)) or isinstance(self.delay, bool) or not self.delay >= 0:
            raise ValueError(f"{name}.delay must be >= 0 seconds, got {self.delay!r}")
        if self.delay and self.after is None:
            raise ValueError(f"{name}.delay counts from the after= event; with at= put the time in at")

    @property
    def when(self) -> str:
        """When it falls due, in words: ``20 s`` or ``0.5 s after vote_announced``."""
        if self.at is not None:
            return f"{self.at:g} s"
        return f"{self.delay:g} s after {self.after}" if self.delay else f"at {self.after}"

    def nodes(self) -> tuple[str, ...]:
        """The nodes (and roles) the fault names."""
        return ()

    def describe(self, nodes: Sequence[str] | None = None) -> str:
        """The fault in the trace's words, the same in both worlds (``crash n1``, ``heal``...).

        With the run's *nodes*, a partition's lone side is completed by all the others, so the
        analysis sees both sides.
        """
        return type(self).__name__.lower()


def _sort_key(fault: Fault) -> float:
    return fault.at if fault.at is not None else float("inf")


@dataclass(frozen=True, slots=True, kw_only=True)
class Partition(Fault):
    """Cut the network between *sides* (lists of node names or roles); one side: it against all others."""

    sides: Sequence[Sequence[str]]  # stored as a tuple of tuples
    mode: str = "hold"
    one_way: bool = False

    def __post_init__(self) -> None:
        Fault.__post_init__(self)
        if (
            isinstance(self.sides, str)
            or not isinstance(self.sides, Sequence)
            or any(isinstance(s, str) or not isinstance(s, Sequence) for s in self.sides)
        ):
            raise ValueError(f"Partition.sides must be lists of node names, e.g. [['n0', 'n1'], ['n2']], got {self.sides!r}")
        object.__setattr__(self, "sides", tuple(tuple(side) for side in self.sides))
        if not self.sides or any(not side for side in self.sides):
            raise ValueError(f"Partition.sides must be non-empty lists of node names, got {self.sides!r}")
        for side in self.sides:
            for name in side:
                _check_name("Partition", "sides", name, single=False)
        if self.mode not in ("hold", "drop"):
            raise ValueError(f"Partition.mode must be 'hold' or 'drop', got {self.mode!r}")
        if self.one_way and len(self.sides) > 2:
            raise ValueError(f"a one-way Partition has one or two sides (from the first to the second, or to all others), got {len(self.sides)}")

    def nodes(self) -> tuple[str, ...]:
        return tuple(n for side in self.sides for n in side)

    def full_sides(self, nodes: Sequence[str]) -> list[list[str]]:
        """The sides with a lone side completed by every other node of *nodes*."""
        sides = [list(side) for side in self.sides]
        if len(sides) == 1:
            sides.append([n for n in nodes if n not in sides[0]])
        return sides

    def describe(self, nodes: Sequence[str] | None = None) -> str:
        sides = self.full_sides(nodes) if nodes is not None else [list(s) for s in self.sides]
        return f"partition {' | '.join(','.join(s) for s in sides)} ({self.mode}{', one-way' if self.one_way else ''})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Heal(Fault):
    """End every partition."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _NodeFault(Fault):
    node: str

    def __post_init__(self) -> None:
        Fault.__post_init__(self)
        _check_name(type(self).__name__, "node", self.node, single=True)

    def nodes(self) -> tuple[str, ...]:
        return (self.node,)

    def describe(self, nodes: Sequence[str] | None = None) -> str:
        return f"{type(self).__name__.lower()} {self.node}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Crash(_NodeFault):
    """Kill *node* at once: no farewell, messages to it lost."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Restart(_NodeFault):
    """Start *node* again after a crash, with fresh components (refused while it runs)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pause(_NodeFault):
    """Stall *node* for *duration_s* seconds: timers and handlers wait, its traffic queues."""

    duration_s: float

    def __post_init__(self) -> None:
        _NodeFault.__post_init__(self)
        if not isinstance(self.duration_s, (int, float)) or isinstance(self.duration_s, bool) or not self.duration_s > 0:
            raise ValueError(f"Pause.duration_s must be > 0 seconds, got {self.duration_s!r}")

    def describe(self, nodes: Sequence[str] | None = None) -> str:
        return f"pause {self.node} for {self.duration_s:g} s"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockSkew(_NodeFault):
    """Set *node*'s clock to ``offset_s + rate * true time`` (seconds)."""

    offset_s: float = 0.0
    rate: float = 1.0

    def __post_init__(self) -> None:
        _NodeFault.__post_init__(self)
        if not self.rate > 0:
            raise ValueError(f"ClockSkew.rate must be > 0 (1.0 is a perfect clock), got {self.rate!r}")

    def describe(self, nodes: Sequence[str] | None = None) -> str:
        return f"clock {self.node} offset={self.offset_s!r} rate={self.rate!r}"


@dataclass(frozen=True, slots=True, kw_only=True)
class _LinkFault(Fault):
    a: str
    b: str
    one_way: bool = False

    def __post_init__(self) -> None:
        Fault.__post_init__(self)
        _check_name(type(self).__name__, "a", self.a, single=True)
        _check_name(type(self).__name__, "b", self.b, single=True)
        if self.a == self.b and not self.a.startswith("@"):
            raise ValueError(f"{type(self).__name__} is between two different nodes, got {self.a!r} twice")

    def nodes(self) -> tuple[str, ...]:
        return (self.a, self.b)

    def describe(self, nodes: Sequence[str] | None = None) -> str:
        return f"link {self.a}{'->' if self.one_way else '<->'}{self.b} {self._change()}"

    def _change(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class _RateFault(_LinkFault):
    rate: float

    def __post_init__(self) -> None:
        _LinkFault.__post_init__(self)
        if not isinstance(self.rate, (int, float)) or isinstance(self.rate, bool) or not 0 <= self.rate <= 1:
            raise ValueError(f"{type(self).__name__}.rate must be between 0 and 1, got {self.rate!r}")

    def _change(self) -> str:
        return f"{'loss' if isinstance(self, Loss) else 'duplication'}={self.rate!r}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Loss(_RateFault):
    """Lose each message between *a* and *b* with probability *rate* (0 to 1)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Duplicate(_RateFault):
    """Duplicate each message between *a* and *b* with probability *rate* (0 to 1)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Delay(_LinkFault):
    """Messages between *a* and *b* take *latency_s* seconds more than their path's latency (0: no more)."""

    latency_s: float

    def __post_init__(self) -> None:
        _LinkFault.__post_init__(self)
        if not isinstance(self.latency_s, (int, float)) or isinstance(self.latency_s, bool) or not self.latency_s >= 0:
            raise ValueError(f"Delay.latency_s must be >= 0 seconds, got {self.latency_s!r}")

    def _change(self) -> str:
        return f"delay+{self.latency_s!r}"


class FaultSchedule(tuple[Fault, ...]):
    """The faults of a run: timed ones in time order (stable for equal times), then triggered ones."""

    def __new__(cls, faults: Iterable[Fault] = ()) -> FaultSchedule:
        items = list(faults)
        for fault in items:
            if not isinstance(fault, Fault):
                raise TypeError(f"a fault schedule holds Fault objects (Partition, Crash, ...), got {fault!r}")
        return super().__new__(cls, sorted(items, key=_sort_key))

    def check_nodes(self, known: Sequence[str]) -> None:
        """Raise ``ValueError`` naming any fault that names a node not in *known* (roles are always known)."""
        for index, fault in enumerate(self):
            unknown = [n for n in fault.nodes() if n not in known and not is_role(n)]
            if unknown:
                raise ValueError(f"fault {index} ({fault.describe()} at {fault.when}) names unknown node(s) {unknown}; nodes are {list(known)}")


def check_restarts(schedule: Sequence[Fault]) -> None:
    """Raise ``ValueError`` for a restart that can be known to find its node running.

    Walks the timed faults in order; a restart of a named node that no earlier crash took down
    (and no ``@leader`` crash might have), or a ``@crashed`` restart with no crash before it, is an
    error. What cannot be known before the run (after a ``@leader`` crash, a triggered fault) is
    refused at run time instead, traced and summarised.
    """
    down: set[str] = set()
    unknown_down = 0  # crashes whose node is known only at run time
    for index, fault in enumerate(schedule):
        if fault.at is None:
            continue
        if isinstance(fault, Crash):
            if fault.node.startswith("@"):
                unknown_down += 1
            else:
                down.add(fault.node)
        elif isinstance(fault, Restart):
            if fault.node == CRASHED:
                if not down and not unknown_down:
                    raise ValueError(f"fault {index} (restart {CRASHED} at {fault.when}): no crash comes before it")
                if unknown_down:
                    unknown_down -= 1
                elif down:
                    down.pop()
            elif fault.node.startswith("@"):
                continue
            elif fault.node in down:
                down.discard(fault.node)
            elif not unknown_down:
                raise ValueError(
                    f"fault {index} (restart {fault.node} at {fault.when}): {fault.node} is running then (no crash takes it down before); restarts bring back crashed nodes"
                )


# -- roles, resolved when a fault falls due ----------------------------------------------------------------


class Unresolved(ValueError):
    """A role that names nobody when the fault falls due (no leader, nothing crashed)."""


@dataclass(frozen=True)
class Roles:
    """Who holds each role when a fault falls due, as a world sees it.

    *leader* is the node whose member leads (``None`` if none); *live* the nodes up, in a fixed
    order; *crashed* the node the most recent crash took down, if still down; *seed* makes the
    choice of ``@leader+K`` followers deterministic.
    """

    leader: str | None
    live: Sequence[str]
    crashed: str | None = None
    seed: int = 0
    nodes: Sequence[str] = field(default_factory=tuple)

    def followers(self) -> list[str]:
        return [n for n in self.live if n != self.leader]

    def expand(self, name: str, context: str) -> list[str]:
        """The node names *name* stands for (itself, if it is not a role)."""
        match = _ROLE.match(name)
        if match is None:
            return [name]
        if name == CRASHED:
            if self.crashed is None:
                raise Unresolved("no node is down")
            return [self.crashed]
        if name == FOLLOWERS:
            return self.followers()
        if self.leader is None:
            raise Unresolved("no node leads")
        k = int(match["k"] or 0)
        followers = self.followers()
        if k > len(followers):
            raise Unresolved(f"only {len(followers)} followers are live")
        chosen = random.Random(f"{self.seed}/{context}/{name}").sample(followers, k)
        return [self.leader, *sorted(chosen, key=followers.index)]


def resolve(fault: Fault, roles: Roles) -> Fault:
    """*fault* with every role replaced by the node(s) it stands for now; ``Unresolved`` if one names nobody."""
    context = fault.describe()
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(fault):
        value = getattr(fault, f.name)
        if f.name == "sides":
            sides = []
            for side in value:
                expanded = list(dict.fromkeys(n for name in side for n in roles.expand(name, context)))
                if not expanded:
                    raise Unresolved(f"a partition side {list(side)} names nobody now")
                sides.append(expanded)
            changes[f.name] = tuple(tuple(s) for s in sides)
        elif isinstance(value, str) and f.name in ("node", "a", "b") and value.startswith("@"):
            changes[f.name] = roles.expand(value, context)[0]
    if "sides" in changes:  # a node named on two sides (say, @leader and a literal name): the first side keeps it
        seen: set[str] = set()
        deduped = []
        for side in changes["sides"]:
            kept = tuple(n for n in side if n not in seen)
            seen.update(kept)
            if kept:
                deduped.append(kept)
        changes["sides"] = tuple(deduped)
    return dataclasses.replace(fault, **changes) if changes else fault


def resolve_leader(fault: Fault, leader: str) -> Fault:
    """*fault* with ``@leader`` replaced by *leader* (the other roles are left as they are)."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(fault):
        value = getattr(fault, f.name)
        if value == LEADER:
            changes[f.name] = leader
        elif f.name == "sides":
            changes[f.name] = tuple(tuple(leader if n == LEADER else n for n in side) for side in value)
    return dataclasses.replace(fault, **changes)
