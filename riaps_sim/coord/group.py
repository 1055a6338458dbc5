"""``Group``: what a component holds of a group it joined, with the RIAPS method names.

A ``Group`` turns each call into a local request for the member's coordination machine (through
its runtime) and reads back the machine's state. It never blocks and never touches a socket.

Differences from the reference's ``Group`` (riaps-pycom's ``dc.py``), by bug number (docs/glossary.md):

- ``recv``/``recv_pyobj`` return the message of the callback being handled. A handler that does
  not read its message does not shift the next one (B15), and ``recv`` outside a handler raises.
- Every "no leader" outcome returns ``None`` (the reference mixes ``None`` and ``False``).
- Vote results are the strings ``'yes'``, ``'no'``, ``'timeout'`` (B13). A default poll timeout
  is the group's ``consensusTimeout`` read as seconds in ``riaps``, as the reference (B3), unless
  its timing says ``reference_poll_timeout_units=False``; ``fixed`` reads milliseconds.
- Methods of the wrong kind of group raise ``OperationError`` with a reason (B7).
"""

from __future__ import annotations

import errno
import pickle
from typing import Any, Protocol

from ports import OperationError, PortError

from .events import Input
from .requests import AskVote, CastVote, Post, PostToLeader, PostToMember

__all__ = ["Group", "GroupBackend", "MAJORITY", "CONSENSUS"]

MAJORITY = "majority"
CONSENSUS = "consensus"


class GroupBackend(Protocol):
    """What a ``Group`` needs from the runtime that hosts its member."""

    group_name: str
    member_id: bytes
    coordinated: bool

    def submit(self, request: Input) -> object:
        """Hand *request* to the machine now; return the value of its ``Result`` (or ``None``)."""

    def leader_id(self) -> bytes | None: ...

    def group_size(self) -> int: ...


class Group:
    """A component's handle on one group instance it joined.

    Made by ``Component.joinGroup``; do not build one yourself.
    """

    def __init__(self, backend: GroupBackend) -> None:
        self._backend = backend
        self._message: bytes | None = None
        self._left = False
        #: The routing identity of the member whose message to the leader is being handled.
        self.identity: bytes | None = None
        self.recvTime = 0.0
        self.sendTime = 0.0

    def __repr__(self) -> str:
        leader = self.getLeaderId()
        return (
            f"<Group {self.getGroupName()!r} id={self.getGroupId().hex()[:12]} size={self.groupSize()} "
            f"leader={'self' if self.isLeader() else (leader.hex()[:12] if leader else None)}>"
        )

    # -- runtime side: the message a callback may read ------------------------------------------------

    def _handing(self, payload: bytes | None, identity: bytes | None = None) -> None:
        """Make *payload* the message ``recv`` returns while a callback runs (``None`` after)."""
        self._message = payload
        if identity is not None:
            self.identity = identity

    # -- messages ----------------------------------------------------------------------------------

    def send(self, msg: bytes) -> bool:
        """Publish *msg* to every member, this one included. Returns True."""
        self._check_bytes("send", msg)
        return bool(self._submit(Post(payload=msg)))

    def send_pyobj(self, msg: Any) -> bool:
        """Publish a picklable object to every member."""
        return self.send(pickle.dumps(msg))

    def recv(self) -> bytes:
        """The message of the callback being handled (group message, message to or from the leader, vote topic)."""
        if self._message is None:
            raise PortError(
                f"group {self.getGroupName()!r}: no message to receive; recv() reads the message of the "
                "callback being handled (handleGroupMessage, handleMessageToLeader, ...)",
                errno.EAGAIN,
            )
        message, self._message = self._message, None
        return message

    def recv_pyobj(self) -> Any:
        """``recv`` and unpickle. Unpickle only what trusted members sent."""
        return pickle.loads(self.recv())

    def sendToLeader(self, msg: bytes) -> bool | None:
        """Send *msg* to the leader (to this member's own handler if it leads). ``None`` if there is no leader."""
        self._check_bytes("sendToLeader", msg)
        self._require_coordinated("sendToLeader")
        return self._submit(PostToLeader(payload=msg))  # type: ignore[return-value]

    def sendToLeader_pyobj(self, msg: Any) -> bool | None:
        return self.sendToLeader(pickle.dumps(msg))

    def sendToMember(self, msg: bytes, identity: bytes | None = None) -> bool | None:
        """As leader, send *msg* to the member with routing *identity* (default: the last one that wrote).

        ``None`` if there is no leader; ``False`` (nothing sent) if another member leads, as happens
        to a former leader answering a message that reached it after it stepped down.
        """
        self._check_bytes("sendToMember", msg)
        self._require_coordinated("sendToMember")
        identity = self.identity if identity is None else identity
        if identity is None:
            raise OperationError(
                f"group {self.getGroupName()!r}: sendToMember needs an identity; none was given and no member has written to the leader yet"
            )
        return self._submit(PostToMember(payload=msg, identity=identity))  # type: ignore[return-value]

    def sendToMember_pyobj(self, msg: Any, identity: bytes | None = None) -> bool | None:
        return self.sendToMember(pickle.dumps(msg), identity)

    # -- polls ------------------------------------------------------------------------------------------

    def requestVote(self, topic: bytes, kind: str = MAJORITY, timeout: float | None = None) -> str | None:
        """Ask the group to vote on *topic*; return the poll id, or ``None`` if there is no leader.

        *kind* is ``'majority'`` or ``'consensus'``; *timeout* in milliseconds (default: the group's
        ``consensusTimeout``, which ``riaps`` reads as seconds by default, B3). Each member's ``handleVoteRequest`` fires; all get ``handleVoteResult``.
        """
        self._check_bytes("requestVote", topic)
        return self._ask(AskVote(topic=topic, kind=kind, subject="value", timeout_ms=timeout))

    def requestVote_pyobj(self, topic: Any, kind: str = MAJORITY, timeout: float | None = None) -> str | None:
        return self.requestVote(pickle.dumps(topic), kind, timeout)

    def requestActionVote(self, action: bytes, when: float, kind: str = CONSENSUS, timeout: float | None = None) -> str | None:
        """Ask the group to agree to carry out *action* at *when* (seconds, on this node's clock)."""
        self._check_bytes("requestActionVote", action)
        return self._ask(AskVote(topic=action, kind=kind, subject="action", release_s=when, timeout_ms=timeout))

    def requestActionVote_pyobj(self, action: Any, when: float, kind: str = CONSENSUS, timeout: float | None = None) -> str | None:
        return self.requestActionVote(pickle.dumps(action), when, kind, timeout)

    def sendVote(self, rfvId: str, vote: bool) -> bool | None:
        """Cast this member's *vote* (True is yes) in poll *rfvId*. ``None`` if there is no leader."""
        self._require_coordinated("sendVote")
        return self._submit(CastVote(rfv_id=rfvId, vote=bool(vote)))  # type: ignore[return-value]

    sendActionVote = sendVote

    # -- state -------------------------------------------------------------------------------------------

    def hasLeader(self) -> bool:
        return self._backend.leader_id() is not None

    def getLeaderId(self) -> bytes | None:
        """The leader's 16-byte member id, or ``None``."""
        return self._backend.leader_id()

    def isLeader(self) -> bool:
        return self._backend.leader_id() == self._backend.member_id

    def groupSize(self) -> int:
        """How many members this member currently sees, itself included (0 for a default group)."""
        return self._backend.group_size()

    def getGroupId(self) -> bytes:
        """This member's 16-byte id."""
        return self._backend.member_id

    def getGroupName(self) -> str:
        """``"<type>.<instance>"``."""
        return self._backend.group_name

    # -- helpers -----------------------------------------------------------------------------------------

    def _ask(self, request: AskVote) -> str | None:
        self._require_coordinated("requestVote")
        value = self._submit(request)
        return value if isinstance(value, str) else None

    def _submit(self, request: Input) -> object:
        if self._left:
            raise OperationError(f"group {self.getGroupName()!r} was left; join it again for a new handle")
        return self._backend.submit(request)

    def _require_coordinated(self, method: str) -> None:
        if not self._backend.coordinated:
            raise OperationError(
                f"group {self.getGroupName()!r} has no leader by design (kind 'default'); {method} needs a group 'with leader' or 'with consensus'"
            )

    def _check_bytes(self, method: str, value: object) -> None:
        if not isinstance(value, bytes):
            raise TypeError(f"Group.{method} takes bytes, got {type(value).__name__}; use {method}_pyobj for objects")
