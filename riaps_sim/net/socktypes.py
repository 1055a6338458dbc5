"""The socket types: PUB, SUB, DEALER, ROUTER, PAIR, and the monitor socket, as hooks on ``SimSocket``.

- PUB sends a copy to every peer whose subscriptions match the first frame; a peer whose
  subscriptions have not arrived yet gets nothing (slow joiner), a full peer gets nothing (HWM).
  It never refuses a send.
- SUB only receives; its subscriptions travel to every PUB it is connected to, in stream order.
- DEALER sends round robin over its peers, skipping full ones; a connection not yet up queues.
  With no peer able to take the message, ``zmq.Again``.
- ROUTER prefixes received messages with the sender's identity and routes sent ones by their
  first frame; unknown identities and full peers drop silently, or raise with ROUTER_MANDATORY.
- PAIR talks to one peer.
"""

from __future__ import annotations

from typing import Any

import zmq

from .sockets import SimSocket
from .wire import Control, Pipe

__all__ = ["PubSocket", "SubSocket", "DealerSocket", "RouterSocket", "PairSocket", "MonitorSocket", "SOCKET_CLASSES"]


class PubSocket(SimSocket):
    """A simulated ZeroMQ PUB socket."""

    socket_type = zmq.PUB
    _can_recv = False

    def _send(self, frames: tuple[bytes, ...]) -> None:
        wire = self._wire
        head = frames[0]
        mid = wire.new_id()  # every copy of this message carries the same id
        snd = self._sndhwm
        for pipe in self._pipes:
            if not pipe.up or pipe.subs is None:
                self._last_out = wire.drop_unsent(pipe, self, "slow_joiner", mid=mid)
                continue
            if not pipe.match_all:
                for prefix in pipe.subs:
                    if head.startswith(prefix):
                        break
                else:
                    self._filtered += 1
                    continue
            if snd:  # self._room(pipe), inline: a fan-out asks it once per subscriber
                peer = pipe.peer
                limit = snd if peer is None else (snd + peer.sock._rcvhwm if peer.sock._rcvhwm else 0)
                if limit and pipe.outstanding >= limit:
                    self._last_out = wire.drop_unsent(pipe, self, "hwm", mid=mid)
                    continue
            self._last_out = wire.put(pipe, frames, mid)

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> list[bytes]:
        raise zmq.ZMQError(zmq.ENOTSUP)


class SubSocket(SimSocket):
    """A simulated ZeroMQ SUB socket; subscribe with ``setsockopt(zmq.SUBSCRIBE, prefix)``."""

    socket_type = zmq.SUB

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._subscriptions: list[bytes] = []
        self._match_all = False

    def send_multipart(self, msg_parts: Any, flags: int = 0, copy: bool = True, track: bool = False, **kwargs: Any) -> None:
        self.check_open()
        raise zmq.ZMQError(zmq.ENOTSUP)

    def _writable(self) -> bool:
        return False

    def _subscribe(self, topic: bytes, on: bool) -> None:
        if on:
            self._subscriptions.append(topic)
        elif topic in self._subscriptions:
            self._subscriptions.remove(topic)
        else:
            return
        self._match_all = b"" in self._subscriptions
        for pipe in self._pipes:
            if pipe.up and pipe.peer is not None:
                self._wire.transmit(pipe, pipe.peer, Control("sub", (on, topic)), 0)

    def send_subscriptions(self, pipe: Pipe) -> None:
        assert pipe.peer is not None
        self._wire.transmit(pipe, pipe.peer, Control("subs", tuple(self._subscriptions)), 0)

    def arrive(self, frames: tuple[bytes, ...], pipe: Pipe, peer: Pipe, mid: int) -> None:
        if not self._match_all:
            head = frames[0]
            if not any(head.startswith(prefix) for prefix in self._subscriptions):
                self._wire.drop(pipe, "filtered", mid)
                return
        self._inbox.append((frames, pipe, mid))
        if self._waiters:
            self._wake()


class DealerSocket(SimSocket):
    """A simulated ZeroMQ DEALER socket."""

    socket_type = zmq.DEALER

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._next = 0

    def _send(self, frames: tuple[bytes, ...]) -> None:
        pipes = self._pipes
        count = len(pipes)
        for i in range(count):
            index = (self._next + i) % count
            pipe = pipes[index]
            if self._room(pipe):
                self._next = index + 1
                self._last_out = self._wire.put(pipe, frames)
                return
        raise zmq.Again(zmq.EAGAIN)

    def _writable(self) -> bool:
        return any(self._room(pipe) for pipe in self._pipes)


class PairSocket(DealerSocket):
    """A simulated ZeroMQ PAIR socket: one peer; a second connection is not accepted."""

    socket_type = zmq.PAIR

    def attach(self, pipe: Pipe) -> None:
        if any(p.dead is None for p in self._pipes):
            pipe.dead = "closed"
            return
        self._pipes.append(pipe)


class RouterSocket(SimSocket):
    """A simulated ZeroMQ ROUTER socket."""

    socket_type = zmq.ROUTER

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._by_identity: dict[bytes, Pipe] = {}

    def _send(self, frames: tuple[bytes, ...]) -> None:
        pipe = self._by_identity.get(frames[0])
        mandatory = self._opts.get(zmq.ROUTER_MANDATORY, 0)
        if pipe is None or len(frames) < 2:
            zap = self.context.zap()
            if zap is not None and zap.router is self and zap.reply(frames):
                return  # an answer to a handshake waiting for this ZAP handler
            if mandatory:
                raise zmq.ZMQError(zmq.EHOSTUNREACH)
            self._last_out = self._wire.drop_unsent(None, self, "unroutable", frames[0].hex())
            return
        if not self._room(pipe):
            if mandatory:
                raise zmq.Again(zmq.EAGAIN)
            self._last_out = self._wire.drop_unsent(pipe, self, "hwm")
            return
        self._last_out = self._wire.put(pipe, frames[1:])

    def arrive(self, frames: tuple[bytes, ...], pipe: Pipe, peer: Pipe, mid: int) -> None:
        self._inbox.append(((peer.identity, *frames), pipe, mid))
        if self._waiters:
            self._wake()

    def _add_client_pipe(self, pipe: Pipe) -> None:
        pass  # a ROUTER can address a peer only once the handshake told it the identity

    def _register(self, pipe: Pipe) -> bool:
        if pipe.identity in self._by_identity:
            pipe.dead = "unroutable"  # libzmq refuses a second peer with the same identity
            return False
        self._by_identity[pipe.identity] = pipe
        return True

    def _unregister(self, pipe: Pipe) -> None:
        if self._by_identity.get(pipe.identity) is pipe:
            del self._by_identity[pipe.identity]

    def attach(self, pipe: Pipe) -> None:
        if self._register(pipe):
            self._pipes.append(pipe)

    def detach(self, pipe: Pipe) -> None:
        self._unregister(pipe)
        self._remove_pipe(pipe)

    def pipe_up(self, pipe: Pipe) -> None:
        if self._register(pipe):
            self._pipes.append(pipe)

    def pipe_down(self, pipe: Pipe) -> None:
        self._unregister(pipe)
        self._remove_pipe(pipe)

    def _connected(self) -> int:
        return len(self._by_identity)


class MonitorSocket(SimSocket):
    """The receiving end of a socket monitor: it only receives the events its owner reports."""

    socket_type = zmq.PAIR

    def __init__(self, context: Any, owner: SimSocket) -> None:
        super().__init__(context)
        self.owner = owner

    def push(self, frames: tuple[bytes, ...]) -> None:
        """Queue one monitor event from the owner."""
        if self._closed:
            return
        self._inbox.append((frames, None, 0))
        if self._waiters:
            self._wake()

    def bind(self, addr: str) -> None:
        raise zmq.ZMQError(zmq.ENOTSUP, "a monitor socket only receives its owner's events")

    connect = bind

    def close(self, linger: int | None = None) -> None:
        if self._closed:
            return
        self.owner.monitor_closed(self)
        self._finish("closed")


SOCKET_CLASSES: dict[int, type[SimSocket]] = {
    zmq.PUB: PubSocket,
    zmq.SUB: SubSocket,
    zmq.DEALER: DealerSocket,
    zmq.ROUTER: RouterSocket,
    zmq.PAIR: PairSocket,
}
