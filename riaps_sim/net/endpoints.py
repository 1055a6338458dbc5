"""Bind, connect and their undoing for ``SimSocket``: listeners on hosts, connections to endpoints.

A bind registers the socket as its host's listener on a port (one per port per host, as the
kernel allows) and wakes connections that were refused there. A connect makes a ``Connection``
that retries until a listener answers; the socket's end of it exists from the start, so a DEALER
can queue into it at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import zmq

from .addressing import parse_endpoint
from .handshake import Connection
from .zap import ZAP_ENDPOINT

__all__ = ["EndpointsMixin"]


class EndpointsMixin:
    """``bind``, ``bind_to_random_port``, ``unbind``, ``connect`` and ``disconnect`` for ``SimSocket``."""

    if TYPE_CHECKING:
        host: Any
        context: Any
        _binds: dict[str, int]
        _conns: list[Connection]
        _last_endpoint: bytes

        def check_open(self) -> None: ...
        def report_event(self, event: int, value: int, endpoint: str) -> None: ...
        def _add_client_pipe(self, pipe: Any) -> None: ...
        def _remove_pipe(self, pipe: Any) -> None: ...
        def _linger_s(self) -> float | None: ...

    def bind(self, addr: str) -> None:
        """Listen on *addr*, ``tcp://<this host's address, *, 0.0.0.0 or 127.0.0.1>:<port or *>``.

        Raises ``zmq.ZMQError``: ``EADDRINUSE`` if the port is taken on this host,
        ``EADDRNOTAVAIL`` if the address is not this host's, ``EINVAL`` for a malformed endpoint.
        """
        self.check_open()
        if addr == ZAP_ENDPOINT:  # the context's authentication handler (RFC 27), see .zap
            self.context.bind_zap(self)
            return
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
        self.report_event(zmq.EVENT_LISTENING, 0, endpoint)

    def bind_to_random_port(self, addr: str, min_port: int = 49152, max_port: int = 65536, max_tries: int = 100) -> int:
        """Bind to a free port in [*min_port*, *max_port*) on *addr* (``tcp://host``) and return it.

        Ports are handed out by a per-host counter, so runs are deterministic.
        """
        self.check_open()
        for _ in range(max_tries):
            port: int = self.host.free_port(min_port, max_port)
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
        self.check_open()
        if addr == ZAP_ENDPOINT:
            self.context.unbind_zap(self)
            return
        port = self._binds.get(addr)
        if port is None:
            raise zmq.ZMQError(2, f"No such file or directory: {addr!r} is not bound on {self!r}")
        for endpoint in [e for e, p in self._binds.items() if p == port]:
            del self._binds[endpoint]
        self.host.unlisten(self, port)

    def bound_endpoint(self, port: int) -> str:
        for endpoint, bound in self._binds.items():
            if bound == port:
                return endpoint
        return f"tcp://{self.host.address}:{port}"

    def connect(self, addr: str) -> None:
        """Connect to *addr* (``tcp://address-or-host-name:port``); the connection comes up later.

        Connecting before the peer binds is fine: the connection retries every ``RECONNECT_IVL``.
        """
        self.check_open()
        _transport, where, port = parse_endpoint(addr)
        assert port is not None
        endpoint = f"tcp://{where}:{port}"
        conn = Connection(self, endpoint, where, port)  # type: ignore[arg-type]
        self._conns.append(conn)
        self._add_client_pipe(conn.cp)
        self._last_endpoint = endpoint.encode()
        conn.start()

    def disconnect(self, addr: str) -> None:
        """Drop the connections to *addr*; queued messages follow LINGER. ``ENOENT`` if not connected."""
        self.check_open()
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
