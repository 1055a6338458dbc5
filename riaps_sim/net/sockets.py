"""``SimSocket``: the pyzmq ``Socket`` subset the ports use, over the simulated wire.

The base class holds what every socket type shares: options, bind and connect, the receive
queue, polling, monitors, close and LINGER, statistics. What differs per type is in a few hooks
that the classes of :mod:`riaps_sim.net.socktypes` override, as SimPy's stores override
``_do_put`` and ``_do_get``: ``_send`` (fan-out, round robin, routing), ``_arrive`` (a ROUTER
prefixes the identity, a SUB filters) and how pipes are attached.

Nothing here blocks: a call that would wait in pyzmq raises ``zmq.Again`` instead, whatever its
flags, and a runtime waits on ``readable_event()`` or ``Poller.wait()`` (SimPy events) instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import simpy
import zmq

from .addressing import parse_endpoint
from .handshake import Connection, monitor_frames
from .options import BYTES_OPTIONS, DEFAULTS, check_option
from .stats import SocketStatistics, freeze
from .wire import Control, Pipe

if TYPE_CHECKING:
    from .context import SimContext

__all__ = ["SimSocket", "Wakeup"]

_POLLIN = int(zmq.POLLIN)  # plain ints: IntFlag arithmetic is slow on the hot path
_POLLOUT = int(zmq.POLLOUT)

_TYPE_NAMES = {zmq.PUB: "PUB", zmq.SUB: "SUB", zmq.DEALER: "DEALER", zmq.ROUTER: "ROUTER", zmq.PAIR: "PAIR"}


class Wakeup(simpy.Event):
    """A SimPy event a socket or poller triggers when input arrives; its value says what is ready."""

    def __init__(self, env: simpy.Environment, poller: Any = None) -> None:
        super().__init__(env)
        self.poller = poller

    def fire(self) -> None:
        if self._value is simpy.events.PENDING:
            self.succeed(self.poller.poll(0) if self.poller is not None else True)


def _coerce(frames: tuple[Any, ...]) -> tuple[bytes, ...]:
    out = []
    for i, frame in enumerate(frames):
        if isinstance(frame, bytes):
            out.append(frame)
        elif isinstance(frame, (bytearray, memoryview)):
            out.append(bytes(frame))
        elif isinstance(frame, zmq.Frame):
            out.append(frame.bytes)
        else:
            raise TypeError(f"Frame {i} ({frame!r}) does not support the buffer interface.")
    return tuple(out)


class SimSocket:
    """A simulated ZeroMQ socket on one host; made by ``SimContext.socket(type)``.

    Endpoints look like the real ones, ``tcp://10.0.0.3:5555``. Times in options are in
    milliseconds, as pyzmq takes them; everything else is in seconds of virtual time.
    """

    socket_type = -1
    _can_recv = True

    def __init__(self, context: SimContext) -> None:
        self.context = context
        self.host = context.host
        self._wire = self.host.network.wire
        self._env = self.host.network.env
        self._opts: dict[int, Any] = {}
        self._sndhwm = 1000
        self._rcvhwm = 1000
        self._pipes: list[Pipe] = []
        self._conns: list[Connection] = []
        self._binds: dict[str, int] = {}
        self._inbox: deque[tuple[tuple[bytes, ...], Pipe | None, int]] = deque()
        self._waiters: list[Wakeup] = []
        self._closed = False
        self._monitor: Any = None
        self._monitor_events = 0
        self._sent = 0
        self._received = 0
        self._drops: dict[str, int] = {}
        self._filtered = 0
        self._last_endpoint = b""
        self._send_partial: list[bytes] = []
        self._recv_partial: list[bytes] = []
        self._next_peer_id = 0

    # -- identity and repr ---------------------------------------------------------------------------

    @property
    def type(self) -> int:
        """The socket type, a pyzmq constant such as ``zmq.PUB``."""
        return self.socket_type

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        kind = _TYPE_NAMES.get(self.socket_type, str(self.socket_type))
        where = ", ".join(self._binds) or f"{len(self._conns)} connect(s)"
        state = "closed" if self._closed else f"peers={self._connected()} queued={len(self._inbox)}"
        return f"<SimSocket {kind} on {self.host.name} ({self.host.address}) {where} {state}>"

    def _connected(self) -> int:
        return sum(1 for p in self._pipes if p.up)

    def _check_open(self) -> None:
        if self._closed:
            raise zmq.ZMQError(zmq.ENOTSOCK)

    # -- options -------------------------------------------------------------------------------------

    def setsockopt(self, option: int, value: int | bytes) -> None:
        """Set *option* (a pyzmq constant) to *value*; ``str`` raises ``TypeError`` as in pyzmq."""
        self._check_open()
        value = check_option(option, value)
        if option in (zmq.SUBSCRIBE, zmq.UNSUBSCRIBE):
            self._subscribe(value, option == zmq.SUBSCRIBE)
            return
        self._opts[option] = value
        if option == zmq.SNDHWM:
            self._sndhwm = value
        elif option == zmq.RCVHWM:
            self._rcvhwm = value

    def getsockopt(self, option: int) -> int | bytes:
        """The value of *option*: what was set, or libzmq's default."""
        self._check_open()
        if option == zmq.TYPE:
            return self.socket_type
        if option == zmq.EVENTS:
            return self.poll(0, _POLLIN | _POLLOUT)
        if option == zmq.LAST_ENDPOINT:
            return self._last_endpoint
        if option == zmq.RCVMORE:
            return int(bool(self._recv_partial))
        if option == zmq.MECHANISM:
            curve = self._opts.get(zmq.CURVE_SERVER) or zmq.CURVE_SERVERKEY in self._opts
            return zmq.CURVE if curve else zmq.NULL
        if option in self._opts:
            value: int | bytes = self._opts[option]
            return value
        if option in DEFAULTS:
            return DEFAULTS[option]  # type: ignore[no-any-return]
        if option in BYTES_OPTIONS:
            return b""
        raise zmq.ZMQError(zmq.EINVAL, f"socket option {option} is not known to the simulation")

    set = setsockopt
    get = getsockopt

    def setsockopt_string(self, option: int, value: str, encoding: str = "utf-8") -> None:
        """Set a bytes option from text."""
        self.setsockopt(option, value.encode(encoding))

    def getsockopt_string(self, option: int, encoding: str = "utf-8") -> str:
        value = self.getsockopt(option)
        assert isinstance(value, bytes)
        return value.decode(encoding)

    def _reconnect_ivl(self) -> float:
        return float(self._opts.get(zmq.RECONNECT_IVL, 100)) / 1000.0

    def _linger_s(self) -> float | None:
        linger = self._opts.get(zmq.LINGER, -1)
        return None if linger < 0 else linger / 1000.0

    def _room(self, pipe: Pipe) -> bool:
        snd = self._sndhwm
        peer = pipe.peer
        if peer is None:
            return snd == 0 or pipe.outstanding < snd
        rcv = peer.sock._rcvhwm
        return snd == 0 or rcv == 0 or pipe.outstanding < snd + rcv

    # -- endpoints -----------------------------------------------------------------------------------

    def bind(self, addr: str) -> None:
        """Listen on *addr*, ``tcp://<this host's address, *, 0.0.0.0 or 127.0.0.1>:<port or *>``.

        Raises ``zmq.ZMQError``: ``EADDRINUSE`` if the port is taken on this host,
        ``EADDRNOTAVAIL`` if the address is not this host's, ``EINVAL`` for a malformed endpoint.
        """
        self._check_open()
        _transport, where, port = parse_endpoint(addr, allow_wildcard_port=True)
        address = self.host.bind_address(where, addr)
        if port is None:
            port = self.host.free_port(49152, 65536)
        self.host.listen(self, address, port, addr)
        shown = "0.0.0.0" if address == "*" else address
        endpoint = f"tcp://{shown}:{port}"
        self._binds[endpoint] = port
        if addr != endpoint and "*" not in addr:
            self._binds[addr] = port
        self._last_endpoint = endpoint.encode()
        self._event(zmq.EVENT_LISTENING, 0, endpoint)

    def bind_to_random_port(self, addr: str, min_port: int = 49152, max_port: int = 65536, max_tries: int = 100) -> int:
        """Bind to a free port in [*min_port*, *max_port*) on *addr* (``tcp://host``) and return it.

        Ports are handed out by a per-host counter, so runs are deterministic.
        """
        self._check_open()
        for _ in range(max_tries):
            port = self.host.free_port(min_port, max_port)
            try:
                self.bind(f"{addr}:{port}")
            except zmq.ZMQError as exc:
                if exc.errno == zmq.EADDRINUSE:
                    continue
                raise
            return port
        raise zmq.ZMQBindError("Could not bind socket to random port.")

    def unbind(self, addr: str) -> None:
        """Stop listening on *addr*; connections already accepted stay. ``ENOENT`` if not bound there."""
        self._check_open()
        port = self._binds.get(addr)
        if port is None:
            raise zmq.ZMQError(2, f"No such file or directory: {addr!r} is not bound on {self!r}")
        for endpoint in [e for e, p in self._binds.items() if p == port]:
            del self._binds[endpoint]
        self.host.unlisten(self, port)

    def _bound_endpoint(self, port: int) -> str:
        for endpoint, bound in self._binds.items():
            if bound == port:
                return endpoint
        return f"tcp://{self.host.address}:{port}"

    def connect(self, addr: str) -> None:
        """Connect to *addr* (``tcp://address-or-host-name:port``); the connection comes up later.

        Connecting before the peer binds is fine: the connection retries every ``RECONNECT_IVL``.
        """
        self._check_open()
        _transport, where, port = parse_endpoint(addr)
        assert port is not None
        endpoint = f"tcp://{where}:{port}"
        conn = Connection(self, endpoint, where, port)
        self._conns.append(conn)
        self._add_client_pipe(conn.cp)
        self._last_endpoint = endpoint.encode()
        conn.start()

    def disconnect(self, addr: str) -> None:
        """Drop the connections to *addr*; queued messages follow LINGER. ``ENOENT`` if not connected."""
        self._check_open()
        try:
            _transport, where, port = parse_endpoint(addr)
        except zmq.ZMQError:
            raise zmq.ZMQError(2, f"No such file or directory: not connected to {addr!r}") from None
        endpoint = f"tcp://{where}:{port}"
        conns = [c for c in self._conns if c.endpoint == endpoint]
        if not conns:
            raise zmq.ZMQError(2, f"No such file or directory: not connected to {addr!r}")
        for conn in conns:
            self._conns.remove(conn)
            self._remove_pipe(conn.cp)
            conn.close(self._linger_s())

    # -- sending and receiving -----------------------------------------------------------------------

    def send_multipart(self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True, track: bool = False, **kwargs: Any) -> None:
        """Send a message of bytes-like frames. Never blocks: ``zmq.Again`` when the socket cannot take it."""
        if self._closed:
            raise zmq.ZMQError(zmq.ENOTSOCK)
        frames = tuple(msg_parts)
        for frame in frames:
            if frame.__class__ is not bytes:
                frames = _coerce(frames)
                break
        if not frames:
            raise ValueError("send_multipart needs at least one frame")
        self._send(frames)
        self._sent += 1

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> list[bytes]:
        """The next message as a list of bytes; ``zmq.Again`` if none is waiting (even without NOBLOCK)."""
        if self._closed:
            raise zmq.ZMQError(zmq.ENOTSOCK)
        inbox = self._inbox
        if not inbox:
            if not self._can_recv:
                raise zmq.ZMQError(zmq.ENOTSUP)
            raise zmq.Again(zmq.EAGAIN)
        frames, pipe, mid = inbox.popleft()
        if pipe is not None:
            pipe.outstanding -= 1
            wire = self._wire
            wire.delivered += 1
            if wire.emit is not None:
                wire.emit((self._env.now, "deliver", pipe.sock.host.name, self.host.name, mid, sum(map(len, frames))))
        self._received += 1
        return list(frames)

    def send(self, data: Any, flags: int = 0, copy: bool = True, track: bool = False, **kwargs: Any) -> None:
        """Send one frame; with ``zmq.SNDMORE`` in *flags* it waits for the message's last frame."""
        self._check_open()
        self._send_partial.append(data)
        if not flags & zmq.SNDMORE:
            frames, self._send_partial = self._send_partial, []
            self.send_multipart(frames)

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> bytes:
        """Receive one frame; ``getsockopt(zmq.RCVMORE)`` says whether more of the message follow."""
        if not self._recv_partial:
            self._recv_partial = self.recv_multipart(flags)
        return self._recv_partial.pop(0)

    def send_string(self, u: str, flags: int = 0, encoding: str = "utf-8", **kwargs: Any) -> None:
        self.send(u.encode(encoding), flags)

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        return self.recv(flags).decode(encoding)

    # -- polling -------------------------------------------------------------------------------------

    def poll(self, timeout: int | None = None, flags: int = _POLLIN) -> int:
        """The ready mask (``POLLIN``/``POLLOUT``) now. *timeout* (ms) is ignored: the simulation cannot wait here."""
        if self._closed:
            raise zmq.ZMQError(zmq.ENOTSOCK)
        if flags == _POLLIN:
            return _POLLIN if self._inbox else 0
        flags = int(flags)
        mask = 0
        if flags & _POLLIN and self._inbox:
            mask |= _POLLIN
        if flags & _POLLOUT and self._writable():
            mask |= _POLLOUT
        return mask

    def readable_event(self, timeout_s: float | None = None) -> simpy.Event:
        """A SimPy event that succeeds with True once a message waits, or with False after *timeout_s* seconds."""
        self._check_open()
        event = Wakeup(self._env)
        if self._inbox:
            event.succeed(True)
            return event
        self._add_waiter(event)
        if timeout_s is not None:
            timer = self._env.timeout(timeout_s)
            timer.callbacks.append(lambda _e: event.succeed(False) if not event.triggered else None)
        return event

    def _add_waiter(self, event: Wakeup) -> None:
        waiters = self._waiters
        if len(waiters) >= 8:  # forget waits that timed out, so polling a quiet socket does not grow the list
            waiters[:] = [w for w in waiters if not w.triggered]
        waiters.append(event)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for event in waiters:
            event.fire()

    def _writable(self) -> bool:
        return True

    # -- monitors ------------------------------------------------------------------------------------

    def get_monitor_socket(self, events: int | None = None, addr: str | None = None) -> SimSocket:
        """A PAIR-like socket on which this socket's *events* arrive as libzmq monitor messages.

        Each message is two frames, ``=HI`` event id and value then the endpoint, so
        ``zmq.utils.monitor.parse_monitor_message`` reads it.
        """
        self._check_open()
        from .socktypes import MonitorSocket

        if self._monitor is not None:
            self.disable_monitor()
        self._monitor = MonitorSocket(self.context, self)
        self._monitor_events = zmq.EVENT_ALL if events is None else events
        return self._monitor

    def disable_monitor(self) -> None:
        """Stop reporting events; the monitor socket receives ``EVENT_MONITOR_STOPPED`` last."""
        if self._monitor is not None:
            self._monitor._push(monitor_frames(zmq.EVENT_MONITOR_STOPPED, 0, ""))
            self._monitor = None
            self._monitor_events = 0

    def _event(self, event: int, value: int, endpoint: str) -> None:
        monitor = self._monitor
        if monitor is not None and event & self._monitor_events and not monitor._closed:
            monitor._push(monitor_frames(event, value, endpoint))

    # -- closing -------------------------------------------------------------------------------------

    def close(self, linger: int | None = None) -> None:
        """Close: accepted peers get a FIN, connections follow LINGER (ms; -1 forever), unread messages are dropped."""
        if self._closed:
            return
        if linger is not None:
            self._opts[zmq.LINGER] = linger
        linger_s = self._linger_s()
        for conn in self._conns:
            conn.close(linger_s)
        for pipe in self._pipes:
            if pipe is not pipe.conn.cp:
                pipe.dead = "closed"
                if pipe.up and pipe.peer is not None:
                    self._wire.transmit(pipe, pipe.peer, Control("fin"), 0)
        for port in sorted(set(self._binds.values())):
            self.host.unlisten(self, port)
        for endpoint in self._binds:
            self._event(zmq.EVENT_CLOSED, 0, endpoint)
        self._finish("closed")

    def _crash(self) -> list[tuple[str, Connection]]:
        """The host crashed: everything goes, nothing is sent. Returns the half-open peers to reset on restart."""
        half_open = []
        for conn in self._conns:
            if conn.sp is not None and conn.sp.sock.host is not self.host:
                half_open.append(("server", conn))
            conn.crash()
        for pipe in self._pipes:
            if pipe is not pipe.conn.cp:
                pipe.dead = "crash"
                self._wire.discard_held(pipe, "crash")
                if pipe.conn.client.host is not self.host:
                    half_open.append(("client", pipe.conn))
        for port in sorted(set(self._binds.values())):
            self.host.unlisten(self, port)
        self._finish("crash")
        return half_open

    def _finish(self, cause: str) -> None:
        inbox, self._inbox = self._inbox, deque()
        for _frames, pipe, mid in inbox:
            if pipe is not None:
                self._wire.drop(pipe, cause, mid)
        if self._monitor is not None:
            self.disable_monitor()
        self._pipes = []
        self._conns = []
        self._binds = {}
        self._closed = True
        self.context._forget(self)

    def __enter__(self) -> SimSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def statistics(self) -> SocketStatistics:
        """A snapshot of this socket's counters."""
        return SocketStatistics(
            sent=self._sent,
            received=self._received,
            dropped=freeze(self._drops),
            filtered=self._filtered,
            queued=len(self._inbox),
            connections=self._connected(),
        )

    # -- hooks for the socket types ------------------------------------------------------------------

    def _send(self, frames: tuple[bytes, ...]) -> None:
        raise zmq.ZMQError(zmq.ENOTSUP)

    def _arrive(self, frames: tuple[bytes, ...], pipe: Pipe, peer: Pipe, mid: int) -> None:
        """A copy sent through *pipe* arrived at this socket's *peer* pipe: queue it and wake waiters."""
        self._inbox.append((frames, pipe, mid))
        if self._waiters:
            self._wake()

    def _add_client_pipe(self, pipe: Pipe) -> None:
        self._pipes.append(pipe)

    def _remove_pipe(self, pipe: Pipe) -> None:
        if pipe in self._pipes:
            self._pipes.remove(pipe)

    def _attach(self, pipe: Pipe) -> None:
        """A connection to one of this socket's binds completed its handshake here."""
        self._pipes.append(pipe)

    def _detach(self, pipe: Pipe) -> None:
        """An accepted connection ended."""
        self._remove_pipe(pipe)

    def _pipe_up(self, pipe: Pipe) -> None:
        """One of this socket's own connections completed its handshake."""

    def _pipe_down(self, pipe: Pipe) -> None:
        """One of this socket's own connections was lost; it is retrying."""

    def _peer_identity(self, peer: SimSocket) -> bytes:
        """The routing identity this socket gives *peer*: its IDENTITY, or a generated one as libzmq makes."""
        identity = peer._opts.get(zmq.IDENTITY)
        if identity:
            return bytes(identity)
        self._next_peer_id += 1
        return b"\x00" + self._next_peer_id.to_bytes(4, "big")

    def _subscribe(self, topic: bytes, on: bool) -> None:
        raise zmq.ZMQError(zmq.EINVAL, "SUBSCRIBE and UNSUBSCRIBE apply to SUB sockets only")

    def _send_subscriptions(self, pipe: Pipe) -> None:
        pass
