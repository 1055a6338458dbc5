"""Message-level faults for the real world, applied where messages arrive; no privileges needed.

``FaultContext`` wraps a ``zmq.Context``. Its sockets (``FaultSocket``) are thin proxies over real
ZeroMQ sockets with the subset of the pyzmq API the group ports use, and they decide the fate of
each *received* message by the node that sent it: pass it on, drop it (partition in drop mode,
random loss), hold it (partition in hold mode, until the heal), delay it (until it is due), or
duplicate it. One ``LinkFaults`` object per node (``riaps_sim.runtime.linkfaults``) holds the
faults in force; every socket of the node's context consults it.

How a sender is known: libzmq exposes the sender's IP address on every received frame as the
``"Peer-Address"`` property. Each node of a loopback run has its own ``127.0.0.x`` address, and a
``FaultContext`` given its node's *source_host* binds the source address of every TCP connection it
makes (``tcp://src:0;dst:port``), so a ROUTER also sees the connecting node's address and not
``127.0.0.1``.

Order: messages from one peer stay in order (held and delayed ones queue per peer and per socket,
and later messages from that peer queue behind them), as TCP keeps them, unless the run's
``LinkProfile`` allows reordering. Held messages are released in order on heal; dropped ones are
counted and reported through ``on_drop``.

A run's ``LinkProfile`` (what a scenario's ``NetworkProfile`` says of its LAN) applies to every
message from every other node, all run long: each one draws its one-way latency from the profile's
distribution (added to what loopback or the bridge takes, well under a millisecond) and is lost
with the profile's probability (a ``drop`` with cause ``loss``, as in simulation); with *reorder*
a message may overtake an earlier one from the same peer whose draw was longer. Faults add to it.

Cost: with no fault in force and nothing queued, ``recv_multipart`` is one attribute test and a
call to the real socket; only while a fault is in force are frames received uncopied to read the
peer address.

What differs from the simulation: the sender's ZeroMQ queues never fill during a held partition
(the messages did arrive, the layer holds them), and connections are made across a partition (only
messages are held); a firewall in namespace mode (``riaps_sim.runtime.netns``) does both.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import zmq

from .linkfaults import LinkFaults, LinkProfile, PeerFate, full_sides

__all__ = ["LinkFaults", "LinkProfile", "FaultContext", "FaultSocket", "PeerFate", "source_endpoint", "full_sides", "MAX_QUEUED"]

log = logging.getLogger("riaps_sim.runtime")

_NOBLOCK = zmq.NOBLOCK
_POLLIN = zmq.POLLIN

MAX_QUEUED = 100_000
"""Messages a socket holds or delays at most; more from a faulted peer are dropped (cause ``"hwm"``),
as a full ZeroMQ queue drops them, so a long partition cannot exhaust memory."""


def source_endpoint(endpoint: str, source_host: str | None) -> str:
    """*endpoint* with its TCP source address bound to *source_host* (``tcp://src:0;dst:port``).

    Other transports, endpoints that already name a source, and ``source_host=None`` pass unchanged.
    """
    if source_host is None or not endpoint.startswith("tcp://") or ";" in endpoint:
        return endpoint
    return f"tcp://{source_host}:0;{endpoint[6:]}"


class FaultSocket:
    """A proxy over a real ZeroMQ socket that applies its node's ``LinkFaults`` to what it receives.

    Sends, options, binds and connects pass through (connects with the node's source address).
    ``zmq_socket`` is the real socket; a driver polls it, and also calls back when ``due()`` says
    that held or delayed messages have become deliverable without new input.
    """

    __slots__ = ("zmq_socket", "faults", "source_host", "_queues", "_scattered", "_order", "_ready", "_pending", "__weakref__")

    def __init__(self, zmq_socket: zmq.Socket[Any], faults: LinkFaults, source_host: str | None = None) -> None:
        self.zmq_socket = zmq_socket
        self.faults = faults
        self.source_host = source_host
        self._queues: dict[str, deque[tuple[float, list[bytes]]]] = {}  # peer address -> (due, frames)
        self._scattered: list[tuple[float, int, str, list[bytes]]] = []  # (due, order, address, frames): a heap, reordering allowed
        self._order = itertools.count()
        self._ready: deque[list[bytes]] = deque()
        self._pending = 0  # messages in _queues, _scattered and _ready

    def __repr__(self) -> str:
        return f"<FaultSocket over {self.zmq_socket!r} pending={self._pending}>"

    # -- pass-through ----------------------------------------------------------------------------------

    def setsockopt(self, option: int, value: Any) -> None:
        self.zmq_socket.setsockopt(option, value)

    def getsockopt(self, option: int) -> Any:
        return self.zmq_socket.getsockopt(option)

    def bind(self, addr: str) -> Any:
        return self.zmq_socket.bind(addr)

    def bind_to_random_port(self, addr: str, min_port: int = 49152, max_port: int = 65536, max_tries: int = 100) -> int:
        return self.zmq_socket.bind_to_random_port(addr, min_port, max_port, max_tries)

    def unbind(self, addr: str) -> None:
        self.zmq_socket.unbind(addr)

    def connect(self, addr: str) -> Any:
        return self.zmq_socket.connect(source_endpoint(addr, self.source_host))

    def disconnect(self, addr: str) -> None:
        self.zmq_socket.disconnect(source_endpoint(addr, self.source_host))

    def send_multipart(self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        return self.zmq_socket.send_multipart(msg_parts, flags, copy=copy, track=track)

    def get_monitor_socket(self, events: int | None = None, addr: str | None = None) -> zmq.Socket[Any]:
        return self.zmq_socket.get_monitor_socket(events, addr)

    def disable_monitor(self) -> None:
        self.zmq_socket.disable_monitor()

    def close(self, linger: int | None = None) -> None:
        """Close the real socket; what is still held or delayed is lost with it."""
        self._queues.clear()
        self._scattered.clear()
        self._ready.clear()
        self._pending = 0
        self.zmq_socket.close(linger)

    @property
    def closed(self) -> bool:
        return bool(self.zmq_socket.closed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.zmq_socket, name)

    # -- receiving ---------------------------------------------------------------------------------------

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> list[bytes]:
        """Receive the next deliverable message; raise ``zmq.Again`` with ``NOBLOCK`` if there is none.

        Frames come back as ``bytes`` whenever a fault is in force or messages are queued.
        """
        if not self.faults.active and not self._pending:
            return self.zmq_socket.recv_multipart(flags, copy=copy, track=track)  # type: ignore[return-value]
        deadline = None
        if not flags & _NOBLOCK:
            timeout_ms = int(self.zmq_socket.getsockopt(zmq.RCVTIMEO))
            deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000.0
        while True:
            if self._take():
                self._pending -= 1
                return self._ready.popleft()
            if flags & _NOBLOCK:
                raise zmq.Again()
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise zmq.Again()
            self._wait(remaining)

    def poll(self, timeout: int | None = None, flags: int = _POLLIN) -> int:
        """``POLLIN`` once a message is deliverable (waiting at most *timeout* ms; ``None``: forever)."""
        if not flags & _POLLIN or (not self.faults.active and not self._pending):
            return int(self.zmq_socket.poll(timeout, flags))
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout / 1000.0
        while True:
            if self._take():
                return _POLLIN
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return 0
            self._wait(remaining)

    def due(self) -> float | None:
        """When (``time.monotonic`` seconds) a queued message is next deliverable without new input.

        ``0.0`` if one is deliverable now; ``None`` if nothing is queued, or all is held by a partition.
        """
        if not self._pending:
            return None
        if self._ready:
            return 0.0
        fates = self.faults.fates
        best: float | None = self._scattered[0][0] if self._scattered else None
        for address, queue in self._queues.items():
            fate = fates.get(address)
            if fate is not None and fate.block == "hold":
                continue
            if best is None or queue[0][0] < best:
                best = queue[0][0]
        return best

    def held(self) -> int:
        """How many received messages are queued (held, delayed or ready)."""
        return self._pending

    def _wait(self, remaining_s: float | None) -> None:
        """Wait for input on the real socket, or until a queued message is due, at most *remaining_s*."""
        due = self.due()
        wait = remaining_s
        if due is not None:
            until_due = max(0.0, due - time.monotonic())
            wait = until_due if wait is None else min(wait, until_due)
        self.zmq_socket.poll(None if wait is None else max(1, int(wait * 1000) + 1), _POLLIN)

    def _take(self) -> bool:
        """Move what is due to the ready queue, reading the real socket until one is ready or it is empty."""
        if self._queues or self._scattered:
            self._release(time.monotonic())
        while not self._ready:
            try:
                frames = self.zmq_socket.recv_multipart(_NOBLOCK, copy=False)
            except zmq.Again:
                return False
            self._classify(frames)
        return True

    def _classify(self, frames: list[zmq.Frame]) -> None:
        faults = self.faults
        address: str | None
        try:
            address = str(frames[0].get("Peer-Address"))
        except zmq.ZMQError:  # inproc and ipc have no peer address
            address = None
        data = [frame.bytes for frame in frames]
        fate = faults.fates.get(address) if address is not None else None
        queue = self._queues.get(address) if address is not None else None
        if fate is None:
            if queue:
                queue.append((queue[-1][0], data))
            else:
                self._ready.append(data)
            self._pending += 1
            return
        if fate.block == "drop":
            faults.drop("partition", fate.node)
            return
        if fate.loss and faults.rng.random() < fate.loss:
            faults.drop("loss", fate.node)
            return
        if self._pending >= MAX_QUEUED:
            faults.drop("hwm", fate.node)
            return
        copies = 1
        if fate.duplicate and faults.rng.random() < fate.duplicate:
            copies = 2
            faults.duplicated += 1
        self._pending += copies
        delay_s = fate.delay_s + (fate.latency.sample(faults.rng) if fate.latency is not None else 0.0)
        if queue is None and fate.block is None and not delay_s:
            self._ready.extend([data] + [list(data)] * (copies - 1))
            return
        due = time.monotonic() + delay_s
        if fate.reorder and fate.block is None and not queue:  # may overtake: each copy on its own
            assert address is not None  # a fate is found by address
            for copy in [data] + [list(data)] * (copies - 1):
                heapq.heappush(self._scattered, (due, next(self._order), address, copy))
            return
        if queue is None:
            queue = self._queues[address] = deque()  # type: ignore[index]
        elif queue and queue[-1][0] > due:
            due = queue[-1][0]
        queue.extend([(due, data)] + [(due, list(data))] * (copies - 1))

    def _release(self, now: float) -> None:
        fates = self.faults.fates
        scattered = self._scattered
        while scattered and scattered[0][0] <= now:
            due, _, address, data = heapq.heappop(scattered)
            fate = fates.get(address)
            if fate is not None and fate.block == "hold":  # a partition began meanwhile: it waits for the heal
                self._queues.setdefault(address, deque()).append((due, data))
            else:
                self._ready.append(data)
        for address in list(self._queues):
            fate = fates.get(address)
            if fate is not None and fate.block == "hold":
                continue
            queue = self._queues[address]
            while queue and queue[0][0] <= now:
                self._ready.append(queue.popleft()[1])
            if not queue:
                del self._queues[address]


class FaultContext:
    """A ``zmq.Context`` wrapper whose sockets apply *faults* to what they receive.

    Parameters
    ----------
    context:
        The real context the sockets come from.
    faults:
        The node's ``LinkFaults``.
    source_host:
        The node's address: TCP connections are made from it, so receivers can tell this node apart
        (needed on loopback, where the kernel would otherwise use ``127.0.0.1``).
    """

    def __init__(self, context: zmq.Context[Any], faults: LinkFaults, source_host: str | None = None) -> None:
        self.context = context
        self.faults = faults
        self.source_host = source_host

    def __repr__(self) -> str:
        return f"<FaultContext {self.faults.node} over {self.context!r}>"

    def socket(self, socket_type: int) -> FaultSocket:
        return FaultSocket(self.context.socket(socket_type), self.faults, self.source_host)

    def destroy(self, linger: int | None = None) -> None:
        self.context.destroy(linger)

    def term(self) -> None:
        self.context.term()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.context, name)
