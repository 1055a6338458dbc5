"""Real discovery across processes and hosts: UDP beacons, in the spirit of Zyre.

Every node periodically sends one small datagram listing the group pub endpoints it currently
offers. By default it goes to the broadcast address of the node's interface, so nodes on one LAN
(or on one machine's loopback, 127.255.255.255) find each other without configuration. Where
broadcast does not reach, a static file names the beacon addresses to send to instead
(``BeaconDiscovery.from_file``). An endpoint missing from a node's latest beacon, or a node silent
for ``ttl`` seconds, is reported gone.

Beacon format (UTF-8 JSON after a magic prefix, one datagram)::

    RIAPS-SIM/1 {"app": "GroupApp", "node": "n1", "pubs": [["Msg@G.g1", "10.0.0.1", 40001], ...]}

Nothing here reads the clock: the runtime passes ``now`` (seconds) in, and calls ``tick`` when
``next_tick`` comes and ``receive`` when ``fileno()`` is readable.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import logging
import socket
import struct
from collections.abc import Iterable
from pathlib import Path

from .directory import Directory, Endpoint

__all__ = ["BeaconDiscovery", "DEFAULT_BEACON_PORT", "broadcast_address"]

log = logging.getLogger("riaps_sim.discovery")

DEFAULT_BEACON_PORT = 47474
MAGIC = b"RIAPS-SIM/1 "
MAX_DATAGRAM = 65000

_SIOCGIFADDR = 0x8915
_SIOCGIFBRDADDR = 0x8919


def broadcast_address(host: str) -> str:
    """The broadcast address of the interface that carries *host* (Linux), e.g. ``10.77.0.255``.

    Loopback hosts get ``127.255.255.255``. Raises ``ValueError`` if no interface carries *host*.
    """
    address = ipaddress.IPv4Address(host)
    if address.is_loopback:
        return "127.255.255.255"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                if socket.inet_ntoa(fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)[20:24]) == host:
                    return socket.inet_ntoa(fcntl.ioctl(probe.fileno(), _SIOCGIFBRDADDR, request)[20:24])
            except OSError:
                continue
    raise ValueError(f"no interface carries {host}; give the beacon destinations explicitly")


class BeaconDiscovery:
    """Discovery of group pub endpoints over UDP beacons.

    Parameters
    ----------
    app:
        The application name; beacons of other applications are ignored.
    node:
        This node's name, unique in the application.
    host:
        This node's address; the beacon's default destination is its interface's broadcast address.
    port:
        The UDP port beacons are sent to and received on (default 47474).
    destinations:
        ``(address, port)`` pairs to send beacons to instead of the broadcast address.
    interval:
        Seconds between beacons.
    ttl:
        Seconds after which a silent node's endpoints are reported gone (default 3 intervals).
    """

    def __init__(
        self,
        app: str,
        node: str,
        host: str,
        port: int = DEFAULT_BEACON_PORT,
        destinations: Iterable[tuple[str, int]] | None = None,
        interval: float = 0.25,
        ttl: float | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"beacon interval must be > 0 seconds, got {interval!r}")
        self.app = app
        self.node = node
        self.host = host
        self.interval = interval
        self.ttl = 3 * interval if ttl is None else ttl
        self.directory = Directory()
        self.destinations = list(destinations) if destinations is not None else [(broadcast_address(host), port)]
        self.malformed = 0
        self.next_tick = 0.0
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        self._socket.setblocking(False)
        self._socket.bind(("", port))

    @classmethod
    def from_file(cls, path: str | Path, app: str, node: str, host: str, **kwargs: object) -> BeaconDiscovery:
        """Discovery whose beacons go to the addresses listed in *path*, one ``host:port`` a line.

        Blank lines and ``#`` comments are skipped. A bad line raises ``ValueError`` naming the file
        and line. This node listens on the port of the line that names its own *host* (if any),
        else on the default port.
        """
        destinations: list[tuple[str, int]] = []
        for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            address, _, port = line.rpartition(":")
            try:
                ipaddress.IPv4Address(address)
                destination = (address, int(port))
            except ValueError:
                raise ValueError(f"{path}:{number}: expected 'IPv4:port', got {raw.strip()!r}") from None
            destinations.append(destination)
        own = [p for a, p in destinations if a == host]
        return cls(app, node, host, port=own[0] if own else DEFAULT_BEACON_PORT, destinations=destinations, **kwargs)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"<BeaconDiscovery {self.app}/{self.node} to {self.destinations} {self.directory!r}>"

    def fileno(self) -> int:
        """The UDP socket's descriptor, for the runtime's poller."""
        return self._socket.fileno()

    def register(self, endpoint: Endpoint) -> None:
        """Offer a pub endpoint; peers hear of it from the beacon sent at once."""
        self.directory.register(endpoint)
        self._send_beacon()

    def unregister(self, endpoint: Endpoint) -> None:
        """Withdraw a pub endpoint; peers hear it is gone from the beacon sent at once."""
        self.directory.unregister(endpoint)
        self._send_beacon()

    def tick(self, now: float) -> float:
        """Send a beacon, expire silent nodes, and return when to tick next (seconds)."""
        self._send_beacon()
        self.directory.expire(now)
        self.next_tick = now + self.interval
        return self.next_tick

    def _send_beacon(self) -> None:
        beacon = MAGIC + json.dumps(
            {"app": self.app, "node": self.node, "pubs": [[e.group, e.host, e.port] for e in self.directory.local()]},
            separators=(",", ":"),
        ).encode()
        if len(beacon) > MAX_DATAGRAM:
            raise ValueError(f"beacon of node {self.node!r} is {len(beacon)} bytes, over one datagram; too many groups")
        for destination in self.destinations:
            try:
                self._socket.sendto(beacon, destination)
            except OSError as exc:
                log.warning("beacon to %s:%s failed: %s", *destination, exc)

    def receive(self, now: float) -> int:
        """Read every waiting beacon; return how many were taken in. Bad ones are counted and logged."""
        taken = 0
        while True:
            try:
                datagram, sender = self._socket.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return taken
            try:
                node, endpoints = self._decode(datagram)
            except ValueError as exc:
                self.malformed += 1
                log.warning("ignored a malformed beacon from %s:%s: %s", *sender, exc)
                continue
            if node is not None and node != self.node:
                self.directory.heard(endpoints, node, now + self.ttl)
                taken += 1

    def _decode(self, datagram: bytes) -> tuple[str | None, list[Endpoint]]:
        if not datagram.startswith(MAGIC):
            raise ValueError("no RIAPS-SIM/1 prefix")
        try:
            body = json.loads(datagram[len(MAGIC):])
            if body["app"] != self.app:
                return None, []
            node = body["node"]
            endpoints = [Endpoint(str(g), str(h), int(p), node) for g, h, p in body["pubs"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"bad beacon body: {exc}") from None
        if not isinstance(node, str):
            raise ValueError("bad beacon body: node is not a string")
        return node, endpoints

    def close(self) -> None:
        """Stop taking part: a last, empty beacon tells peers this node's endpoints are gone."""
        if self._socket.fileno() < 0:
            return
        for endpoint in self.directory.local():
            self.directory.unregister(endpoint)
        self._send_beacon()
        self._socket.close()
