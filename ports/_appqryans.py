"""``QryPort`` and ``AnsPort``: RIAPS query/answer message ports (DEALER and ROUTER).

Queries may be many, outstanding at once and answered out of order. The ans port records the
identity of the querier it read last; ``send`` answers that querier, or the one chosen with
``set_identity`` (keep ``get_identity()`` after a ``recv`` to answer later). An identity that is
not connected is ``PortError`` (``EHOSTUNREACH``), as ``ROUTER_MANDATORY`` makes it in RIAPS.
A qry port's identity is a unique 16-byte one (the reference's, ``str(id(port))``, is not unique
across processes).
"""

from __future__ import annotations

import errno
import pickle
from typing import Any

import zmq

from ._appport import AppPort, AppSpec
from ._errors import OperationError, PortError
from ._info import PortInfo
from ._part import Part
from ._port import BindPort, ConnPort
from ._qryans import unique_identity

__all__ = ["QryPort", "AnsPort"]


class QryPort(ConnPort, AppPort):
    """A RIAPS ``qry`` port: sends queries round robin to the matching ans ports; answers trigger ``on_<port>``."""

    portKind = "qry"
    paired = True

    def __init__(self, parentPart: Part, portName: str, portSpec: AppSpec) -> None:
        super().__init__(parentPart, portName, portSpec)
        self.identity = unique_identity(parentPart.host)

    def setupSocket(self, owner: Any) -> PortInfo:
        return self.setupConnSocket(owner, zmq.DEALER, self.portKind, [(zmq.IDENTITY, self.identity)])

    def closeSocket(self) -> None:
        self._drop_inbox()
        self.closeConnSocket()

    def send(self, msg: bytes) -> bool:
        """Send a query; False while no ans port is connected."""
        if not self.servers:
            return False
        self._send_frames(self._message_frames(msg))
        return True

    def send_pyobj(self, msg: Any) -> bool:
        return self.send(pickle.dumps(msg))

    def recv(self) -> bytes | None:  # type: ignore[override]
        """The next answer's payload; ``None`` while no ans port is connected."""
        if not self.servers and not self._inbox:
            return None
        return self._message_payload(self._next_frames())

    def recv_pyobj(self) -> Any:
        payload = self.recv()
        return None if payload is None else self._unpickle(payload)


class AnsPort(BindPort, AppPort):
    """A RIAPS ``ans`` port: each query triggers ``on_<port>``; ``send`` answers the querier last read (or set)."""

    portKind = "ans"
    paired = True

    def __init__(self, parentPart: Part, portName: str, portSpec: AppSpec) -> None:
        super().__init__(parentPart, portName, portSpec)
        self.identity: bytes | None = None

    def setupSocket(self, owner: Any) -> PortInfo:
        return self.setupBindSocket(owner, zmq.ROUTER, self.portKind, [(zmq.ROUTER_MANDATORY, 1)])

    def closeSocket(self) -> None:
        self._drop_inbox()
        self.closeBindSocket()

    def update(self, host: str, port: int) -> None:
        raise OperationError(f"AnsPort {self.name!r} cannot update(): it binds and qry ports connect to it")

    def get_identity(self) -> bytes | None:
        """The identity of the querier read last."""
        return self.identity

    def set_identity(self, identity: bytes) -> None:
        """Choose the querier the next ``send`` answers."""
        self.identity = identity

    def recv(self) -> bytes:
        """The next query's payload; its querier becomes the one ``send`` answers."""
        frames = self._next_frames()
        if len(frames) < 2:
            raise self._malformed_input(PortError(f"AnsPort {self.name!r} received {len(frames)} frames; expected [identity, payload]", errno.EPROTO))
        payload = self._message_payload(frames[1:])
        self.identity = frames[0]
        return payload

    def recv_pyobj(self) -> Any:
        return self._unpickle(self.recv())

    def send(self, msg: bytes) -> bool:
        """Answer the current querier. ``PortError`` (``EHOSTUNREACH``) if it is not connected."""
        if self.identity is None:
            raise OperationError(f"AnsPort {self.name!r} has no querier to answer: recv() a query first or set_identity()")
        self._send_frames([self.identity, *self._message_frames(msg)])
        return True

    def send_pyobj(self, msg: Any) -> bool:
        return self.send(pickle.dumps(msg))
