"""The RIAPS message ports (pub/sub, req/rep, clt/srv, qry/ans), run unchanged in every world."""

from __future__ import annotations

import errno
import struct

import pytest
from worlds import World

import ports

MSG = {"type": "Reading"}
PAIR = {"req_type": "Query", "rep_type": "Count"}


def bound(world: World, cls: type, name: str, spec: dict = PAIR):
    port = cls(world.part(name), name, spec)
    port.setupSocket(None)
    return port


def connected(world: World, cls: type, name: str, provider, spec: dict = PAIR):
    port = bound(world, cls, name, spec)
    info = provider.getInfo()
    port.update(info.portHost, info.portNum)
    return port


def receive(world: World, port, timeout: float = 10.0) -> int:
    """Wait until *port* has fetched a message; return how many it holds."""
    assert world.wait_until(lambda: port.fetch() > 0, timeout), f"{port!r} received nothing in {timeout} s"
    return port.waiting()


def test_pub_reaches_sub_with_riaps_framing(world: World) -> None:
    """A pub's message reaches a connected sub as one frame; the sub fetches it into its inbox, then recv reads it."""
    pub = bound(world, ports.PubPort, "pub", MSG)
    sub = connected(world, ports.SubPort, "sub", pub, MSG)
    assert pub.getInfo().portKind == "pub" and sub.getInfo().portKind == "sub"
    for _ in range(200):  # ride out the slow joiner
        pub.send_pyobj(("r", 1))
        if world.wait_until(lambda: sub.fetch() > 0, 0.05):
            break
    assert sub.ready()
    assert sub.recv_pyobj() == ("r", 1)
    with pytest.raises(ports.OperationError, match="only publishes"):
        pub.recv()
    with pytest.raises(ports.OperationError, match="only receives"):
        sub.send(b"x")


def test_timed_pub_stamps_and_sub_reads_the_stamp(world: World) -> None:
    """A timed pub adds the 8-byte send time; the receiver decodes it into get_sendTime()."""
    pub = bound(world, ports.PubPort, "tpub", {**MSG, "timed": True})
    sub = connected(world, ports.SubPort, "tsub", pub, {**MSG, "timed": True})
    for _ in range(200):
        pub.send(b"payload")
        if world.wait_until(lambda: sub.fetch() > 0, 0.05):
            break
    assert sub.recv() == b"payload"
    assert sub.get_sendTime() > 0 and sub.get_recvTime() >= sub.get_sendTime() - 1.0


def test_req_rep_round_trip_and_rep_alternation(world: World) -> None:
    """req sends, rep reads then must answer once; the answer reaches the req's inbox."""
    rep = bound(world, ports.RepPort, "rep")
    req = connected(world, ports.ReqPort, "req", rep)
    assert req.send_pyobj("count?")
    receive(world, rep)
    assert rep.ready()
    assert rep.recv_pyobj() == "count?"
    assert not rep.ready()  # a REP answers before it reads the next request
    with pytest.raises(ports.PortError) as second:
        rep.recv()
    assert second.value.errno == errno.EPROTO
    rep.send_pyobj(7)
    with pytest.raises(ports.PortError, match="no request to reply to"):
        rep.send_pyobj(8)
    receive(world, req)
    assert req.recv_pyobj() == 7


def test_req_drops_the_reply_to_a_superseded_request(world: World) -> None:
    """req is relaxed and correlated: a new request may go before the reply, and only the latest reply is delivered."""
    rep = bound(world, ports.RepPort, "rep")
    req = connected(world, ports.ReqPort, "req", rep)
    req.send(b"first")
    req.send(b"second")
    assert world.wait_until(lambda: rep.fetch() >= 2)
    for _ in range(2):
        question = rep.recv()
        rep.send(b"re " + question)
    assert world.wait_until(lambda: req.fetch() >= 1 and req.stale_replies() >= 1)
    assert req.recv() == b"re second"
    assert req.stale_replies() == 1


def test_req_frames_match_a_riaps_correlated_req(world: World) -> None:
    """What a req port sends is a REQ_CORRELATE envelope: [request id (native uint32), b'', payload]."""
    router = bound(world, ports.RepPort, "rep")
    req = connected(world, ports.ReqPort, "req", router)
    req.send(b"q")
    assert world.wait_readable(router.getSocket())
    frames = router.getSocket().recv_multipart()
    assert frames[1:] == [struct.pack("=I", 1), b"", b"q"]


def test_consumers_without_providers_return_false_and_none(world: World) -> None:
    """Before discovery connects them, req/clt/qry send returns False and recv None (RIAPS)."""
    for cls in (ports.ReqPort, ports.CltPort, ports.QryPort):
        port = bound(world, cls, cls.__name__)
        assert port.send(b"x") is False
        assert port.recv() is None


def test_clt_is_strict_and_never_blocks(world: World) -> None:
    """clt: a second send before the reply is EPROTO; recv before the reply is EAGAIN with a remedy; reset starts over."""
    srv = bound(world, ports.SrvPort, "srv")
    clt = connected(world, ports.CltPort, "clt", srv)
    assert clt.send_pyobj("a")
    with pytest.raises(ports.PortError) as twice:
        clt.send_pyobj("b")
    assert twice.value.errno == errno.EPROTO
    with pytest.raises(ports.PortError, match="never block") as early:
        clt.recv()
    assert early.value.errno == errno.EAGAIN
    receive(world, srv)
    srv.send_pyobj(srv.recv_pyobj() * 2)
    assert world.wait_until(lambda: clt.fetch() > 0)
    assert clt.recv_pyobj() == "aa"
    assert not clt.ready()  # no handler: its owner reads the reply itself
    clt.send(b"c")
    clt.reset()
    assert clt.send(b"d")


def test_qry_ans_answers_the_querier_read_or_set(world: World) -> None:
    """ans answers the querier it read last, or the one set; an unknown identity is EHOSTUNREACH."""
    ans = bound(world, ports.AnsPort, "ans")
    one = connected(world, ports.QryPort, "one", ans)
    two = connected(world, ports.QryPort, "two", ans)
    one.send(b"from one")
    two.send(b"from two")
    assert world.wait_until(lambda: ans.fetch() >= 2)
    identities = {}
    for _ in range(2):
        query = ans.recv()
        identities[query] = ans.get_identity()
    ans.set_identity(identities[b"from one"])
    ans.send(b"for one")
    ans.set_identity(identities[b"from two"])
    ans.send(b"for two")
    receive(world, one)
    receive(world, two)
    assert (one.recv(), two.recv()) == (b"for one", b"for two")
    ans.set_identity(b"\x01nobody")
    with pytest.raises(ports.PortError) as unknown:
        ans.send(b"lost")
    assert unknown.value.errno == errno.EHOSTUNREACH


@pytest.mark.parametrize(
    "spec, message",
    [
        ({}, "needs 'type'"),
        ({"type": "M", "timed": 1}, "'timed' must be True or False"),
        ({"type": "M", "scope": "internal"}, "'scope' must be one of"),
    ],
)
def test_bad_spec_is_named(world: World, spec: dict, message: str) -> None:
    """A bad port spec is a SetupError naming the port and the field."""
    with pytest.raises(ports.SetupError, match=message):
        ports.PubPort(world.part("p"), "bad", spec)
    with pytest.raises(ports.SetupError, match="req_type"):
        ports.ReqPort(world.part("q"), "bad", {"type": "M"})
