"""Commands a coordination machine returns for its runtime to carry out, in list order.

A runtime executes each command with its ports, timers and component, and reports anything that
fails back as an input (``SendFailed``, ``AnswerPortFailed``). All are frozen, slotted,
keyword-only dataclasses; do not subclass them.

=====================  ===================================================================
command                the runtime ...
=====================  ===================================================================
``Publish``            ``pub.sendGroup(cmd, payload)`` (reaches every member, itself too)
``SendToLeader``       ``qry.sendToLeader(cmd, payload)``
``SendToMember``       ``ans.set_identity(identity); ans.sendToMember(cmd, payload)``
``FollowLeader``       ``qry.update(host, port)``
``Disconnect``         ``qry.update(None, None)``
``BindAnswerPort``     binds the ans port, then feeds ``AnswerPortBound(host, port)`` back (or
                       ``AnswerPortFailed``); once bound it stays bound, the machine remembers
``ArmTimer``           (re)arms the one timer called *name* to fire ``TimerFired(name)`` in
                       *delay_s* seconds; re-arming replaces it
``CancelTimer``        cancels the timer called *name* (no-op if not armed)
``Notify``             calls the component's RIAPS callback (see ``CALLBACKS``)
``TraceEvent``         records a fact in the trace
``Result``             returns *value* from the ``Group`` method that made the local request
=====================  ===================================================================

Why binding the ans port is a round trip (``BindAnswerPort`` out, ``AnswerPortBound`` or
``AnswerPortFailed`` in) rather than a callable handed to the machine: binding is I/O that can
fail (the reference's second-leadership rebind crashes, B5), and a failure must reach the machine
as an input like any other report (h11's ``send_failed``), not as an exception inside an action.
The machine stays a pure function of its inputs, and tests script the answer. Both runtimes bind
synchronously and feed the answer back before the next input, so the first ``ldr`` still leaves
in the same step as the win; a bound port is remembered and never rebound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._checks import check_bytes, check_host, check_port, check_term
from .wire import Code

__all__ = [
    "Command",
    "Publish",
    "SendToLeader",
    "SendToMember",
    "FollowLeader",
    "Disconnect",
    "BindAnswerPort",
    "ArmTimer",
    "CancelTimer",
    "Notify",
    "TraceEvent",
    "Result",
    "CALLBACKS",
    "TRACE_KINDS",
    "Persist",
    "DurableState",
]

#: The component callbacks a ``Notify`` may name, with the meaning of its ``args``. Payloads
#: (message, topic) are queued by the Group facade for ``recv()`` before the callback runs.
CALLBACKS: dict[str, tuple[str, ...]] = {
    "handleMemberJoined": ("member_id",),
    "handleMemberLeft": ("member_id",),
    "handleLeaderElected": ("leader_id",),
    "handleLeaderExited": ("leader_id",),
    "handleGroupMessage": ("payload",),
    "handleMessageToLeader": ("payload", "identity"),
    "handleMessageFromLeader": ("payload",),
    "handleVoteRequest": ("rfv_id", "topic"),
    "handleActionVoteRequest": ("rfv_id", "topic", "when_s"),
    "handleVoteResult": ("rfv_id", "result"),
}

#: Trace facts a machine records. ``state``: role or term changed; ``vote_requested``: the
#: leader opened a poll; ``vote_cast``: the leader counted a ballot; ``vote_announced``: the
#: leader published a result; ``vote_expired``: a poll this member asked for reached its deadline
#: with no result; ``drop``: an input was discarded (``cause`` says why); ``error``: the runtime
#: reported a failure.
TRACE_KINDS = ("state", "vote_requested", "vote_cast", "vote_announced", "vote_expired", "drop", "error", "warning")


class Command:
    """Base of every command; abstract, carries no fields."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Frames(Command):
    """A command that sends ``[cmd, payload]`` on a port; its fields are checked once, here."""

    cmd: Code
    payload: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.cmd, Code):
            raise ValueError(f"{type(self).__name__}.cmd must be a wire.Code, got {self.cmd!r}")
        check_bytes(type(self).__name__, "payload", self.payload)


@dataclass(frozen=True, slots=True, kw_only=True)
class Publish(_Frames):
    """Publish ``[cmd, payload]`` on the group's pub port."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SendToLeader(_Frames):
    """Send ``[cmd, payload]`` to the leader through the qry port."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SendToMember(_Frames):
    """Send ``[cmd, payload]`` through the ans port to the member with routing *identity*."""

    identity: bytes

    def __post_init__(self) -> None:
        check_bytes("SendToMember", "identity", self.identity, 255)
        _Frames.__post_init__(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowLeader(Command):
    """Connect the qry port to the leader's ans port at *host*:*port* (dropping any other)."""

    host: str
    port: int

    def __post_init__(self) -> None:
        check_host("FollowLeader", self.host)
        check_port("FollowLeader", self.port, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Disconnect(Command):
    """Disconnect the qry port from the leader."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BindAnswerPort(Command):
    """Bind the ans port to a random port; answer with ``AnswerPortBound`` or ``AnswerPortFailed``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmTimer(Command):
    """(Re)arm the timer *name* to fire ``TimerFired(name)`` after *delay_s* seconds (node clock)."""

    name: str
    delay_s: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"ArmTimer.name must be a non-empty str, got {self.name!r}")
        if isinstance(self.delay_s, bool) or not isinstance(self.delay_s, (int, float)) or not (math.isfinite(self.delay_s) and self.delay_s >= 0):
            raise ValueError(f"ArmTimer.delay_s must be a finite number of seconds >= 0, got {self.delay_s!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelTimer(Command):
    """Cancel the timer *name*, if armed."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Notify(Command):
    """Call the component callback *callback* with *args* (see :data:`CALLBACKS`)."""

    callback: str
    args: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        names = CALLBACKS.get(self.callback)
        if names is None:
            raise ValueError(f"Notify.callback must be one of {sorted(CALLBACKS)}, got {self.callback!r}")
        if not isinstance(self.args, tuple) or len(self.args) != len(names):
            raise ValueError(f"Notify({self.callback!r}) takes args {names}, got {self.args!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceEvent(Command):
    """A fact for the trace: *kind* (see :data:`TRACE_KINDS`) with the machine's role and term.

    Parameters
    ----------
    kind : str
    role : str
        The role after the fact, ``'FOLLOWER'``, ``'CANDIDATE'`` or ``'LEADER'``.
    term : int
    peer : bytes or None
        The other member involved (candidate, voter, leader), if any.
    rfv_id : str or None
        The poll involved, if any.
    cause : str
        For ``drop`` and ``error``, why; for ``vote_*``, the vote or result.
    """

    kind: str
    role: str
    term: int
    peer: bytes | None = None
    rfv_id: str | None = None
    cause: str = ""

    def __post_init__(self) -> None:
        if self.kind not in TRACE_KINDS:
            raise ValueError(f"TraceEvent.kind must be one of {TRACE_KINDS}, got {self.kind!r}")
        check_term("TraceEvent", self.term)


@dataclass(frozen=True, slots=True, kw_only=True)
class DurableState:
    """What a member must not forget across a crash of its node, for one group.

    *term* and *voted_for*: a restarted member cannot vote twice in a term. *configuration*: the
    members it counted a majority of (``fixed``), so that a restarted member never counts a smaller
    quorum than before it crashed: with ``groupMinSize`` below the group's size, a member that forgot
    who it had seen would need only a majority of ``groupMinSize`` and could elect itself in a minority.
    """

    term: int
    voted_for: bytes | None = None
    configuration: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        check_term("DurableState", self.term)
        if self.voted_for is not None:
            check_bytes("DurableState", "voted_for", self.voted_for)
        for member in self.configuration:
            check_bytes("DurableState", "configuration", member)


@dataclass(frozen=True, slots=True, kw_only=True)
class Persist(Command):
    """Store the member's :class:`DurableState` where it outlives a crash, before the commands that follow run.

    Emitted by protocols whose state is durable (``fixed``): a restarted member resumes from it
    (``GroupMachine(durable=...)``), cannot vote twice in one term, and keeps its quorum.
    """

    term: int
    voted_for: bytes | None
    configuration: tuple[bytes, ...] = ()

    @property
    def state(self) -> DurableState:
        """What to store, as one record."""
        return DurableState(term=self.term, voted_for=self.voted_for, configuration=self.configuration)


@dataclass(frozen=True, slots=True, kw_only=True)
class Result(Command):
    """The return value of the local request being handled; *reason* says why it is falsy."""

    value: object
    reason: str = ""
