"""``Host``: a machine in the simulated network, with its address, context, clock, generator and listeners.

A host's clock reads ``offset + rate * true time`` (seconds), so skew and drift are two numbers
a fault can change. Its generator is seeded from the network seed and the host's name alone, so
adding a host does not change what the others draw. Processes started with ``Host.process`` stop
when the host crashes.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Hashable
from typing import TYPE_CHECKING, Any

import simpy
import zmq

from .addressing import WILDCARDS, derive_seed
from .context import SimContext

if TYPE_CHECKING:
    from .handshake import Connection
    from .network import Network
    from .sockets import SimSocket

__all__ = ["Host", "Crashed"]


class Crashed:
    """The cause of the ``simpy.Interrupt`` a host's processes receive when it crashes."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def __repr__(self) -> str:
        return f"Crashed({self.host.name!r})"


class Host:
    """A simulated machine; made by ``Network.add_host``.

    Attributes
    ----------
    name, address:
        Its node name in the graph and its IPv4 address.
    context:
        Its current ``SimContext``; replaced by a fresh one on restart.
    alive:
        False between a crash and the restart.
    offset, rate:
        Its clock reads ``offset + rate * env.now`` seconds.
    """

    def __init__(self, network: Network, name: Hashable, address: str) -> None:
        self.network = network
        self.name = name
        self.address = address
        self.alive = True
        self.offset = 0.0
        self.rate = 1.0
        self.incarnation = 0
        self._env = network.env
        self._random: random.Random | None = None
        self._listeners: dict[int, tuple[SimSocket, str]] = {}
        self._parked: dict[int, list[tuple[Connection, int, float]]] = {}
        self._next_port = 0
        self._processes: list[simpy.Process] = []
        self._half_open: list[tuple[str, Connection]] = []
        self.context = SimContext(self)

    def __repr__(self) -> str:
        state = "up" if self.alive else "crashed"
        return f"<Host {self.name!r} {self.address} {state} sockets={len(self.context.sockets())}>"

    # -- clock, randomness, processes -----------------------------------------------------------------

    def clock(self) -> float:
        """This host's time in seconds: ``offset + rate * true virtual time``."""
        now: float = self._env.now
        return self.offset + self.rate * now

    @property
    def random(self) -> random.Random:
        """This host's generator, seeded from (network seed, "host", name); made on first use."""
        if self._random is None:
            self._random = random.Random(derive_seed(self.network.seed, "host", self.name))
        return self._random

    def process(self, generator: Generator[Any, Any, Any]) -> simpy.Process:
        """Run *generator* as a SimPy process that stops (quietly) when this host crashes."""
        if not self.alive:
            raise RuntimeError(f"host {self.name!r} is crashed; restart it before starting processes on it")
        proc: simpy.Process = self._env.process(_until_crash(generator))
        self._processes = [p for p in self._processes if p.is_alive]
        self._processes.append(proc)
        return proc

    # -- listeners and ports --------------------------------------------------------------------------

    def bind_address(self, where: str, endpoint: str) -> str:
        """The address a bind to *where* listens on: ``*``, this host's address, or ``127.0.0.1``."""
        if where in WILDCARDS:
            return "*"
        if where in (self.address, self.name):
            return self.address
        if where in ("127.0.0.1", "localhost"):
            return "127.0.0.1"
        raise zmq.ZMQError(zmq.EADDRNOTAVAIL, f"Cannot assign requested address (addr={endpoint!r}): host {self.name!r} has address {self.address}")

    def free_port(self, low: int, high: int) -> int:
        """The next port in [*low*, *high*) that no socket of this host listens on (a per-host counter)."""
        span = high - low
        if span <= 0:
            raise ValueError(f"empty port range [{low}, {high})")
        for _ in range(span):
            port = low + self._next_port % span
            self._next_port += 1
            if port not in self._listeners:
                return port
        raise zmq.ZMQError(zmq.EADDRINUSE, f"every port in [{low}, {high}) is taken on host {self.name!r}")

    def listen(self, sock: SimSocket, address: str, port: int, endpoint: str) -> None:
        """Register *sock* as listening on *address*:*port*; ``EADDRINUSE`` if taken; wake parked connects."""
        if port in self._listeners:
            raise zmq.ZMQError(zmq.EADDRINUSE, f"Address already in use (addr={endpoint!r})")
        self._listeners[port] = (sock, address)
        parked = self._parked.pop(port, None)
        for conn, attempt, learned_at in parked or ():
            conn.wake(attempt, learned_at)

    def unlisten(self, sock: SimSocket, port: int) -> None:
        entry = self._listeners.get(port)
        if entry is not None and entry[0] is sock:
            del self._listeners[port]

    def listener(self, address: str, port: int) -> SimSocket | None:
        """The socket listening on *port* that a connect to *address* reaches, if any."""
        entry = self._listeners.get(port)
        if entry is None:
            return None
        sock, bound = entry
        if address == "localhost":
            address = "127.0.0.1"
        if bound == "*" or bound == address or (bound == self.address and address == self.name):
            return sock
        return None

    def park(self, port: int, conn: Connection, attempt: int, learned_at: float) -> None:
        """Remember a connect refused on *port*; the next bind there wakes it."""
        self._parked.setdefault(port, []).append((conn, attempt, learned_at))

    # -- crash and restart (driven by the network's faults) ---------------------------------------------

    def power_off(self) -> None:
        """The host crashes (the network's ``crash`` fault): its sockets vanish without a word."""
        self.alive = False
        for sock in self.context.sockets():
            self._half_open.extend(sock.host_crashed())
        for conn in list(self.network.wire.connections):  # closed sockets still lingering on their queues
            if conn.client.host is self and conn.state == "closing":
                conn.crash()
        self.context.lost()
        me = self._env.active_process
        for proc in self._processes:
            if proc.is_alive and proc is not me:
                proc.interrupt(Crashed(self))
        self._processes = []

    def power_on(self) -> None:
        """The host restarts (undoing a crash) with a fresh context."""
        self.alive = True
        self.incarnation += 1
        self.context = SimContext(self)
        half_open, self._half_open = self._half_open, []
        for side, conn in half_open:
            if side == "client":
                conn.lost("crash")
            else:
                conn.reset_server_side("crash")


def _until_crash(generator: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
    try:
        return (yield from generator)
    except simpy.Interrupt as interrupt:
        if isinstance(interrupt.cause, Crashed):
            generator.close()
            return None
        raise
