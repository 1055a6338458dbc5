"""Malformed input never kills a member: hypothesis throws bad frames at live members in both worlds.

A rogue peer's PUB is connected into every member's sub port and a rogue DEALER into the
leader's ans port; they send frame lists that do not decode (wrong frame count, unknown command,
wrong payload length, corrupt Cap'n Proto). Afterwards every member still heartbeats, nothing
crashed, and when the leader dies the others still elect a new one.
"""

from __future__ import annotations

import time

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wallclock import deadline_s

from riaps_sim.analysis import check_all
from riaps_sim.coord.errors import WireError
from riaps_sim.coord.wire import Code, decode
from riaps_sim.discovery import Directory
from riaps_sim.examples import Groupie
from riaps_sim.model import GroupType
from riaps_sim.runtime import Node
from riaps_sim.runtime.nodeproc import close_context  # libzmq's term can hang (zeromq/libzmq#2586): bounded
from riaps_sim.runtime.real import RealDriver
from riaps_sim.runtime.sim import Simulation
from riaps_sim.trace import Kind, Trace

CODES = [c.value for c in Code]


def is_malformed(frames: list[bytes]) -> bool:
    if len(frames) != 2:
        return True
    try:
        decode(frames[0], frames[1])
    except WireError:
        return True
    return False


FRAME_LISTS = st.lists(
    st.tuples(st.sampled_from(CODES) | st.binary(max_size=4), st.lists(st.binary(max_size=48), max_size=3))
    .map(lambda t: [t[0], *t[1]])
    .filter(is_malformed),
    min_size=1,
    max_size=12,
)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def leaders_of(nodes: list[Node]) -> list[str]:
    return [n.name for n in nodes if n.members and n.members[0].machine.is_leader]


def heartbeats_after(trace: Trace, node: str, since: float) -> int:
    return sum(1 for e in trace.select(kind=Kind.SEND, node=node) if e.detail == "tic" and e.when > since)


@pytest.mark.slow
def test_simulated_members_survive_malformed_frames() -> None:
    """In simulation, members keep heartbeating and electing after any run of malformed frames."""
    sim = Simulation([GroupType(name="TheGroup")], seed=11, trace_all=True)  # heartbeats_after reads tic rows
    for i in range(4):
        sim.add_node(f"n{i}", {"groupie": Groupie})
    sim.network.add_host("rogue")
    sim.run(until=10)
    nodes = list(sim.nodes.values())
    (leader,) = leaders_of(nodes)
    rogue = sim.network.host("rogue").context
    pub = rogue.socket(zmq.PUB)
    port = pub.bind_to_random_port(f"tcp://{sim.network.host('rogue').address}")
    for node in nodes:
        node.members[0].sub.update(sim.network.host("rogue").address, port)
    dealer = rogue.socket(zmq.DEALER)
    ans = sim.nodes[leader].members[0].ans
    dealer.connect(f"tcp://{sim.nodes[leader].host}:{ans.getPortNumber()}")
    sim.run(until=sim.now + 0.5)

    @SETTINGS
    @given(garbage=FRAME_LISTS)
    def throw(garbage: list[list[bytes]]) -> None:
        start = sim.now
        for frames in garbage:
            pub.send_multipart(frames)
            dealer.send_multipart(frames)
        sim.run(until=start + 1.5)
        assert leaders_of(nodes) == [leader]
        for node in nodes:
            assert heartbeats_after(sim.trace, node.name, start) >= 1
            assert node.members[0].machine.group_size == 4

    throw()
    assert sim.trace.counts().get("drop", 0) > 0
    assert check_all(sim.trace) == []
    sim.network.crash(leader)
    sim.run(until=sim.now + 15)
    survivors = [n for n in nodes if n.name != leader]
    assert len(leaders_of(survivors)) == 1


@pytest.mark.slow
def test_real_members_survive_malformed_frames() -> None:
    """On real ZeroMQ, members keep heartbeating and electing after any run of malformed frames."""
    context = zmq.Context()
    driver, directory, trace = RealDriver(), Directory(), Trace()
    # 'fixed', so that a re-election forced by a stall of this loaded machine ends with one leader
    types = {"TheGroup": GroupType(name="TheGroup", protocol="fixed")}
    nodes = []
    for i in range(4):
        node = Node(f"n{i}", f"127.0.0.{i + 1}", context, driver, types, directory, trace, seed=5, incarnation=i)
        node.add(Groupie(min_size=4), "groupie")
        nodes.append(node)
    for node in nodes:
        node.start()
    deadline = time.monotonic() + deadline_s(30)
    while len(leaders_of(nodes)) != 1 and time.monotonic() < deadline:
        driver.run_once(0.05)
    (leader,) = leaders_of(nodes)
    pub = context.socket(zmq.PUB)
    port = pub.bind_to_random_port("tcp://127.0.0.9")
    for node in nodes:
        node.members[0].sub.update("127.0.0.9", port)
    dealer = context.socket(zmq.DEALER)
    leader_node = next(n for n in nodes if n.name == leader)
    dealer.connect(f"tcp://{leader_node.host}:{leader_node.members[0].ans.getPortNumber()}")
    driver.run(duration_s=0.5)

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(garbage=FRAME_LISTS)
    def throw(garbage: list[list[bytes]]) -> None:
        start = time.time()
        for frames in garbage:
            pub.send_multipart(frames)
            dealer.send_multipart(frames)
        everyone_beat = lambda: all(heartbeats_after(trace, n.name, start) >= 1 for n in nodes)  # noqa: E731
        driver.run(until=everyone_beat, duration_s=deadline_s(15.0))
        assert everyone_beat(), "a member stopped heartbeating after malformed input"
        driver.run(until=lambda: len(leaders_of(nodes)) == 1, duration_s=deadline_s(15.0))
        assert len(leaders_of(nodes)) == 1

    try:
        throw()
        assert trace.counts().get("drop", 0) > 0
        assert check_all(trace) == []
        leader_node.crash()
        survivors = [n for n in nodes if n is not leader_node]
        deadline = time.monotonic() + deadline_s(30)
        while len(leaders_of(survivors)) != 1 and time.monotonic() < deadline:
            driver.run_once(0.05)
        assert len(leaders_of(survivors)) == 1
    finally:
        for node in nodes:
            node.stop()
        pub.close(0)
        dealer.close(0)
        close_context(context, timeout_s=5.0)
