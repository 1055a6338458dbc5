"""The ports demo: three members on loopback, real ZeroMQ, all four group ports.

Each member binds a pub port and connects its sub port to every member's pub, its own included.
Member ``a`` plays the leader: it binds its ans port, ``b`` and ``c`` point their qry ports at it.
Everyone publishes a greeting, ``b`` and ``c`` ask the leader a question, and the leader answers
each of them. What every member received is returned and printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import zmq

import ports

SPEC = {"message": "Msg", "timed": True, "kind": "leader"}
HOSTS = {"a": "127.0.0.1", "b": "127.0.0.2", "c": "127.0.0.3"}
_RECEIVE = {"sub": "recvGroup", "qry": "recvFromLeader", "ans": "recvFromMember"}


class _Member:
    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], name: str, host: str) -> None:
        self.name = name
        self.part = ports.Part(context, host=host, name=name)
        identity = ports.unique_identity(host)
        self.pub = ports.GroupPubPort(self.part, f"{name}_pub", SPEC)
        self.sub = ports.GroupSubPort(self.part, f"{name}_sub", SPEC)
        self.qry = ports.GroupQryPort(self.part, f"{name}_qry", SPEC, identity=identity)
        self.ans = ports.GroupAnsPort(self.part, f"{name}_ans", SPEC)
        for port in (self.pub, self.sub, self.qry, self.ans):
            port.setupSocket(self)
        self.received: list[str] = []


def _poll_until(members: list[_Member], done: Callable[[], bool], on_frames: Callable[[_Member, str, list[bytes]], None], timeout: float) -> None:
    """Run one poller over every input port until *done* holds; raise if *timeout* seconds pass."""
    poller = zmq.Poller()
    owners = {}
    for m in members:
        for kind, port in (("sub", m.sub), ("qry", m.qry), ("ans", m.ans)):
            poller.register(port.getSocket(), zmq.POLLIN)
            owners[port.getSocket()] = (m, kind, port)
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"demo did not finish within {timeout} s")
        for socket, _ in poller.poll(50):
            m, kind, port = owners[socket]
            on_frames(m, kind, getattr(port, _RECEIVE[kind])())


def run_ports_demo(say: Callable[[str], None] = print, timeout: float = 20.0) -> dict[str, list[str]]:
    """Run the demo; return, per member, what it received (``'sub: hello from b'``, ...)."""
    context = zmq.Context()
    members = [_Member(context, name, host) for name, host in HOSTS.items()]
    try:
        return _run(members, say, timeout)
    finally:
        for m in members:
            for port in (m.pub, m.sub, m.qry, m.ans):
                port.closeSocket()
        context.term()


def _run(members: list[_Member], say: Callable[[str], None], timeout: float) -> dict[str, list[str]]:
    say("riaps-sim ports demo: three members on loopback, real ZeroMQ, timed group")
    for m in members:
        for other in members:
            info = other.pub.getInfo()
            assert info is not None and info.portNum is not None, "a pub port that is set up has its endpoint"
            m.sub.update(info.portHost, info.portNum)
    leader = members[0]
    ans_port = leader.ans.updatePoller()
    for m in members[1:]:
        m.qry.update(leader.part.host, ans_port)
    for m in members:
        say(f"  {m.name}: pub {m.pub.bindAddr}" + (f", leader, ans {leader.ans.bindAddr}" if m is leader else ""))

    heard: set[tuple[str, str]] = set()  # (listener, publisher) pairs whose connection is up

    def on_probe(m: _Member, kind: str, frames: list[bytes]) -> None:
        if frames[0] == b"hlo":
            heard.add((m.name, frames[1].decode()))

    def probe_round() -> bool:
        for m in members:
            m.pub.sendGroup(b"hlo", m.name.encode())
        return len(heard) == len(members) ** 2

    _poll_until(members, probe_round, on_probe, timeout)  # ride out the slow-joiner window
    _poll_until(members, lambda: not any(m.sub.getSocket().poll(0) for m in members), lambda *a: None, timeout)

    names = {m.qry.identity: m.name for m in members}

    def on_frames(m: _Member, kind: str, frames: list[bytes]) -> None:
        cmd, payload = frames[0], frames[1].decode()
        if cmd == b"hlo":
            return
        if kind == "sub":
            delay_ms = (m.sub.recvTime - m.sub.sendTime) * 1000
            m.received.append(f"sub: {payload} ({delay_ms:.2f} ms)")
        elif kind == "ans":
            asker = names[m.ans.get_identity() or b""]
            m.received.append(f"ans: {payload} (from {asker})")
            m.ans.sendToMember(b"mfl", f"answer to {asker}".encode())
        else:
            m.received.append(f"qry: {payload}")

    for m in members:
        m.pub.send(f"hello from {m.name}".encode())
    for m in members[1:]:
        m.qry.send(f"question from {m.name}".encode())
    expected = {m.name: len(members) + (len(members) - 1 if m is leader else 1) for m in members}
    _poll_until(members, lambda: all(len(m.received) >= expected[m.name] for m in members), on_frames, timeout)

    for m in members:
        say(f"{m.name} received:")
        for line in m.received:
            say(f"    {line}")
    return {m.name: list(m.received) for m in members}
