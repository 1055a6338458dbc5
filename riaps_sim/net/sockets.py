"""``SimSocket``: the pyzmq ``Socket`` subset the ports use, over the simulated wire.

The base class holds what every socket type shares: options, bind and connect, the receive
queue, polling, monitors, close and LINGER, statistics. What differs per type is in a few hooks
that the classes of :mod:`riaps_sim.net.socktypes` override, as SimPy's stores override
``_do_put`` and ``_do_get``: ``_send`` (fan-out, round robin, routing), ``arrive`` (a ROUTER
prefixes the identity, a SUB filters) and how pipes are attached.

Nothing here blocks: a call that would wait in pyzmq raises ``zmq.Again`` instead, whatever its
flags, and a runtime waits on ``readable_event()`` or ``Poller.wait()`` (SimPy events) instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import simpy
import zmq

from .endpoints import EndpointsMixin
from .handshake import Connection
from .monitor import MonitorMixin
from .options import OptionsMixin
from .stats import SocketStatistics, freeze
from .wire import Control, Pipe

if TYPE_CHECKING:
    from .context import SimContext

__all__ = ["SimSocket", "Wakeup", "MessageOrigin"]

_POLLIN = int(zmq.POLLIN)  # plain ints: IntFlag arithmetic is slow on the hot path
_POLLOUT = int(zmq.POLLOUT)

_TYPE_NAMES: dict[int, str] = {zmq.PUB: "PUB", zmq.SUB: "SUB", zmq.DEALER: "DEALER", zmq.ROUTER: "ROUTER", zmq.PAIR: "PAIR"}


class MessageOrigin(NamedTuple):
    """Where the message a socket received last came from: the network's message id and the sending host."""

    msg_id: int
    source: Hashable


_new_origin = tuple.__new__  # builds a MessageOrigin from its fields in C: once per message received


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


class SimSocket(EndpointsMixin, OptionsMixin, MonitorMixin):
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
        self.max_msg_size = -1  # MAXMSGSIZE in bytes, per frame; -1: no limit
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
        self._last_in: MessageOrigin | None = None  # where the last message received came from
        self._last_out: int | None = None  # message id of the last message sent, if it got one

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

    def check_open(self) -> None:
        if self._closed:
            raise zmq.ZMQError(zmq.ENOTSOCK)

    def _room(self, pipe: Pipe) -> bool:
        snd = self._sndhwm
        peer = pipe.peer
        if peer is None:
            return snd == 0 or pipe.outstanding < snd
        rcv = peer.sock._rcvhwm
        return snd == 0 or rcv == 0 or pipe.outstanding < snd + rcv

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
        self._last_out = None
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
            self._wire.delivered_copy(pipe, self.host.name, mid, frames)
            self._last_in = _new_origin(MessageOrigin, (mid, pipe.sock.host.name))  # MessageOrigin(mid, host) without its Python __new__
        else:
            self._last_in = None
        self._received += 1
        return list(frames)

    def last_received(self) -> MessageOrigin | None:
        """The network's id and the sending host of the message ``recv_multipart`` returned last (simulation only)."""
        return self._last_in

    def last_sent_id(self) -> int | None:
        """The network's id of the message ``send_multipart`` sent last, or ``None`` if no copy of it was made."""
        return self._last_out

    def queued_from_network(self) -> int:
        """Messages from the network waiting in this socket to be read (monitor events not counted)."""
        return sum(1 for _frames, pipe, _mid in self._inbox if pipe is not None)

    @property
    def env(self) -> simpy.Environment:
        """The SimPy environment this socket lives in."""
        env: simpy.Environment = self._env
        return env

    def count_drop(self, cause: str) -> None:
        """Count a message this socket dropped itself (at its high-water mark, a slow joiner, unroutable)."""
        self._drops[cause] = self._drops.get(cause, 0) + 1

    def send(self, data: Any, flags: int = 0, copy: bool = True, track: bool = False, **kwargs: Any) -> None:
        """Send one frame; with ``zmq.SNDMORE`` in *flags* it waits for the message's last frame."""
        self.check_open()
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

    def inject(self, frames: tuple[bytes, ...]) -> None:
        """Queue a message that comes from inside this host, on no connection (a ZAP request)."""
        if self._closed:
            return
        self._inbox.append((frames, None, 0))
        if self._waiters:
            self._wake()

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
        self.check_open()
        event = Wakeup(self._env)
        if self._inbox:
            event.succeed(True)
            return event
        self.add_waiter(event)
        if timeout_s is not None:
            timer = self._env.timeout(timeout_s)
            timer.callbacks.append(lambda _e: event.succeed(False) if not event.triggered else None)
        return event

    def add_waiter(self, event: Wakeup) -> None:
        """Trigger *event* when input arrives (a ``Poller`` waits on several sockets this way)."""
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
            self.report_event(zmq.EVENT_CLOSED, 0, endpoint)
        self._finish("closed")

    def host_crashed(self) -> list[tuple[str, Connection]]:
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
        self.context.unbind_zap(self)
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
        self.context.forget(self)

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

    def arrive(self, frames: tuple[bytes, ...], pipe: Pipe, peer: Pipe, mid: int) -> None:
        """A copy sent through *pipe* arrived at this socket's *peer* pipe: queue it and wake waiters (the wire calls it)."""
        self._inbox.append((frames, pipe, mid))
        if self._waiters:
            self._wake()

    def _add_client_pipe(self, pipe: Pipe) -> None:
        self._pipes.append(pipe)

    def _remove_pipe(self, pipe: Pipe) -> None:
        if pipe in self._pipes:
            self._pipes.remove(pipe)

    def attach(self, pipe: Pipe) -> None:
        """A connection to one of this socket's binds completed its handshake here."""
        self._pipes.append(pipe)

    def detach(self, pipe: Pipe) -> None:
        """An accepted connection ended."""
        self._remove_pipe(pipe)

    def pipe_up(self, pipe: Pipe) -> None:
        """One of this socket's own connections completed its handshake."""

    def pipe_down(self, pipe: Pipe) -> None:
        """One of this socket's own connections was lost; it is retrying."""

    def identity_for(self, peer: SimSocket) -> bytes:
        """The routing identity this socket gives *peer*: its IDENTITY, or a generated one as libzmq makes."""
        identity = peer.option_set(zmq.IDENTITY)
        if identity:
            return bytes(identity)
        self._next_peer_id += 1
        return b"\x00" + self._next_peer_id.to_bytes(4, "big")

    def _subscribe(self, topic: bytes, on: bool) -> None:
        raise zmq.ZMQError(zmq.EINVAL, "SUBSCRIBE and UNSUBSCRIBE apply to SUB sockets only")

    def send_subscriptions(self, pipe: Pipe) -> None:
        pass
