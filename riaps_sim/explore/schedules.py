"""Random fault schedules in two phases, as TigerBeetle's VOPR draws them: faults, then quiet.

In the *fault phase* faults of every enabled kind fall at random times. At its end, the *quiet
tail* undoes all of them at once (heal, restart every crashed node, reset every clock, clear every
link fault), and the *quiet phase* that follows must see the group recover: that is where the
liveness properties are judged. A schedule is drawn from its own ``random.Random``, seeded from the
exploration's seed and the schedule's index, so schedule *i* of seed *s* is the same anywhere.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from ..faults import LEADER, ClockSkew, Crash, Delay, Duplicate, Fault, Heal, Loss, Partition, Restart

__all__ = ["ScheduleSpace", "FAULT_KINDS", "LINK_KINDS", "DEFAULT_KINDS", "draw_schedule", "quiet_tail", "normalise"]

#: The fault kinds the explorer draws, by name.
FAULT_KINDS = ("partition", "crash", "restart", "clock_skew", "loss", "duplicate", "delay")
#: Kinds between two nodes (they need the world to support link faults between any two nodes).
LINK_KINDS = ("loss", "duplicate", "delay")
#: What is drawn unless asked otherwise. The simulated network applies link faults only between
#: directly linked hosts (not across the default switched LAN: a ``run_raised`` finding), so until
#: it applies them between any two nodes the link kinds are drawn only on request (``kinds=``).
DEFAULT_KINDS = tuple(k for k in FAULT_KINDS if k not in LINK_KINDS)


@dataclass(frozen=True)
class ScheduleSpace:
    """What schedules may contain: the *nodes*, the phases (seconds), the *kinds*, how many faults.

    ``fault_phase_s``: faults fall in ``[1, fault_phase_s)``; ``quiet_s``: the quiet phase after it.
    """

    nodes: tuple[str, ...]
    fault_phase_s: float = 30.0
    quiet_s: float = 20.0
    kinds: tuple[str, ...] = DEFAULT_KINDS
    max_faults: int = 8

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown} for exploration; known: {list(FAULT_KINDS)}")
        if len(self.nodes) < 2:
            raise ValueError(f"exploring needs at least two nodes, got {list(self.nodes)}")
        if not self.fault_phase_s > 1 or not self.quiet_s > 0:
            raise ValueError(f"the fault phase must be > 1 s and the quiet phase > 0 s, got {self.fault_phase_s!r} and {self.quiet_s!r}")
        if self.max_faults < 1:
            raise ValueError(f"max_faults must be >= 1, got {self.max_faults!r}")

    @property
    def duration_s(self) -> float:
        return self.fault_phase_s + self.quiet_s


def _time(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 3)


def draw_schedule(space: ScheduleSpace, rng: random.Random) -> list[Fault]:
    """The fault phase of one schedule (without its quiet tail), in time order."""
    faults: list[Fault] = []
    crashed: dict[str, float] = {}  # node -> when it crashed, while it is down
    nodes = list(space.nodes)
    times = sorted(_time(rng, 1.0, space.fault_phase_s - 0.001) for _ in range(rng.randint(1, space.max_faults)))
    for at in times:
        kinds = [k for k in space.kinds if k != "restart" or crashed]
        if len(crashed) >= len(nodes) - 1:
            kinds = [k for k in kinds if k != "crash"]
        kind = rng.choice(kinds) if kinds else "partition"
        if kind == "partition":
            faults.append(_partition(rng, nodes, at))
            if rng.random() < 0.5:  # most partitions heal inside the fault phase too
                faults.append(Heal(at=_time(rng, at + 0.001, space.fault_phase_s - 0.001) if at < space.fault_phase_s - 0.01 else at))
        elif kind == "crash":
            node = rng.choice([n for n in nodes if n not in crashed])
            crashed[node] = at
            faults.append(Crash(at=at, node=node))
        elif kind == "restart":
            node = rng.choice(sorted(crashed))
            if at > crashed[node]:
                del crashed[node]
                faults.append(Restart(at=at, node=node))
        elif kind == "clock_skew":
            faults.append(ClockSkew(at=at, node=rng.choice(nodes), offset_s=round(rng.uniform(-2.0, 2.0), 3), rate=round(rng.uniform(0.9, 1.1), 4)))
        else:
            a, b = rng.sample(nodes, 2)
            one_way = rng.random() < 0.3
            if kind == "loss":
                faults.append(Loss(at=at, a=a, b=b, rate=round(rng.uniform(0.05, 0.6), 3), one_way=one_way))
            elif kind == "duplicate":
                faults.append(Duplicate(at=at, a=a, b=b, rate=round(rng.uniform(0.05, 0.5), 3), one_way=one_way))
            else:
                faults.append(Delay(at=at, a=a, b=b, latency_s=round(rng.uniform(0.01, 1.5), 3), one_way=one_way))
    return sorted(faults, key=lambda f: f.at)


def _partition(rng: random.Random, nodes: list[str], at: float) -> Partition:
    mode = rng.choice(("hold", "drop"))
    roll = rng.random()
    if roll < 0.3:
        return Partition(at=at, sides=[[LEADER]], mode=mode)
    side = rng.sample(nodes, rng.randint(1, len(nodes) - 1))
    rest = [n for n in nodes if n not in side]
    if roll < 0.5:
        return Partition(at=at, sides=[side, rest], mode=mode, one_way=True)
    return Partition(at=at, sides=[side], mode=mode)


def normalise(faults: Sequence[Fault]) -> list[Fault]:
    """*faults* in time order without restarts of nodes that are not down (left over when a crash is removed)."""
    down: set[str] = set()
    out: list[Fault] = []
    for fault in sorted(faults, key=lambda f: f.at):
        if isinstance(fault, Crash):
            if fault.node in down:
                continue
            down.add(fault.node)
        elif isinstance(fault, Restart):
            if fault.node not in down:
                continue
            down.discard(fault.node)
        out.append(fault)
    return out


def quiet_tail(faults: Sequence[Fault], at: float) -> list[Fault]:
    """The faults that end every fault of *faults* at time *at*: the start of the quiet phase."""
    tail: list[Fault] = []
    down: set[str] = set()
    skewed: set[str] = set()
    links: dict[tuple[type[Fault], str, str], Fault] = {}
    partitioned = False
    for fault in faults:
        if isinstance(fault, Crash):
            down.add(fault.node)
        elif isinstance(fault, Restart):
            down.discard(fault.node)
        elif isinstance(fault, ClockSkew):
            skewed.add(fault.node)
        elif isinstance(fault, Partition):
            partitioned = True
        elif isinstance(fault, (Loss, Duplicate, Delay)):
            links[(type(fault), fault.a, fault.b)] = fault
    if partitioned:
        tail.append(Heal(at=at))
    tail += [Restart(at=at, node=n) for n in sorted(down)]
    tail += [ClockSkew(at=at, node=n, offset_s=0.0, rate=1.0) for n in sorted(skewed)]
    for (kind, a, b), fault in sorted(links.items(), key=lambda item: (item[0][0].__name__, item[0][1], item[0][2])):
        if kind is Delay:
            tail.append(Delay(at=at, a=a, b=b, latency_s=0.0, one_way=getattr(fault, "one_way", False)))
        else:
            tail.append(kind(at=at, a=a, b=b, rate=0.0, one_way=getattr(fault, "one_way", False)))  # type: ignore[call-arg]
    return tail
