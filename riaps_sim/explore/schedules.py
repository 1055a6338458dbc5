"""Random fault schedules in two phases, as TigerBeetle's VOPR draws them: faults, then quiet.

In the *fault phase* faults of every enabled kind fall at random times, naming nodes or roles. At
its end, the *quiet tail* undoes all of them at once (heal, restart every crashed node, reset every
clock, clear every link fault), and the *quiet phase* that follows must see the group recover:
that is where the liveness properties are judged. A schedule is drawn from its own ``random.Random``, seeded from the
exploration's seed and the schedule's index, so schedule *i* of seed *s* is the same anywhere.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from ..faults import CRASHED, FOLLOWERS, LEADER, ClockSkew, Crash, Delay, Duplicate, Fault, Heal, Loss, Partition, Pause, Restart, leader_plus
from .aimed import aimed_schedule, draw_time

__all__ = ["ScheduleSpace", "FAULT_KINDS", "LINK_KINDS", "DEFAULT_KINDS", "draw_schedule", "quiet_tail", "normalise"]

#: The fault kinds the explorer draws, by name.
FAULT_KINDS = ("partition", "crash", "restart", "pause", "clock_skew", "loss", "duplicate", "delay")
#: Kinds between two nodes.
LINK_KINDS = ("loss", "duplicate", "delay")
#: What is drawn unless asked otherwise: every kind.
DEFAULT_KINDS = FAULT_KINDS


@dataclass(frozen=True)
class ScheduleSpace:
    """What schedules may contain: the *nodes*, the phases (seconds), the *kinds*, how many faults.

    ``fault_phase_s``: faults fall in ``[1, fault_phase_s)``; ``quiet_s``: the quiet phase after it.
    ``aimed``: the share of schedules drawn from a template aimed at election and vote bugs
    (:mod:`riaps_sim.explore.aimed`; with every kind of fault enabled and a fault phase of 15 s or
    more), the rest uniformly.
    """

    nodes: tuple[str, ...]
    fault_phase_s: float = 30.0
    quiet_s: float = 20.0
    kinds: tuple[str, ...] = DEFAULT_KINDS
    max_faults: int = 8
    aimed: float = 0.5

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
        if not 0.0 <= self.aimed <= 1.0:
            raise ValueError(f"aimed must be a share between 0 and 1, got {self.aimed!r}")

    @property
    def aims(self) -> bool:
        """Whether aimed templates may be drawn: every kind enabled (they mix kinds) and room for them in time."""
        return self.aimed > 0 and set(self.kinds) == set(FAULT_KINDS) and self.fault_phase_s >= 15.0

    @property
    def duration_s(self) -> float:
        return self.fault_phase_s + self.quiet_s


def draw_schedule(space: ScheduleSpace, rng: random.Random) -> list[Fault]:
    """The fault phase of one schedule (without its quiet tail), in time order.

    Crashes name a node or ``@leader``; restarts bring back ``@crashed`` (the latest crash still
    down) or a named node that is down; partitions cut named nodes or roles (``@leader``,
    ``@leader+K``, ``@followers``), two-way or one-way, holding or dropping.
    """
    nodes = list(space.nodes)
    if space.aims and rng.random() < space.aimed:
        return sorted(aimed_schedule(nodes, space.fault_phase_s, rng), key=lambda f: f.at or 0.0)
    faults: list[Fault] = []
    down: list[str] = []  # what is down, most recent last: node names, or LEADER for a crash of whoever led
    times = sorted(draw_time(rng, 1.0, space.fault_phase_s - 0.001) for _ in range(rng.randint(1, space.max_faults)))
    for at in times:
        kinds = [k for k in space.kinds if k != "restart" or down]
        if len(down) >= len(nodes) - 1:
            kinds = [k for k in kinds if k != "crash"]
        kind = rng.choice(kinds) if kinds else "partition"
        if kind == "partition":
            faults.append(_partition(rng, nodes, at))
            if rng.random() < 0.5 and at < space.fault_phase_s - 0.01:  # many partitions heal inside the fault phase
                faults.append(Heal(at=draw_time(rng, at + 0.001, space.fault_phase_s - 0.001)))
        elif kind == "crash":
            up = [n for n in nodes if n not in down]
            node = LEADER if rng.random() < 0.4 and LEADER not in down else rng.choice(up)
            down.append(node)
            faults.append(Crash(at=at, node=node))
        elif kind == "restart":
            node = down.pop()
            faults.append(Restart(at=at, node=CRASHED if node == LEADER else node))
        elif kind == "pause":
            longest = max(0.05, space.fault_phase_s - at - 0.01)  # over before the quiet phase
            faults.append(Pause(at=at, node=rng.choice([LEADER, *nodes]), duration_s=round(min(rng.uniform(0.2, 6.0), longest), 3)))
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
    return sorted(faults, key=lambda f: f.at or 0.0)


def _partition(rng: random.Random, nodes: list[str], at: float) -> Partition:
    mode = rng.choice(("hold", "drop"))
    roll = rng.random()
    if roll < 0.2:
        return Partition(at=at, sides=[[LEADER]], mode=mode)
    if roll < 0.3:
        k = rng.randint(1, max(1, len(nodes) // 2 - 1))
        return Partition(at=at, sides=[[leader_plus(k)]], mode=mode)
    if roll < 0.4:
        return Partition(at=at, sides=[[FOLLOWERS], [LEADER]] if rng.random() < 0.5 else [[LEADER], [FOLLOWERS]], mode=mode, one_way=True)
    side = rng.sample(nodes, rng.randint(1, len(nodes) - 1))
    rest = [n for n in nodes if n not in side]
    if roll < 0.55:
        return Partition(at=at, sides=[side, rest], mode=mode, one_way=True)
    return Partition(at=at, sides=[side], mode=mode)


def normalise(faults: Sequence[Fault]) -> list[Fault]:
    """*faults* in time order without restarts of nothing (left over when a crash is removed while shrinking)."""
    down: list[str] = []
    out: list[Fault] = []
    for fault in sorted(faults, key=lambda f: f.at or 0.0):
        if isinstance(fault, Crash):
            if fault.node in down and fault.node != LEADER:
                continue
            down.append(fault.node)
        elif isinstance(fault, Restart):
            if fault.node == CRASHED:
                if not down:
                    continue
                down.pop()
            elif fault.node in down:
                down.remove(fault.node)
            else:
                continue
        out.append(fault)
    return out


def quiet_tail(faults: Sequence[Fault], at: float) -> list[Fault]:
    """The faults that end every fault of *faults* at time *at*: the start of the quiet phase.

    Heal every partition, restart every node still down (a crash of ``@leader`` by ``@crashed``,
    latest first; not one crashed by an event-triggered crash, which may never fall), reset every
    skewed clock, clear every link fault. Pauses end by themselves.
    """
    tail: list[Fault] = []
    down: list[str] = []
    skewed: set[str] = set()
    links: dict[tuple[type[Fault], str, str, bool], None] = {}
    partitioned = False
    for fault in faults:
        if isinstance(fault, Crash):
            if fault.at is None:  # triggered: it may never fall, so nothing restarts it
                continue
            down.append(fault.node)
        elif isinstance(fault, Restart):
            if fault.node == CRASHED:
                if down:
                    down.pop()
            elif fault.node in down:
                down.remove(fault.node)
        elif isinstance(fault, ClockSkew):
            skewed.add(fault.node)
        elif isinstance(fault, Partition):
            partitioned = True
        elif isinstance(fault, (Loss, Duplicate, Delay)):
            links[(type(fault), fault.a, fault.b, fault.one_way)] = None
    if partitioned:
        tail.append(Heal(at=at))
    tail += [Restart(at=at, node=CRASHED if node == LEADER else node) for node in reversed(down)]
    tail += [ClockSkew(at=at, node=n, offset_s=0.0, rate=1.0) for n in sorted(skewed)]
    for kind, a, b, one_way in sorted(links, key=lambda k: (k[0].__name__, k[1], k[2], k[3])):
        if kind is Delay:
            tail.append(Delay(at=at, a=a, b=b, latency_s=0.0, one_way=one_way))
        else:
            tail.append(kind(at=at, a=a, b=b, rate=0.0, one_way=one_way))  # type: ignore[call-arg]
    return tail
