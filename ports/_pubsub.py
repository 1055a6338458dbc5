"""``GroupPubPort`` and ``GroupSubPort``: the group's PUB/SUB mesh.

Every member binds one pub port and connects its sub port to every member's pub, its own
included, so each member also receives what it publishes (as in RIAPS). Application messages
travel as ``[b'msg', payload]``; the coordination protocol sends its own commands through
``sendGroup``.
"""

from __future__ import annotations

import pickle
from typing import Any

import zmq

from ._errors import OperationError
from ._group import GroupSimplexPort, GroupSpec
from ._info import PortInfo
from ._part import Part
from ._port import BindPort, ConnPort

__all__ = ["GroupPubPort", "GroupSubPort", "GROUP_MSG"]

GROUP_MSG = b"msg"


class GroupPubPort(BindPort, GroupSimplexPort):
    """The port a member publishes to its group on (a ZeroMQ PUB socket).

    Examples
    --------
    >>> import zmq, ports
    >>> part = ports.Part(zmq.Context.instance())
    >>> pub = ports.GroupPubPort(part, "g_pub", {"message": "Msg", "timed": False})
    >>> pub.setupSocket(None).portKind
    'gpub'
    >>> pub.closeSocket()
    """

    def __init__(self, parentPart: Part, portName: str, groupSpec: GroupSpec) -> None:
        super().__init__(parentPart, portName, groupSpec)

    def setupSocket(self, owner: Any) -> PortInfo:
        """Create the PUB socket and bind it to a random port on the part's host."""
        return self.setupBindSocket(owner, zmq.PUB, "gpub")

    def closeSocket(self) -> None:
        """Unbind and close."""
        self.closeBindSocket()

    def inSocket(self) -> bool:
        return False

    def update(self, host: str, port: int) -> None:
        raise OperationError(
            f"GroupPubPort {self.name!r} cannot update(): pub ports bind and are connected to; give the peer's address to the group's sub port"
        )

    def sendGroup(self, msgType: bytes, msg: bytes) -> bool:
        """Publish ``[msgType, msg]`` (plus a timestamp frame if the group is timed) to all members.

        Returns True. Raises ``PortError`` if the socket refuses the message.
        """
        self._send_frames(self._group_frames(msgType, msg))
        return True

    def send(self, msg: bytes) -> bool:
        """Publish *msg* to the group as an application message (``b'msg'``)."""
        return self.sendGroup(GROUP_MSG, msg)

    def send_pyobj(self, msg: Any) -> bool:
        """Publish a picklable object to the group as an application message."""
        return self.sendGroup(GROUP_MSG, pickle.dumps(msg))

    def _wrong_direction(self, method: str) -> str:
        return f"GroupPubPort {self.name!r} cannot {method}(): pub ports only send; read group messages from the group's sub port"


class GroupSubPort(ConnPort, GroupSimplexPort):
    """The port a member receives its group's messages on (a ZeroMQ SUB socket, subscribed to all)."""

    def __init__(self, parentPart: Part, portName: str, groupSpec: GroupSpec) -> None:
        super().__init__(parentPart, portName, groupSpec)
        self.deadline = None

    def setupSocket(self, owner: Any) -> PortInfo:
        """Create the SUB socket, subscribed to everything. It connects to pubs on ``update``."""
        return self.setupConnSocket(owner, zmq.SUB, "gsub", [(zmq.SUBSCRIBE, b"")])

    def closeSocket(self) -> None:
        """Disconnect from every pub and close."""
        self.closeConnSocket()

    def recvGroup(self) -> list[bytes]:
        """Receive the next frame list ``[cmd, payload]`` (``[cmd, payload, timestamp]`` if timed).

        Raises ``PortError`` if nothing is waiting (``errno.EAGAIN``) or the frames have the wrong
        shape (``errno.EPROTO``; counted in ``statistics().malformed``).
        """
        return self._check_group_frames(self._recv_frames(), 0)

    def recv(self) -> bytes:
        """Receive the payload of the next group message, whatever its command."""
        return self.recvGroup()[1]

    def recv_pyobj(self) -> Any:
        """Receive and unpickle the payload of the next group message. Unpickle only trusted peers."""
        return self._unpickle(self.recv())

    def _wrong_direction(self, method: str) -> str:
        return f"GroupSubPort {self.name!r} cannot {method}(): sub ports only receive; publish through the group's pub port"
