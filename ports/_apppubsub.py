"""``PubPort`` and ``SubPort``: RIAPS publish/subscribe message ports (PUB and SUB sockets).

A sub port connects to every pub of its message type that discovery reports, the component's own
included, so a component whose pub and sub share a message receives its own publications (as in
RIAPS). Nothing is guaranteed: a message published before the connection is up is lost (slow
joiner), and a full subscriber loses messages.
"""

from __future__ import annotations

import pickle
from typing import Any

import zmq

from ._appport import AppPort, AppSpec
from ._errors import OperationError
from ._info import PortInfo
from ._part import Part
from ._port import BindPort, ConnPort

__all__ = ["PubPort", "SubPort"]


class PubPort(BindPort, AppPort):
    """A RIAPS ``pub`` port: binds a PUB socket; ``send``/``send_pyobj`` publish to every connected sub.

    Examples
    --------
    >>> import zmq, ports
    >>> pub = ports.PubPort(ports.Part(zmq.Context.instance()), "ping", {"type": "Ping"})
    >>> pub.setupSocket(None).portKind
    'pub'
    >>> pub.closeSocket()
    """

    portKind = "pub"

    def __init__(self, parentPart: Part, portName: str, portSpec: AppSpec) -> None:
        super().__init__(parentPart, portName, portSpec)

    def setupSocket(self, owner: Any) -> PortInfo:
        """Create the PUB socket and bind it to a random port on the part's host."""
        return self.setupBindSocket(owner, zmq.PUB, self.portKind)

    def closeSocket(self) -> None:
        self.closeBindSocket()

    def inSocket(self) -> bool:
        return False

    def update(self, host: str, port: int) -> None:
        raise OperationError(f"PubPort {self.name!r} cannot update(): pub ports bind and subs connect to them")

    def send(self, msg: bytes) -> bool:
        """Publish *msg*. Returns True; a subscriber that is not connected yet or is full does not get it."""
        self._send_frames(self._message_frames(msg))
        return True

    def send_pyobj(self, msg: Any) -> bool:
        """Publish a picklable object."""
        return self.send(pickle.dumps(msg))

    def _wrong_direction(self, method: str) -> str:
        return f"PubPort {self.name!r} cannot {method}(): a pub port only publishes; receive on a sub port of the same message type"


class SubPort(ConnPort, AppPort):
    """A RIAPS ``sub`` port: a SUB socket subscribed to everything, connected to every matching pub."""

    portKind = "sub"

    def __init__(self, parentPart: Part, portName: str, portSpec: AppSpec) -> None:
        super().__init__(parentPart, portName, portSpec)

    def setupSocket(self, owner: Any) -> PortInfo:
        """Create the SUB socket; it connects to pubs on ``update``."""
        return self.setupConnSocket(owner, zmq.SUB, self.portKind, [(zmq.SUBSCRIBE, b"")])

    def closeSocket(self) -> None:
        self._drop_inbox()
        self.closeConnSocket()

    def recv(self) -> bytes:
        """The next message's payload. ``PortError`` (``EAGAIN``) if none is waiting."""
        return self._message_payload(self._next_frames())

    def recv_pyobj(self) -> Any:
        """The next message, unpickled. Unpickle only what trusted peers sent."""
        return self._unpickle(self.recv())

    def _wrong_direction(self, method: str) -> str:
        return f"SubPort {self.name!r} cannot {method}(): a sub port only receives; publish on a pub port"
