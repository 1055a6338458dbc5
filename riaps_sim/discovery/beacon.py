"""Real discovery across processes and hosts: UDP beacons, in the spirit of Zyre, authenticated.

Every node periodically sends one small datagram listing the group pub endpoints it currently
offers. By default it goes to the broadcast address of the node's interface, so nodes on one LAN
(or on one machine's loopback, 127.255.255.255) find each other without configuration. Where
broadcast does not reach, a static file names the beacon addresses to send to instead
(``BeaconDiscovery.from_file``). An endpoint missing from a node's latest beacon, or a node silent
for three of its announced intervals, is reported gone.

The content of a beacon is UTF-8 JSON: the application, the node, its pubs and the interval until
its next beacon (``ivl``, seconds)::

    {"app":"GroupApp","node":"n1","pubs":[["Msg@G.g1","10.0.0.1",40001]],"ivl":0.25}

**Authenticated** (with the application's beacon secret, ``secret=``), a datagram is::

    b"RIAPS-SIM/2 " | app tag (8) | timestamp (8, big-endian double, s) | counter (8) | HMAC-SHA256 (32) | content

The MAC covers everything before and after it, under a key derived from the secret. A receiver
takes a beacon only if the app tag is its own (other applications' beacons are ignored
silently), the MAC verifies, the timestamp lies within ``window_s`` of its own clock, and the
(timestamp, counter) pair is newer than the last one taken from that node (no replay within the
window). Any other datagram is not applied and is reported to ``on_rejected`` with the reason.
**Insecure** (no secret), a datagram is ``b"RIAPS-SIM/1 " + content``, as before.

Cost when idle: once nothing changes, a node doubles its interval at each beacon up to
``max_interval`` (a change, local or heard, resets it and is answered by a beacon at once, at most
once per base interval), and a receiver whose sender repeats its previous content only renews
that sender's lease, without decoding it again.

Nothing here reads the clock: the runtime passes ``now`` (seconds) in, or a ``clock`` to stamp
beacons sent between ticks, and calls ``tick`` when ``next_tick`` comes and ``receive`` when
``fileno()`` is readable.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .directory import Directory, Endpoint

__all__ = ["BeaconDiscovery", "BeaconRejection", "BeaconStatistics", "DEFAULT_BEACON_PORT", "DEFAULT_WINDOW_S", "broadcast_address"]

log = logging.getLogger("riaps_sim.discovery")

DEFAULT_BEACON_PORT = 47474
DEFAULT_WINDOW_S = 5.0
MAGIC = b"RIAPS-SIM/1 "
MAGIC_SIGNED = b"RIAPS-SIM/2 "
MAX_DATAGRAM = 65000

_HEADER = struct.Struct(">8sdQ")  # app tag, timestamp (s), counter
_MAC_BYTES = 32
_SIGNED_PREFIX = len(MAGIC_SIGNED) + _HEADER.size + _MAC_BYTES
_TTL_INTERVALS = 3  # a sender is gone after this many of its announced intervals of silence

_SIOCGIFADDR = 0x8915
_SIOCGIFBRDADDR = 0x8919


@dataclass(frozen=True, slots=True)
class BeaconRejection:
    """A datagram on the beacon port that was not applied, and why.

    ``sender`` is the UDP source (``"address:port"``); ``node`` the node it claims to come from,
    when that could be read without trusting it (``None`` otherwise).
    """

    sender: str
    reason: str
    node: str | None = None


@dataclass(frozen=True, slots=True)
class BeaconStatistics:
    """Counts of a node's beacons: sent; received; taken (applied); repeated (same content as the
    sender's previous beacon, only its lease renewed); rejected (see ``BeaconRejection``); foreign
    (another application's)."""

    sent: int = 0
    received: int = 0
    taken: int = 0
    repeated: int = 0
    rejected: int = 0
    foreign: int = 0


RejectionCallback = Callable[[BeaconRejection], None]


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


def app_tag(app: str) -> bytes:
    """The 8 bytes that tell an application's signed beacons apart before their MAC is checked."""
    return hashlib.sha256(b"riaps-sim app " + app.encode("utf-8")).digest()[:8]


def mac_key(secret: bytes) -> bytes:
    """The beacon MAC key derived from the application's beacon secret (kept apart from other uses)."""
    return hmac.new(secret, b"riaps-sim beacon mac v2", hashlib.sha256).digest()


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
        Seconds between beacons while anything changes (the base interval).
    ttl:
        Seconds after which a silent node's endpoints are reported gone, at least; a sender that
        announced a longer interval is given three of its intervals. Default: three intervals.
    max_interval:
        The longest interval, in seconds, that a stable node backs off to (default 2 s; equal to
        *interval* turns the back-off off).
    secret:
        The application's beacon secret (``AppKeys.beacon_secret``): beacons are signed, and only
        signed beacons that verify are taken. ``None``: insecure, unsigned beacons.
    window_s:
        How far a signed beacon's timestamp may lie from this node's clock, in seconds.
    on_rejected:
        Called with a ``BeaconRejection`` for every datagram not applied (bad or missing MAC,
        outside the window, replayed, malformed). Without it, rejections are logged as warnings:
        the first ten, then the 100th, 1,000th, ... (``statistics()`` counts them all); with it,
        reporting is the callback's and the log gets them at DEBUG.
    clock:
        Returns the time in seconds, to stamp beacons sent outside ``tick`` (``register``,
        ``unregister``, answers to changes). Default: the last ``now`` given.

    Notes
    -----
    *now* and *clock* must be the same clock on every node (wall-clock seconds) for the window to
    hold: a node whose clock is off by more than *window_s* is not heard.
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
        *,
        max_interval: float = 2.0,
        secret: bytes | None = None,
        window_s: float = DEFAULT_WINDOW_S,
        on_rejected: RejectionCallback | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"beacon interval must be > 0 seconds, got {interval!r}")
        if max_interval < interval:
            raise ValueError(f"beacon max_interval ({max_interval!r} s) must be at least the interval ({interval!r} s)")
        if secret is not None and (not isinstance(secret, bytes) or len(secret) < 16):
            raise ValueError("the beacon secret must be at least 16 bytes (AppKeys.beacon_secret)")
        if not window_s > 0:
            raise ValueError(f"beacon window_s must be > 0 seconds, got {window_s!r}")
        self.app = app
        self.node = node
        self.host = host
        self.base_interval = interval
        self.max_interval = max_interval
        #: The current interval until the next beacon, in seconds: the runtime schedules ``tick`` by it.
        self.interval = interval
        self.ttl = _TTL_INTERVALS * interval if ttl is None else ttl
        self.window_s = window_s
        self.on_rejected = on_rejected
        self.directory = Directory()
        self.destinations = list(destinations) if destinations is not None else [(broadcast_address(host), port)]
        self.malformed = 0
        self.next_tick = 0.0
        self._clock = clock
        self._now = 0.0
        self._secret = secret
        self._mac_key = mac_key(secret) if secret is not None else b""
        self._tag = app_tag(app)
        self._counter = 0
        self._changed = True  # the first interval is the base one
        self._last_answer = float("-inf")
        # Per node, the content of its latest beacon taken, and that content decoded. Senders are told
        # apart by the node they name, not by their UDP source: nodes on one machine share it.
        self._latest: dict[str, bytes] = {}
        self._decoded: dict[bytes, tuple[str, list[Endpoint], float]] = {}
        self._last_stamp: dict[str, tuple[float, int]] = {}  # node -> newest (timestamp, counter) taken
        self._own_content = b""
        self._stats = {"sent": 0, "received": 0, "taken": 0, "repeated": 0, "rejected": 0, "foreign": 0}
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
        mode = "signed" if self._secret is not None else "unsigned"
        return f"<BeaconDiscovery {self.app}/{self.node} {mode} every {self.interval:g} s to {self.destinations} {self.directory!r}>"

    @property
    def secure(self) -> bool:
        """Whether beacons are signed and only verified beacons are taken."""
        return self._secret is not None

    def fileno(self) -> int:
        """The UDP socket's descriptor, for the runtime's poller."""
        return self._socket.fileno()

    def statistics(self) -> BeaconStatistics:
        """A snapshot of this node's beacon counters."""
        return BeaconStatistics(**self._stats)

    def register(self, endpoint: Endpoint) -> None:
        """Offer a pub endpoint; peers hear of it from the beacon sent at once."""
        self.directory.register(endpoint)
        self._reset_interval()
        self._send_beacon()

    def unregister(self, endpoint: Endpoint) -> None:
        """Withdraw a pub endpoint; peers hear it is gone from the beacon sent at once."""
        self.directory.unregister(endpoint)
        self._reset_interval()
        self._send_beacon()

    def tick(self, now: float) -> float:
        """Send a beacon, expire silent nodes, and return when to tick next (seconds).

        The interval doubles (up to ``max_interval``) after a tick with no change since the one
        before, and is back at the base interval after any change.
        """
        self._now = now
        if self.directory.expire(now):
            self._changed = True
        if self._changed:
            self.interval = self.base_interval
        else:
            self.interval = min(self.max_interval, self.interval * 2)
        self._changed = False
        self.next_tick = now + self.interval
        self._send_beacon(now)
        return self.next_tick

    def _reset_interval(self) -> None:
        self._changed = True
        self.interval = self.base_interval

    # -- sending ---------------------------------------------------------------------------------------

    def _content(self, stamp: float) -> bytes:
        # The announced interval bounds the wait for this node's next beacon, which the runtime has
        # already scheduled at next_tick: receivers lease this node's endpoints for three of it.
        announced = round(max(self.interval, self.next_tick - stamp), 3)
        return json.dumps(
            {"app": self.app, "node": self.node, "pubs": [[e.group, e.host, e.port] for e in self.directory.local()], "ivl": announced},
            separators=(",", ":"),
        ).encode()

    def _stamp(self) -> float:
        return self._clock() if self._clock is not None else self._now

    def _send_beacon(self, now: float | None = None) -> None:
        stamp = self._stamp() if now is None else now
        content = self._own_content = self._content(stamp)
        if self._secret is None:
            beacon = MAGIC + content
        else:
            self._counter += 1
            header = MAGIC_SIGNED + _HEADER.pack(self._tag, stamp, self._counter)
            beacon = header + hmac.new(self._mac_key, header + content, hashlib.sha256).digest() + content
        if len(beacon) > MAX_DATAGRAM:
            raise ValueError(f"beacon of node {self.node!r} is {len(beacon)} bytes, over one datagram; too many groups")
        for destination in self.destinations:
            try:
                self._socket.sendto(beacon, destination)
                self._stats["sent"] += 1
            except OSError as exc:
                log.warning("beacon to %s:%s failed: %s", *destination, exc)

    # -- receiving -------------------------------------------------------------------------------------

    def receive(self, now: float) -> int:
        """Read every waiting beacon; return how many were taken in (repeats included).

        A change heard (a new node, or a node's pubs changed) resets this node's interval and is
        answered with a beacon at once, at most once per base interval, so newcomers learn of
        every member within about one datagram's time.
        """
        self._now = now
        taken = 0
        changed = False
        while True:
            try:
                datagram, sender = self._socket.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                break
            self._stats["received"] += 1
            outcome = self._take(datagram, sender, now)
            if outcome is not None:
                taken += 1
                changed = changed or outcome
        if changed:
            self._reset_interval()
            if now - self._last_answer >= self.base_interval:
                self._last_answer = now
                self._send_beacon(now)
        return taken

    def _take(self, datagram: bytes, sender: tuple[str, int], now: float) -> bool | None:
        """Apply one datagram: ``None`` if not taken, else whether it changed what this node knows."""
        if self._secret is not None:
            content = self._verify(datagram, sender, now)
            if content is None:
                return None
        else:
            if not datagram.startswith(MAGIC):
                self._reject(sender, "no RIAPS-SIM/1 prefix", malformed=True)
                return None
            content = datagram[len(MAGIC) :]
        if content == self._own_content:  # this node's own broadcast, heard back
            return None
        repeat = self._decoded.get(content)
        if repeat is not None:  # the same content as that node's previous beacon: only renew its lease
            node, endpoints, interval = repeat
            self.directory.heard(endpoints, node, now + self._lease_s(interval))
            self._stats["repeated"] += 1
            return False
        try:
            decoded = self._decode(content)
        except ValueError as exc:
            self._reject(sender, str(exc), malformed=True)
            return None
        if decoded is None:
            self._stats["foreign"] += 1
            return None
        node, endpoints, interval = decoded
        if node == self.node:
            return None
        previous = self._decoded.pop(self._latest.get(node, b""), None)
        self._latest[node] = content
        self._decoded[content] = decoded
        self.directory.heard(endpoints, node, now + self._lease_s(interval))
        self._stats["taken"] += 1
        return previous is None or previous[1] != endpoints

    def _lease_s(self, interval: float) -> float:
        return max(self.ttl, _TTL_INTERVALS * interval)

    def _verify(self, datagram: bytes, sender: tuple[str, int], now: float) -> bytes | None:
        """The content of a signed beacon that verifies, or ``None`` (rejected, or another application's)."""
        if not datagram.startswith(MAGIC_SIGNED):
            if datagram.startswith(MAGIC):
                self._reject(sender, "no MAC: an unsigned beacon, and this node takes signed ones only", _claimed_node(datagram[len(MAGIC) :]))
                return None
            self._reject(sender, "no RIAPS-SIM/2 prefix", malformed=True)
            return None
        if len(datagram) < _SIGNED_PREFIX:
            self._reject(sender, "signed beacon too short", malformed=True)
            return None
        tag, stamp, counter = _HEADER.unpack_from(datagram, len(MAGIC_SIGNED))
        if tag != self._tag:
            self._stats["foreign"] += 1
            return None
        header = datagram[: len(MAGIC_SIGNED) + _HEADER.size]
        mac = datagram[len(header) : _SIGNED_PREFIX]
        content = datagram[_SIGNED_PREFIX:]
        expected = hmac.new(self._mac_key, header + content, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            self._reject(sender, "bad MAC: not signed with this application's beacon secret", _claimed_node(content))
            return None
        node = _claimed_node(content)
        if not abs(stamp - now) <= self.window_s:
            self._reject(sender, f"timestamp {stamp - now:+.3f} s from this node's clock, outside the {self.window_s:g} s window", node)
            return None
        if node is not None:
            last = self._last_stamp.get(node)
            if last is not None and (stamp, counter) <= last:
                self._reject(sender, "replayed: not newer than the last beacon taken from this node", node)
                return None
            self._last_stamp[node] = (stamp, counter)
        return content

    def _reject(self, sender: tuple[str, int], reason: str, node: str | None = None, malformed: bool = False) -> None:
        """Count, log and report a datagram that is not applied."""
        self._stats["rejected"] += 1
        if malformed:
            self.malformed += 1
        rejection = BeaconRejection(sender=f"{sender[0]}:{sender[1]}", reason=reason, node=node)
        rejected = self._stats["rejected"]
        # with a callback its owner reports (a node bounds its trace and log per source); without, the
        # log gets the first ten and then every power of ten, so a flood cannot fill it
        quiet = self.on_rejected is not None or not (rejected <= 10 or rejected == 10 ** (len(str(rejected)) - 1))
        log.log(
            logging.DEBUG if quiet else logging.WARNING,
            "ignored a %s beacon from %s: %s (%d rejected so far)",
            "malformed" if malformed else "rejected",
            rejection.sender,
            reason,
            rejected,
        )
        if self.on_rejected is not None:
            self.on_rejected(rejection)

    def _decode(self, content: bytes) -> tuple[str, list[Endpoint], float] | None:
        """(node, endpoints, announced interval) of a beacon's content; ``None`` for another application's."""
        try:
            body = json.loads(content)
            if body["app"] != self.app:
                return None
            node = body["node"]
            endpoints = [Endpoint(str(g), str(h), int(p), node) for g, h, p in body["pubs"]]
            interval = float(body.get("ivl", self.base_interval))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"bad beacon body: {exc}") from None
        if not isinstance(node, str):
            raise ValueError("bad beacon body: node is not a string")
        if not 0 < interval <= 3600:
            raise ValueError(f"bad beacon body: interval {interval!r} s")
        return node, endpoints, interval

    def close(self) -> None:
        """Stop taking part: a last, empty beacon tells peers this node's endpoints are gone."""
        if self._socket.fileno() < 0:
            return
        for endpoint in self.directory.local():
            self.directory.unregister(endpoint)
        self._send_beacon()
        self._socket.close()


def _claimed_node(content: bytes) -> str | None:
    """The node name a beacon's content claims, for reports only (never trusted)."""
    try:
        node = json.loads(content).get("node")
    except (ValueError, AttributeError):
        return None
    return node if isinstance(node, str) else None
