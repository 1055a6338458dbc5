"""``GroupQryPort`` and ``GroupAnsPort``: a member's line to the leader, and the leader's end of it.

The qry port is a DEALER that follows the current leader: ``update(host, port)`` moves it to a new
leader, ``update(None, None)`` hangs up. The ans port is a ROUTER that is created unbound and binds
when its member wins an election (``updatePoller``), as often as leadership is won (fixes B5).
Frames: the DEALER sends ``[cmd, payload]``, the ROUTER sees ``[identity, cmd, payload]`` and
replies ``[identity, cmd, payload]``; timed groups add a timestamp frame at the end.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import pickle
from hashlib import blake2b
from typing import Any

import zmq

from ._errors import OperationError
from ._group import GroupDuplexPort, GroupSpec
from ._info import PortInfo
from ._part import Part
from ._port import BindPort, ConnPort, _port_number

__all__ = ["GroupQryPort", "GroupAnsPort", "GROUP_MTL", "GROUP_MFL", "unique_identity"]

GROUP_MTL = b"mtl"
GROUP_MFL = b"mfl"

_identity_counter = itertools.count(1)


def unique_identity(host: str) -> bytes:
    """A 16-byte routing identity unique across hosts, processes and ports.

    It is laid out as the reference lays out member ids: the host's IPv4 address (4 bytes, or a
    hash of a non-IPv4 host name), the process id (4 bytes), then a per-process counter (8 bytes).
    """
    try:
        head = ipaddress.IPv4Address(host).packed
    except ValueError:
        head = blake2b(host.encode("utf-8"), digest_size=4).digest()
    if head[0] == 0:
        head = b"\x01" + head[1:]
    return head + (os.getpid() & 0xFFFFFFFF).to_bytes(4, "big") + next(_identity_counter).to_bytes(8, "big")


class GroupQryPort(ConnPort, GroupDuplexPort):
    """A member's port for messages to the leader and replies from it (a ZeroMQ DEALER socket).

    Parameters
    ----------
    parentPart, portName, groupSpec:
        As for every group port.
    identity:
        The routing identity the leader's ans port will see: the member's 16-byte id when given
        (fixes B8), otherwise a fresh unique 16-byte identity. It must not start with a zero byte,
        which ZeroMQ reserves.
    """

    def __init__(self, parentPart: Part, portName: str, groupSpec: GroupSpec, identity: bytes | None = None) -> None:
        super().__init__(parentPart, portName, groupSpec)
        if identity is None:
            identity = unique_identity(parentPart.host)
        if not isinstance(identity, bytes) or not 0 < len(identity) <= 255 or identity[0] == 0:
            raise ValueError(f"GroupQryPort {portName!r}: identity must be 1 to 255 bytes not starting with a zero byte, got {identity!r}")
        self.identity = identity
        self.serverHost: str | None = None
        self.serverPort: int | None = None

    def _describe_endpoint(self) -> str:
        return f"leader {self.serverHost}:{self.serverPort}" if self.serverHost else "no leader"

    def setupSocket(self, owner: Any) -> PortInfo:
        """Create the DEALER socket with this port's routing identity; it connects on ``update``."""
        return self.setupConnSocket(owner, zmq.DEALER, "gqry", [(zmq.IDENTITY, self.identity)])

    def update(self, host: str | None, port: int | None) -> None:
        """Follow the leader at *host*:*port*: hang up on the previous one, connect to this one.

        ``update(None, None)`` only hangs up. Calling it again with the current leader does nothing.
        Messages still queued for the previous leader are discarded.
        """
        number = None if port is None else _port_number(port, self)
        if (host, number) == (self.serverHost, self.serverPort):
            return
        socket = self._require_socket()
        socket.setsockopt(zmq.LINGER, 0)
        if self.serverHost is not None and self.serverPort is not None:
            try:
                socket.disconnect(self.parent.endpoint(self.serverHost, self.serverPort))
            except zmq.ZMQError:
                pass
        self.serverHost = self.serverPort = None
        if host is not None and number is not None:
            socket.connect(self.parent.endpoint(host, number))
            self.serverHost, self.serverPort = host, number

    def connected(self) -> int:
        """1 if the port follows a leader, else 0."""
        return int(self.serverHost is not None)

    def closeSocket(self) -> None:
        """Hang up and close. A socket that already died (its context ended, its host crashed) is just forgotten."""
        if self.socket is None:
            return
        self._close_monitor()
        try:
            self.update(None, None)
        except zmq.ZMQError:
            self.serverHost = self.serverPort = None
        self.socket.close(linger=0)
        self.socket = None

    def sendToLeader(self, msgType: bytes, msg: bytes) -> bool:
        """Send ``[msgType, msg]`` to the leader. Returns False, sending nothing, if no leader is set."""
        if self.serverHost is None:
            return False
        self._send_frames(self._group_frames(msgType, msg))
        return True

    def recvFromLeader(self) -> list[bytes]:
        """Receive the next frame list from the leader: ``[cmd, payload]`` (+ timestamp if timed)."""
        return self._check_group_frames(self._recv_frames(), 0)

    def send(self, msg: bytes) -> bool:
        """Send *msg* to the leader as a message to leader (``b'mtl'``); False if there is no leader."""
        return self.sendToLeader(GROUP_MTL, msg)

    def send_pyobj(self, msg: Any) -> bool:
        """Send a picklable object to the leader; False if there is no leader."""
        return self.sendToLeader(GROUP_MTL, pickle.dumps(msg))

    def recv(self) -> bytes:
        """Receive the payload of the next message from the leader."""
        return self.recvFromLeader()[1]

    def recv_pyobj(self) -> Any:
        """Receive and unpickle the next message from the leader. Unpickle only trusted peers."""
        return self._unpickle(self.recv())


class GroupAnsPort(BindPort, GroupDuplexPort):
    """The leader's port for messages from members and replies to them (a ZeroMQ ROUTER socket).

    It is created unbound; ``updatePoller`` binds it when its member becomes leader and returns
    the port number to announce.
    """

    def __init__(self, parentPart: Part, portName: str, groupSpec: GroupSpec) -> None:
        super().__init__(parentPart, portName, groupSpec)
        self.identity: bytes | None = None

    def setupSocket(self, owner: Any) -> PortInfo:
        """Create the ROUTER socket, unbound. ``updatePoller`` binds it on winning leadership."""
        self.setOwner(owner)
        self._make_socket(zmq.ROUTER, server=True, sockopts=[])
        self.info = PortInfo("gans", self.portScope, self.name, self.msgType, self.getGlobalIface(), None)
        return self.info

    def updatePoller(self, poller: Any = None) -> int:
        """Bind for a new leadership and return the port number to announce.

        The first time, the socket binds to a random port. On a later leadership, the old socket is
        closed (dropping anything queued from the previous term) and a fresh one is bound, taking
        its place in *poller* (a ``zmq.Poller`` or the simulated one) when given.
        """
        if self.bindAddr is not None:
            old = self.socket
            if poller is not None:
                poller.unregister(old)
            self.closeBindSocket()
            self._make_socket(zmq.ROUTER, server=True, sockopts=[])
            if poller is not None:
                poller.register(self.socket, zmq.POLLIN)
        self._require_socket()
        port = self._bind()
        self.info = PortInfo("gans", self.portScope, self.name, self.msgType, self.host or "", port)
        return port

    def getPortNumber(self) -> int | None:
        """The bound port number, or ``None`` while unbound."""
        return self.portNum

    def closeSocket(self) -> None:
        """Unbind (if bound) and close."""
        self.closeBindSocket()

    def update(self) -> None:  # type: ignore[override]
        raise OperationError(
            f"GroupAnsPort {self.name!r} cannot update(): it binds when its member becomes leader (updatePoller) and members connect to it"
        )

    def get_identity(self) -> bytes | None:
        """The routing identity of the member that sent the last message received."""
        return self.identity

    def set_identity(self, identity: bytes) -> None:
        """Choose the member the next ``sendToMember`` goes to."""
        self.identity = identity

    def recvFromMember(self) -> list[bytes]:
        """Receive the next message from a member, record its identity, return ``[cmd, payload]`` (+ timestamp)."""
        frames = self._check_group_frames(self._recv_frames(), 1)
        self.identity = frames[0]
        return frames[1:]

    def sendToMember(self, msgType: bytes, msg: bytes) -> bool:
        """Send ``[msgType, msg]`` to the member whose identity is set (see ``set_identity``).

        ZeroMQ drops the message silently if no member with that identity is connected.
        Returns True.
        """
        if self.bindAddr is None:
            raise OperationError(
                f"GroupAnsPort {self.name!r} cannot send to a member: it is not bound; it binds when its member becomes leader (updatePoller)"
            )
        if self.identity is None:
            raise OperationError(f"GroupAnsPort {self.name!r} has no member to send to: receive from a member first or call set_identity()")
        self._send_frames([self.identity, *self._group_frames(msgType, msg)])
        return True

    def recv(self) -> bytes:
        """Receive the payload of the next message from a member; its identity is recorded."""
        return self.recvFromMember()[1]

    def recv_pyobj(self) -> Any:
        """Receive and unpickle the next message from a member. Unpickle only trusted peers."""
        return self._unpickle(self.recv())

    def send(self, msg: bytes) -> bool:
        """Reply *msg* (as ``b'mfl'``) to the member whose identity is set."""
        return self.sendToMember(GROUP_MFL, msg)

    def send_pyobj(self, msg: Any) -> bool:
        """Reply a picklable object to the member whose identity is set."""
        return self.sendToMember(GROUP_MFL, pickle.dumps(msg))
