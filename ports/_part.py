"""``Part``: what a port needs from the component part that owns it.

In RIAPS a port's parent part supplies the ZeroMQ context, the host's interface address and the
actor's CURVE keys. Here that is one small object, so ports can be used on their own from a notebook
or a test, and so the simulated world can hand in its own context and clock: the context is the one
swap point between the worlds ("The two worlds" in docs/concepts.md).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zmq

__all__ = ["Part", "CurveKeys", "PortOptions"]

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True, repr=False)
class CurveKeys:
    """A CURVE key pair in Z85 text (40 bytes each), shared by all members of an application.

    As in RIAPS, every actor of an application holds the same pair: servers use it as their own,
    clients use its public half as the server key, so only holders of the pair can talk. Its
    ``repr`` and ``str`` show the public key only, so logs, tracebacks and the reprs of records
    that hold a pair never print the secret.
    """

    public: bytes
    secret: bytes

    def __post_init__(self) -> None:
        for name in ("public", "secret"):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != 40:
                raise ValueError(f"CurveKeys.{name} must be 40 bytes of Z85 text, as zmq.curve_keypair() makes; got {value!r:.60}")

    def __repr__(self) -> str:
        return f"CurveKeys(public={self.public.decode('ascii', 'replace')}, secret=<hidden>)"

    @classmethod
    def generate(cls) -> CurveKeys:
        """Make a fresh key pair with ``zmq.curve_keypair()``."""
        public, secret = zmq.curve_keypair()
        return cls(public=public, secret=secret)


@dataclass(frozen=True, slots=True)
class PortOptions:
    """Socket options every group port applies, with the reference's effective defaults.

    Times are in milliseconds (``-1`` means no timeout), as ZeroMQ takes them. High-water marks are
    in messages; ``0`` means no limit. ``max_message_bytes`` bounds every received frame (1 MiB). Unlike the reference, send and receive marks are not swapped
    and apply to all four socket types (B21).
    """

    send_timeout_ms: int = -1
    recv_timeout_ms: int = -1
    send_hwm: int = 100
    recv_hwm: int = 100
    #: The largest frame a port's socket takes in, in bytes (``ZMQ_MAXMSGSIZE``; ``-1`` for no limit).
    #: A peer that sends a larger one is disconnected by libzmq before the frame is stored, and
    #: libzmq (4.3) does not reconnect to it. RIAPS group messages are far smaller than the default.
    max_message_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        if not isinstance(self.max_message_bytes, int) or not (self.max_message_bytes == -1 or self.max_message_bytes > 0):
            raise ValueError(f"PortOptions.max_message_bytes must be a positive number of bytes or -1 for no limit, got {self.max_message_bytes!r}")


class Part:
    """The owner of a set of ports: context, host address, clock and optional CURVE keys.

    Parameters
    ----------
    context:
        A ``zmq.Context``, or a simulated context from ``riaps_sim.net`` that offers the same
        ``socket(type)`` call.
    host:
        The address this part's bind ports bind to and announce, e.g. ``"127.0.0.1"``.
    clock:
        Returns the current time in seconds; timed ports stamp messages with it.
    keys:
        A ``CurveKeys`` pair (or a ``(public, secret)`` tuple) to turn CURVE on, or ``None``.
        Only with ``transport="tcp"``: inproc connections have no security handshake. CURVE alone
        admits any client that knows the public key; bind a ``ZapHandler`` with the allow-list in
        the same context to admit only allowed keys (server ports name themselves as its domain).
    transport:
        ``"tcp"`` (default) or ``"inproc"``. With ``inproc``, endpoints are ``inproc://host:port``
        names in the shared context, so parts in one process can talk without TCP.
    options:
        Socket options for every port of this part.
    name:
        A label for logs and reprs.

    Examples
    --------
    >>> import zmq, ports
    >>> part = ports.Part(zmq.Context.instance(), host="127.0.0.1")
    >>> part.endpoint("127.0.0.1", 5555)
    'tcp://127.0.0.1:5555'
    """

    def __init__(
        self,
        context: Any,
        host: str = "127.0.0.1",
        clock: Clock = time.time,
        keys: CurveKeys | tuple[bytes, bytes] | None = None,
        transport: str = "tcp",
        options: PortOptions | None = None,
        name: str = "part",
    ) -> None:
        if transport not in ("tcp", "inproc"):
            raise ValueError(f"Part transport must be 'tcp' or 'inproc', got {transport!r}")
        if keys is not None and not isinstance(keys, CurveKeys):
            keys = CurveKeys(*keys)
        if keys is not None and transport == "inproc":
            raise ValueError(
                "CURVE keys need the tcp transport: ZeroMQ's inproc connections skip the security handshake, "
                "so keys would protect nothing; use transport='tcp' or drop the keys"
            )
        self.appContext = context
        self.host = host
        self.clock = clock
        self.keys: CurveKeys | None = keys
        self.transport = transport
        self.options = options or PortOptions()
        self.name = name
        self._inproc_ports = itertools.count(1)

    def endpoint(self, host: str, port: int) -> str:
        """The endpoint string for *host* and *port* in this part's transport."""
        return f"{self.transport}://{host}:{port}"

    def bind_random(self, socket: Any, host: str) -> int:
        """Bind *socket* to a free port on *host* and return the port number.

        Over TCP this asks the operating system (``bind_to_random_port``); over inproc it picks the
        next name that is not taken in the context.
        """
        if self.transport == "tcp":
            return int(socket.bind_to_random_port(f"tcp://{host}"))
        while True:
            port = next(self._inproc_ports)
            try:
                socket.bind(self.endpoint(host, port))
            except zmq.ZMQError as exc:
                if exc.errno != zmq.EADDRINUSE:
                    raise
                continue
            return port

    def __repr__(self) -> str:
        security = "curve" if self.keys else "plain"
        return f"<Part {self.name!r} {self.transport}://{self.host} {security}>"
