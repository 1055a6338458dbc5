"""Security building blocks of real runs: the application's keys, signed discovery beacons, and the
message size limit against a real 50 MB frame."""

from __future__ import annotations

import os
import pickle
import random
import select
import socket
import stat
import subprocess
import sys
import time

import pytest
import zmq
from wallclock import deadline_s

import ports
from riaps_sim.cli import main
from riaps_sim.discovery import BeaconDiscovery, BeaconRejection, Endpoint
from riaps_sim.runtime.nodeproc import close_context  # libzmq's term can hang (zeromq/libzmq#2586): bounded
from riaps_sim.security import ALLOWED_FILE, BEACON_FILE, KEY_FILE, AppKeys, KeyFileError

GROUP = "Msg@TheGroup.g1"
T0 = 1_000_000.0  # the shared clock of the beacon tests, seconds


# -- AppKeys ------------------------------------------------------------------------------------------------


def test_generated_keys_round_trip_through_private_files_and_pickle(tmp_path) -> None:
    """Written keys load back equal, every file is mode 0600, and the record pickles (for spawned nodes)."""
    keys = AppKeys.generate()
    assert keys.allowed == frozenset({keys.curve.public}) and len(keys.beacon_secret) == 32
    keys.write(tmp_path / "k")
    for name in (KEY_FILE, ALLOWED_FILE, BEACON_FILE):
        assert stat.S_IMODE((tmp_path / "k" / name).stat().st_mode) == 0o600
    assert AppKeys.load(tmp_path / "k") == keys
    assert pickle.loads(pickle.dumps(keys)) == keys
    assert keys.curve.secret.decode() not in repr(keys) and keys.beacon_secret.hex() not in repr(keys)
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        AppKeys.generate().write(tmp_path / "k")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / KEY_FILE).unlink(), f"{KEY_FILE}: missing"),
        (lambda d: (d / BEACON_FILE).chmod(0o644), f"{BEACON_FILE}: readable or writable by others \\(mode 0644\\)"),
        (lambda d: (d / KEY_FILE).write_text("public abc\nsecret def\n"), f"{KEY_FILE}: the public key must be 40 characters"),
        (lambda d: (d / KEY_FILE).write_text((d / KEY_FILE).read_text().splitlines()[1] + "\n"), "needs both a 'public' and a 'secret' line"),
        (lambda d: (d / ALLOWED_FILE).write_text("\n"), f"{ALLOWED_FILE}: lists no public key"),
        (lambda d: (d / BEACON_FILE).write_text("abcd\n"), f"{BEACON_FILE}: the beacon secret is 2 bytes"),
        (lambda d: (d / BEACON_FILE).write_text("not hex\n"), "not hex digits"),
    ],
)
def test_damaged_key_files_are_named_with_the_fault(tmp_path, damage, message: str) -> None:
    """Loading names the file and what is wrong with it."""
    AppKeys.generate().write(tmp_path)
    damage(tmp_path)
    with pytest.raises(KeyFileError, match=message):
        AppKeys.load(tmp_path)


def test_a_public_key_that_does_not_match_the_secret_is_refused(tmp_path) -> None:
    """A key pair file whose halves come from two pairs is an error, not a silent failure later."""
    AppKeys.generate().write(tmp_path)
    other = ports.CurveKeys.generate()
    secret_line = (tmp_path / KEY_FILE).read_text().splitlines()[1]
    (tmp_path / KEY_FILE).write_text(f"public {other.public.decode()}\n{secret_line}\n")
    with pytest.raises(KeyFileError, match="does not belong to the secret key"):
        AppKeys.load(tmp_path)


def test_cli_keys_new_and_show_print_only_the_public_half(tmp_path, capsys) -> None:
    """`riaps-sim keys new DIR` writes loadable keys; `keys show DIR` prints the public key, never a secret."""
    assert main(["keys", "new", str(tmp_path / "app")]) == 0
    keys = AppKeys.load(tmp_path / "app")
    capsys.readouterr()
    assert main(["keys", "show", str(tmp_path / "app")]) == 0
    shown = capsys.readouterr().out
    assert f"public {keys.curve.public.decode()}" in shown
    assert keys.curve.secret.decode() not in shown and keys.beacon_secret.hex() not in shown
    assert main(["keys", "show", str(tmp_path / "nowhere")]) == 2  # a usage error: the folder the user named holds no keys


# -- signed beacons ------------------------------------------------------------------------------------------


@pytest.fixture
def beacon_port() -> int:
    return random.Random().randrange(40000, 47000)


def sniffer(port: int) -> socket.socket:
    """A UDP socket that receives a copy of every beacon broadcast on *port* (to capture and replay)."""
    sniff = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sniff.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sniff.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sniff.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sniff.bind(("", port))
    return sniff


def receive_until(node: BeaconDiscovery, now: float, predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + deadline_s(timeout)
    while time.monotonic() < deadline:
        node.receive(now)
        if predicate():
            return True
        select.select([node.fileno()], [], [], 0.05)
    return False


def signed(port: int, name: str, host: str, secret: bytes, rejected: list | None = None, **kwargs) -> BeaconDiscovery:
    return BeaconDiscovery(
        "App", name, host, port=port, secret=secret, clock=lambda: T0, on_rejected=None if rejected is None else rejected.append, **kwargs
    )


class Listener:
    """A TCP listener standing where a forged beacon points: it counts the connections it gets."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.socket.setblocking(False)
        self.port = self.socket.getsockname()[1]

    def connections(self, wait_s: float) -> int:
        count = 0
        deadline = time.monotonic() + wait_s
        while (left := deadline - time.monotonic()) > 0:
            if select.select([self.socket], [], [], left)[0]:
                self.socket.accept()[0].close()
                count += 1
        return count

    def close(self) -> None:
        self.socket.close()


def member_sub(node: BeaconDiscovery, context: zmq.Context) -> ports.GroupSubPort:
    """A sub port connected as a member's is: to every pub endpoint its directory reports present."""
    sub = ports.GroupSubPort(ports.Part(context, host=node.host), "sub", {"message": "Msg"})
    sub.setupSocket(None)
    node.directory.watch(GROUP, lambda endpoint, present: sub.update(endpoint.host, endpoint.port) if present else None)
    return sub


@pytest.mark.slow
def test_forged_beacons_make_no_member_connect_anywhere(beacon_port: int) -> None:
    """An unsigned beacon and one signed with another secret are rejected with their reasons, and the
    sub port that follows the directory makes no connection to where they point; a genuine beacon does."""
    secret = os.urandom(32)
    rejected: list[BeaconRejection] = []
    victim = signed(beacon_port, "victim", "127.0.0.2", secret, rejected)
    insecure_forger = BeaconDiscovery("App", "forger1", "127.0.0.3", port=beacon_port)
    keyed_forger = signed(beacon_port, "forger2", "127.0.0.4", os.urandom(32))
    friend = signed(beacon_port, "friend", "127.0.0.5", secret)
    context = zmq.Context()
    sub = member_sub(victim, context)
    traps, genuine = Listener(), Listener()
    try:
        insecure_forger.register(Endpoint(GROUP, "127.0.0.1", traps.port, "forger1"))
        keyed_forger.register(Endpoint(GROUP, "127.0.0.1", traps.port, "forger2"))
        friend.register(Endpoint(GROUP, "127.0.0.1", genuine.port, "friend"))
        assert receive_until(victim, T0, lambda: sub.connected() == 1 and len(rejected) >= 2)
        assert genuine.connections(1.0) >= 1  # (zmq retries, as the listener speaks no ZMTP)
        assert traps.connections(0.5) == 0
        assert {(r.node, r.reason.split(":")[0]) for r in rejected} == {("forger1", "no MAC"), ("forger2", "bad MAC")}
        assert [e.node for e in victim.directory.known(GROUP)] == ["friend"]
    finally:
        sub.closeSocket()
        close_context(context, timeout_s=5.0)
        for node in (victim, insecure_forger, keyed_forger, friend):
            node.close()
        traps.close()
        genuine.close()


@pytest.mark.slow
def test_a_valid_beacon_replayed_is_ignored(beacon_port: int) -> None:
    """A captured genuine beacon replayed outside the window, or again inside it, is not applied."""
    secret = os.urandom(32)
    rejected: list[BeaconRejection] = []
    sniff = sniffer(beacon_port)
    sender = signed(beacon_port, "sender", "127.0.0.3", secret)
    sender.register(Endpoint(GROUP, "127.0.0.3", 40003, "sender"))
    assert select.select([sniff], [], [], 10.0)[0]
    captured = sniff.recv(65536)
    sender.close()  # its farewell beacon withdraws the endpoint
    sniff.close()
    receiver = signed(beacon_port, "receiver", "127.0.0.2", secret, rejected, window_s=5.0)
    replayer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    replayer.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    try:
        replayer.sendto(captured, ("127.255.255.255", beacon_port))
        assert receive_until(receiver, T0 + 60.0, lambda: len(rejected) == 1)
        assert "outside the 5 s window" in rejected[0].reason and rejected[0].node == "sender"
        replayer.sendto(captured, ("127.255.255.255", beacon_port))
        assert receive_until(receiver, T0 + 1.0, lambda: receiver.statistics().taken == 1)
        replayer.sendto(captured, ("127.255.255.255", beacon_port))
        assert receive_until(receiver, T0 + 1.0, lambda: len(rejected) == 2)
        assert rejected[1].reason.startswith("replayed")
        assert receiver.statistics().taken == 1
    finally:
        replayer.close()
        receiver.close()


def test_a_stable_node_backs_off_and_a_change_resets_it(beacon_port: int) -> None:
    """With nothing changing the interval doubles up to its maximum; a registration brings it back."""
    node = BeaconDiscovery("App", "n1", "127.0.0.1", port=beacon_port, interval=0.25, max_interval=2.0)
    intervals = []
    now = 0.0
    for _ in range(6):
        now = node.tick(now)
        intervals.append(node.interval)
    assert intervals == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    node.register(Endpoint(GROUP, "127.0.0.1", 40001, "n1"))
    assert node.interval == 0.25
    node.tick(now)
    assert node.interval == 0.25
    node.close()


def test_leases_follow_the_senders_interval_and_repeats_only_renew_them(beacon_port: int) -> None:
    """A receiver keeps a backed-off sender for three of its announced intervals; identical beacons are
    counted as repeats (not decoded again) and still renew the lease."""
    one = BeaconDiscovery("App", "n1", "127.0.0.1", port=beacon_port, interval=0.25, max_interval=2.0)
    two = BeaconDiscovery("App", "n2", "127.0.0.2", port=beacon_port, interval=0.25, max_interval=2.0)
    pub = Endpoint(GROUP, "127.0.0.1", 40001, "n1")
    one.register(pub)
    now = 0.0
    for _ in range(4):
        now = one.tick(now)
    assert one.interval == 2.0
    assert receive_until(two, 100.0, lambda: two.statistics().taken >= 1 and two.statistics().received >= 5)
    one.tick(now)
    assert receive_until(two, 100.0, lambda: two.statistics().repeated >= 1)
    assert two.directory.known(GROUP) == [pub]
    two.directory.expire(105.9)
    assert two.directory.known(GROUP) == [pub]
    two.directory.expire(106.0)
    assert two.directory.known(GROUP) == []
    one.close()
    two.close()


# -- the message size limit on real ZeroMQ ----------------------------------------------------------------------

_RAW_SENDER = """
import sys, zmq
context = zmq.Context()
dealer = context.socket(zmq.DEALER)
dealer.connect(sys.argv[1])
dealer.send_multipart([b"mtl", b"x" * (50 * 1024 * 1024)])
dealer.send_multipart([b"mtl", b"small after big"])
sys.stdin.read()  # stay until the test is done with us
"""


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
def test_a_50_mb_frame_is_dropped_by_the_socket_and_memory_does_not_grow() -> None:
    """A raw peer in another process sends a 50 MB frame to a leader's ans port (1 MiB limit): the socket
    closes that connection, the frame never arrives, the port's process does not grow by anything like
    its size, and the port keeps working."""
    context = zmq.Context()
    part = ports.Part(context, host="127.0.0.1")
    ans = ports.GroupAnsPort(part, "ans", {"message": "Msg"})
    ans.setupSocket(None)
    port = ans.updatePoller()
    monitor = ans.getSocket().get_monitor_socket(zmq.EVENT_DISCONNECTED)
    before = _rss_bytes()
    sender = subprocess.Popen([sys.executable, "-c", _RAW_SENDER, f"tcp://127.0.0.1:{port}"], stdin=subprocess.PIPE)
    try:
        assert monitor.poll(20_000), "the socket should close the connection that carried the oversize frame"
        got = []
        while ans.getSocket().poll(200):  # what else arrived (the dealer may resend its queue after reconnecting)
            got.append(ans.recv())
        assert all(len(payload) < ports.PortOptions().max_message_bytes for payload in got)
        grown = _rss_bytes() - before
        assert grown < 10 * 1024 * 1024, f"the receiving process grew by {grown / 1e6:.1f} MB"
        probe = context.socket(zmq.DEALER)
        probe.connect(f"tcp://127.0.0.1:{port}")
        probe.send_multipart([b"mtl", b"still working"])
        assert ans.getSocket().poll(10_000)
        assert ans.recv() == b"still working"
        probe.close(linger=0)
        monitor.close(linger=0)
    finally:
        sender.stdin.close()
        sender.wait(10)
        ans.closeSocket()
        close_context(context, timeout_s=5.0)


# -- the ZAP handler's answers, spoken to as libzmq speaks to it -------------------------------------------------


def test_zap_handler_answers_each_request_as_rfc_27_says() -> None:
    """Allowed CURVE key: 200 with the key as user id; other key, NULL, PLAIN: 400 and a refusal record;
    a malformed request is counted and not answered; a second handler in the context is refused."""
    context = zmq.Context()
    allowed, stranger = ports.CurveKeys.generate(), ports.CurveKeys.generate()
    refused: list[ports.HandshakeRefusal] = []
    zap = ports.ZapHandler(context, [allowed.public], refused.append)
    libzmq = context.socket(zmq.DEALER)
    libzmq.connect(ports.ZAP_ENDPOINT)
    raw = zmq.utils.z85.decode

    def ask(request_id: bytes, mechanism: bytes, *credentials: bytes) -> list[bytes]:
        libzmq.send_multipart([b"", b"1.0", request_id, b"g_pub", b"10.0.0.9", b"", mechanism, *credentials])
        assert zap.socket.poll(5000)
        assert zap.handle() == 1
        assert libzmq.poll(5000)
        return libzmq.recv_multipart()

    try:
        assert ask(b"1", b"CURVE", raw(allowed.public)) == [b"", b"1.0", b"1", b"200", b"OK", allowed.public, b""]
        assert ask(b"2", b"CURVE", raw(stranger.public))[3:5] == [b"400", b"key not on the allow-list"]
        assert ask(b"3", b"NULL")[3] == b"400"
        assert ask(b"4", b"PLAIN", b"user", b"password")[3] == b"400"
        assert [(r.port, r.peer, r.mechanism, r.client_key) for r in refused] == [
            ("g_pub", "10.0.0.9", "CURVE", stranger.public),
            ("g_pub", "10.0.0.9", "NULL", b""),
            ("g_pub", "10.0.0.9", "PLAIN", b""),
        ]
        libzmq.send_multipart([b"", b"0.9", b"5"])
        assert zap.socket.poll(5000)
        assert zap.handle() == 0
        assert zap.statistics() == ports.ZapStatistics(admitted=1, refused=3, malformed=1)
        with pytest.raises(zmq.ZMQError):
            ports.ZapHandler(context, [allowed.public])
        with pytest.raises(ValueError, match="at least one allowed client public key"):
            ports.ZapHandler(zmq.Context.instance(), [])
        with pytest.raises(ValueError, match="40 bytes of Z85 text or 32 raw bytes"):
            ports.ZapHandler(zmq.Context.instance(), [b"short"])
    finally:
        libzmq.close(linger=0)
        zap.close()
        close_context(context, timeout_s=5.0)


# -- the pieces wired as a node process wires them ------------------------------------------------------------------


class SecureNode:
    """One node as a real node process would wire it with the application's keys (the lead's recipe)."""

    def __init__(self, index: int, keys: AppKeys, beacon_port: int, refusals: list, rejections: list) -> None:
        from riaps_sim.examples import Groupie
        from riaps_sim.model import GroupType
        from riaps_sim.runtime.node import Node
        from riaps_sim.runtime.real import RealDriver
        from riaps_sim.trace import Trace

        self.host = f"127.0.0.{index + 1}"
        self.context = zmq.Context()
        self.driver = RealDriver()
        # 1. the ZAP handler first, in the node's own context, served by the node's loop
        self.zap = ports.ZapHandler(self.context, keys.allowed, refusals.append)
        self.driver.watch(self.zap.socket, self.zap.handle)
        # 2. signed beacons, stamped and checked against the (unskewed) wall clock
        self.discovery = BeaconDiscovery(
            "SecureApp",
            f"n{index}",
            self.host,
            port=beacon_port,
            destinations=[("127.255.255.255", beacon_port)],
            secret=keys.beacon_secret,
            clock=time.time,
            on_rejected=rejections.append,
        )
        self.driver.watch(self.discovery.fileno(), lambda: self.discovery.receive(time.time()))
        self.driver.call_later(0.0, self._beacon)
        # 3. the node's ports with the application's key pair
        self.node = Node(
            f"n{index}",
            self.host,
            self.context,
            self.driver,
            {"TheGroup": GroupType(name="TheGroup")},
            self.discovery,
            Trace(),
            seed=index,
            incarnation=os.getpid(),
            keys=keys.curve,
        )
        self.member = self.node.add(Groupie(), "groupie")
        self.node.start()

    def _beacon(self) -> None:
        self.discovery.tick(time.time())
        self.driver.call_later(self.discovery.interval, self._beacon)

    def close(self) -> None:
        self.node.stop()
        self.discovery.close()
        self.zap.close()
        close_context(self.context, timeout_s=5.0)


@pytest.mark.slow
def test_secure_nodes_elect_a_leader_and_refuse_a_stranger(beacon_port: int) -> None:
    """Three nodes wired with ZAP, CURVE and signed beacons find each other and agree on a leader; a
    stranger with its own keys subscribing to a member's pub is refused and reported by that node."""
    keys = AppKeys.generate()
    refusals: list[ports.HandshakeRefusal] = []
    rejections: list[BeaconRejection] = []
    nodes = [SecureNode(i, keys, beacon_port, refusals, rejections) for i in range(3)]
    stranger_context = zmq.Context()
    stranger = curve_client_socket(stranger_context, keys.curve.public)
    try:

        def run_until(predicate, timeout: float = 30.0) -> bool:
            deadline = time.monotonic() + deadline_s(timeout)
            while time.monotonic() < deadline:
                for node in nodes:
                    node.driver.run_once(0.005)
                if predicate():
                    return True
            return False

        def agreed() -> bool:
            leaders = {n.member.elected[-1][1] if n.member.elected else None for n in nodes}
            return len(leaders) == 1 and None not in leaders

        assert run_until(agreed), "the secure nodes did not agree on a leader"
        assert refusals == [] and rejections == []
        pub = next(e for e in nodes[0].discovery.directory.local())
        stranger.connect(f"tcp://{pub.host}:{pub.port}")
        assert run_until(lambda: bool(refusals))
        assert refusals[0].peer == "127.0.0.1" and refusals[0].mechanism == "CURVE"
        assert refusals[0].port.endswith("pub") and refusals[0].reason == "key not on the allow-list"
        assert rejections == []
        assert all(n.zap.statistics().admitted >= 3 for n in nodes)  # each pub admitted the three subs
    finally:
        stranger.close(linger=0)
        close_context(stranger_context, timeout_s=5.0)
        for node in nodes:
            node.close()


def curve_client_socket(context: zmq.Context, server_key: bytes) -> zmq.Socket:
    """A SUB socket with a key pair of its own that knows the application's public key."""
    own = ports.CurveKeys.generate()
    socket_ = context.socket(zmq.SUB)
    socket_.setsockopt(zmq.SUBSCRIBE, b"")
    socket_.setsockopt(zmq.CURVE_PUBLICKEY, own.public)
    socket_.setsockopt(zmq.CURVE_SECRETKEY, own.secret)
    socket_.setsockopt(zmq.CURVE_SERVERKEY, server_key)
    return socket_
