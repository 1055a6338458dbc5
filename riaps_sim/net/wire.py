"""The wire: pipes, message timing, arrival, partitions holding or dropping, and the message accounts.

A ``Pipe`` is one socket's end of one connection; what it sends travels to its peer pipe in
order, like a TCP stream: a copy arrives at ``max(sampled arrival, previous arrival)``. Arrivals
are grouped by exact arrival time and each group costs one SimPy event, so a PUB fan-out over
equal paths is one event, and no SimPy process is ever made per message.

On arrival a copy is dropped if its receiving pipe is dead (the socket closed, or its host
crashed), held or dropped if a partition stands between the two hosts, and otherwise handed to
the receiving socket. Held copies wait in their pipe and are sent again, in order, on heal.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, NamedTuple

import simpy

if TYPE_CHECKING:
    from .handshake import Connection
    from .host import Host
    from .network import Network
    from .sockets import SimSocket

__all__ = ["Pipe", "Control", "Wire", "NetworkEvent", "Event", "TRAFFIC_KINDS"]


class NetworkEvent(NamedTuple):
    """One fact of the network's event log (a named tuple, so it still unpacks and compares as one).

    ``kind`` is send, deliver, drop, duplicate, release (data traffic) or fault. ``detail`` is the
    size in bytes (send, deliver), the drop cause, the original message id (duplicate), the number
    of copies released, or the fault's description.
    """

    time: float
    kind: str
    source: Hashable
    target: Hashable
    msg_id: int
    detail: Any


#: Kept for code that named the old tuple type.
Event = NetworkEvent

#: Kinds of event emitted for every message copy; a listener may leave them out (see ``Network.on_event``).
TRAFFIC_KINDS = frozenset({"send", "deliver", "duplicate", "release"})


class Pipe:
    """One end of a connection as its socket sees it; it sends toward ``peer``.

    ``up`` says whether copies can go on the wire now; before that a connecting socket's copies
    wait in ``pending``. ``outstanding`` counts copies sent through this pipe and neither
    delivered nor dropped yet: it is what the high-water mark limits. ``dead`` is ``None`` while
    the pipe can receive, else the drop cause for copies that reach it.
    """

    __slots__ = ("sock", "conn", "peer", "up", "pending", "held", "last_arrival", "outstanding", "identity", "subs", "match_all", "dead", "route")

    def __init__(self, sock: SimSocket, conn: Connection) -> None:
        self.sock = sock
        self.conn = conn
        self.peer: Pipe | None = None
        self.up = False
        # lists, not deques: both are only appended to and drained whole, and a pipe per peer pair
        # makes their size count (an empty deque is ten times an empty list)
        self.pending: list[tuple[tuple[bytes, ...], int]] = []
        self.held: list[tuple[Any, ...]] = []
        self.last_arrival = 0.0
        self.outstanding = 0
        self.identity = b""  # the peer's routing identity, as this socket sees it
        self.subs: list[bytes] | None = None  # the peer's subscriptions (PUB side); None until known
        self.match_all = False
        self.dead: str | None = None
        self.route: Any = None

    def __repr__(self) -> str:
        state = "up" if self.up else ("dead: " + self.dead if self.dead else "connecting")
        return f"<Pipe {self.sock.host.name} {self.conn.endpoint} {state} outstanding={self.outstanding}>"


class Control:
    """A connection-level message that travels in order with data but is not counted: FIN, SUBSCRIBE."""

    __slots__ = ("kind", "data")

    def __init__(self, kind: str, data: Any = None) -> None:
        self.kind = kind
        self.data = data


class Wire:
    """Times, delivers, holds and drops message copies for one network, and keeps the accounts."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.env: simpy.Environment = network.env
        self.sent = 0
        self.delivered = 0
        self.duplicated = 0
        self.dropped: dict[str, int] = {}
        self.emit: Callable[[NetworkEvent], None] | None = None  #: listeners of drops and faults
        self.emit_traffic: Callable[[NetworkEvent], None] | None = None  #: listeners of every copy's send, deliver...
        self.partitions: list[Any] = []
        self.reorder = False  #: let messages of one connection overtake each other (see ``Network.set_reordering``)
        self.holding: dict[Pipe, None] = {}
        self.connections: dict[Connection, None] = {}
        self._buckets: dict[float, list[tuple[Any, ...]]] = {}
        self._mid = 0

    # -- scheduling ----------------------------------------------------------------------------------

    def call_later(self, delay: float, function: Callable[..., None], *args: Any) -> None:
        """Call *function*(*args*) after *delay* seconds of virtual time (control plane only)."""
        event = self.env.timeout(delay)
        event.callbacks.append(lambda _event: function(*args))

    def _at(self, at: float, item: tuple[Any, ...]) -> None:
        bucket = self._buckets.get(at)
        if bucket is None:
            self._buckets[at] = [item]
            event = self.env.timeout(at - self.env.now, at)
            event.callbacks.append(self._fire)
        else:
            bucket.append(item)

    def _fire(self, event: simpy.Event) -> None:
        arrive = self._arrive
        at: Any = event.value
        for item in self._buckets.pop(at):
            arrive(item)

    # -- sending -------------------------------------------------------------------------------------

    def new_id(self) -> int:
        """A fresh message id, for a message whose copies share one (a PUB's fan-out)."""
        self._mid += 1
        return self._mid

    def put(self, pipe: Pipe, frames: tuple[bytes, ...], mid: int = 0) -> int:
        """Count one copy sent through *pipe* and put it on the wire, or queue it until the pipe is up.

        Copies of one message share its id *mid*; 0 means a message of its own. Returns the id.
        """
        self.sent += 1
        if not mid:
            self._mid = mid = self._mid + 1
        pipe.outstanding += 1
        emit = self.emit_traffic
        if emit is not None:
            emit(NetworkEvent(self.env.now, "send", pipe.sock.host.name, pipe.conn.peer_name(pipe), mid, sum(map(len, frames))))
        if pipe.up:
            self.transmit(pipe, pipe.peer, frames, mid)  # type: ignore[arg-type]
        else:
            pipe.pending.append((frames, mid))
        return mid

    def drop_unsent(self, pipe: Pipe | None, sock: SimSocket, cause: str, peer: str = "", mid: int = 0) -> int:
        """Count one copy that *sock* sent and dropped at once, with *cause* (HWM, slow joiner, unroutable); return its id."""
        self.sent += 1
        if not mid:
            self._mid = mid = self._mid + 1
        self.dropped[cause] = self.dropped.get(cause, 0) + 1
        sock.count_drop(cause)
        if self.emit is not None or self.emit_traffic is not None:
            dst = pipe.conn.peer_name(pipe) if pipe is not None else peer
            now = self.env.now
            if self.emit_traffic is not None:
                self.emit_traffic(NetworkEvent(now, "send", sock.host.name, dst, mid, 0))
            if self.emit is not None:
                self.emit(NetworkEvent(now, "drop", sock.host.name, dst, mid, cause))
        return mid

    def drop(self, pipe: Pipe, cause: str, mid: int) -> None:
        """Count copy *mid*, sent through *pipe*, as dropped with *cause*."""
        pipe.outstanding -= 1
        self.dropped[cause] = self.dropped.get(cause, 0) + 1
        emit = self.emit
        if emit is not None:
            emit(NetworkEvent(self.env.now, "drop", pipe.sock.host.name, pipe.conn.peer_name(pipe), mid, cause))

    def delivered_copy(self, pipe: Pipe, receiver: Hashable, mid: int, frames: tuple[bytes, ...]) -> None:
        """Count copy *mid* (*frames*), sent through *pipe*, as taken by the application on host *receiver*."""
        pipe.outstanding -= 1
        self.delivered += 1
        emit = self.emit_traffic
        if emit is not None:
            emit(NetworkEvent(self.env.now, "deliver", pipe.sock.host.name, receiver, mid, sum(map(len, frames))))

    def transmit(self, pipe: Pipe, peer: Pipe, frames: Any, mid: int) -> None:
        """Send a copy already counted (or a ``Control``) from *pipe* to *peer*, in stream order."""
        route = pipe.route
        if route is None or route.version != self.network.topology_version:
            route = pipe.route = self.network.route(pipe.sock.host, peer.sock.host)
            if route is None:
                if frames.__class__ is tuple:
                    self.drop(pipe, "unroutable", mid)
                return
        now = self.env.now
        copies = 1
        if route.fixed:
            at = now + route.delay
        else:
            if route.lossy and frames.__class__ is tuple:
                copies = route.fate()
                if copies == 0:
                    self.drop(pipe, "loss", mid)
                    return
            size = (sum(map(len, frames)) if frames.__class__ is tuple else 64) if route.sized else 0
            at = now + route.sample_delay(now, size)
        if at < pipe.last_arrival:
            if not self.reorder:  # a connection delivers in order (TCP): a message waits for the one before
                at = pipe.last_arrival
        else:
            pipe.last_arrival = at
        bucket = self._buckets.get(at)  # self._at(at, ...), inline: once per copy
        if bucket is None:
            self._buckets[at] = [(pipe, peer, frames, mid)]
            self.env.timeout(at - now, at).callbacks.append(self._fire)
        else:
            bucket.append((pipe, peer, frames, mid))
        if copies == 2:
            self.sent += 1
            self.duplicated += 1
            pipe.outstanding += 1
            self._mid = dup = self._mid + 1
            if self.emit_traffic is not None:
                self.emit_traffic(NetworkEvent(now, "duplicate", pipe.sock.host.name, peer.sock.host.name, dup, mid))
            self._at(at, (pipe, peer, frames, dup))

    # -- arriving ------------------------------------------------------------------------------------

    def _arrive(self, item: tuple[Any, ...]) -> None:
        pipe, peer, frames, mid = item
        if peer.dead is not None:
            if frames.__class__ is tuple:
                self.drop(pipe, peer.dead, mid)
            return
        if self.partitions or pipe.held:
            partition = self.blocking(pipe.sock.host, peer.sock.host)
            if partition is not None and partition.mode == "drop" and frames.__class__ is tuple:
                self.drop(pipe, "partition", mid)
                return
            if partition is not None or pipe.held:
                if not pipe.held:
                    self.holding[pipe] = None
                pipe.held.append(item)
                return
        if frames.__class__ is tuple:
            limit = peer.sock.max_msg_size
            if limit >= 0 and max(map(len, frames)) > limit:
                self.drop(pipe, "oversize", mid)
                peer.conn.oversize(peer)
                return
            peer.sock.arrive(frames, pipe, peer, mid)
        else:
            peer.conn.control(peer, frames)

    def travelling(self) -> int:
        """Data message copies on the wire now, between sending and arrival."""
        return sum(1 for bucket in self._buckets.values() for item in bucket if item[2].__class__ is tuple)

    def held(self) -> int:
        """Data message copies held by partitions in hold mode."""
        return sum(1 for pipe in self.holding for item in pipe.held if item[2].__class__ is tuple)

    def blocking(self, source: Host, target: Host) -> Any:
        """The first active partition that stops traffic from *source* to *target*, or ``None``."""
        for partition in self.partitions:
            if partition.blocks(source, target):
                return partition
        return None

    def release(self) -> None:
        """Send again, in order, what partitions held and no partition blocks any more."""
        for pipe in list(self.holding):
            held = pipe.held
            peer = held[0][1]
            if self.blocking(pipe.sock.host, peer.sock.host) is not None:
                continue
            del self.holding[pipe]
            pipe.held = []
            if self.emit_traffic is not None:
                self.emit_traffic(NetworkEvent(self.env.now, "release", pipe.sock.host.name, peer.sock.host.name, 0, len(held)))
            for _pipe, target, frames, mid in held:
                self.transmit(pipe, target, frames, mid)

    def discard_held(self, pipe: Pipe, cause: str) -> None:
        """Drop what *pipe* holds (its host crashed: the kernel's buffers are gone)."""
        if not pipe.held:
            return
        self.holding.pop(pipe, None)
        held, pipe.held = pipe.held, []
        for _pipe, _target, frames, mid in held:
            if frames.__class__ is tuple:
                self.drop(pipe, cause, mid)
