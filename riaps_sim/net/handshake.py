"""``Connection``: one connect() from a socket to an endpoint, through handshakes, losses and reconnects.

Timeline of one attempt, as libzmq over TCP sees it (d1, d2 are one-way path delays):

- at t the client sends its SYN and greeting; at t + d1 the server host receives it. No listener
  there: a reset comes back, and the client retries ``RECONNECT_IVL`` after it learns (the wait is
  parked on the server host and woken by the next bind on that port, at the tick it would have
  hit). Security mechanisms that do not pair up: the handshake fails and monitors hear of it.
- otherwise the server side is up at t + d1: the accepting socket gets a pipe (a ROUTER learns
  the client's identity) and may send at once; the client side is up at t + d1 + d2, and only
  then do its queued messages (DEALER) leave and its subscriptions (SUB) start their way back.
  A PUB drops what it sends to a peer whose subscriptions it has not received: the slow joiner.
- the server closing or the client disconnecting sends a FIN in stream order, after any data;
  the client side then reconnects, the server side forgets the pipe. A crashed host sends
  nothing: its peers stay half-open until it restarts, which resets them.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator
from typing import TYPE_CHECKING, Any

import zmq
from zmq.utils import z85

from .wire import Control, Pipe

if TYPE_CHECKING:
    from .host import Host
    from .sockets import SimSocket

__all__ = ["Connection", "compatible", "mechanism_failure"]

# Socket types that may talk to each other, as ZMTP checks in the handshake.
_PEERS: dict[int, tuple[int, ...]] = {
    zmq.PUB: (zmq.SUB, zmq.XSUB),
    zmq.SUB: (zmq.PUB, zmq.XPUB),
    zmq.DEALER: (zmq.DEALER, zmq.ROUTER, zmq.REP),
    zmq.ROUTER: (zmq.DEALER, zmq.ROUTER, zmq.REQ),
    zmq.PAIR: (zmq.PAIR,),
}


def compatible(a: int, b: int) -> bool:
    """Whether sockets of types *a* and *b* can complete a ZMTP handshake."""
    return b in _PEERS.get(a, ())


def _key(value: bytes | None) -> bytes | None:
    if value is not None and len(value) == 40:
        return bytes(z85.decode(value))
    return value


def _zap_mechanism(client: SimSocket, server: SimSocket) -> bytes | None:
    """The mechanism a ZAP request names for this handshake, or ``None`` if libzmq asks no handler.

    A CURVE server always asks; a NULL server only when its ``ZAP_DOMAIN`` is set (libzmq 4.3).
    """
    if server.option_set(zmq.CURVE_SERVER, 0):
        return b"CURVE"
    if server.option_set(zmq.ZAP_DOMAIN):
        return b"NULL"
    return None


def mechanism_failure(client: SimSocket, server: SimSocket) -> tuple[int, bool] | None:
    """``None`` if the two sockets' security settings pair up, else (protocol error, client also told).

    NULL pairs with NULL; a CURVE client pairs with a CURVE server whose public key is the
    client's CURVE_SERVERKEY. A mechanism mismatch is seen by both sides; a wrong key only by
    the server, which cannot decrypt the client's HELLO (the client just sees the connection drop).
    """
    c_server, s_server = client.option_set(zmq.CURVE_SERVER, 0), server.option_set(zmq.CURVE_SERVER, 0)
    c_curve = bool(c_server) or client.option_set(zmq.CURVE_SERVERKEY) is not None
    s_curve = bool(s_server) or server.option_set(zmq.CURVE_SERVERKEY) is not None
    if not c_curve and not s_curve:
        return None
    if c_curve != s_curve:
        return zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, True
    if c_server or not s_server:
        return zmq.PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND, True
    if _key(client.option_set(zmq.CURVE_SERVERKEY)) != _key(server.option_set(zmq.CURVE_PUBLICKEY)):
        return zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, False
    return None


class Connection:
    """A connect() of *client* to *endpoint*: its client pipe persists across reconnects.

    ``state`` is ``"connecting"`` (no handshake done), ``"up"``, ``"closing"`` (closed with
    messages still waiting and LINGER not zero) or ``"closed"``.
    """

    def __init__(self, client: SimSocket, endpoint: str, address: str, port: int) -> None:
        self.client = client
        self.endpoint = endpoint
        self.address = address
        self.port = port
        self.net = client.host.network
        self.wire = self.net.wire
        self.cp = Pipe(client, self)
        self.sp: Pipe | None = None
        self.attempt = 0
        self.state = "connecting"
        self.server_host: Host | None = None
        self.wire.connections[self] = None

    def __repr__(self) -> str:
        return f"<Connection {self.client.host.name} -> {self.endpoint} {self.state}>"

    def peer_name(self, pipe: Pipe) -> Hashable:
        """The host name at the other end from *pipe*."""
        if pipe is self.cp:
            host = self.server_host or self.net.host_by_address(self.address, self.client.host)
            name: Hashable = host.name if host is not None else self.address
            return name
        client_name: Hashable = self.client.host.name
        return client_name

    # -- attempts ------------------------------------------------------------------------------------

    def start(self, delay: float = 0.0) -> None:
        """Begin a new attempt after *delay* seconds; any older attempt in progress is abandoned."""
        self.attempt += 1
        if delay <= 0.0:
            self._try(self.attempt)
        else:
            self.wire.call_later(delay, self._try, self.attempt)

    def _stale(self, attempt: int) -> bool:
        return attempt != self.attempt or self.state == "closed"

    def _retry(self, event: int = zmq.EVENT_CONNECT_RETRIED) -> None:
        ivl = self.client.reconnect_interval()
        self.client.report_event(event, int(ivl * 1000), self.endpoint)
        self.start(ivl)

    def _try(self, attempt: int) -> None:
        if self._stale(attempt):
            return
        here = self.client.host
        there = self.net.host_by_address(self.address, here)
        self.server_host = there
        route = None if there is None else self.net.route(here, there)
        if route is None:
            self._retry()
            return
        self.wire.call_later(route.sample_delay(self.wire.env.now, 64), self._syn_arrives, attempt)

    def _syn_arrives(self, attempt: int) -> None:
        if self._stale(attempt):
            return
        here, there = self.client.host, self.server_host
        assert there is not None
        back = self.net.route(there, here)
        if not there.alive or back is None or self.wire.blocking(here, there) or self.wire.blocking(there, here):
            self._retry()
            return
        d2 = back.sample_delay(self.wire.env.now, 64)
        server = there.listener(self.address, self.port)
        if server is None:
            there.park(self.port, self, attempt, self.wire.env.now + d2)
            return
        failure = mechanism_failure(self.client, server)
        if failure is None and not compatible(self.client.socket_type, server.socket_type):
            failure = (zmq.PROTOCOL_ERROR_ZMTP_INVALID_METADATA, True)
        if failure is not None:
            code, client_told = failure
            server.report_event(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, code, server.bound_endpoint(self.port))
            self.wire.call_later(d2, self._failed, attempt, code if client_told else None)
            return
        zap = server.context.zap()
        mechanism = _zap_mechanism(self.client, server)
        if zap is None or mechanism is None:
            self._accept(attempt, server, d2)
            return
        credentials = (_key(self.client.option_set(zmq.CURVE_PUBLICKEY, b"")) or b"",) if mechanism == b"CURVE" else ()
        zap.request(
            bytes(server.getsockopt(zmq.ZAP_DOMAIN)),
            here.address,
            bytes(self.client.option_set(zmq.IDENTITY, b"")),
            mechanism,
            credentials,
            lambda status: self._authenticated(attempt, server, d2, status),
        )

    def _authenticated(self, attempt: int, server: SimSocket, d2: float, status: bytes) -> None:
        """The server's ZAP handler answered *status*: admit the client, or refuse it as libzmq does.

        A refused client sees ``EVENT_HANDSHAKE_FAILED_AUTH`` with the status as its value, then a
        disconnect, and does not try again (libzmq 4.3 treats the refusal as a protocol error).
        """
        if self._stale(attempt) or server.closed or self.server_host is None or not self.server_host.alive:
            return
        if status == b"200":
            self._accept(attempt, server, d2)
            return
        value = int(status) if status.isdigit() else 500
        server.report_event(zmq.EVENT_HANDSHAKE_FAILED_AUTH, value, server.bound_endpoint(self.port))
        server.report_event(zmq.EVENT_DISCONNECTED, 0, server.bound_endpoint(self.port))
        self.wire.call_later(d2, self._refused, attempt, value)

    def _refused(self, attempt: int, value: int) -> None:
        if self._stale(attempt):
            return
        self.client.report_event(zmq.EVENT_HANDSHAKE_FAILED_AUTH, value, self.endpoint)
        self.client.report_event(zmq.EVENT_DISCONNECTED, 0, self.endpoint)
        self.attempt += 1  # no retry: the connection stays down until the socket disconnects or closes

    def _accept(self, attempt: int, server: SimSocket, d2: float) -> None:
        sp = Pipe(server, self)
        sp.peer = self.cp
        sp.up = True
        sp.last_arrival = self.wire.env.now + d2  # nothing from the server overtakes the handshake
        self.sp = sp
        sp.identity = server.identity_for(self.client)
        self.cp.identity = self.client.identity_for(server)
        server.attach(sp)
        server.report_event(zmq.EVENT_ACCEPTED, 0, server.bound_endpoint(self.port))
        server.report_event(zmq.EVENT_HANDSHAKE_SUCCEEDED, 0, server.bound_endpoint(self.port))
        if server.socket_type == zmq.SUB:
            server.send_subscriptions(sp)
        self.wire.call_later(d2, self._client_up, attempt)

    def wake(self, attempt: int, learned_at: float) -> None:
        """Something bound the port this connection was refused on: retry at its next reconnect tick."""
        if self._stale(attempt):
            return
        ivl = self.client.reconnect_interval()
        now = self.wire.env.now
        ticks = max(1, math.ceil((now - learned_at) / ivl - 1e-9)) if ivl > 0 else 1
        at = learned_at + ticks * ivl
        self.client.report_event(zmq.EVENT_CONNECT_RETRIED, int(ivl * 1000), self.endpoint)
        self.start(max(0.0, at - now))

    def _failed(self, attempt: int, code: int | None) -> None:
        if self._stale(attempt):
            return
        if code is not None:
            self.client.report_event(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, code, self.endpoint)
        else:
            self.client.report_event(zmq.EVENT_DISCONNECTED, 0, self.endpoint)
        self._retry()

    def _client_up(self, attempt: int) -> None:
        if self._stale(attempt):
            return
        sp, cp = self.sp, self.cp
        if sp is None or sp.dead is not None:
            self.sp = None
            self._retry()
            return
        cp.peer = sp
        cp.up = True
        cp.route = None
        self.client.report_event(zmq.EVENT_CONNECTED, 0, self.endpoint)
        self.client.report_event(zmq.EVENT_HANDSHAKE_SUCCEEDED, 0, self.endpoint)
        if self.client.socket_type == zmq.SUB:
            self.client.send_subscriptions(cp)
        self.client.pipe_up(cp)
        pending, cp.pending = cp.pending, type(cp.pending)()
        for frames, mid in pending:
            self.wire.transmit(cp, sp, frames, mid)
        if self.state == "closing":
            self._finish()
        else:
            self.state = "up"

    # -- control messages ----------------------------------------------------------------------------

    def control(self, pipe: Pipe, message: Control) -> None:
        """Act on *message* arriving at *pipe*: a FIN or a subscription change."""
        if message.kind == "fin":
            if pipe is self.cp:
                self.lost()
            else:
                pipe.dead = "closed"
                pipe.sock.detach(pipe)
                pipe.sock.report_event(zmq.EVENT_DISCONNECTED, 0, pipe.sock.bound_endpoint(self.port))
        elif message.kind == "subs":
            pipe.subs = list(message.data)
            pipe.match_all = b"" in pipe.subs
        elif message.kind == "sub":
            subscribe, topic = message.data
            subs = pipe.subs if pipe.subs is not None else []
            if subscribe:
                subs.append(topic)
            elif topic in subs:
                subs.remove(topic)
            pipe.subs = subs
            pipe.match_all = b"" in subs

    def lost(self, cause: str = "closed") -> None:
        """The client side learns the server side is gone (FIN, or reset after a crash): reconnect."""
        if self.state == "closed":
            return
        sp, self.sp = self.sp, None
        if sp is not None and sp.dead is None:
            sp.dead = cause
        cp = self.cp
        cp.up = False
        cp.peer = None
        cp.subs = None
        cp.match_all = False
        self.client.pipe_down(cp)
        self.client.report_event(zmq.EVENT_DISCONNECTED, 0, self.endpoint)
        if self.state == "up":
            self.state = "connecting"
        self.start(self.client.reconnect_interval())

    def oversize(self, pipe: Pipe) -> None:
        """A frame over the MAXMSGSIZE of *pipe*'s socket arrived: that side ends the connection, as libzmq does.

        If the client received it, its engine fails with a protocol error: it disconnects and, in
        libzmq 4.3, does not reconnect. If the server received it, the server closes that connection
        and the client reconnects as after any close.
        """
        if pipe is self.cp:
            if self.state == "closed" or not pipe.up:
                return
            sp, self.sp = self.sp, None
            if sp is not None and sp.dead is None:
                self.wire.transmit(pipe, sp, Control("fin"), 0)
            pipe.up = False
            pipe.dead = "oversize"  # what was still on its way is dropped: the engine is gone
            pipe.peer = None
            pipe.subs = None
            pipe.match_all = False
            self.client.pipe_down(pipe)
            self.client.report_event(zmq.EVENT_DISCONNECTED, 0, self.endpoint)
            if self.state == "up":
                self.state = "connecting"
            self.attempt += 1  # no retry: the connection stays down until the socket disconnects or closes
            return
        if pipe.dead is not None:
            return
        server = pipe.sock
        if pipe.peer is not None:
            self.wire.transmit(pipe, pipe.peer, Control("fin"), 0)
        pipe.dead = "oversize"
        server.detach(pipe)
        server.report_event(zmq.EVENT_DISCONNECTED, 0, server.bound_endpoint(self.port))

    def reset_server_side(self, cause: str) -> None:
        """The server side learns the client is gone without a FIN (its host restarted): forget the pipe."""
        sp = self.sp
        if sp is not None and sp.dead is None:
            sp.dead = cause
            sp.sock.detach(sp)
            self.sp = None

    # -- closing -------------------------------------------------------------------------------------

    def close(self, linger_s: float | None) -> None:
        """The client disconnects or closes: FIN now if up; otherwise wait for LINGER (None: forever)."""
        if self.state in ("closed", "closing"):
            return
        cp = self.cp
        cp.dead = "closed"
        if cp.up or not cp.pending:
            self._finish()
            return
        if linger_s == 0.0:
            self._drop_pending("linger")
            self._finish()
            return
        self.state = "closing"
        if linger_s is not None:
            self.wire.call_later(linger_s, self._linger_expired, self.attempt)

    def _linger_expired(self, attempt: int) -> None:
        if self.state == "closing":
            self._drop_pending("linger")
            self._finish()

    def _drop_pending(self, cause: str) -> None:
        pending, self.cp.pending = self.cp.pending, type(self.cp.pending)()
        for _frames, mid in pending:
            self.wire.drop(self.cp, cause, mid)

    def _finish(self) -> None:
        cp = self.cp
        if cp.up and self.sp is not None:
            self.wire.transmit(cp, self.sp, Control("fin"), 0)
        cp.up = False
        self.state = "closed"
        self.attempt += 1
        self.wire.connections.pop(self, None)

    def crash(self) -> None:
        """The client's host crashed: everything of this side is gone, nothing is sent."""
        cp = self.cp
        cp.dead = "crash"
        self._drop_pending("crash")
        self.wire.discard_held(cp, "crash")
        cp.up = False
        self.state = "closed"
        self.attempt += 1
        self.wire.connections.pop(self, None)

    def pipes(self) -> Iterator[Any]:
        yield self.cp
        if self.sp is not None:
            yield self.sp
