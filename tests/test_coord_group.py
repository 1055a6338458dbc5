"""Groups of machines over an in-memory network with a hand-driven virtual clock (no SimPy).

``Cluster`` wires N machines: ``Publish`` reaches every member (itself too) after a latency,
through ``wire.encode``/``decode`` as real bytes; ``SendToLeader`` goes to the member whose ans
endpoint the sender follows; ``SendToMember`` to the member with that identity; timers live in a
heap. Loss, reordering (per-message latency), partitions and crashes are scripted.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from riaps_sim.coord import (
    AnswerPortBound,
    ArmTimer,
    BindAnswerPort,
    CancelTimer,
    CastVote,
    Command,
    Disconnect,
    FollowLeader,
    GroupMachine,
    Input,
    Join,
    Timing,
    Leave,
    Notify,
    Publish,
    Result,
    Role,
    SendToLeader,
    SendToMember,
    TimerFired,
    TraceEvent,
    decode,
    make_machine,
)

Latency = Callable[[int, int, bytes], float]
Loss = Callable[[float, int, int, bytes], bool]


def member_id(i: int) -> bytes:
    return bytes([0x10 + i]) * 16


@dataclass
class Cluster:
    """N machines, a virtual clock, and a scripted network."""

    n: int
    protocol: str = "riaps"
    group_min_size: int = 2
    seed: int = 0
    latency: Latency = lambda src, dst, cmd: 0.005
    loss: Loss = lambda now, src, dst, cmd: False
    voter: Callable[[int, str], bool | None] = lambda node, rfv_id: True  # None: abstain
    now: float = 0.0
    machines: list[GroupMachine] = field(default_factory=list)
    notes: list[tuple[float, int, str, tuple[object, ...]]] = field(default_factory=list)
    traces: list[tuple[float, int, TraceEvent]] = field(default_factory=list)
    results: list[tuple[int, object]] = field(default_factory=list)
    down: set[int] = field(default_factory=set)
    cut: set[frozenset[int]] = field(default_factory=set)
    timing: Timing | None = None

    def __post_init__(self) -> None:
        self.ids = [member_id(i) for i in range(self.n)]
        self.machines = [
            make_machine(
                self.protocol, member_id=self.ids[i], rng=random.Random(f"{self.seed}/{i}"), timing=self.timing, group_min_size=self.group_min_size
            )
            for i in range(self.n)
        ]
        self._queue: list[tuple[float, int, int, str, Any]] = []
        self._seq = 0
        self._timer_gen: dict[tuple[int, str], int] = {}
        self.following: dict[int, tuple[str, int] | None] = {}

    # -------------------------------------------------------------- driving

    def start(self, nodes: range | list[int] | None = None) -> None:
        for i in nodes if nodes is not None else range(self.n):
            self.feed(i, Join())

    def feed(self, node: int, event: Input) -> list[Command]:
        commands = self.machines[node].handle(event, self.now)
        self._execute(node, commands)
        return commands

    def ask(self, node: int, request: Input) -> object:
        results = [c.value for c in self.feed(node, request) if isinstance(c, Result)]
        assert len(results) == 1, results
        return results[0]

    def run_until(self, t: float) -> None:
        while self._queue and self._queue[0][0] <= t:
            when, _, node, kind, item = heapq.heappop(self._queue)
            self.now = when
            if node in self.down:
                continue
            if kind == "timer":
                name, gen = item
                if self._timer_gen.get((node, name)) == gen:
                    self.feed(node, TimerFired(name=name))
            else:
                self.feed(node, item)
        self.now = t

    def _push(self, when: float, node: int, kind: str, item: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (when, self._seq, node, kind, item))

    def _send(self, src: int, dst: int, cmd: bytes, payload: bytes, sender: bytes = b"") -> None:
        if dst in self.down or src in self.down or frozenset((src, dst)) in self.cut:
            return
        if self.loss(self.now, src, dst, cmd):
            return
        self._push(self.now + self.latency(src, dst, cmd), dst, "msg", decode(cmd, payload, sender=sender))

    def _execute(self, node: int, commands: list[Command]) -> None:
        for c in commands:
            if isinstance(c, Publish):
                for dst in range(self.n):
                    self._send(node, dst, c.cmd, c.payload)
            elif isinstance(c, SendToLeader):
                target = self.following.get(node)
                for dst in range(self.n):
                    if target is not None and self.endpoint(dst) == target:
                        self._send(node, dst, c.cmd, c.payload, sender=self.ids[node])
            elif isinstance(c, SendToMember):
                if c.identity in self.ids:
                    self._send(node, self.ids.index(c.identity), c.cmd, c.payload)
            elif isinstance(c, FollowLeader):
                self.following[node] = (c.host, c.port)
            elif isinstance(c, Disconnect):
                self.following[node] = None
            elif isinstance(c, BindAnswerPort):
                host, port = self.endpoint(node)
                self._execute(node, self.machines[node].handle(AnswerPortBound(host=host, port=port), self.now))
            elif isinstance(c, ArmTimer):
                gen = self._timer_gen.get((node, c.name), 0) + 1
                self._timer_gen[(node, c.name)] = gen
                self._push(self.now + c.delay_s, node, "timer", (c.name, gen))
            elif isinstance(c, CancelTimer):
                self._timer_gen[(node, c.name)] = self._timer_gen.get((node, c.name), 0) + 1
            elif isinstance(c, Notify):
                self.notes.append((self.now, node, c.callback, c.args))
                self._component(node, c)
            elif isinstance(c, TraceEvent):
                self.traces.append((self.now, node, c))
            elif isinstance(c, Result):
                self.results.append((node, c.value))

    def _component(self, node: int, note: Notify) -> None:
        """The component: answer vote requests as ``voter`` says."""
        if note.callback in ("handleVoteRequest", "handleActionVoteRequest"):
            vote = self.voter(node, str(note.args[0]))
            if vote is not None:
                self.feed(node, CastVote(rfv_id=str(note.args[0]), vote=vote))

    # -------------------------------------------------------------- faults and views

    def endpoint(self, node: int) -> tuple[str, int]:
        return (f"10.0.0.{node + 1}", 40000 + node)

    def crash(self, node: int) -> None:
        self.down.add(node)

    def partition(self, *sides: list[int]) -> None:
        self.cut = {frozenset((a, b)) for s in sides for t in sides if s is not t for a in s for b in t}

    def heal(self) -> None:
        self.cut = set()

    def live(self) -> list[int]:
        return [i for i in range(self.n) if i not in self.down]

    def leaders(self) -> list[int]:
        return [i for i in self.live() if self.machines[i].role is Role.LEADER]

    def agreed_leader(self) -> bytes | None:
        """The leader every live member knows, if they all know the same one and it leads."""
        views = {self.machines[i].leader for i in self.live()}
        if len(views) != 1 or None in views:
            return None
        (leader,) = views
        return leader if self.leaders() == [self.ids.index(leader)] else None  # type: ignore[arg-type]

    def leaders_by_term(self) -> dict[int, set[int]]:
        terms: dict[int, set[int]] = {}
        for _, node, t in self.traces:
            if t.kind == "state" and t.role == "LEADER":
                terms.setdefault(t.term, set()).add(node)
        return terms

    def callbacks(self, name: str) -> list[tuple[int, tuple[object, ...]]]:
        return [(node, args) for _, node, cb, args in self.notes if cb == name]


def elect(protocol: str, n: int, group_min_size: int, until: float = 6.0, seed: int = 0, timing: Timing | None = None) -> Cluster:
    c = Cluster(n, protocol=protocol, group_min_size=group_min_size, seed=seed, timing=timing)
    c.start()
    c.run_until(until)
    return c


@pytest.mark.parametrize(("protocol", "n", "gms"), [("riaps", 3, 2), ("riaps", 5, 2), ("fixed", 3, 3), ("fixed", 5, 5)])
def test_members_elect_exactly_one_leader_agreed_by_all(protocol: str, n: int, gms: int) -> None:
    """3 and 5 members elect one leader within 6 s, and every member names it."""
    c = elect(protocol, n, gms)
    assert c.agreed_leader() is not None
    assert all(m.group_size == n for m in c.machines)
    leader = c.agreed_leader()
    assert sorted(node for node, args in c.callbacks("handleLeaderElected") if args == (leader,)) == list(range(n))


def test_two_members_never_elect_under_the_reference_quorum() -> None:
    """riaps: an election needs numPeers > groupMinSize//2 + 1, i.e. 3 members with the default 2."""
    c = elect("riaps", 2, 2, until=30.0)
    assert c.leaders() == [] and c.callbacks("handleLeaderElected") == []
    assert [m.term for m in c.machines] == [0, 0]


def test_two_members_elect_in_fixed_with_a_group_of_two() -> None:
    """fixed: groupMinSize=2 is the group size, so 2 of 2 is a quorum."""
    assert elect("fixed", 2, 2).agreed_leader() is not None


@pytest.mark.parametrize(("protocol", "n", "gms"), [("riaps", 4, 2), ("fixed", 3, 3), ("fixed", 5, 5)])
def test_survivors_elect_a_new_leader_after_the_leader_stops(protocol: str, n: int, gms: int) -> None:
    """When the leader crashes, the survivors agree on a new leader within 5 s."""
    c = elect(protocol, n, gms)
    old = c.agreed_leader()
    assert old is not None
    c.crash(c.ids.index(old))
    crashed_at = c.now
    for step in range(1, 51):
        c.run_until(crashed_at + step * 0.1)
        if c.agreed_leader() not in (None, old):
            break
    assert c.agreed_leader() not in (None, old)
    assert c.now - crashed_at <= 5.0


def test_riaps_two_survivors_of_three_keep_the_dead_leader() -> None:
    """riaps: once the dead leader drops out of view, 2 survivors lack the quorum and keep it (B10)."""
    c = Cluster(3, seed=3)
    c.start()
    c.run_until(6.0)
    old = c.agreed_leader()
    assert old is not None
    c.crash(c.ids.index(old))
    c.run_until(30.0)
    survivors = c.live()
    if c.leaders():  # the stale view (3 peers for 3 s) may still let them elect; then it is a new one
        assert c.agreed_leader() not in (None, old)
    else:
        assert [c.machines[i].leader for i in survivors] == [old, old]
        assert c.callbacks("handleLeaderExited") == []


def test_fixed_two_survivors_of_three_keep_a_leader_and_a_lone_one_drops_it() -> None:
    """fixed: 2 of 3 is a quorum; alone, a member drops its leader and gets handleLeaderExited (B10)."""
    c = elect("fixed", 3, 3)
    old = c.agreed_leader()
    c.crash(c.ids.index(old))  # type: ignore[arg-type]
    c.run_until(12.0)
    new = c.agreed_leader()
    assert new not in (None, old)
    c.crash(c.ids.index(new))  # type: ignore[arg-type]
    c.run_until(25.0)
    (last,) = c.live()
    assert c.machines[last].leader is None and c.machines[last].role is Role.FOLLOWER
    assert (last, (new,)) in c.callbacks("handleLeaderExited")


@pytest.mark.parametrize(("protocol", "gms"), [("riaps", 2), ("fixed", 3)])
def test_a_member_that_leaves_is_removed_by_the_others(protocol: str, gms: int) -> None:
    """Leave publishes mlt; every other member drops it at once and calls handleMemberLeft."""
    c = elect(protocol, 3, gms)
    assert c.ask(2, Leave()) is True
    c.run_until(c.now + 0.05)
    assert [c.machines[i].group_size for i in (0, 1)] == [2, 2]
    assert sorted(c.callbacks("handleMemberLeft")) == [(0, (c.ids[2],)), (1, (c.ids[2],))]


def _split_brain(protocol: str, gms: int) -> Cluster:
    c = Cluster(6, protocol=protocol, group_min_size=gms, seed=1)
    c.start()
    c.run_until(8.0)
    assert c.agreed_leader() is not None
    leader = c.leaders()[0]
    side_a = sorted([leader] + [i for i in range(6) if i != leader][:2])
    side_b = [i for i in range(6) if i not in side_a]
    c.partition(side_a, side_b)
    c.run_until(30.0)
    c.heal()
    c.run_until(45.0)
    return c


def test_riaps_keeps_two_leaders_of_different_terms_after_a_healed_split_brain() -> None:
    """riaps: a leader ignores an ldr of another term (B6), so both sides' leaders survive the heal."""
    c = _split_brain("riaps", 2)
    leaders = c.leaders()
    assert len(leaders) == 2
    assert len({c.machines[i].term for i in leaders}) == 2


def test_fixed_converges_to_one_leader_after_a_healed_split_brain() -> None:
    """fixed: no side of 3 out of 6 has a quorum; after the heal exactly one leader, one per term."""
    c = _split_brain("fixed", 6)
    assert c.agreed_leader() is not None
    assert all(len(nodes) == 1 for nodes in c.leaders_by_term().values())
