"""Determinism (one seed, one run, event for event, in any process) and conservation of messages."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import zmq

from riaps_sim.net import LogNormal, Network, Uniform

HERE = Path(__file__).parent


def chaos(seed: int, until: float = 3.0) -> Network:
    """Six hosts on two switches, random latencies, loss, duplication, a partition, a crash: a busy run."""
    g = nx.Graph()
    g.add_node("s1", switch=True)
    g.add_node("s2", switch=True)
    g.add_edge("s1", "s2", latency=LogNormal(0.002, 0.6))
    for i in range(6):
        g.add_edge(f"h{i}", "s1" if i < 3 else "s2", latency=Uniform(0.0002, 0.002), loss=0.02, duplication=0.01)
    net = Network(graph=g, seed=seed, record=True)
    hosts = [net.host(f"h{i}") for i in range(6)]
    pubs, subs = [], []
    for host in hosts:
        pub = host.context.socket(zmq.PUB)
        port = pub.bind_to_random_port(f"tcp://{host.address}")
        pubs.append((pub, f"tcp://{host.address}:{port}"))
    for host in hosts:
        sub = host.context.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        for _pub, endpoint in pubs:
            sub.connect(endpoint)
        subs.append(sub)
    router = hosts[0].context.socket(zmq.ROUTER)
    router.bind(f"tcp://{hosts[0].address}:7000")
    dealers = []
    for host in hosts[1:]:
        dealer = host.context.socket(zmq.DEALER)
        dealer.setsockopt(zmq.IDENTITY, host.name.encode())
        dealer.connect(f"tcp://{hosts[0].address}:7000")
        dealers.append(dealer)

    def member(i: int):
        host, (pub, _endpoint), sub = hosts[i], pubs[i], subs[i]
        while True:
            yield net.env.timeout(host.random.uniform(0.005, 0.05))
            while sub.poll(0):
                sub.recv_multipart()
            pub.send_multipart([b"hb", b"%d" % i])
            if i > 0 and host.random.random() < 0.3:
                try:
                    dealers[i - 1].send_multipart([b"q"])
                except zmq.Again:
                    pass

    def leader():
        while True:
            yield router.readable_event()
            while router.poll(0):
                identity, _body = router.recv_multipart()
                router.send_multipart([identity, b"a"])

    for i, host in enumerate(hosts):
        host.process(member(i))
    hosts[0].process(leader())
    cut = net.partition(["h0", "h1", "h2"], ["h3", "h4", "h5"], at=0.8)
    cut.undo(at=1.4)
    net.partition(["h5"], mode="drop", at=1.6).undo(at=1.9)
    net.crash("h4", at=2.0).undo(at=2.5)
    net.run(until=until)
    return net


def digest(net: Network) -> str:
    assert net.events is not None
    return hashlib.sha256(repr(net.events).encode()).hexdigest()


def test_same_seed_same_events() -> None:
    """Two runs with one seed produce identical event sequences; another seed does not."""
    first, second = chaos(3), chaos(3)
    assert len(first.events) > 5000
    assert first.events == second.events
    assert first.statistics() == second.statistics()
    assert chaos(4).events != first.events


@pytest.mark.slow
def test_same_seed_same_events_in_another_process_with_another_hash_seed() -> None:
    """A fresh interpreter with different PYTHONHASHSEED values reproduces the run exactly."""
    expected = digest(chaos(3))
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); from test_net_determinism import chaos, digest; print(digest(chaos(3)))"
    for hash_seed in ("1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120)
        assert out.stdout.strip() == expected


def test_chaos_run_conserves_every_message() -> None:
    """sent == delivered + dropped + in flight, with every cause the run provoked named."""
    stats = chaos(5).statistics()
    assert stats.balanced
    assert stats.sent > 3000 and stats.duplicated > 0
    assert {"loss", "partition", "crash"} <= set(stats.dropped)


# -- conservation as a property ------------------------------------------------------------------------------

_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("pub"), st.integers(0, 2)),
        st.tuples(st.just("deal"), st.integers(0, 2)),
        st.tuples(st.just("reply"), st.integers(0, 2)),
        st.tuples(st.just("recv"), st.integers(0, 2)),
        st.tuples(st.just("run"), st.sampled_from([0.0005, 0.001, 0.003, 0.05, 0.2])),
        st.tuples(st.just("partition"), st.sampled_from(["hold", "drop"])),
        st.tuples(st.just("heal"), st.just(0)),
        st.tuples(st.just("crash"), st.integers(1, 2)),
        st.tuples(st.just("restart"), st.integers(1, 2)),
        st.tuples(st.just("close"), st.integers(0, 2)),
        st.tuples(st.just("loss"), st.sampled_from([0.0, 0.5])),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops=_OPS, seed=st.integers(0, 3))
def test_accounts_balance_after_any_sequence_of_operations(ops, seed: int) -> None:
    """Whatever is sent, run, partitioned, crashed or closed, the accounts balance after every step."""
    net = Network(seed=seed, latency=Uniform(0.0001, 0.001), loopback=Uniform(0.00001, 0.00005))
    hosts = [net.add_host(f"h{i}") for i in range(3)]
    sockets: dict[str, list] = {}

    def build(i: int) -> None:
        host = hosts[i]
        pub, sub = host.context.socket(zmq.PUB), host.context.socket(zmq.SUB)
        pub.setsockopt(zmq.SNDHWM, 3)
        pub.bind(f"tcp://{host.address}:5000")
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        router, dealer = host.context.socket(zmq.ROUTER), host.context.socket(zmq.DEALER)
        router.bind(f"tcp://{host.address}:6000")
        dealer.setsockopt(zmq.SNDHWM, 2)
        for other in hosts:
            sub.connect(f"tcp://{other.address}:5000")
            dealer.connect(f"tcp://{other.address}:6000")
        sockets[host.name] = [pub, sub, router, dealer]

    for i in range(3):
        build(i)
    fault = None
    for op, arg in ops:
        if op in ("pub", "deal", "reply", "recv", "close"):
            name = hosts[arg].name
            pub, sub, router, dealer = sockets[name]
            try:
                if op == "pub":
                    pub.send_multipart([b"p"])
                elif op == "deal":
                    dealer.send_multipart([b"d"])
                elif op == "reply":
                    router.send_multipart([b"h0", b"r"])
                elif op == "recv":
                    for s in (sub, router, dealer):
                        while s.poll(0):
                            s.recv_multipart()
                else:
                    for s in sockets[name]:
                        s.close(linger=arg * 50 - 50)
            except zmq.ZMQError:
                pass
        elif op == "run":
            net.run(until=net.now + arg)
        elif op == "partition" and fault is None:
            fault = net.partition(["h0"], ["h1", "h2"], mode=arg)
        elif op == "heal" and fault is not None:
            fault.undo()
            fault = None
        elif op == "crash":
            net.crash(hosts[arg].name)
        elif op == "restart" and not hosts[arg].alive:
            net.restart(hosts[arg].name)
            build(arg)
        elif op == "loss":
            net.set_loss(hosts[0].name, "lan", arg)
        stats = net.statistics()
        assert stats.balanced, (op, arg, stats)
    net.heal()
    net.run(until=net.now + 1.0)
    assert net.statistics().balanced
