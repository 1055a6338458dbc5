"""Discovery: the directory's bookkeeping, and real UDP beacons between nodes on loopback."""

from __future__ import annotations

import random
import select

import pytest
from wallclock import deadline_s

from riaps_sim.discovery import BeaconDiscovery, Directory, Endpoint, broadcast_address

GROUP = "Msg@TheGroup.g1"


def watched(directory: Directory, group: str = GROUP) -> list[tuple[Endpoint, bool]]:
    events: list[tuple[Endpoint, bool]] = []
    directory.watch(group, lambda endpoint, present: events.append((endpoint, present)))
    return events


def test_own_registration_reaches_own_watchers_at_once() -> None:
    """A member's own pub is reported to its own sub at once, as RIAPS discovery does (B26)."""
    directory = Directory()
    events = watched(directory)
    own = Endpoint(GROUP, "127.0.0.1", 40001, "n1")
    directory.register(own)
    directory.register(own)
    assert events == [(own, True)]
    directory.unregister(own)
    assert events == [(own, True), (own, False)]


def test_watch_replays_known_endpoints_and_ignores_other_groups() -> None:
    """A late watcher hears of every endpoint already known for its group only."""
    directory = Directory()
    a = Endpoint(GROUP, "10.0.0.1", 40001, "n1")
    directory.heard([a, Endpoint("Msg@Other.x", "10.0.0.1", 40002, "n1")], "n1", expires=5.0)
    assert watched(directory) == [(a, True)]


def test_endpoint_dropped_from_a_beacon_or_expired_is_gone() -> None:
    """An endpoint a node stops announcing, or all of a silent node's, are reported gone (fixes B18)."""
    directory = Directory()
    events = watched(directory)
    a, b = Endpoint(GROUP, "10.0.0.1", 40001, "n1"), Endpoint(GROUP, "10.0.0.2", 40002, "n2")
    directory.heard([a], "n1", expires=3.0)
    directory.heard([b], "n2", expires=3.0)
    directory.heard([], "n1", expires=4.0)
    assert events == [(a, True), (b, True), (a, False)]
    assert directory.expire(2.9) == []
    assert directory.expire(3.0) == [b]
    assert events[-1] == (b, False) and directory.known(GROUP) == []


def test_endpoint_rejects_bad_port() -> None:
    """An endpoint with an impossible port is refused with the value."""
    with pytest.raises(ValueError, match="port must be 1..65535, got 0"):
        Endpoint(GROUP, "10.0.0.1", 0, "n1")


# -- real UDP beacons on loopback ---------------------------------------------------------------------


@pytest.fixture
def beacon_port() -> int:
    return random.Random().randrange(40000, 47000)


def wait_beacons(node: BeaconDiscovery, now: float, predicate, timeout: float = 10.0) -> None:
    """Read beacons as they arrive until *predicate* holds, or fail after *timeout* seconds."""
    deadline_polls = int(deadline_s(timeout) / 0.05)
    for _ in range(deadline_polls):
        node.receive(now)
        if predicate():
            return
        select.select([node.fileno()], [], [], 0.05)
    raise AssertionError(f"{node!r}: condition not met in {timeout} s")


def test_two_nodes_find_each_other_and_see_departures(beacon_port: int) -> None:
    """Node 2 learns node 1's pub from its beacon, and that it is gone when node 1 withdraws it."""
    one = BeaconDiscovery("App", "n1", "127.0.0.1", port=beacon_port)
    two = BeaconDiscovery("App", "n2", "127.0.0.2", port=beacon_port)
    events = watched(two.directory)
    pub = Endpoint(GROUP, "127.0.0.1", 40001, "n1")
    one.register(pub)
    wait_beacons(two, 0.0, lambda: events == [(pub, True)])
    one.unregister(pub)
    wait_beacons(two, 0.1, lambda: events == [(pub, True), (pub, False)])
    one.close()
    two.close()


def test_silent_node_expires_after_ttl(beacon_port: int) -> None:
    """A node whose beacons stop is reported gone once ttl seconds pass on the listener's clock."""
    one = BeaconDiscovery("App", "n1", "127.0.0.1", port=beacon_port, interval=0.25)
    two = BeaconDiscovery("App", "n2", "127.0.0.2", port=beacon_port, interval=0.25)
    events = watched(two.directory)
    pub = Endpoint(GROUP, "127.0.0.1", 40001, "n1")
    one.register(pub)
    wait_beacons(two, 10.0, lambda: events == [(pub, True)])
    one._socket.close()  # dies without a farewell beacon
    two.tick(10.7)
    assert events == [(pub, True)]
    two.tick(10.75)
    assert events == [(pub, True), (pub, False)]
    two.close()


def test_malformed_and_foreign_beacons_are_ignored(beacon_port: int, caplog: pytest.LogCaptureFixture) -> None:
    """Garbage is counted and logged; another application's beacon is ignored; real beacons still work."""
    one = BeaconDiscovery("App", "n1", "127.0.0.1", port=beacon_port)
    other_app = BeaconDiscovery("OtherApp", "x1", "127.0.0.3", port=beacon_port)
    two = BeaconDiscovery("App", "n2", "127.0.0.2", port=beacon_port)
    events = watched(two.directory)
    one._socket.sendto(b"RIAPS-SIM/1 {not json", ("127.255.255.255", beacon_port))
    one._socket.sendto(b"hello", ("127.255.255.255", beacon_port))
    other_app.register(Endpoint(GROUP, "127.0.0.3", 40003, "x1"))
    pub = Endpoint(GROUP, "127.0.0.1", 40001, "n1")
    one.register(pub)
    with caplog.at_level("WARNING", logger="riaps_sim.discovery"):
        wait_beacons(two, 0.0, lambda: events == [(pub, True)] and two.malformed == 2)
    assert "ignored a malformed beacon" in caplog.text
    for node in (one, other_app, two):
        node.close()


def test_static_file_gives_unicast_destinations(tmp_path, beacon_port: int) -> None:
    """With a static file, beacons go to the listed addresses; this node listens on its own line's port."""
    peers = tmp_path / "peers.txt"
    peers.write_text(f"# the group's hosts\n127.0.0.1:{beacon_port}\n127.0.0.2:{beacon_port + 1}\n\n")
    one = BeaconDiscovery.from_file(peers, "App", "n1", "127.0.0.1")
    two = BeaconDiscovery.from_file(peers, "App", "n2", "127.0.0.2")
    assert one.destinations == [("127.0.0.1", beacon_port), ("127.0.0.2", beacon_port + 1)]
    events = watched(two.directory)
    pub = Endpoint(GROUP, "127.0.0.1", 40001, "n1")
    one.register(pub)
    wait_beacons(two, 0.0, lambda: events == [(pub, True)])
    one.close()
    two.close()


def test_static_file_errors_name_file_and_line(tmp_path) -> None:
    """A bad line in the static file is an error naming the file, the line and what was expected."""
    peers = tmp_path / "peers.txt"
    peers.write_text("127.0.0.1:47474\nlocalhost:47474\n")
    with pytest.raises(ValueError, match=r"peers.txt:2: expected 'IPv4:port', got 'localhost:47474'"):
        BeaconDiscovery.from_file(peers, "App", "n1", "127.0.0.1")


def test_broadcast_address_of_loopback_and_unknown_hosts() -> None:
    """Loopback broadcasts to 127.255.255.255; a host no interface carries is an error."""
    assert broadcast_address("127.0.0.5") == "127.255.255.255"
    with pytest.raises(ValueError, match="no interface carries 203.0.113.77"):
        broadcast_address("203.0.113.77")
