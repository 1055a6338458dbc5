"""Simulated sockets keep ZeroMQ's semantics: handshakes, slow joiners, routing, HWM, errors, close, monitors.

Two hosts on the default LAN: a = 10.0.0.1, b = 10.0.0.2, each 0.5 ms from the switch, so 1 ms
one way host to host. A connect at t completes on the server side at t + 1 ms and on the client
side at t + 2 ms.
"""

from __future__ import annotations

import pytest
import zmq
from zmq.utils.monitor import parse_monitor_message

from riaps_sim.net import Network, Poller, Uniform

MS = 1e-3


def approx(t: float) -> object:
    return pytest.approx(t, abs=1e-12)


@pytest.fixture
def net() -> Network:
    net = Network(record=True)
    net.add_host("a")
    net.add_host("b")
    net.add_host("c")
    return net


def sock(net: Network, host: str, kind: int, **opts: object) -> zmq.Socket:
    s = net.host(host).context.socket(kind)
    for name, value in opts.items():
        s.setsockopt(getattr(zmq, name), value)
    return s


def arrivals(net: Network, s, until: float) -> list[tuple[float, list[bytes]]]:
    """Run to *until*, recording (time, message) for everything *s* receives, as it arrives."""
    got: list[tuple[float, list[bytes]]] = []
    active = [True]

    def reader():
        while True:
            yield s.readable_event()
            if not active[0]:
                return
            while s.poll(0):
                got.append((net.now, s.recv_multipart()))

    net.env.process(reader())
    net.run(until=until)
    active[0] = False
    return got


def pubsub(net: Network, topic: bytes = b""):
    pub = sock(net, "a", zmq.PUB)
    pub.bind("tcp://10.0.0.1:5555")
    sub = sock(net, "b", zmq.SUB, SUBSCRIBE=topic)
    sub.connect("tcp://10.0.0.1:5555")
    return pub, sub


# -- handshakes and slow joiners ------------------------------------------------------------------


def test_dealer_queues_before_the_connection_is_up() -> None:
    """A DEALER's message sent at connect time leaves when the client side is up (2 ms) and lands at 3 ms."""
    net = Network()
    net.add_host("a"), net.add_host("b")
    router = sock(net, "a", zmq.ROUTER)
    router.bind("tcp://10.0.0.1:5000")
    dealer = sock(net, "b", zmq.DEALER, IDENTITY=b"d1")
    dealer.connect("tcp://10.0.0.1:5000")
    dealer.send_multipart([b"early"])
    assert arrivals(net, router, 0.01) == [(approx(3 * MS), [b"d1", b"early"])]


def test_pub_drops_what_it_sends_before_the_subscription_arrives(net: Network) -> None:
    """The subscription reaches the PUB 3 ms after connect; copies sent earlier are slow-joiner drops."""
    pub, sub = pubsub(net)

    def publisher():
        for i in range(6):
            pub.send_multipart([b"m%d" % i])
            yield net.env.timeout(MS)

    net.env.timeout(0.5 * MS).callbacks.append(lambda _e: net.env.process(publisher()))
    got = arrivals(net, sub, 0.02)
    # sent at 0.5 (no peer yet), 1.5 and 2.5 (subscription unknown), 3.5, 4.5, 5.5 (delivered 1 ms later)
    assert got == [(approx(4.5 * MS), [b"m3"]), (approx(5.5 * MS), [b"m4"]), (approx(6.5 * MS), [b"m5"])]
    assert net.statistics().dropped == {"slow_joiner": 2}
    assert pub.statistics().dropped == {"slow_joiner": 2}


def test_connect_before_bind_retries_every_reconnect_interval(net: Network) -> None:
    """Refused at 1 ms (RST back at 2 ms), the connect retries at 102, 202 ... ms; a bind at 250 ms is met at 302 ms."""
    dealer = sock(net, "b", zmq.DEALER, IDENTITY=b"d")
    dealer.connect("tcp://10.0.0.1:7000")
    dealer.send_multipart([b"waited"])
    router = sock(net, "a", zmq.ROUTER)
    net.env.timeout(0.25).callbacks.append(lambda _e: router.bind("tcp://10.0.0.1:7000"))
    # attempt at 302 ms: server up at 303, client up at 304, message arrives at 305
    assert arrivals(net, router, 1.0) == [(approx(0.305), [b"d", b"waited"])]


def test_reconnect_after_the_server_closes_and_binds_again(net: Network) -> None:
    """A SUB whose PUB went away reconnects to the new PUB on the same endpoint without being told."""
    pub, sub = pubsub(net)
    net.run(until=0.01)
    pub.close(linger=0)
    net.run(until=0.05)
    pub2 = sock(net, "a", zmq.PUB)
    pub2.bind("tcp://10.0.0.1:5555")
    net.run(until=0.3)
    pub2.send_multipart([b"again"])
    assert arrivals(net, sub, 0.31) == [(approx(0.301), [b"again"])]


def test_per_connection_order_holds_under_random_latency() -> None:
    """With latency uniform in [0.1, 5] ms, a stream's messages still arrive in the order sent."""
    net = Network(latency=Uniform(0.0001, 0.005), seed=3)
    net.add_host("a"), net.add_host("b")
    router = sock(net, "a", zmq.ROUTER)
    router.bind("tcp://10.0.0.1:5000")
    dealer = sock(net, "b", zmq.DEALER)
    dealer.connect("tcp://10.0.0.1:5000")
    for i in range(200):
        dealer.send_multipart([b"%d" % i])
    got = arrivals(net, router, 1.0)
    assert [int(m[1]) for _t, m in got] == list(range(200))
    times = [t for t, _m in got]
    assert times == sorted(times)


# -- PUB/SUB ----------------------------------------------------------------------------------------


def test_pub_filters_by_prefix(net: Network) -> None:
    """Only messages whose first frame starts with a subscribed prefix reach the SUB."""
    pub, sub = pubsub(net, b"temp")
    net.run(until=0.01)
    for topic in (b"temp.1", b"pressure", b"temperature", b"te"):
        pub.send_multipart([topic, b"x"])
    got = arrivals(net, sub, 0.02)
    assert [m[0] for _t, m in got] == [b"temp.1", b"temperature"]
    assert pub.statistics().filtered == 2
    sub.setsockopt(zmq.UNSUBSCRIBE, b"temp")
    sub.setsockopt(zmq.SUBSCRIBE, b"pre")
    net.run(until=0.03)
    pub.send_multipart([b"temp.2"])
    pub.send_multipart([b"pressure"])
    assert [m[0] for _t, m in arrivals(net, sub, 0.04)] == [b"pressure"]


def test_pub_drops_at_the_high_water_mark(net: Network) -> None:
    """With SNDHWM 3 and RCVHWM 2, a PUB keeps 5 unread copies per peer and drops the rest."""
    pub, sub = pubsub(net)
    pub.setsockopt(zmq.SNDHWM, 3)
    sub.setsockopt(zmq.RCVHWM, 2)
    net.run(until=0.01)
    for i in range(8):
        pub.send_multipart([b"%d" % i])
    net.run(until=0.02)
    assert [sub.recv_multipart() for _ in range(5)] == [[b"0"], [b"1"], [b"2"], [b"3"], [b"4"]]
    assert not sub.poll(0)
    assert net.statistics().dropped == {"hwm": 3}
    pub.send_multipart([b"room again"])
    net.run(until=0.03)
    assert sub.recv_multipart() == [b"room again"]


def test_sub_cannot_send_and_pub_cannot_receive(net: Network) -> None:
    """The wrong direction is ENOTSUP, as libzmq says."""
    pub, sub = pubsub(net)
    with pytest.raises(zmq.ZMQError) as caught:
        sub.send_multipart([b"x"], zmq.NOBLOCK)
    assert caught.value.errno == zmq.ENOTSUP
    with pytest.raises(zmq.ZMQError) as caught:
        pub.recv_multipart(zmq.NOBLOCK)
    assert caught.value.errno == zmq.ENOTSUP


# -- DEALER/ROUTER ----------------------------------------------------------------------------------


def test_dealer_round_robins_over_its_peers(net: Network) -> None:
    """A DEALER connected to two ROUTERs sends alternately to each."""
    r1, r2 = sock(net, "a", zmq.ROUTER), sock(net, "c", zmq.ROUTER)
    r1.bind("tcp://10.0.0.1:5000")
    r2.bind("tcp://10.0.0.3:5000")
    dealer = sock(net, "b", zmq.DEALER, IDENTITY=b"d")
    dealer.connect("tcp://10.0.0.1:5000")
    dealer.connect("tcp://10.0.0.3:5000")
    for i in range(4):
        dealer.send_multipart([b"%d" % i])
    net.run(until=0.01)
    assert [r1.recv_multipart() for _ in range(2)] == [[b"d", b"0"], [b"d", b"2"]]
    assert [r2.recv_multipart() for _ in range(2)] == [[b"d", b"1"], [b"d", b"3"]]


def test_dealer_with_no_peer_or_full_peers_raises_again(net: Network) -> None:
    """No peer, or every peer at its HWM: zmq.Again, whatever the flags (the simulation never blocks)."""
    dealer = sock(net, "b", zmq.DEALER, SNDHWM=2)
    with pytest.raises(zmq.Again):
        dealer.send_multipart([b"x"])
    dealer.connect("tcp://10.0.0.1:5000")
    dealer.send_multipart([b"1"])
    dealer.send_multipart([b"2"])
    with pytest.raises(zmq.Again):
        dealer.send_multipart([b"3"], zmq.NOBLOCK)
    assert dealer.poll(0, zmq.POLLOUT) == 0


def test_router_routes_by_identity_and_drops_unknown_ones(net: Network) -> None:
    """Replies reach the named peer; an unknown identity is dropped silently as 'unroutable'."""
    router = sock(net, "a", zmq.ROUTER)
    router.bind("tcp://10.0.0.1:5000")
    dealers = {}
    for host, ident in (("b", b"bee"), ("c", b"sea")):
        dealers[ident] = sock(net, host, zmq.DEALER, IDENTITY=ident)
        dealers[ident].connect("tcp://10.0.0.1:5000")
    net.run(until=0.01)
    router.send_multipart([b"sea", b"for sea"])
    router.send_multipart([b"nobody", b"lost"])
    net.run(until=0.02)
    assert dealers[b"sea"].recv_multipart() == [b"for sea"]
    assert not dealers[b"bee"].poll(0)
    assert net.statistics().dropped == {"unroutable": 1}


def test_router_mandatory_raises_ehostunreach(net: Network) -> None:
    """With ROUTER_MANDATORY an unknown identity raises EHOSTUNREACH instead of dropping."""
    router = sock(net, "a", zmq.ROUTER, ROUTER_MANDATORY=1)
    with pytest.raises(zmq.ZMQError) as caught:
        router.send_multipart([b"nobody", b"x"])
    assert caught.value.errno == zmq.EHOSTUNREACH
    assert net.statistics().sent == 0


def test_router_generates_identities_for_anonymous_peers(net: Network) -> None:
    """A peer without IDENTITY gets a 5-byte identity starting with a zero byte, as libzmq makes."""
    router = sock(net, "a", zmq.ROUTER)
    router.bind("tcp://10.0.0.1:5000")
    dealer = sock(net, "b", zmq.DEALER)
    dealer.connect("tcp://10.0.0.1:5000")
    dealer.send_multipart([b"hi"])
    net.run(until=0.01)
    identity, body = router.recv_multipart()
    assert len(identity) == 5 and identity[0] == 0 and body == b"hi"


# -- endpoints, options and errors --------------------------------------------------------------------


def test_second_bind_is_address_in_use(net: Network) -> None:
    """Binding a port twice on one host raises EADDRINUSE; another host may use the same port."""
    sock(net, "a", zmq.PUB).bind("tcp://10.0.0.1:5555")
    with pytest.raises(zmq.ZMQError) as caught:
        sock(net, "a", zmq.PUB).bind("tcp://*:5555")
    assert caught.value.errno == zmq.EADDRINUSE
    sock(net, "b", zmq.PUB).bind("tcp://10.0.0.2:5555")


@pytest.mark.parametrize(
    "endpoint, errno",
    [
        ("tcp://10.0.0.2:5555", zmq.EADDRNOTAVAIL),
        ("10.0.0.1:5555", zmq.EINVAL),
        ("tcp://10.0.0.1:http", zmq.EINVAL),
        ("udp://10.0.0.1:5555", zmq.EPROTONOSUPPORT),
    ],
)
def test_bad_bind_endpoints_raise_with_the_libzmq_errno(net: Network, endpoint: str, errno: int) -> None:
    """Another host's address, a missing transport, a bad port, an unmodelled transport."""
    with pytest.raises(zmq.ZMQError) as caught:
        sock(net, "a", zmq.PUB).bind(endpoint)
    assert caught.value.errno == errno


def test_bind_to_random_port_is_deterministic_per_host(net: Network) -> None:
    """Random ports come from a per-host counter in 49152..65535; endpoints look real."""
    a1, a2, b1 = sock(net, "a", zmq.PUB), sock(net, "a", zmq.PUB), sock(net, "b", zmq.PUB)
    assert a1.bind_to_random_port("tcp://10.0.0.1") == 49152
    assert a2.bind_to_random_port("tcp://10.0.0.1") == 49153
    assert b1.bind_to_random_port("tcp://10.0.0.2") == 49152
    assert a2.getsockopt(zmq.LAST_ENDPOINT) == b"tcp://10.0.0.1:49153"
    a1.unbind("tcp://10.0.0.1:49152")
    with pytest.raises(zmq.ZMQError) as caught:
        a1.unbind("tcp://10.0.0.1:49152")
    assert caught.value.errno == 2  # ENOENT


def test_options_default_as_libzmq_and_return_what_was_set(net: Network) -> None:
    """HWM 1000, LINGER -1, timeouts -1, RECONNECT_IVL 100; set values come back; CURVE options are accepted."""
    s = sock(net, "a", zmq.DEALER)
    assert [s.getsockopt(o) for o in (zmq.SNDHWM, zmq.RCVHWM, zmq.LINGER, zmq.SNDTIMEO, zmq.RECONNECT_IVL)] == [1000, 1000, -1, -1, 100]
    assert s.getsockopt(zmq.TYPE) == zmq.DEALER and s.getsockopt(zmq.MECHANISM) == zmq.NULL
    public, secret = zmq.curve_keypair()
    s.setsockopt(zmq.CURVE_SERVERKEY, public)
    s.setsockopt(zmq.CURVE_SECRETKEY, secret)
    s.setsockopt(zmq.SNDTIMEO, 2500)
    assert s.getsockopt(zmq.SNDTIMEO) == 2500 and s.getsockopt(zmq.CURVE_SERVERKEY) == public
    assert s.getsockopt(zmq.MECHANISM) == zmq.CURVE
    with pytest.raises(TypeError, match="unicode not allowed"):
        s.setsockopt(zmq.IDENTITY, "text")
    with pytest.raises(zmq.ZMQError) as caught:
        s.setsockopt(zmq.SUBSCRIBE, b"")
    assert caught.value.errno == zmq.EINVAL


def test_frames_must_be_bytes_like(net: Network) -> None:
    """str frames raise TypeError as pyzmq does; bytearray and memoryview are sent as bytes."""
    pub, sub = pubsub(net)
    with pytest.raises(TypeError, match="does not support the buffer interface"):
        pub.send_multipart(["text"])
    net.run(until=0.01)
    pub.send_multipart([bytearray(b"ab"), memoryview(b"cd")])
    net.run(until=0.02)
    assert sub.recv_multipart() == [b"ab", b"cd"]


def test_closed_socket_raises_enotsock_and_terminated_context_eterm(net: Network) -> None:
    """Using a closed socket is ENOTSOCK; a socket from a terminated context is ETERM."""
    s = sock(net, "a", zmq.DEALER)
    s.close()
    assert s.closed
    for call in (lambda: s.send_multipart([b"x"]), lambda: s.recv_multipart(), lambda: s.getsockopt(zmq.LINGER)):
        with pytest.raises(zmq.ZMQError) as caught:
            call()
        assert caught.value.errno == zmq.ENOTSOCK
    s.close()  # closing twice is fine
    net.host("a").context.term()
    with pytest.raises(zmq.ZMQError) as caught:
        net.host("a").context.socket(zmq.PUB)
    assert caught.value.errno == zmq.ETERM


def test_recv_with_nothing_waiting_raises_again_even_without_noblock(net: Network) -> None:
    """The simulation cannot block: recv with flags 0 and nothing waiting is zmq.Again."""
    s = sock(net, "a", zmq.DEALER)
    with pytest.raises(zmq.Again):
        s.recv_multipart()
    assert s.poll(1000) == 0


# -- close and LINGER -------------------------------------------------------------------------------------


@pytest.mark.parametrize("linger_ms, delivered, dropped", [(0, 0, {"linger": 2}), (-1, 2, {}), (50, 0, {"linger": 2}), (500, 2, {})])
def test_close_with_queued_messages_follows_linger(linger_ms: int, delivered: int, dropped: dict) -> None:
    """Messages waiting for a connection are dropped at close with LINGER 0, kept until it expires otherwise."""
    net = Network()
    net.add_host("a"), net.add_host("b")
    dealer = sock(net, "b", zmq.DEALER)
    dealer.connect("tcp://10.0.0.1:5000")
    dealer.send_multipart([b"1"])
    dealer.send_multipart([b"2"])
    dealer.close(linger=linger_ms)
    router = sock(net, "a", zmq.ROUTER)
    net.env.timeout(0.1).callbacks.append(lambda _e: router.bind("tcp://10.0.0.1:5000"))
    net.run(until=1.0)
    received = 0
    while router.poll(0):
        router.recv_multipart()
        received += 1
    stats = net.statistics()
    assert (received, dict(stats.dropped)) == (delivered, dropped)
    assert stats.balanced and stats.in_flight == 0


def test_close_drops_unread_messages_and_in_flight_ones_to_it(net: Network) -> None:
    """Unread messages of a closed socket and copies still travelling to it are dropped as 'closed'."""
    pub, sub = pubsub(net)
    net.run(until=0.01)
    pub.send_multipart([b"read never"])
    net.run(until=0.02)
    pub.send_multipart([b"in the air"])
    sub.close()
    net.run(until=0.03)
    stats = net.statistics()
    assert stats.dropped == {"closed": 2} and stats.balanced


# -- polling ----------------------------------------------------------------------------------------------


def test_poller_shape_and_wait_event(net: Network) -> None:
    """poll() answers at once with (socket, mask); wait() is a SimPy event woken by the first arrival."""
    pub, sub = pubsub(net)
    poller = Poller()
    poller.register(sub, zmq.POLLIN)
    poller.register(pub, zmq.POLLOUT)
    assert poller.poll(1000) == [(pub, zmq.POLLOUT)]
    poller.unregister(pub)
    net.run(until=0.01)
    woke: list[tuple[float, object]] = []

    def runtime():
        ready = yield poller.wait(timeout_s=1.0)
        woke.append((net.now, ready))
        ready = yield poller.wait(timeout_s=0.5)
        woke.append((net.now, ready))

    net.env.process(runtime())
    net.env.timeout(0.005).callbacks.append(lambda _e: pub.send_multipart([b"x"]))
    net.run(until=0.02)
    assert woke == [(approx(0.016), [(sub, zmq.POLLIN)]), (approx(0.016), [(sub, zmq.POLLIN)])]
    sub.recv_multipart()
    net.run(until=1.0)
    assert woke[2:] == []
    net.env.process(runtime())
    net.run(until=2.25)
    assert woke[2:] == [(approx(2.0), [])]


def test_readable_event_times_out_with_false(net: Network) -> None:
    """readable_event(timeout_s) succeeds with False when nothing arrives in time."""
    s = sock(net, "a", zmq.DEALER)
    event = s.readable_event(timeout_s=0.25)
    assert net.run(until=event) is False and net.now == approx(0.25)


# -- security and monitors --------------------------------------------------------------------------------


def curve(s, keys, server: bool) -> None:
    public, secret = keys
    s.setsockopt(zmq.CURVE_SECRETKEY, secret)
    s.setsockopt(zmq.CURVE_PUBLICKEY, public)
    if server:
        s.setsockopt(zmq.CURVE_SERVER, 1)
    else:
        s.setsockopt(zmq.CURVE_SERVERKEY, public)


@pytest.mark.parametrize(
    "client_keys, server_event, client_event",
    [
        (None, zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH),
        ("other", zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, None),
    ],
)
def test_curve_mismatch_blocks_traffic_and_is_reported_on_monitors(net: Network, client_keys, server_event, client_event) -> None:
    """A plain client or one with other keys gets nothing; monitors report it as libzmq does."""
    keys = zmq.curve_keypair()
    pub = sock(net, "a", zmq.PUB)
    curve(pub, keys, server=True)
    server_monitor = pub.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    pub.bind("tcp://10.0.0.1:5555")
    sub = sock(net, "b", zmq.SUB, SUBSCRIBE=b"")
    if client_keys == "other":
        curve(sub, zmq.curve_keypair(), server=False)
    client_monitor = sub.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    sub.connect("tcp://10.0.0.1:5555")
    net.run(until=0.15)
    pub.send_multipart([b"secret"])
    net.run(until=0.2)
    assert not sub.poll(0)
    event = parse_monitor_message(server_monitor.recv_multipart())
    assert (event["event"], event["value"], event["endpoint"]) == (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, server_event, b"tcp://10.0.0.1:5555")
    if client_event is None:
        assert not client_monitor.poll(0)
    else:
        event = parse_monitor_message(client_monitor.recv_multipart())
        assert (event["value"], event["endpoint"]) == (client_event, b"tcp://10.0.0.1:5555")
    pub.disable_monitor()
    while server_monitor.poll(0):
        last = parse_monitor_message(server_monitor.recv_multipart())
    assert last["event"] == zmq.EVENT_MONITOR_STOPPED


def test_curve_with_matching_keys_connects(net: Network) -> None:
    """Client CURVE_SERVERKEY equal to the server's CURVE_PUBLICKEY: the connection comes up."""
    keys = zmq.curve_keypair()
    router = sock(net, "a", zmq.ROUTER)
    curve(router, keys, server=True)
    router.bind("tcp://10.0.0.1:5000")
    dealer = sock(net, "b", zmq.DEALER, IDENTITY=b"d")
    curve(dealer, keys, server=False)
    monitor = dealer.get_monitor_socket()
    dealer.connect("tcp://10.0.0.1:5000")
    dealer.send_multipart([b"ok"])
    net.run(until=0.01)
    assert router.recv_multipart() == [b"d", b"ok"]
    events = []
    while monitor.poll(0):
        events.append(parse_monitor_message(monitor.recv_multipart())["event"])
    assert events == [zmq.EVENT_CONNECTED, zmq.EVENT_HANDSHAKE_SUCCEEDED]


def test_reprs_and_statistics_explain_themselves(net: Network) -> None:
    """Network, host, context and socket reprs name what they are; statistics are frozen records."""
    pub, sub = pubsub(net)
    net.run(until=0.01)
    assert repr(net) == "<Network 3 hosts, 1 switches, seed=0, t=0.01 s>"
    assert repr(net.host("a")) == "<Host 'a' 10.0.0.1 up sockets=1>"
    assert repr(pub) == "<SimSocket PUB on a (10.0.0.1) tcp://10.0.0.1:5555 peers=1 queued=0>"
    assert "SUB on b" in repr(sub)
    with pytest.raises(AttributeError):
        net.statistics().sent = 3  # type: ignore[misc]


def test_pair_talks_to_one_peer(net: Network) -> None:
    """PAIR sockets exchange messages both ways; a second peer's connection is not accepted."""
    left, right, third = sock(net, "a", zmq.PAIR), sock(net, "b", zmq.PAIR), sock(net, "c", zmq.PAIR)
    left.bind("tcp://10.0.0.1:5000")
    right.connect("tcp://10.0.0.1:5000")
    net.run(until=0.01)
    third.connect("tcp://10.0.0.1:5000")
    right.send_multipart([b"to left"])
    third.send_multipart([b"from an intruder"])
    net.run(until=0.02)
    left.send_multipart([b"to right"])
    net.run(until=0.03)
    assert left.recv_multipart() == [b"to left"] and not left.poll(0)
    assert right.recv_multipart() == [b"to right"]


def test_on_event_hook_sees_send_deliver_and_drop(net: Network) -> None:
    """A subscriber to network events gets (time, kind, source, target, message id, detail) tuples."""
    seen = []
    net.on_event(seen.append)
    pub, sub = pubsub(net)
    net.run(until=0.0025)
    pub.send_multipart([b"early"])  # subscription not there yet
    net.run(until=0.01)
    pub.send_multipart([b"later"])
    net.run(until=0.02)
    sub.recv_multipart()
    assert [e[1:] for e in seen] == [
        ("send", "a", "b", 1, 0),
        ("drop", "a", "b", 1, "slow_joiner"),
        ("send", "a", "b", 2, 5),
        ("deliver", "a", "b", 2, 5),
    ]
    assert seen == net.events


def test_a_crash_also_ends_connections_still_lingering(net: Network) -> None:
    """A socket closed with LINGER -1 keeps its queued messages only until its host crashes."""
    dealer = sock(net, "b", zmq.DEALER)
    dealer.connect("tcp://10.0.0.1:5000")
    dealer.send_multipart([b"waiting"])
    dealer.close()
    net.crash("b")
    sock(net, "a", zmq.ROUTER).bind("tcp://10.0.0.1:5000")
    net.run(until=1.0)
    stats = net.statistics()
    assert (dict(stats.dropped), stats.delivered, stats.in_flight) == ({"crash": 1}, 0, 0)
