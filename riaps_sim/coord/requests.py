"""Inputs of the coordination machines from the runtime (timers, ports) and from the component."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ._checks import POLL_KINDS, POLL_SUBJECTS, check_bytes, check_choice, check_host, check_port, check_seconds
from .events import Input

__all__ = [
    "TimerFired",
    "AnswerPortBound",
    "AnswerPortFailed",
    "SendFailed",
    "Join",
    "Leave",
    "Post",
    "PostToLeader",
    "PostToMember",
    "AskVote",
    "CastVote",
]


# ------------------------------------------------------------------------------------- runtime


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerFired(Input):
    """The named timer the machine armed with ``ArmTimer(name, ...)`` expired."""

    origin: ClassVar[str] = "runtime"
    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"TimerFired.name must be a non-empty str, got {self.name!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerPortBound(Input):
    """The runtime bound the ans port, as asked by ``BindAnswerPort``, at *host*:*port*."""

    origin: ClassVar[str] = "runtime"
    host: str
    port: int

    def __post_init__(self) -> None:
        check_host("AnswerPortBound", self.host)
        check_port("AnswerPortBound", self.port, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerPortFailed(Input):
    """The runtime could not bind the ans port; *reason* says why."""

    origin: ClassVar[str] = "runtime"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SendFailed(Input):
    """A send the machine asked for failed in the runtime (h11 ``send_failed``); *what* names it."""

    origin: ClassVar[str] = "runtime"
    what: str
    reason: str


# --------------------------------------------------------------------------------------- local


@dataclass(frozen=True, slots=True, kw_only=True)
class Join(Input):
    """The component joins: start heartbeats and the election clock. Must come first."""

    origin: ClassVar[str] = "local"


@dataclass(frozen=True, slots=True, kw_only=True)
class Leave(Input):
    """The component leaves: publish ``mlt`` and stop. Nothing is accepted afterwards."""

    origin: ClassVar[str] = "local"


@dataclass(frozen=True, slots=True, kw_only=True)
class Post(Input):
    """``Group.send``: publish *payload* to the group."""

    origin: ClassVar[str] = "local"
    payload: bytes

    def __post_init__(self) -> None:
        check_bytes("Post", "payload", self.payload)


@dataclass(frozen=True, slots=True, kw_only=True)
class PostToLeader(Input):
    """``Group.sendToLeader``: send *payload* to the leader (loops back if we lead)."""

    origin: ClassVar[str] = "local"
    payload: bytes

    def __post_init__(self) -> None:
        check_bytes("PostToLeader", "payload", self.payload)


@dataclass(frozen=True, slots=True, kw_only=True)
class PostToMember(Input):
    """``Group.sendToMember``: the leader sends *payload* to *identity* (``b''``: itself)."""

    origin: ClassVar[str] = "local"
    payload: bytes
    identity: bytes

    def __post_init__(self) -> None:
        check_bytes("PostToMember", "payload", self.payload)
        check_bytes("PostToMember", "identity", self.identity, 255)


@dataclass(frozen=True, slots=True, kw_only=True)
class AskVote(Input):
    """``Group.requestVote`` / ``requestActionVote``: ask the leader to poll the group.

    Parameters
    ----------
    topic : bytes
        The question or action, opaque.
    kind : str
        ``'majority'`` or ``'consensus'``.
    subject : str
        ``'value'`` or ``'action'``.
    release_s : float
        For an action, when to carry it out (this node's clock, seconds); else 0.0.
    timeout_ms : float or None
        How long the poll stays open, in **milliseconds** as in RIAPS; None: the group default.
    """

    origin: ClassVar[str] = "local"
    topic: bytes
    kind: str = "majority"
    subject: str = "value"
    release_s: float = 0.0
    timeout_ms: float | None = None

    def __post_init__(self) -> None:
        check_bytes("AskVote", "topic", self.topic)
        check_choice("AskVote", "kind", self.kind, POLL_KINDS)
        check_choice("AskVote", "subject", self.subject, POLL_SUBJECTS)
        check_seconds("AskVote", "release_s", self.release_s)
        if self.timeout_ms is not None:
            check_seconds("AskVote", "timeout_ms", self.timeout_ms, minimum=0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class CastVote(Input):
    """``Group.sendVote``: vote *vote* (True is yes) in the poll *rfv_id*."""

    origin: ClassVar[str] = "local"
    rfv_id: str
    vote: bool

    def __post_init__(self) -> None:
        if not isinstance(self.rfv_id, str):
            raise ValueError(f"CastVote.rfv_id must be a str, got {self.rfv_id!r}")
        if not isinstance(self.vote, bool):
            raise ValueError(f"CastVote.vote must be a bool, got {self.vote!r}")
