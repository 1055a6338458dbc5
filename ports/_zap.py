"""``ZapHandler``: the ZeroMQ authentication handler (ZAP, RFC 27) that admits only allowed CURVE keys.

With CURVE on, a server socket proves to its clients that it holds the application's secret key,
but libzmq admits *any* client that knows the server's public key unless a ZAP handler is bound in
the context at ``inproc://zeromq.zap.01``. This module is that handler, made to run inside the
owner's own poll loop (no thread): it binds a ROUTER on the ZAP endpoint, the loop polls
``socket`` and calls ``handle()`` when it is readable, and ``handle()`` answers every waiting
request at once without blocking.

A request carries the version (``1.0``), a request id, the domain (the server socket's
``ZAP_DOMAIN``: the ports set it to their own name), the client's address, its identity, the
mechanism and the credentials (for CURVE, the client's 32-byte public key). The answer is 200
for a CURVE client whose key is on the allow-list, 400 for everything else; each refusal is
reported to a callback as a ``HandshakeRefusal``. A refused client sees
``EVENT_HANDSHAKE_FAILED_AUTH`` with value 400 on its monitor and, in libzmq 4.3, does not retry.

The handler only works on the context it was made in, and only for handshakes that begin after it
is bound: make it before the first server socket accepts a connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import zmq
from zmq.utils import z85

__all__ = ["ZAP_ENDPOINT", "HandshakeRefusal", "ZapHandler", "ZapStatistics"]

log = logging.getLogger("ports")

#: Where libzmq looks for the authentication handler of a context (RFC 27).
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
_VERSION = b"1.0"


@dataclass(frozen=True, slots=True)
class HandshakeRefusal:
    """A connection refused during its security handshake, as a trace or a summary reports it.

    Attributes
    ----------
    port:
        The name of the refusing port (the server socket's ZAP domain); ``""`` if unknown.
    peer:
        The client's address as the server saw it (IP address), or the local endpoint when only a
        socket monitor saw the refusal (libzmq's monitors do not name the peer).
    mechanism:
        The security mechanism the client offered: ``"CURVE"``, ``"NULL"``, ``"PLAIN"``, or ``""``
        when the handshake failed before that was known.
    reason:
        Why, in words: "key not on the allow-list", "the peer does not use CURVE", ...
    client_key:
        The client's CURVE public key in Z85 text (40 bytes), or ``b""``.
    """

    port: str
    peer: str
    mechanism: str
    reason: str
    client_key: bytes = b""

    def __str__(self) -> str:
        key = f" (key {self.client_key.decode('ascii')})" if self.client_key else ""
        return f"port {self.port or '?'} refused {self.peer or 'a peer'}{key}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ZapStatistics:
    """What a ``ZapHandler`` has answered: admitted and refused requests, and malformed ones ignored."""

    admitted: int = 0
    refused: int = 0
    malformed: int = 0


RefusalCallback = Callable[[HandshakeRefusal], None]


def _z85_key(key: bytes) -> bytes:
    """*key* as 40 bytes of Z85 text, whether given as Z85 or as 32 raw bytes."""
    if len(key) == 32:
        return bytes(z85.encode(key))
    if len(key) == 40:
        return bytes(key)
    raise ValueError(f"a CURVE public key is 40 bytes of Z85 text or 32 raw bytes, got {len(key)} bytes: {key!r:.60}")


class ZapHandler:
    """Admits CURVE clients whose public key is on *allowed*; refuses everyone else with status 400.

    Parameters
    ----------
    context:
        The context whose server sockets this handler authenticates: a ``zmq.Context``, or a
        simulated context from ``riaps_sim.net`` (which routes its handshakes' ZAP requests to a
        ROUTER bound on the same endpoint).
    allowed:
        The client public keys to admit, Z85 text (40 bytes) or raw (32 bytes).
    on_refused:
        Called with a ``HandshakeRefusal`` for every refused request, from inside ``handle()``.
        Without it, refusals are logged as warnings: the first ten, then the 100th, 1,000th, ...
        (``statistics()`` counts them all); with it, reporting is the callback's and the log
        gets them at DEBUG.
    admit_null:
        Admit NULL-mechanism requests (only made for server sockets without CURVE that set a ZAP
        domain). Off by default: with keys on, a peer without keys must get nothing through.

    Raises
    ------
    ValueError
        If *allowed* is empty or holds something that is not a CURVE public key.
    zmq.ZMQError
        ``EADDRINUSE`` if the context already has a ZAP handler.

    Examples
    --------
    >>> import zmq, ports
    >>> context = zmq.Context()
    >>> keys = ports.CurveKeys.generate()
    >>> zap = ports.ZapHandler(context, [keys.public])
    >>> zap.handle()  # the owner's loop calls this when zap.socket is readable
    0
    >>> zap.close(); context.term()
    """

    def __init__(self, context: Any, allowed: Iterable[bytes], on_refused: RefusalCallback | None = None, admit_null: bool = False) -> None:
        self.allowed = frozenset(_z85_key(k) for k in allowed)
        if not self.allowed:
            raise ValueError("ZapHandler needs at least one allowed client public key; with none, no client could connect")
        self.on_refused = on_refused
        self.admit_null = admit_null
        self._admitted = 0
        self._refused = 0
        self._malformed = 0
        socket = context.socket(zmq.ROUTER)
        socket.setsockopt(zmq.LINGER, 0)
        try:
            socket.bind(ZAP_ENDPOINT)
        except zmq.ZMQError:
            socket.close(linger=0)
            raise
        self.socket: Any = socket

    def __repr__(self) -> str:
        state = "closed" if self.socket is None else f"{len(self.allowed)} key(s) allowed"
        return f"<ZapHandler {state} admitted={self._admitted} refused={self._refused}>"

    def handle(self) -> int:
        """Answer every ZAP request waiting now, without blocking; return how many were answered."""
        socket = self.socket
        answered = 0
        while socket is not None:
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if self._answer(frames):
                answered += 1
        return answered

    def _answer(self, frames: list[bytes]) -> bool:
        # [routing id, b"", version, request id, domain, address, identity, mechanism, *credentials]
        if len(frames) < 8 or frames[1] != b"" or frames[2] != _VERSION:
            self._malformed += 1
            log.warning("ZAP handler ignored a malformed request of %d frame(s)", len(frames))
            return False
        route, request_id = frames[0], frames[3]
        domain, address, mechanism = (f.decode("utf-8", "replace") for f in (frames[4], frames[5], frames[7]))
        credentials = frames[8:]
        status, reason, key = self.decide(mechanism, credentials)
        if status == b"200":
            self._admitted += 1
        else:
            self._refused += 1
            refusal = HandshakeRefusal(port=domain, peer=address, mechanism=mechanism, reason=reason, client_key=key)
            # with a callback its owner reports (a node bounds its trace and log per source); without,
            # the log gets the first ten and then every power of ten, so a flood cannot fill it
            count = self._refused
            quiet = self.on_refused is not None or not (count <= 10 or count == 10 ** (len(str(count)) - 1))
            log.log(logging.DEBUG if quiet else logging.WARNING, "%s (%d refused so far)", refusal, count)
            if self.on_refused is not None:
                self.on_refused(refusal)
        user_id = key if status == b"200" else b""
        self.socket.send_multipart([route, b"", _VERSION, request_id, status, reason.encode(), user_id, b""])
        return True

    def decide(self, mechanism: str, credentials: list[bytes]) -> tuple[bytes, str, bytes]:
        """The answer to a request: (status code, reason text, client key in Z85 or ``b""``)."""
        if mechanism == "CURVE":
            if len(credentials) != 1 or len(credentials[0]) != 32:
                return b"400", "malformed CURVE credentials", b""
            key = bytes(z85.encode(credentials[0]))
            if key in self.allowed:
                return b"200", "OK", key
            return b"400", "key not on the allow-list", key
        if mechanism == "NULL" and self.admit_null:
            return b"200", "OK", b""
        return b"400", f"mechanism {mechanism} not allowed: CURVE with an allowed key is required", b""

    def statistics(self) -> ZapStatistics:
        """A snapshot of what this handler has answered."""
        return ZapStatistics(admitted=self._admitted, refused=self._refused, malformed=self._malformed)

    def close(self) -> None:
        """Unbind and close; later handshakes in the context go unauthenticated (libzmq admits them)."""
        if self.socket is not None:
            self.socket.close(linger=0)
            self.socket = None
