"""Throughput of the group ports next to raw pyzmq sockets sending the same frames.

Prints, for tcp loopback in one process:
- PUB -> SUB messages per second: a sender thread publishes N group messages ``[b'msg', payload]``
  while the main thread receives them;
- DEALER <-> ROUTER round trips per second: one thread asks and answers in turn.

Raw pyzmq uses blocking receives, as a plain pyzmq program would; the ports never block, so the
receiver polls and then drains what is ready until the port reports EAGAIN, as a runtime loop does. Both sides use the same high-water marks. Each variant runs several times, alternating,
and the best of each is compared, because the machine is noisy. Target: ports >= 80% of raw.

Run: ``.venv/bin/python bench/ports_throughput.py [--messages N] [--round-trips N] [--repeats N]``
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import zmq

import ports

SPEC = {"message": "Msg", "timed": False, "kind": "leader"}
PAYLOAD = b"x" * 64
OPTIONS = ports.PortOptions(send_hwm=0, recv_hwm=0)


def _wait_connected(send, socket: zmq.Socket) -> None:
    """Send probes until one arrives (the slow-joiner window), then drain."""
    while not socket.poll(20):
        send()
    while socket.poll(50):
        socket.recv_multipart()


def pubsub_raw(ctx: zmq.Context, n: int) -> float:
    pub, sub = ctx.socket(zmq.PUB), ctx.socket(zmq.SUB)
    for s in (pub, sub):
        s.setsockopt(zmq.SNDHWM, 0)
        s.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    sub.connect(f"tcp://127.0.0.1:{port}")
    _wait_connected(lambda: pub.send_multipart([b"msg", b"probe"]), sub)

    def produce() -> None:
        for _ in range(n):
            pub.send_multipart([b"msg", PAYLOAD])

    start = time.perf_counter()
    thread = threading.Thread(target=produce)
    thread.start()
    for _ in range(n):
        sub.recv_multipart()
    elapsed = time.perf_counter() - start
    thread.join()
    pub.close(0)
    sub.close(0)
    return n / elapsed


def pubsub_ports(ctx: zmq.Context, n: int) -> float:
    part = ports.Part(ctx, options=OPTIONS)
    pub, sub = ports.GroupPubPort(part, "pub", SPEC), ports.GroupSubPort(part, "sub", SPEC)
    info = pub.setupSocket(None)
    sub.setupSocket(None)
    sub.update(info.portHost, info.portNum)
    _wait_connected(lambda: pub.send(b"probe"), sub.getSocket())

    def produce() -> None:
        for _ in range(n):
            pub.send(PAYLOAD)

    socket = sub.getSocket()
    start = time.perf_counter()
    thread = threading.Thread(target=produce)
    thread.start()
    received = 0
    while received < n:
        socket.poll()
        try:  # drain what is ready, as a runtime loop does, until the port says EAGAIN
            while True:
                sub.recvGroup()
                received += 1
        except ports.PortError:
            pass
    elapsed = time.perf_counter() - start
    thread.join()
    pub.closeSocket()
    sub.closeSocket()
    return n / elapsed


def roundtrip_raw(ctx: zmq.Context, n: int) -> float:
    router, dealer = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.IDENTITY, b"member-0000000001")
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer.connect(f"tcp://127.0.0.1:{port}")
    start = time.perf_counter()
    for _ in range(n):
        dealer.send_multipart([b"mtl", PAYLOAD])
        identity, _cmd, payload = router.recv_multipart()
        router.send_multipart([identity, b"mfl", payload])
        dealer.recv_multipart()
    elapsed = time.perf_counter() - start
    router.close(0)
    dealer.close(0)
    return n / elapsed


def roundtrip_ports(ctx: zmq.Context, n: int) -> float:
    part = ports.Part(ctx, options=OPTIONS)
    ans, qry = ports.GroupAnsPort(part, "ans", SPEC), ports.GroupQryPort(part, "qry", SPEC)
    ans.setupSocket(None)
    qry.setupSocket(None)
    qry.update(part.host, ans.updatePoller())
    ans_socket, qry_socket = ans.getSocket(), qry.getSocket()
    start = time.perf_counter()
    for _ in range(n):
        qry.sendToLeader(b"mtl", PAYLOAD)
        ans_socket.poll()
        _cmd, payload = ans.recvFromMember()
        ans.sendToMember(b"mfl", payload)
        qry_socket.poll()
        qry.recvFromLeader()
    elapsed = time.perf_counter() - start
    ans.closeSocket()
    qry.closeSocket()
    return n / elapsed


def best_of(repeats: int, runs: dict[str, tuple]) -> dict[str, list[float]]:
    """Run each variant *repeats* times, interleaved, and collect the rates."""
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (function, ctx, n) in runs.items():
            rates[name].append(function(ctx, n))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000, help="messages per PUB->SUB run")
    parser.add_argument("--round-trips", type=int, default=20_000, help="round trips per DEALER<->ROUTER run")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each variant")
    args = parser.parse_args()
    ctx = zmq.Context()
    rates = best_of(
        args.repeats,
        {
            "pubsub raw": (pubsub_raw, ctx, args.messages),
            "pubsub ports": (pubsub_ports, ctx, args.messages),
            "roundtrip raw": (roundtrip_raw, ctx, args.round_trips),
            "roundtrip ports": (roundtrip_ports, ctx, args.round_trips),
        },
    )
    print(f"pyzmq {zmq.pyzmq_version()} libzmq {zmq.zmq_version()}, tcp loopback, {args.repeats} runs each, 64-byte payload")
    print(f"{'':18}{'best':>12}{'median':>12}")
    for name, values in rates.items():
        unit = "msg/s" if name.startswith("pubsub") else "rt/s"
        print(f"{name:18}{max(values):>12,.0f}{statistics.median(values):>12,.0f}  {unit}")
    for kind in ("pubsub", "roundtrip"):
        best = max(rates[f"{kind} ports"]) / max(rates[f"{kind} raw"])
        median = statistics.median(rates[f"{kind} ports"]) / statistics.median(rates[f"{kind} raw"])
        verdict = "meets" if best >= 0.8 else "MISSES"
        print(f"{kind}: ports/raw = {best:.0%} (best), {median:.0%} (median); {verdict} the 80% target")
    ctx.destroy(0)


if __name__ == "__main__":
    main()
