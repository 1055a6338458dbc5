"""Simulated deliveries per wall second: riaps_sim.net sockets next to bare SimPy doing the same deliveries.

Workloads, each run once with the simulated sockets and once as a bare SimPy model (a Store per
receiver, one timeout per delivered copy, a process per receiver):

- fan-out: 32 hosts, each with a PUB and a SUB connected to all 32 PUBs (its own included);
  every host publishes every 10 ms of virtual time, so each message is 32 deliveries. Run with
  constant 1 ms latency (equal arrival times, so the simulated wire batches a fan-out into one
  event) and with latency uniform in [0.5, 1.5] ms (no batching).
- ping-pong: 16 DEALER/ROUTER pairs on different hosts, each DEALER sending its next request
  when the reply arrives.

Then the build time and memory (tracemalloc peak) of a 1,000-host network.

Run: ``.venv/bin/python bench/sim_throughput.py [--seconds S]``.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import simpy
import zmq

from riaps_sim.net import Network, Uniform

HOSTS = 32
PERIOD = 0.010
PAIRS = 16


# -- fan-out ------------------------------------------------------------------------------------------


def fanout_sim(seconds: float, random_latency: bool) -> tuple[int, float]:
    latency = Uniform(0.00025, 0.00075) if random_latency else 0.0005
    net = Network(seed=1, latency=latency)
    hosts = [net.add_host(f"h{i}") for i in range(HOSTS)]
    pubs, subs = [], []
    for host in hosts:
        pub = host.context.socket(zmq.PUB)
        pub.bind(f"tcp://{host.address}:5000")
        pubs.append(pub)
    for host in hosts:
        sub = host.context.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        for other in hosts:
            sub.connect(f"tcp://{other.address}:5000")
        subs.append(sub)
    net.run(until=0.05)  # connections up
    count = [0]

    def publisher(pub, offset):
        yield net.env.timeout(offset)
        frames = [b"hb", b"x" * 16]
        while True:
            pub.send_multipart(frames)
            yield net.env.timeout(PERIOD)

    def subscriber(sub):
        while True:
            yield sub.readable_event()
            while sub.poll(0):
                sub.recv_multipart()
                count[0] += 1

    for i, (pub, sub) in enumerate(zip(pubs, subs)):
        net.env.process(publisher(pub, i * PERIOD / HOSTS))
        net.env.process(subscriber(sub))
    start = time.perf_counter()
    net.run(until=0.05 + seconds)
    wall = time.perf_counter() - start
    assert net.statistics().balanced
    return count[0], wall


def fanout_bare(seconds: float, random_latency: bool) -> tuple[int, float]:
    env = simpy.Environment()
    import random

    rng = random.Random(1)
    stores = [simpy.Store(env) for _ in range(HOSTS)]
    count = [0]

    def publisher(offset):
        yield env.timeout(offset)
        frames = [b"hb", b"x" * 16]
        while True:
            for store in stores:
                delay = rng.uniform(0.0005, 0.0015) if random_latency else 0.001
                env.timeout(delay).callbacks.append(lambda _e, s=store: s.put(frames))
            yield env.timeout(PERIOD)

    def subscriber(store):
        while True:
            yield store.get()
            count[0] += 1

    for i, store in enumerate(stores):
        env.process(publisher(i * PERIOD / HOSTS))
        env.process(subscriber(store))
    start = time.perf_counter()
    env.run(until=seconds)
    return count[0], time.perf_counter() - start


# -- ping-pong ------------------------------------------------------------------------------------------


def pingpong_sim(seconds: float) -> tuple[int, float]:
    net = Network(seed=1)
    count = [0]
    for i in range(PAIRS):
        a, b = net.add_host(f"srv{i}"), net.add_host(f"cli{i}")
        router = a.context.socket(zmq.ROUTER)
        router.bind(f"tcp://{a.address}:6000")
        dealer = b.context.socket(zmq.DEALER)
        dealer.connect(f"tcp://{a.address}:6000")

        def server(router=router):
            while True:
                yield router.readable_event()
                while router.poll(0):
                    identity, body = router.recv_multipart()
                    count[0] += 1
                    router.send_multipart([identity, body])

        def client(dealer=dealer):
            dealer.send_multipart([b"ping"])
            while True:
                yield dealer.readable_event()
                while dealer.poll(0):
                    body = dealer.recv_multipart()
                    count[0] += 1
                    dealer.send_multipart(body)

        net.env.process(server())
        net.env.process(client())
    start = time.perf_counter()
    net.run(until=seconds)
    return count[0], time.perf_counter() - start


def pingpong_bare(seconds: float) -> tuple[int, float]:
    env = simpy.Environment()
    count = [0]

    def link(store, message):
        env.timeout(0.001).callbacks.append(lambda _e: store.put(message))

    for _ in range(PAIRS):
        to_server, to_client = simpy.Store(env), simpy.Store(env)

        def server(inbox=to_server, outbox=to_client):
            while True:
                message = yield inbox.get()
                count[0] += 1
                link(outbox, message)

        def client(inbox=to_client, outbox=to_server):
            link(outbox, [b"ping"])
            while True:
                message = yield inbox.get()
                count[0] += 1
                link(outbox, message)

        env.process(server())
        env.process(client())
    start = time.perf_counter()
    env.run(until=seconds)
    return count[0], time.perf_counter() - start


# -- build ------------------------------------------------------------------------------------------------


def build(hosts: int, sockets: bool, traced: bool) -> tuple[float, float]:
    gc.collect()
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    net = Network(seed=1)
    for i in range(hosts):
        host = net.add_host(f"h{i}")
        if sockets:
            host.context.socket(zmq.PUB).bind_to_random_port(f"tcp://{host.address}")
            host.context.socket(zmq.SUB).connect(f"tcp://{net.hosts[i // 2].address}:49152")
    if sockets:
        net.run(until=1.0)  # every SUB's connection is up
    wall = time.perf_counter() - start
    peak = 0
    if traced:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert len(net.hosts) == hosts
    return wall, peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="virtual seconds per fan-out run (default 3)")
    args = parser.parse_args()
    rows = [
        ("PUB fan-out, 32 hosts, constant latency", lambda: fanout_sim(args.seconds, False), lambda: fanout_bare(args.seconds, False)),
        ("PUB fan-out, 32 hosts, random latency", lambda: fanout_sim(args.seconds, True), lambda: fanout_bare(args.seconds, True)),
        (f"DEALER/ROUTER ping-pong, {PAIRS} pairs", lambda: pingpong_sim(args.seconds * 20), lambda: pingpong_bare(args.seconds * 20)),
    ]
    print(f"{'workload':44} {'sim deliveries':>14} {'sim /wall s':>12} {'bare /wall s':>13} {'ratio':>6}")
    for name, sim, bare in rows:
        n_sim, t_sim = sim()
        n_bare, t_bare = bare()
        rate_sim, rate_bare = n_sim / t_sim, n_bare / t_bare
        print(f"{name:44} {n_sim:14,d} {rate_sim:12,.0f} {rate_bare:13,.0f} {rate_sim / rate_bare:6.2f}")
    print()
    for sockets, what in ((False, "hosts only"), (True, "a PUB and a connected SUB per host, run 1 s")):
        wall, _ = build(1000, sockets, traced=False)  # timed without tracemalloc, which slows Python down
        _, peak_mb = build(1000, sockets, traced=True)
        print(f"1,000-host network ({what}): built in {wall:.3f} s, peak traced memory {peak_mb:.1f} MB")


if __name__ == "__main__":
    main()
