"""One fault schedule for both worlds.

A schedule is a list of faults, each at a time in seconds from the start of the run. The simulated
world applies it to its ``Network``; the real world applies crashes and restarts as SIGKILL and a
new process, and the rest in each node's message-level fault layer (or, in network namespaces,
with firewall rules). The same schedule object drives both, so a study in simulation can be
repeated on real ZeroMQ unchanged.

========================  =====================================================================
fault                     what happens
========================  =====================================================================
``Partition``             no traffic between the *sides* (one-way: only from the first to the
                          second); ``mode="hold"`` delays it until the heal (TCP under a firewall
                          DROP, the default), ``"drop"`` loses it
``Heal``                  every partition ends
``Crash`` / ``Restart``   a node dies at once / comes back with fresh components
``ClockSkew``             a node's clock becomes ``offset + rate * true time``
``Loss`` / ``Duplicate``  each message between two nodes is lost / duplicated with *rate*
``Delay``                 messages between two nodes take *latency_s* seconds (more)
========================  =====================================================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LEADER", "Fault", "Partition", "Heal", "Crash", "Restart", "ClockSkew", "Loss", "Duplicate", "Delay",
    "FaultSchedule", "apply_to_network", "resolve_leader",
]


#: The symbolic node name of "the node that leads when the fault happens".
LEADER = "@leader"


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """Base of the faults: *at* is seconds from the start of the run."""

    at: float

    def __post_init__(self) -> None:
        if not isinstance(self.at, (int, float)) or isinstance(self.at, bool) or not self.at >= 0:
            raise ValueError(f"{type(self).__name__}.at must be a time >= 0 in seconds, got {self.at!r}")

    def nodes(self) -> tuple[str, ...]:
        """The nodes the fault names (checked against the scenario's nodes)."""
        return ()

    def describe(self, nodes: Sequence[str] | None = None) -> str:
        """The fault in the trace's words, the same in both worlds (``crash n1``, ``heal``...).

        With the run's *nodes*, a partition's lone side is completed by all the others, so the
        analysis sees both sides.
        """
        return type(self).__name__.lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Partition(Fault):
    """Cut the network between *sides* (node name lists); one side means it against all other nodes."""

    sides: Sequence[Sequence[str]]  # stored as a tuple of tuples
    mode: str = "hold"
    one_way: bool = False

    def __post_init__(self) -> None:
        Fault.__post_init__(self)
        object.__setattr__(self, "sides", tuple(tuple(side) for side in self.sides))
        if not self.sides or any(not side for side in self.sides):
            raise ValueError(f"Partition.sides must be non-empty lists of node names, got {self.sides!r}")
        if self.mode not in ("hold", "drop"):
            raise ValueError(f"Partition.mode must be 'hold' or 'drop', got {self.mode!r}")
        if self.one_way and len(self.sides) != 2:
            raise ValueError(f"a one-way Partition needs exactly two sides, got {len(self.sides)}")

    def nodes(self) -> tuple[str, ...]:
        return tuple(n for side in self.sides for n in side)

    def describe(self, nodes: Sequence[str] | None = None) -> str:
        sides = [list(side) for side in self.sides]
        if len(sides) == 1 and nodes is not None:
            sides.append([n for n in nodes if n not in sides[0]])
        return f"partition {' | '.join(','.join(s) for s in sides)} ({self.mode}{', one-way' if self.one_way else ''})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Heal(Fault):
    """End every partition."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _NodeFault(Fault):
    node: str

    def nodes(self) -> tuple[str, ...]:
        return (self.node,)

    def describe(self, nodes: Sequence[str] | None = None) -> str:
        return f"{type(self).__name__.lower()} {self.node}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Crash(_NodeFault):
    """Kill *node* at once: no farewell, messages to it lost."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Restart(_NodeFault):
    """Start *node* again after a crash, with fresh components."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockSkew(_NodeFault):
    """Set *node*'s clock to ``offset_s + rate * true time`` (seconds)."""

    offset_s: float = 0.0
    rate: float = 1.0

    def __post_init__(self) -> None:
        Fault.__post_init__(self)
        if not self.rate > 0:
            raise ValueError(f"ClockSkew.rate must be > 0 (1.0 is a perfect clock), got {self.rate!r}")

    def describe(self, nodes: Sequence[str] | None = None) -> str:
        return f"clock {self.node} offset={self.offset_s!r} rate={self.rate!r}"


@dataclass(frozen=True, slots=True, kw_only=True)
class _LinkFault(Fault):
    a: str
    b: str
    one_way: bool = False

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
        Fault.__post_init__(self)
        if not 0 <= self.rate <= 1:
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
    """Messages between *a* and *b* take *latency_s* seconds."""

    latency_s: float

    def __post_init__(self) -> None:
        Fault.__post_init__(self)
        if not self.latency_s >= 0:
            raise ValueError(f"Delay.latency_s must be >= 0 seconds, got {self.latency_s!r}")

    def _change(self) -> str:
        return f"latency=Constant(delay={self.latency_s!r})"


class FaultSchedule(tuple[Fault, ...]):
    """The faults of a run, in time order (stable for equal times)."""

    def __new__(cls, faults: Iterable[Fault] = ()) -> FaultSchedule:
        items = list(faults)
        for fault in items:
            if not isinstance(fault, Fault):
                raise TypeError(f"a fault schedule holds Fault objects (Partition, Crash, ...), got {fault!r}")
        return super().__new__(cls, sorted(items, key=lambda f: f.at))

    def check_nodes(self, known: Sequence[str]) -> None:
        """Raise ``ValueError`` naming any fault that names a node not in *known*."""
        for index, fault in enumerate(self):
            unknown = [n for n in fault.nodes() if n not in known]
            if unknown:
                raise ValueError(f"fault {index} ({fault.describe()} at {fault.at:g} s) names unknown node(s) {unknown}; nodes are {list(known)}")


def resolve_leader(fault: Fault, leader: str) -> Fault:
    """*fault* with every ``LEADER`` (``"@leader"``) replaced by the node name *leader*."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(fault):
        value = getattr(fault, f.name)
        if value == LEADER:
            changes[f.name] = leader
        elif f.name == "sides":
            changes[f.name] = tuple(tuple(leader if n == LEADER else n for n in side) for side in value)
    return dataclasses.replace(fault, **changes)


def apply_to_network(schedule: Iterable[Fault], network: Any, start: float = 0.0) -> None:
    """Schedule every fault on a simulated ``Network``, *start* seconds being the run's time 0."""
    for fault in schedule:
        at = start + fault.at
        if isinstance(fault, Partition):
            network.partition(*fault.sides, one_way=fault.one_way, mode=fault.mode, at=at)
        elif isinstance(fault, Heal):  # chosen when it fires, so it heals the partitions standing then
            network.env.timeout(max(0.0, at - network.env.now)).callbacks.append(lambda _event: network.heal())
        elif isinstance(fault, Crash):
            network.crash(fault.node, at=at)
        elif isinstance(fault, Restart):
            network.restart(fault.node, at=at)
        elif isinstance(fault, ClockSkew):
            network.set_clock(fault.node, offset=fault.offset_s, rate=fault.rate, at=at)
        elif isinstance(fault, Loss):
            network.set_loss(fault.a, fault.b, fault.rate, one_way=fault.one_way, at=at)
        elif isinstance(fault, Duplicate):
            network.set_duplication(fault.a, fault.b, fault.rate, one_way=fault.one_way, at=at)
        elif isinstance(fault, Delay):
            network.set_link(fault.a, fault.b, latency=fault.latency_s, one_way=fault.one_way, at=at)
        else:
            raise TypeError(f"no simulated application for {fault!r}")
