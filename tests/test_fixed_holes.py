"""``fixed`` without the holes found from outside: a restarted member keeps its quorum, a poll ends
for its requester by its deadline, and a member is told each poll's result once. Simulation, many seeds."""

from __future__ import annotations

from typing import Any

import pytest
import zmq

from riaps_sim import Component, GroupType, Scenario, run_scenario
from riaps_sim.analysis.checks import check_run, check_safety, one_leader_per_incarnation_term
from riaps_sim.coord import Heartbeat, LeaderAnnounce, Persist, encode
from riaps_sim.coord.fixed import MAX_TERM_STEP
from riaps_sim.examples import Groupie
from riaps_sim.faults import CRASHED, Crash, Duplicate, Heal, Partition, Restart
from riaps_sim.runtime import Node
from riaps_sim.runtime.sim import Simulation
from riaps_sim.scenario import NodeSpec

FIXED = GroupType(name="TheGroup", protocol="fixed")
NODES = ("n0", "n1", "n2", "n3", "n4")


def _leader_at(seed: int, until: float = 9.0) -> str:
    """The leader a fault-free run of five agrees on by *until* (the same seed replays it)."""
    probe = run_scenario(Scenario.group_of(5, Groupie, group=FIXED, duration=until), seed=seed)
    return max((e.when, e.node) for e in probe.trace.select(kind="state") if e.detail == "leader")[1]


@pytest.mark.slow
def test_a_minority_member_restarted_during_a_partition_does_not_elect_itself_with_group_min_size_2() -> None:
    """The group was seen whole; two members are cut off and one of them restarts. It still counts a majority
    of five (its configuration is durable), so the minority never elects and no term has two leaders."""
    for seed in range(20):
        leader = _leader_at(seed)
        others = [n for n in NODES if n != leader]
        minority, majority = others[:2], [leader, *others[2:]]
        faults = [Partition(at=10.0, sides=[minority, majority]), Crash(at=12.0, node=minority[0]), Restart(at=13.0, node=CRASHED), Heal(at=30.0)]
        trace = run_scenario(Scenario.group_of(5, Groupie, group=FIXED, faults=faults, duration=35.0), seed=seed).trace
        assert one_leader_per_incarnation_term(trace) == [], f"seed {seed}"
        cut_off_leaders = {e.node for e in trace.select(kind="state") if e.detail == "leader" and 10.0 < e.when < 30.0 and e.node in minority}
        assert cut_off_leaders == set(), f"seed {seed}: {cut_off_leaders} elected in the minority"
        restarted = [e for e in trace.select(kind="group_joined", node=minority[0]) if e.when >= 13.0]
        assert restarted, f"seed {seed}: the restarted member never joined again"


class Asker(Component):
    """Asks the group one vote at *ask_at* (node clock) with *timeout_ms*, if it has a leader; records every result told."""

    def __init__(self, ask_at: float | None = None, timeout_ms: float = 2000.0, ballot: bool = True) -> None:
        super().__init__()
        self.ask_at, self.timeout_ms, self.ballot = ask_at, timeout_ms, ballot
        self.group: Any = None
        self.asked: list[tuple[float, str]] = []
        self.told: list[tuple[float, str, str]] = []

    def handleActivate(self) -> None:
        self.group = self.joinGroup("TheGroup", "g1", 5)
        if self.ask_at is not None:
            self.after(max(0.0, self.ask_at - self.clock()), self._ask)

    def _ask(self) -> None:
        rfv = self.group.requestVote(b"proposal", timeout=self.timeout_ms)
        if rfv is not None:
            self.asked.append((self.clock(), rfv))

    def handleVoteRequest(self, group: Any, rfvId: str) -> None:
        group.recv()
        group.sendVote(rfvId, self.ballot)

    def handleVoteResult(self, group: Any, rfvId: str, vote: str) -> None:
        self.told.append((self.clock(), rfvId, str(vote)))


def _scenario(asker: str, faults: list[Any], duration: float, seed: int, ask_at: float = 10.5) -> Scenario:
    nodes = tuple(NodeSpec(n, {"member": (Asker, {"ask_at": ask_at} if n == asker else {})}) for n in NODES)
    return Scenario("polls", (FIXED,), nodes, faults=tuple(faults), duration=duration, seed=seed)


def _results(trace: Any, rfv: str) -> list[tuple[float, str, str]]:
    """(when, node, result) of every result a component was told for poll *rfv*."""
    return [(e.when, e.node, e.detail) for e in trace.select(kind="vote_announced") if e.component and e.msg_id == rfv]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hold", "drop"])
def test_a_request_cut_off_from_the_leader_ends_in_timeout_at_its_deadline_and_is_never_decided_later(mode: str) -> None:
    """The requester is cut off from the leader (hold: its request reaches the leader at the heal, 19 s late).
    It is told ``timeout`` at its 2 s deadline, once; nobody is told ``yes``."""
    for seed in range(5):
        leader = _leader_at(seed)
        asker = next(n for n in NODES if n != leader)
        faults = [Partition(at=10.0, sides=[[asker], [n for n in NODES if n != asker]], mode=mode), Heal(at=30.0)]
        trace = run_scenario(_scenario(asker, faults, 40.0, seed)).trace
        asked = [e.msg_id for e in trace.select(kind="vote_requested", node=leader)] + [
            e.msg_id for e in trace.select(kind="vote_announced", node=asker) if e.component
        ]
        assert asked, f"seed {seed}: no trace of the poll at the leader or the requester (never asked, or never ended)"
        rfv = asked[-1]
        told = _results(trace, rfv)
        mine = [(when, result) for when, node, result in told if node == asker]
        assert len(mine) == 1 and mine[0][1] == "timeout", f"seed {seed}: {told}"
        assert 12.5 - 1e-6 <= mine[0][0] <= 12.5 + 1e-3, f"seed {seed}: told at {mine[0][0]}, the deadline was 12.5"
        assert "yes" not in {result for _, _, result in told}, f"seed {seed}: decided after the requester's deadline: {told}"
        assert [e.node for e in trace.select(kind="vote_expired") if e.msg_id == rfv] == [asker]
        assert check_safety(trace) == [], f"seed {seed}: the requester's own timeout is no leader's announcement"


@pytest.mark.slow
def test_a_duplicated_announcement_tells_each_member_the_result_once() -> None:
    """Every message between the leader and each member is duplicated; each member is told each poll's result once."""
    for seed in range(5):
        leader = _leader_at(seed)
        asker = next(n for n in NODES if n != leader)
        faults = [Duplicate(at=9.5, a=leader, b=n, rate=1.0) for n in NODES if n != leader]
        trace = run_scenario(_scenario(asker, faults, 20.0, seed)).trace
        told = [(e.node, e.msg_id) for e in trace.select(kind="vote_announced") if e.component]
        assert told, f"seed {seed}: no result was told"
        assert len(told) == len(set(told)), f"seed {seed}: told twice: {sorted(told)}"
        assert {e.node for e in trace.select(kind="vote_announced") if e.component} == set(NODES), f"seed {seed}: not everyone was told"
        dropped = [e for e in trace.select(kind="drop") if "second result" in (e.detail or "")]
        assert dropped, f"seed {seed}: no duplicate announcement reached a member (the fault did nothing)"
        assert check_run(trace, (FIXED,), end=20.0).violations == [], f"seed {seed}"


# ---------------------------------------------------------------------- a rogue member: forged term, heartbeat flood


def _rogue_world(seed: int) -> tuple[Simulation, Any, list[Node]]:
    """Five ``fixed`` members (``groupMinSize`` 5) with a leader at 10 s, and a rogue PUB connected into every sub port."""
    sim = Simulation([GroupType(name="TheGroup", protocol="fixed")], seed=seed)
    for i in range(5):
        sim.add_node(f"n{i}", {"groupie": lambda: Groupie(min_size=5)})
    sim.network.add_host("rogue")
    sim.run(until=10)
    nodes = list(sim.nodes.values())
    assert sum(n.members[0].machine.is_leader for n in nodes) == 1
    rogue = sim.network.host("rogue")
    pub = rogue.context.socket(zmq.PUB)
    port = pub.bind_to_random_port(f"tcp://{rogue.address}")
    for node in nodes:
        node.members[0].sub.update(rogue.address, port)
    sim.run(until=sim.now + 0.5)
    return sim, pub, nodes


def _leaders(nodes: list[Node]) -> list[tuple[str, int]]:
    return [(n.name, n.members[0].machine.term) for n in nodes if n.members[0].machine.is_leader]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_one_forged_leader_announcement_of_a_huge_term_does_not_stop_the_group(seed: int) -> None:
    """A stray ``ldr`` of term 2**32 - 2 is dropped (more than MAX_TERM_STEP ahead): terms stay put, the leader leads on,
    and when it crashes the others elect again."""
    sim, pub, nodes = _rogue_world(seed)
    (before,) = _leaders(nodes)
    pub.send_multipart(list(encode(LeaderAnnounce(term=2**32 - 2, leader=b"\x66" * 16, host="10.9.9.9", port=9999))))
    sim.run(until=sim.now + 5)
    assert _leaders(nodes) == [before]
    assert max(n.members[0].machine.term for n in nodes) < MAX_TERM_STEP
    drops = [e for e in sim.trace.select(kind="drop") if "terms ahead" in (e.detail or "")]
    assert len(drops) == 5, drops
    sim.network.crash(before[0])
    sim.run(until=sim.now + 15)
    survivors = [n for n in nodes if n.name != before[0]]
    assert len(_leaders(survivors)) == 1


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_a_one_second_heartbeat_flood_from_200_made_up_ids_does_not_grow_the_quorum(seed: int) -> None:
    """``tic``s from 200 made-up ids, ten times each over one second, fill the live view for a while but never the
    configuration; the quorum stays 3 and, when the leader crashes after the flood, the others elect again."""
    sim, pub, nodes = _rogue_world(seed)
    (before,) = _leaders(nodes)
    fakes = [bytes([10, 0, 9, 9]) + i.to_bytes(12, "big") for i in range(200)]
    for _ in range(10):
        for fake in fakes:
            pub.send_multipart(list(encode(Heartbeat(member=fake))))
        sim.run(until=sim.now + 0.1)
    assert all(n.members[0].machine.group_size > 100 for n in nodes), "the flood did not reach the members"
    assert all(n.members[0].machine.quorum == 3 for n in nodes)  # type: ignore[attr-defined]
    sim.run(until=sim.now + 5)  # the made-up ids age out of view
    assert all(n.members[0].machine.group_size == 5 for n in nodes)
    sim.network.crash(before[0])
    sim.run(until=sim.now + 15)
    survivors = [n for n in nodes if n.name != before[0]]
    assert len(_leaders(survivors)) == 1


def test_a_member_joins_the_configuration_once_heard_over_one_and_a_half_heartbeats() -> None:
    """One ``tic`` (or a burst) does not make a member part of the quorum; ``tic``s 1.5 heartbeats apart do."""
    import random

    from riaps_sim.coord import Join, make_machine

    me, other = b"\x0a" * 16, b"\x0b" * 16
    m = make_machine("fixed", member_id=me, rng=random.Random(0), group_min_size=2)
    m.handle(Join(), 0.0)
    m.handle(Heartbeat(member=me), 0.0)
    for at in (0.0, 0.5, 1.0, 1.4):
        m.handle(Heartbeat(member=other), at)
    assert set(m.configuration.values()) == {me}  # type: ignore[attr-defined]
    out = m.handle(Heartbeat(member=other), 1.5)
    assert set(m.configuration.values()) == {me, other}  # type: ignore[attr-defined]
    assert isinstance(out[0], Persist) and out[0].configuration == tuple(sorted((me, other)))


def test_a_result_told_twice_breaks_the_promise_of_fixed_and_not_of_riaps() -> None:
    """``one_result_per_poll`` is judged from the trace for protocols that promise it, by what the class promises."""
    from riaps_sim.analysis.checks import one_result_per_poll
    from riaps_sim.trace import Kind, Trace

    trace = Trace()
    for at in (3.0, 3.2):  # n1's component told poll P's result twice
        trace.record(at, at, "n1", "member", "TheGroup.g1", Kind.VOTE_ANNOUNCED, msg_id="P", detail="yes")
    trace.record(3.1, 3.1, "n2", "member", "TheGroup.g1", Kind.VOTE_ANNOUNCED, msg_id="P", detail="yes")
    (twice,) = one_result_per_poll(trace, {"TheGroup": "fixed"})
    assert twice.invariant == "one_result_per_poll" and twice.nodes == ("n1",) and twice.time == 3.2
    assert one_result_per_poll(trace, {"TheGroup": "riaps"}) == []
