"""Every fault and its undo: partitions (hold, drop, one way), crash and restart, links, loss, duplication, clocks."""

from __future__ import annotations

import pytest
import simpy
import zmq

from riaps_sim.net import Crashed, Network

MS = 1e-3


def approx(t: float) -> object:
    return pytest.approx(t, abs=1e-12)


@pytest.fixture
def net() -> Network:
    net = Network(record=True)
    for name in "abc":
        net.add_host(name)
    return net


def connected_pubsub(net: Network, pub_host: str = "a", sub_host: str = "b"):
    pub = net.host(pub_host).context.socket(zmq.PUB)
    port = pub.bind_to_random_port(f"tcp://{net.host(pub_host).address}")
    sub = net.host(sub_host).context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(f"tcp://{net.host(pub_host).address}:{port}")
    net.run(until=net.now + 0.01)
    return pub, sub


def publish_every(net: Network, pub, period: float, count: int, start: float) -> None:
    def run():
        yield net.env.timeout(start - net.now)
        for i in range(count):
            pub.send_multipart([b"%d" % i])
            yield net.env.timeout(period)

    net.env.process(run())


def drain_with_times(net: Network, sub, until: float) -> list[tuple[float, bytes]]:
    got: list[tuple[float, bytes]] = []

    def reader():
        while net.now < until:
            ready = yield sub.readable_event(timeout_s=until - net.now)
            while ready and sub.poll(0):
                got.append((net.now, sub.recv_multipart()[0]))

    net.env.process(reader())
    net.run(until=until)
    return got


# -- partitions ---------------------------------------------------------------------------------------


def test_hold_partition_releases_in_order_on_heal(net: Network) -> None:
    """Hold mode (the default): messages wait through the partition and arrive in a burst, in order, on heal."""
    pub, sub = connected_pubsub(net)
    fault = net.partition(["a"], ["b"], at=0.02)
    fault.undo(at=0.06)
    publish_every(net, pub, 0.01, 8, start=0.015)  # sent at 15, 25, ..., 85 ms
    got = drain_with_times(net, sub, 0.2)
    assert [m for _t, m in got] == [b"%d" % i for i in range(8)]
    assert [t for t, _m in got] == [approx(x) for x in (0.016, 0.061, 0.061, 0.061, 0.061, 0.066, 0.076, 0.086)]
    assert (fault.applied_at, fault.undone_at) == (approx(0.02), approx(0.06))
    stats = net.statistics()
    assert stats.dropped == {} and stats.delivered == 8 and stats.balanced


def test_hold_partition_counts_held_messages_as_in_flight(net: Network) -> None:
    """While held, messages are in flight (held), not dropped: the accounts balance mid-partition."""
    pub, sub = connected_pubsub(net)
    net.partition(["a"], ["b"])
    pub.send_multipart([b"x"])
    net.run(until=net.now + 0.1)
    stats = net.statistics()
    assert (stats.held, stats.in_flight, stats.balanced) == (1, 1, True)
    net.heal()
    net.run(until=net.now + 0.01)
    assert sub.recv_multipart() == [b"x"]


def test_drop_partition_drops_with_cause(net: Network) -> None:
    """Drop mode: what crosses the partition is dropped as 'partition'; after heal traffic flows again."""
    pub, sub = connected_pubsub(net)
    fault = net.partition("b", mode="drop")  # one group: b against everyone else
    publish_every(net, pub, 0.01, 3, start=net.now)
    net.run(until=net.now + 0.05)
    assert not sub.poll(0)
    fault.undo()
    pub.send_multipart([b"after"])
    net.run(until=net.now + 0.01)
    assert sub.recv_multipart() == [b"after"]
    assert net.statistics().dropped == {"partition": 3}


def test_one_way_partition_blocks_only_one_direction(net: Network) -> None:
    """A one-way partition from a to b stops a's messages to b but not b's to a."""
    pub_a, sub_b = connected_pubsub(net, "a", "b")
    pub_b, sub_a = connected_pubsub(net, "b", "a")
    net.partition(["a"], ["b"], one_way=True, mode="drop")
    pub_a.send_multipart([b"a to b"])
    pub_b.send_multipart([b"b to a"])
    net.run(until=net.now + 0.01)
    assert sub_a.recv_multipart() == [b"b to a"]
    assert not sub_b.poll(0)
    assert net.statistics().dropped == {"partition": 1}


def test_connection_cannot_be_set_up_across_a_partition(net: Network) -> None:
    """A connect during a partition keeps retrying and comes up at the first retry after heal."""
    router = net.host("a").context.socket(zmq.ROUTER)
    router.bind("tcp://10.0.0.1:5000")
    net.partition(["a"], ["b"])
    dealer = net.host("b").context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.IDENTITY, b"d")
    dealer.connect("tcp://10.0.0.1:5000")
    dealer.send_multipart([b"knock"])
    net.heal(at=0.25)
    arrived = router.readable_event()
    net.run(until=arrived)
    # SYNs leave at 0, 101, 202 ms and are blocked on arrival (1, 102, 203 ms); each retry follows 100 ms after.
    # The one at 303 ms gets through: server up at 304, client up at 305, the queued message lands at 306.
    assert net.now == approx(0.306)
    assert router.recv_multipart() == [b"d", b"knock"]


def test_partition_arguments_are_checked(net: Network) -> None:
    """Unknown hosts, a host on two sides, a bad mode and a one-way cut of three groups are refused."""
    with pytest.raises(KeyError, match="no host 'zz'"):
        net.partition(["a"], ["zz"])
    with pytest.raises(ValueError, match="in two partition groups"):
        net.partition(["a", "b"], ["b"])
    with pytest.raises(ValueError, match="'hold' or 'drop'"):
        net.partition(["a"], ["b"], mode="lose")
    with pytest.raises(ValueError, match="exactly two groups"):
        net.partition(["a"], ["b"], ["c"], one_way=True)
    net.run(until=1.0)
    with pytest.raises(ValueError, match="already at 1.0 s"):
        net.partition(["a"], ["b"], at=0.5)


# -- crash and restart --------------------------------------------------------------------------------------


def test_crash_stops_processes_drops_traffic_and_restart_gives_a_fresh_context(net: Network) -> None:
    """A crashed host's processes stop, messages to it are lost as 'crash', its sockets are gone; restart starts afresh."""
    pub, sub = connected_pubsub(net)
    b = net.host("b")
    ticks: list[float] = []

    def heartbeat():
        while True:
            ticks.append(net.now)
            yield net.env.timeout(0.01)

    b.process(heartbeat())
    net.run(until=0.025)
    old_context = b.context
    fault = net.crash("b")
    pub.send_multipart([b"into the void"])
    net.run(until=0.05)
    assert ticks == [approx(t) for t in (0.01, 0.02)]
    assert not b.alive and sub.closed and old_context.closed
    assert net.statistics().dropped == {"crash": 1}
    with pytest.raises(RuntimeError, match="is crashed"):
        b.process(heartbeat())
    fault.undo()
    assert b.alive and b.context is not old_context and b.incarnation == 1
    new_sub = b.context.socket(zmq.SUB)
    new_sub.setsockopt(zmq.SUBSCRIBE, b"")
    new_sub.connect(pub.getsockopt(zmq.LAST_ENDPOINT).decode())
    net.run(until=0.07)
    pub.send_multipart([b"welcome back"])
    net.run(until=0.08)
    assert new_sub.recv_multipart() == [b"welcome back"]
    assert net.statistics().balanced


def test_peers_of_a_crashed_server_stay_half_open_then_reconnect_after_restart(net: Network) -> None:
    """A DEALER's messages to a crashed ROUTER are lost; after the restart and a new bind it reconnects."""
    router = net.host("a").context.socket(zmq.ROUTER)
    router.bind("tcp://10.0.0.1:5000")
    dealer = net.host("b").context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.IDENTITY, b"d")
    dealer.connect("tcp://10.0.0.1:5000")
    net.run(until=0.01)
    net.crash("a")
    dealer.send_multipart([b"lost"])
    net.run(until=0.02)
    net.restart("a")
    dealer.send_multipart([b"queued while reconnecting"])
    new_router = net.host("a").context.socket(zmq.ROUTER)
    new_router.bind("tcp://10.0.0.1:5000")
    net.run(until=0.5)
    assert new_router.recv_multipart() == [b"d", b"queued while reconnecting"]
    stats = net.statistics()
    assert stats.dropped == {"crash": 1} and stats.balanced


def test_crash_interrupt_reaches_a_process_that_wants_it(net: Network) -> None:
    """A host process may catch the crash (a simpy.Interrupt whose cause is Crashed) to record it."""
    seen = []

    def careful():
        try:
            yield net.env.timeout(1.0)
        except simpy.Interrupt as interrupt:
            seen.append(interrupt.cause)

    net.host("c").process(careful())
    net.crash("c", at=0.5)
    net.run(until=1.0)
    assert len(seen) == 1 and isinstance(seen[0], Crashed) and seen[0].host is net.host("c")


# -- links ------------------------------------------------------------------------------------------


def test_set_link_latency_and_undo(net: Network) -> None:
    """Raising a's link to 10 ms makes a to b take 10.5 ms; undo brings back 1 ms."""
    pub, sub = connected_pubsub(net)
    fault = net.set_link("a", "lan", latency=0.01)
    start = net.now
    pub.send_multipart([b"slow"])
    got = drain_with_times(net, sub, start + 0.05)
    assert got == [(approx(start + 0.0105), b"slow")]
    fault.undo()
    start = net.now
    pub.send_multipart([b"fast"])
    assert drain_with_times(net, sub, start + 0.05) == [(approx(start + 0.001), b"fast")]


def test_bandwidth_adds_serialisation_delay_and_queues(net: Network) -> None:
    """At 1 Mbit/s on both hops, a 1,250-byte message takes 10 ms per hop; the next one queues behind."""
    pub, sub = connected_pubsub(net)
    net.set_link("a", "lan", bandwidth=1e6)
    net.set_link("b", "lan", bandwidth=1e6)
    start = net.now
    pub.send_multipart([bytes(1250)])
    pub.send_multipart([bytes(1250)])
    got = drain_with_times(net, sub, start + 0.1)
    assert [t - start for t, _m in got] == [approx(0.021), approx(0.031)]


def test_loss_drops_with_cause_and_is_seeded(net: Network) -> None:
    """A loss rate of 1 loses everything as 'loss'; 0.5 loses a seeded, repeatable share."""
    pub, sub = connected_pubsub(net)
    net.set_loss("a", "lan", 1.0, one_way=True)
    pub.send_multipart([b"gone"])
    net.run(until=net.now + 0.01)
    assert not sub.poll(0) and net.statistics().dropped == {"loss": 1}

    def lost_share(seed: int) -> int:
        n = Network(seed=seed)
        n.add_host("a"), n.add_host("b")
        p, s = connected_pubsub(n)
        n.set_loss("a", "lan", 0.5)
        for i in range(200):
            p.send_multipart([b"%d" % i])
        n.run(until=n.now + 0.01)
        return n.statistics().dropped["loss"]

    assert lost_share(1) == lost_share(1)
    assert 70 < lost_share(1) < 130


def test_duplication_delivers_twice_and_balances(net: Network) -> None:
    """A duplication rate of 1 delivers every message twice; duplicates count as sent and as duplicated."""
    pub, sub = connected_pubsub(net)
    fault = net.set_duplication("a", "lan", 1.0)
    pub.send_multipart([b"twice"])
    net.run(until=net.now + 0.01)
    assert [sub.recv_multipart(), sub.recv_multipart()] == [[b"twice"], [b"twice"]]
    stats = net.statistics()
    assert (stats.sent, stats.duplicated, stats.delivered, stats.balanced) == (2, 1, 2, True)
    fault.undo()
    pub.send_multipart([b"once"])
    net.run(until=net.now + 0.01)
    assert sub.recv_multipart() == [b"once"] and not sub.poll(0)


def test_link_fault_arguments_are_checked(net: Network) -> None:
    """Rates outside [0, 1], missing edges and empty changes are refused with the remedy."""
    with pytest.raises(ValueError, match="between 0 and 1"):
        net.set_loss("a", "lan", 1.5)
    with pytest.raises(KeyError, match="no link from 'a' to 'b'"):
        net.set_loss("a", "b", 0.1)
    with pytest.raises(ValueError, match="latency= and/or bandwidth="):
        net.set_link("a", "lan")


# -- clocks -------------------------------------------------------------------------------------------


def test_clock_offset_and_drift_and_undo(net: Network) -> None:
    """A host's clock reads offset + rate * true time; undo restores the perfect clock."""
    a = net.host("a")
    fault = net.set_clock("a", offset=5.0, rate=1.001, at=1.0)
    net.run(until=2.0)
    assert a.clock() == approx(5.0 + 1.001 * 2.0)
    assert net.host("b").clock() == 2.0
    fault.undo(at=3.0)
    net.run(until=4.0)
    assert a.clock() == 4.0
    with pytest.raises(ValueError, match="rate must be > 0"):
        net.set_clock("a", rate=0)
    faults = [e for e in net.events if e[1] == "fault"]
    assert [(e[0], e[5].describe()) for e in faults] == [(1.0, "clock a offset=5.0 rate=1.001"), (3.0, "undo clock a offset=5.0 rate=1.001")]
