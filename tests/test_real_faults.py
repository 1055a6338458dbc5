"""Faults in the real world: the message-level fault layer on real ZeroMQ, and faulted real runs.

The layer tests use real sockets on loopback, each "node" on its own 127.0.0.x address, and a
``RealDriver`` loop to receive, so the driver's wake-ups for held and delayed messages are tested
with them. Waits are on conditions with generous deadlines. The run tests start node processes
with ``RealRun.run`` and a ``FaultSchedule`` and check the merged trace afterwards.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq
from wallclock import deadline_s, slowdown

from riaps_sim.analysis import failovers
from riaps_sim.analysis.replay import parse_sides
from riaps_sim.component import Component
from riaps_sim.examples import Groupie
from riaps_sim.faults import ClockSkew, Crash, Delay, Duplicate, FaultSchedule, Heal, Loss, Partition, Restart
from riaps_sim.model import GroupType
from riaps_sim.net import Uniform
from riaps_sim.runtime.faultlayer import FaultContext, FaultSocket, LinkFaults, LinkProfile, source_endpoint
from riaps_sim.runtime.process import LEADER, NodePlan, RealRun, fault_text
from riaps_sim.runtime.real import RealDriver
from riaps_sim.trace import Kind, Trace

ADDRESSES = {"a": "127.0.0.11", "b": "127.0.0.12", "c": "127.0.0.13"}
DEADLINE_S = 10.0


class Receiver:
    """Node "b": a ROUTER proxy bound on b's address, received through a ``RealDriver`` loop."""

    def __init__(self, context: zmq.Context, seed: int = 1, profile: LinkProfile | None = None) -> None:
        self.drops: list[tuple[str, str]] = []
        self.faults = LinkFaults("b", ADDRESSES, random.Random(seed), on_drop=lambda cause, peer: self.drops.append((cause, peer)), profile=profile)
        self.context = FaultContext(context, self.faults, source_host=ADDRESSES["b"])
        self.socket = self.context.socket(zmq.ROUTER)
        self.port = self.socket.bind_to_random_port(f"tcp://{ADDRESSES['b']}")
        self.driver = RealDriver()
        self.got: list[tuple[str, bytes, float]] = []  # (sender identity, payload, monotonic time)
        self.driver.watch(self.socket, self._drain)

    def _drain(self) -> None:
        while True:
            try:
                identity, payload = self.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self.got.append((identity.decode(), payload, time.monotonic()))

    def run_until(self, condition, timeout_s: float = DEADLINE_S) -> bool:
        deadline = time.monotonic() + deadline_s(timeout_s)
        while time.monotonic() < deadline:
            if condition():
                return True
            self.driver.run_once(0.05)
        return condition()

    def run_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.driver.run_once(min(0.05, max(0.0, end - time.monotonic())))

    def payloads(self, sender: str) -> list[bytes]:
        return [p for s, p, _ in self.got if s == sender]


@pytest.fixture
def context() -> Iterator[zmq.Context]:
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def receiver(context: zmq.Context) -> Receiver:
    return Receiver(context)


def sender(context: zmq.Context, name: str, receiver: Receiver) -> zmq.Socket:
    """A plain DEALER of node *name*, connected from its own address to the receiver."""
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.IDENTITY, name.encode())
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(source_endpoint(f"tcp://{ADDRESSES['b']}:{receiver.port}", ADDRESSES[name]))
    return socket


def numbered(n: int, start: int = 0) -> list[bytes]:
    return [str(i).encode() for i in range(start, start + n)]


def test_no_fault_passes_through_and_stays_inactive(context: zmq.Context, receiver: Receiver) -> None:
    a = sender(context, "a", receiver)
    for payload in numbered(20):
        a.send(payload)
    assert receiver.run_until(lambda: len(receiver.got) == 20)
    assert receiver.payloads("a") == numbered(20)
    assert not receiver.faults.active and receiver.socket.held() == 0


def test_router_sees_the_source_bound_address_of_a_proxy(context: zmq.Context) -> None:
    """A proxy connects from its node's address, so a ROUTER can tell nodes apart on loopback."""
    router = context.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.12")
    proxy = FaultContext(context, LinkFaults("c", ADDRESSES), source_host="127.0.0.13").socket(zmq.DEALER)
    proxy.connect(f"tcp://127.0.0.12:{port}")
    proxy.send_multipart([b"hello"])
    assert router.poll(5000)
    frames = router.recv_multipart(copy=False)
    assert frames[0].get("Peer-Address") == "127.0.0.13"
    proxy.disconnect(f"tcp://127.0.0.12:{port}")
    proxy.close(0)
    router.close(0)


def test_hold_partition_releases_in_order_on_heal(context: zmq.Context, receiver: Receiver) -> None:
    a, c = sender(context, "a", receiver), sender(context, "c", receiver)
    receiver.faults.apply(Partition(at=0, sides=[["a"], ["b", "c"]]))
    for payload in numbered(50):
        a.send(payload)
        c.send(payload)
    assert receiver.run_until(lambda: len(receiver.payloads("c")) == 50), "c is on b's side and must pass"
    assert receiver.run_until(lambda: receiver.socket.held() == 50), "a's messages must arrive and be held"
    assert receiver.payloads("a") == []
    assert receiver.socket.due() is None, "held messages are not due before the heal"
    receiver.faults.apply(Heal(at=0))
    for payload in numbered(5, 50):
        a.send(payload)
    assert receiver.run_until(lambda: len(receiver.payloads("a")) == 55), "the driver must deliver what the heal released"
    assert receiver.payloads("a") == numbered(55)
    assert receiver.drops == [] and not receiver.faults.active


def test_drop_partition_loses_and_counts(context: zmq.Context, receiver: Receiver) -> None:
    a = sender(context, "a", receiver)
    receiver.faults.partition([["a"]], mode="drop")
    for payload in numbered(20):
        a.send(payload)
    assert receiver.run_until(lambda: receiver.faults.dropped["partition"] == 20)
    assert receiver.payloads("a") == [] and receiver.drops == [("partition", "a")] * 20
    receiver.faults.heal()
    a.send(b"after")
    assert receiver.run_until(lambda: receiver.payloads("a") == [b"after"])


def test_what_is_held_is_bounded(context: zmq.Context, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    from riaps_sim.runtime import faultlayer

    monkeypatch.setattr(faultlayer, "MAX_QUEUED", 5)
    a = sender(context, "a", receiver)
    receiver.faults.partition([["a"]])
    for payload in numbered(10):
        a.send(payload)
    assert receiver.run_until(lambda: receiver.faults.dropped["hwm"] == 5)
    receiver.faults.heal()
    assert receiver.run_until(lambda: len(receiver.got) == 5)
    assert receiver.payloads("a") == numbered(5), "the oldest are kept, as a full queue keeps them"


def test_one_way_partition_cuts_one_direction(context: zmq.Context, receiver: Receiver) -> None:
    """A one-way cut a -> b holds what b receives from a; at a, what comes from b passes."""
    cut = Partition(at=0, sides=[["a"], ["b"]], one_way=True)
    receiver.faults.apply(cut)
    at_a = LinkFaults("a", ADDRESSES)
    at_a.apply(cut)
    assert not at_a.active, "nothing from b to a is cut"
    assert receiver.faults.fates["127.0.0.11"].block == "hold"
    reverse = Partition(at=0, sides=[["b"], ["a"]], one_way=True)
    at_a.apply(reverse)
    assert at_a.fates["127.0.0.12"].block == "hold"
    a = sender(context, "a", receiver)
    a.send(b"held")
    assert receiver.run_until(lambda: receiver.socket.held() == 1)
    assert receiver.payloads("a") == []


def test_lone_side_is_cut_from_every_other_node(receiver: Receiver) -> None:
    at_c = LinkFaults("c", ADDRESSES)
    at_c.apply(Partition(at=0, sides=[["a"]]))
    assert set(at_c.fates) == {"127.0.0.11"}


def test_loss_rate_follows_the_seeded_generator(context: zmq.Context, receiver: Receiver) -> None:
    n, rate = 2000, 0.3
    a, c = sender(context, "a", receiver), sender(context, "c", receiver)
    receiver.faults.apply(Loss(at=0, a="a", b="b", rate=rate))
    for payload in numbered(n):
        a.send(payload)
    c.send(b"c is not lossy")
    draws = random.Random(1)  # the receiver's generator, replayed
    expected_lost = sum(draws.random() < rate for _ in range(n))
    assert receiver.run_until(lambda: len(receiver.payloads("a")) + receiver.faults.dropped["loss"] == n)
    assert receiver.faults.dropped["loss"] == expected_lost
    assert 0.2 * n < expected_lost < 0.4 * n
    got = receiver.payloads("a")
    assert got == sorted(got, key=int), "what is not lost stays in order"
    assert receiver.run_until(lambda: receiver.payloads("c") == [b"c is not lossy"])


def test_a_profile_loses_from_every_other_node_with_the_seeded_generator(context: zmq.Context) -> None:
    """A run's ``LinkProfile`` is in force from the start, on every peer, with no fault applied."""
    n, rate = 1000, 0.3
    receiver = Receiver(context, profile=LinkProfile(loss=rate))
    a = sender(context, "a", receiver)
    for payload in numbered(n):
        a.send(payload)
    draws = random.Random(1)
    expected_lost = sum(draws.random() < rate for _ in range(n))
    assert receiver.run_until(lambda: len(receiver.payloads("a")) + receiver.faults.dropped["loss"] == n)
    assert receiver.faults.dropped["loss"] == expected_lost and 0.2 * n < expected_lost < 0.4 * n
    assert {peer for cause, peer in receiver.drops} == {"a"} and {cause for cause, _ in receiver.drops} == {"loss"}
    got = receiver.payloads("a")
    assert got == sorted(got, key=int), "without reorder, what is not lost stays in order"


@pytest.mark.parametrize("reorder", [False, True])
def test_a_profile_latency_is_drawn_per_message_and_may_reorder(context: zmq.Context, reorder: bool) -> None:
    low, high, n = 0.05, 0.25, 100
    receiver = Receiver(context, profile=LinkProfile(Uniform(low, high), reorder=reorder))
    a = sender(context, "a", receiver)
    sent = {}
    for payload in numbered(n):
        sent[payload] = time.monotonic()
        a.send(payload)
    assert receiver.run_until(lambda: len(receiver.payloads("a")) == n)
    got = receiver.payloads("a")
    assert sorted(got, key=int) == numbered(n)
    assert all(at - sent[p] >= low for _, p, at in receiver.got), "a message came sooner than the profile's lowest latency"
    if reorder:
        assert got != numbered(n), "with reorder, 100 draws from 50..250 ms sent at once never overtook each other"
    else:
        assert got == numbered(n), "without reorder, messages of one peer stay in order (as over TCP)"


def test_duplicates_arrive_next_to_their_original(context: zmq.Context, receiver: Receiver) -> None:
    n, rate = 300, 0.5
    a = sender(context, "a", receiver)
    receiver.faults.apply(Duplicate(at=0, a="a", b="b", rate=rate))
    for payload in numbered(n):
        a.send(payload)
    draws = random.Random(1)
    expected = sum(draws.random() < rate for _ in range(n))
    assert receiver.run_until(lambda: len(receiver.payloads("a")) == n + expected)
    got = receiver.payloads("a")
    assert sorted(set(got), key=int) == numbered(n)
    assert [p for i, p in enumerate(got) if i == 0 or got[i - 1] != p] == numbered(n)
    assert receiver.faults.duplicated == expected


def test_delay_holds_each_message_at_least_the_delay(context: zmq.Context, receiver: Receiver) -> None:
    delay_s = 0.2 * slowdown()  # on a loaded machine, longer than the scheduling noise that would blur "not delayed"
    a, c = sender(context, "a", receiver), sender(context, "c", receiver)
    receiver.faults.apply(Delay(at=0, a="a", b="b", latency_s=delay_s))
    sent = {}
    for payload in numbered(10):
        sent[payload] = time.monotonic()
        a.send(payload)
        c.send(payload)
        receiver.run_for(0.01)  # receive as they come, so arrival times are not those of a late first look
    assert receiver.run_until(lambda: len(receiver.payloads("a")) == 10)
    assert receiver.payloads("a") == numbered(10)
    for who, payload, at in receiver.got:
        if who == "a":
            assert at - sent[payload] >= delay_s, f"message {payload!r} came {at - sent[payload]:.3f} s after it was sent"
    first_c = min(at for who, _p, at in receiver.got if who == "c")
    assert first_c - sent[b"0"] < delay_s, "messages from c are not delayed"
    receiver.faults.set_delay("a", 0)
    assert not receiver.faults.active


def test_link_faults_concern_their_receiving_ends() -> None:
    at_a, at_b = LinkFaults("a", ADDRESSES), LinkFaults("b", ADDRESSES)
    one_way = Loss(at=0, a="a", b="b", rate=0.5, one_way=True)
    assert at_b.apply(one_way) and not at_a.apply(one_way)
    assert at_a.apply(Loss(at=0, a="a", b="b", rate=0.5))
    assert at_a.fates["127.0.0.12"].loss == 0.5


def test_bad_values_are_refused_with_the_value_named() -> None:
    with pytest.raises(ValueError, match="share address"):
        LinkFaults("a", {"a": "127.0.0.1", "b": "127.0.0.1"})
    faults = LinkFaults("a", ADDRESSES)
    with pytest.raises(ValueError, match="1.5"):
        faults.set_loss("b", 1.5)
    with pytest.raises(ValueError, match="'zz'"):
        faults.set_delay("zz", 0.1)


def test_blocking_receive_and_poll_wait_for_a_delayed_message(context: zmq.Context, receiver: Receiver) -> None:
    a = sender(context, "a", receiver)
    receiver.faults.set_delay("a", 0.1)
    sent = time.monotonic()
    a.send(b"x")
    socket: FaultSocket = receiver.socket
    assert socket.poll(5000) == zmq.POLLIN
    assert time.monotonic() - sent >= 0.1
    assert socket.recv_multipart() == [b"a", b"x"]
    socket.setsockopt(zmq.RCVTIMEO, 50)
    with pytest.raises(zmq.Again):
        socket.recv_multipart()


def bracketed(read: Callable[[], float | None]) -> tuple[float, float, float]:
    """``(wall before, read(), wall after)``: what *read* returns lies between its neighbours however loaded the machine."""
    before = time.time()
    value = read()
    assert value is not None
    return before, value, time.time()


def test_clock_skew_offset_and_rate() -> None:
    t0 = time.time() - 10.0
    driver = RealDriver(t0_s=t0)
    assert driver.true_time() is None
    before, clock, after = bracketed(driver.clock)
    assert before <= clock <= after
    driver.set_clock(5.0, 2.0)
    before, clock, after = bracketed(driver.clock)
    assert t0 + 5.0 + 2.0 * (before - t0) - 1e-6 <= clock <= t0 + 5.0 + 2.0 * (after - t0) + 1e-6
    before, true, after = bracketed(driver.true_time)
    assert before <= true <= after
    fired: list[float] = []
    timer_s = 0.4 * slowdown()  # of the node's clock: at rate 2, half of it passes; longer than the noise on a loaded machine
    start = time.monotonic()
    driver.call_later(timer_s, lambda: fired.append(time.monotonic() - start))
    driver.run(until=lambda: bool(fired), duration_s=deadline_s(DEADLINE_S))
    assert fired and timer_s / 2 - 0.01 <= fired[0] < timer_s - 0.01, f"a {timer_s} s timer at rate 2 fired after {fired} s"
    with pytest.raises(ValueError, match="rate"):
        driver.set_clock(0.0, 0.0)


# -- the wording of faults in the trace ------------------------------------------------------------------


def test_faults_are_worded_as_the_simulation_words_them() -> None:
    nodes = ["n0", "n1", "n2"]
    lone = fault_text(Partition(at=0, sides=[["n1"]]), nodes)
    assert lone == "partition n1 | n0,n2 (hold)"
    assert parse_sides(lone) == [{"n1"}, {"n0", "n2"}]
    assert fault_text(Partition(at=0, sides=[["n0"], ["n1"]], mode="drop", one_way=True), nodes) == "partition n0 | n1 (drop, one-way)"
    assert [fault_text(f, nodes) for f in (Heal(at=0), Crash(at=0, node="n1"), Restart(at=0, node="n1"))] == ["heal", "crash n1", "restart n1"]
    assert fault_text(ClockSkew(at=0, node="n2", offset_s=0.5, rate=1.0), nodes) == "clock n2 offset=0.5 rate=1.0"
    assert fault_text(Loss(at=0, a="n0", b="n1", rate=0.3), nodes) == "link n0<->n1 loss=0.3"


# -- real runs with a fault schedule ------------------------------------------------------------------------


class DiesAtOnce(Component):
    """A component whose process exits with code 3 when it is activated (a node that dies on its own)."""

    def handleActivate(self) -> None:
        import os

        os._exit(3)


def node_of(trace: Trace, member_hex: str) -> str:
    return next(e.node for e in trace.select(kind=Kind.GROUP_JOINED) if e.peer == member_hex)


def faults_of(trace: Trace) -> list[str]:
    return [e.detail or "" for e in trace.select(kind=Kind.FAULT)]


@pytest.mark.slow
def test_leader_partitioned_away_is_replaced_on_the_majority_side(tmp_path) -> None:
    """5 Groupie processes on loopback; the leader is cut off at 8 s (hold) and healed at 16 s, 24 s in all."""
    run = RealRun([GroupType(name="TheGroup")], tmp_path, seed=5)
    for i in range(5):
        run.add_node(NodePlan(f"n{i}", f"127.0.0.{i + 1}", {"groupie": (Groupie, {})}))
    trace = run.run(24.0, FaultSchedule([Partition(at=8.0, sides=[[LEADER]]), Heal(at=16.0)]))
    faults = faults_of(trace)
    assert len(faults) == 2 and faults[0].startswith("partition ") and faults[0].endswith(" (hold)") and faults[1] == "heal", faults
    cut_off = faults[0].split()[1]
    (failover,) = [f for f in failovers(trace) if f.cause.startswith("partition")]
    assert failover.new_leader is not None, f"no new leader after the partition: {failover}"
    assert node_of(trace, failover.old_leader) == cut_off
    assert node_of(trace, failover.new_leader) != cut_off, "the new leader must be on the majority side"
    assert failover.duration is not None and failover.duration < 8.0
    assert not trace.select(kind=Kind.ERROR), list(trace.select(kind=Kind.ERROR))
    assert run.processes and not any(p.is_alive() for p in run.processes.values())


@pytest.mark.slow
def test_every_kind_of_fault_reaches_the_node_processes(tmp_path) -> None:
    """Loss, clock skew, a drop partition, a crash and a restart (which catches up on the partition), a heal.

    On a loaded machine the schedule runs slower (times *stretch*), so that the restarted process is up before the heal."""
    stretch = slowdown()
    run = RealRun([GroupType(name="TheGroup")], tmp_path, seed=2)
    for i in range(3):
        run.add_node(NodePlan(f"n{i}", f"127.0.0.{i + 21}", {"groupie": (Groupie, {})}))
    schedule = FaultSchedule(
        [
            Loss(at=1.0 * stretch, a="n0", b="n1", rate=0.5, one_way=True),
            ClockSkew(at=1.0 * stretch, node="n2", offset_s=100.0),
            Partition(at=3.0 * stretch, sides=[["n0"], ["n1", "n2"]], mode="drop"),
            Crash(at=4.0 * stretch, node="n1"),
            Restart(at=5.0 * stretch, node="n1"),
            Heal(at=7.0 * stretch),
        ]
    )
    trace = run.run(8.5 * stretch, schedule)
    assert faults_of(trace) == [
        "link n0->n1 loss=0.5",
        "clock n2 offset=100.0 rate=1.0",
        "partition n0 | n1,n2 (drop)",
        "crash n1",
        "restart n1",
        "heal",
    ]
    t0 = 0.0  # real traces count from the run's time 0, as simulated ones do
    assert run.t0 is not None and all(e.when < 60.0 for e in trace)
    drops = trace.select(kind=Kind.DROP)
    lost = [e for e in drops if e.detail == "loss"]
    assert lost and {(e.node, e.peer) for e in lost} == {("n1", "n0")}
    cut = [e for e in drops if e.detail == "partition"]
    assert {(e.node, e.peer) for e in cut} >= {("n1", "n0"), ("n2", "n0"), ("n0", "n1"), ("n0", "n2")}
    assert all(t0 + 3.0 * stretch <= e.when <= t0 + 7.5 * stretch for e in cut)
    restarted = [e for e in cut if e.node == "n1" and e.when > t0 + 5.0 * stretch]
    assert restarted, "the restarted n1 must apply the standing partition"
    skewed = [e for e in trace.select(node="n2") if e.true_time is not None]
    assert skewed and all(abs(e.time - e.true_time - 100.0) < 0.5 for e in skewed)  # type: ignore[operator]
    started = [e for e in trace.select(kind=Kind.TIMER, node="n1") if e.detail == "node started"]
    assert len(started) == 2
    assert not trace.select(kind=Kind.ERROR)


@pytest.mark.slow
def test_a_node_that_dies_on_its_own_is_reported_not_waited_on(tmp_path) -> None:
    run = RealRun([GroupType(name="TheGroup")], tmp_path, seed=1)
    run.add_node(NodePlan("n0", "127.0.0.31", {"groupie": (Groupie, {})}))
    run.add_node(NodePlan("n1", "127.0.0.32", {"dies": (DiesAtOnce, {})}))
    started = time.monotonic()
    trace = run.run(4.0)
    assert time.monotonic() - started < deadline_s(20.0)
    errors = [(e.node, e.detail) for e in trace.select(kind=Kind.ERROR)]
    assert errors == [("n1", "process died: exit code 3")]
    assert trace.select(kind=Kind.TIMER, node="n0"), "the other node ran"


def test_run_refuses_bad_arguments_with_the_value_named(tmp_path) -> None:
    run = RealRun([GroupType(name="TheGroup")], tmp_path)
    with pytest.raises(ValueError, match="no nodes"):
        run.run(1.0)
    run.add_node(NodePlan("n0", "127.0.0.1"))
    run.add_node(NodePlan("n1", "127.0.0.1"))
    with pytest.raises(ValueError, match="'n9'"):
        run.run(1.0, FaultSchedule([Crash(at=0.5, node="n9")]))
    with pytest.raises(ValueError, match="share address"):
        run.run(1.0, FaultSchedule([Loss(at=0.5, a="n0", b="n1", rate=0.1)]))
    with pytest.raises(ValueError, match="-1"):
        run.run(-1)
    with pytest.raises(ValueError, match="'bridge'"):
        RealRun([GroupType(name="TheGroup")], tmp_path, isolation="bridge")
    with pytest.raises(RuntimeError, match="run"):
        RealRun([GroupType(name="TheGroup")], tmp_path, isolation="netns").start(1.0)


PAUSED_SCRIPT = """
import sys
from riaps_sim.examples import Groupie
from riaps_sim.faults import FaultSchedule, Pause
from riaps_sim.model import GroupType
from riaps_sim.runtime.process import NodePlan, RealRun

run = RealRun([GroupType(name="TheGroup")], sys.argv[1])
for i in range(2):
    run.add_node(NodePlan(f"n{i}", f"127.0.0.{i + 51}", {"groupie": (Groupie, {})}))
run.run(60.0, FaultSchedule([Pause(at=0.5, node="n0", duration_s=60.0)]))
"""


def _children(pid: int) -> list[int]:
    """Pids of the node processes whose parent is *pid*."""
    out = []
    for entry in Path("/proc").iterdir():
        try:
            ours = entry.name.isdigit() and b"riaps_sim.runtime.nodeproc" in (entry / "cmdline").read_bytes()
            if ours and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
        except OSError:
            continue
    return out


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux's")
def test_a_paused_node_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    """SIGKILL of the parent while a node is paused (SIGSTOP): the kernel resumes it, and every node ends."""
    script = tmp_path / "paused.py"
    script.write_text(PAUSED_SCRIPT, encoding="utf-8")
    out = tmp_path / "out"
    parent = subprocess.Popen([sys.executable, str(script), str(out)])
    nodes: list[int] = []
    try:
        deadline = time.monotonic() + 60.0
        while not ((out / "faults.jsonl").exists() and "pause n0" in (out / "faults.jsonl").read_text()):
            assert time.monotonic() < deadline and parent.poll() is None, "the pause was never applied"
            time.sleep(0.1)
        nodes = _children(parent.pid)
        assert len(nodes) == 2
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 60.0
        while not all(_gone(pid) for pid in nodes) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(pid) for pid in nodes), "a node outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in nodes + _children(parent.pid):  # never leave a stopped node behind, even when the test fails
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
