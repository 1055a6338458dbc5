"""``SimContext``: the drop-in for ``zmq.Context`` that a part hands its ports in the simulated world.

It makes simulated sockets on its host with ``socket(zmq.PUB)`` and friends, and closes them on
``term()``/``destroy()``. A host's crash terminates its context; a restart gives the host a new one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import zmq

from .sockets import SimSocket
from .socktypes import SOCKET_CLASSES
from .zap import ZapService

if TYPE_CHECKING:
    from .host import Host

__all__ = ["SimContext"]


class SimContext:
    """The simulated counterpart of ``zmq.Context`` for one host.

    Parameters
    ----------
    host:
        The host whose sockets this context makes.
    """

    def __init__(self, host: Host) -> None:
        self.host = host
        self._sockets: dict[SimSocket, None] = {}
        self._closed = False
        self._zap: ZapService | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        state = "terminated" if self._closed else f"{len(self._sockets)} socket(s)"
        return f"<SimContext of {self.host.name} ({self.host.address}) {state}>"

    def socket(self, socket_type: int, **kwargs: object) -> SimSocket:
        """A new simulated socket of *socket_type* (``zmq.PUB``, ``SUB``, ``DEALER``, ``ROUTER`` or ``PAIR``).

        Raises ``zmq.ZMQError``: ``ETERM`` if the context is terminated (its host crashed),
        ``EINVAL`` for a type the simulation does not model.
        """
        if self._closed:
            raise zmq.ZMQError(zmq.ETERM, f"the context of host {self.host.name!r} is terminated (crashed or closed)")
        cls = SOCKET_CLASSES.get(socket_type)
        if cls is None:
            raise zmq.ZMQError(zmq.EINVAL, f"socket type {socket_type!r} is not simulated; use zmq.PUB, SUB, DEALER, ROUTER or PAIR")
        sock = cls(self)
        self._sockets[sock] = None
        return sock

    def zap(self) -> ZapService | None:
        """The authentication handler of this context's server sockets: set while a ROUTER is bound at
        ``inproc://zeromq.zap.01``, else ``None`` (and, as in libzmq, every handshake is admitted)."""
        return self._zap

    def bind_zap(self, sock: SimSocket) -> None:
        """Make *sock* (a ROUTER) this context's ZAP handler; ``EADDRINUSE`` if one is bound already."""
        if self._zap is not None:
            raise zmq.ZMQError(zmq.EADDRINUSE, "inproc://zeromq.zap.01 is already bound in this context")
        if sock.socket_type != zmq.ROUTER:
            raise zmq.ZMQError(zmq.EINVAL, "the simulation serves ZAP requests to a ROUTER socket only")
        self._zap = ZapService(sock)

    def unbind_zap(self, sock: SimSocket) -> None:
        """*sock* stops being this context's ZAP handler; handshakes waiting for it are refused."""
        service = self._zap
        if service is not None and service.router is sock:
            self._zap = None
            service.abandon()

    def forget(self, sock: SimSocket) -> None:
        """*sock* closed (or its host crashed): the context no longer holds it."""
        self._sockets.pop(sock, None)

    def lost(self) -> None:
        """The host crashed: this context is gone, as a terminated one is."""
        self._closed = True

    def sockets(self) -> list[SimSocket]:
        """The open sockets of this context, oldest first."""
        return list(self._sockets)

    def destroy(self, linger: int | None = None) -> None:
        """Close every socket (with *linger* ms if given) and terminate."""
        for sock in list(self._sockets):
            sock.close(linger=linger)
        self._closed = True

    def term(self) -> None:
        """Terminate; sockets still open are closed with their own LINGER."""
        self.destroy()

    def __enter__(self) -> SimContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.term()
