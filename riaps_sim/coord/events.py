"""Inputs of the coordination machines that arrive from the network, and the poll description.

Every input is a frozen, slotted, keyword-only dataclass that validates its fields on
construction, so a machine never sees a malformed value. Value equality makes a test one line::

    >>> Heartbeat(member=bytes(16)) == Heartbeat(member=bytes(16))
    True

Each class says where it comes from in ``origin``: the classes here are ``'remote'``, decoded from
a peer's frame by :mod:`riaps_sim.coord.wire`; :mod:`riaps_sim.coord.requests` holds the
``'runtime'`` inputs (a timer, a bound port, a failed send) and the ``'local'`` ones (requests of
this member's own component). Do not subclass the concrete classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ._checks import POLL_KINDS, POLL_SUBJECTS, VOTE_RESULTS, check_bytes, check_choice, check_host, check_id, check_port, check_seconds, check_term

__all__ = [
    "Input",
    "PollSpec",
    "VOTE_RESULTS",
    "POLL_KINDS",
    "POLL_SUBJECTS",
    # remote
    "Heartbeat",
    "RequestVote",
    "VoteReply",
    "PreVoteRequest",
    "PreVoteReply",
    "LeaderAnnounce",
    "MemberLeave",
    "GroupMessage",
    "MessageToLeader",
    "MessageFromLeader",
    "PollRequest",
    "PollOpened",
    "VoteCast",
    "PollAnnounce",
]


class Input:
    """Base of every machine input; abstract, carries no fields."""

    __slots__ = ()
    origin: ClassVar[str] = ""


# --------------------------------------------------------------------------------------- polls


@dataclass(frozen=True, slots=True, kw_only=True)
class PollSpec:
    """A request for a vote, as carried by ``rfv`` and ``rcm`` (capnp ``ReqForVote``).

    Parameters
    ----------
    rfv_id : str
        The poll's id, chosen by the requester (8 characters of ``[A-Z0-9]`` in RIAPS).
    topic : bytes
        The application's question (or action), opaque bytes.
    kind : str
        ``'majority'`` or ``'consensus'``.
    subject : str
        ``'value'`` or ``'action'``.
    release_s : float
        For an action, when to carry it out, on the requester's clock, in seconds; else 0.0.
    started_s : float
        When the requester asked, on its clock, in seconds.
    timeout_s : float
        How long the poll stays open, in seconds; 0.0 means the group default
        (``consensusTimeout``).
    """

    rfv_id: str
    topic: bytes = b""
    kind: str = "majority"
    subject: str = "value"
    release_s: float = 0.0
    started_s: float = 0.0
    timeout_s: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.rfv_id, str):
            raise ValueError(f"PollSpec.rfv_id must be a str, got {self.rfv_id!r}")
        check_bytes("PollSpec", "topic", self.topic)
        check_choice("PollSpec", "kind", self.kind, POLL_KINDS)
        check_choice("PollSpec", "subject", self.subject, POLL_SUBJECTS)
        check_seconds("PollSpec", "release_s", self.release_s)
        check_seconds("PollSpec", "started_s", self.started_s)
        check_seconds("PollSpec", "timeout_s", self.timeout_s, minimum=0.0)


# -------------------------------------------------------------------------------------- remote


@dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat(Input):
    """``tic``: *member* is alive (every member, every heartbeat period, self included)."""

    origin: ClassVar[str] = "remote"
    member: bytes

    def __post_init__(self) -> None:
        check_id("Heartbeat", "member", self.member)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Ballot(Input):
    """*voter* grants (or refuses) *candidate* its vote (or pre-vote) for *term*; broadcast."""

    origin: ClassVar[str] = "remote"
    term: int
    candidate: bytes
    granted: bool
    voter: bytes

    def __post_init__(self) -> None:
        name = type(self).__name__
        check_term(name, self.term)
        check_id(name, "candidate", self.candidate)
        check_id(name, "voter", self.voter)
        if not isinstance(self.granted, bool):
            raise ValueError(f"{name}.granted must be a bool, got {self.granted!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class VoteReply(_Ballot):
    """``vot``: *voter* grants (or refuses) its vote to *candidate* for *term*; broadcast."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PreVoteReply(_Ballot):
    """``pva`` (``fixed`` only): *voter* would (or would not) vote for *candidate* in *term*; broadcast."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Candidacy(Input):
    """*candidate* asks for votes (or pre-votes) in *term*."""

    origin: ClassVar[str] = "remote"
    term: int
    candidate: bytes

    def __post_init__(self) -> None:
        check_term(type(self).__name__, self.term)
        check_id(type(self).__name__, "candidate", self.candidate)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestVote(_Candidacy):
    """``req``: *candidate* asks for votes in *term*."""

    def reply(self, *, granted: bool, voter: bytes) -> VoteReply:
        """The ``vot`` a member *voter* answers to this request."""
        return VoteReply(term=self.term, candidate=self.candidate, granted=granted, voter=voter)


@dataclass(frozen=True, slots=True, kw_only=True)
class PreVoteRequest(_Candidacy):
    """``pvq`` (``fixed`` only): could *candidate* win an election for *term*? Nobody's term changes.

    Raft's pre-vote: a member asks before it raises its term, so one that cannot win (cut off, or
    the others still hear a live leader) never disturbs the group's term.
    """

    def reply(self, *, granted: bool, voter: bytes) -> PreVoteReply:
        """The ``pva`` a member *voter* answers to this request."""
        return PreVoteReply(term=self.term, candidate=self.candidate, granted=granted, voter=voter)


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderAnnounce(Input):
    """``ldr``: *leader* holds *term*; its ans port is at *host*:*port* (port 0: no leader)."""

    origin: ClassVar[str] = "remote"
    term: int
    leader: bytes
    host: str
    port: int

    def __post_init__(self) -> None:
        check_term("LeaderAnnounce", self.term)
        check_id("LeaderAnnounce", "leader", self.leader)
        check_host("LeaderAnnounce", self.host)
        check_port("LeaderAnnounce", self.port, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLeave(Input):
    """``mlt``: *member* leaves the group."""

    origin: ClassVar[str] = "remote"
    member: bytes

    def __post_init__(self) -> None:
        check_id("MemberLeave", "member", self.member)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupMessage(Input):
    """``msg``: an application message published to the group (the sender gets it too)."""

    origin: ClassVar[str] = "remote"
    payload: bytes

    def __post_init__(self) -> None:
        check_bytes("GroupMessage", "payload", self.payload)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageToLeader(Input):
    """``mtl`` on the ans port: a member's message; *sender* is its routing identity."""

    origin: ClassVar[str] = "remote"
    payload: bytes
    sender: bytes = b""

    def __post_init__(self) -> None:
        check_bytes("MessageToLeader", "payload", self.payload)
        check_bytes("MessageToLeader", "sender", self.sender, 255)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageFromLeader(Input):
    """``mfl`` on the qry port: the leader's message to this member."""

    origin: ClassVar[str] = "remote"
    payload: bytes

    def __post_init__(self) -> None:
        check_bytes("MessageFromLeader", "payload", self.payload)


@dataclass(frozen=True, slots=True, kw_only=True)
class PollRequest(Input):
    """``rfv`` on the ans port: *sender* asks the leader to run the poll *poll*."""

    origin: ClassVar[str] = "remote"
    poll: PollSpec
    sender: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.poll, PollSpec):
            raise ValueError(f"PollRequest.poll must be a PollSpec, got {self.poll!r}")
        check_bytes("PollRequest", "sender", self.sender, 255)


@dataclass(frozen=True, slots=True, kw_only=True)
class PollOpened(Input):
    """``rcm``: the leader opened the poll *poll* and asks every member (itself too) to vote."""

    origin: ClassVar[str] = "remote"
    poll: PollSpec

    def __post_init__(self) -> None:
        if not isinstance(self.poll, PollSpec):
            raise ValueError(f"PollOpened.poll must be a PollSpec, got {self.poll!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class VoteCast(Input):
    """``rtc`` on the ans port: *sender* votes *vote* (``'yes'``/``'no'``/``'timeout'``) in *rfv_id*."""

    origin: ClassVar[str] = "remote"
    rfv_id: str
    vote: str
    sender: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.rfv_id, str):
            raise ValueError(f"VoteCast.rfv_id must be a str, got {self.rfv_id!r}")
        check_choice("VoteCast", "vote", self.vote, VOTE_RESULTS)
        check_bytes("VoteCast", "sender", self.sender, 255)


@dataclass(frozen=True, slots=True, kw_only=True)
class PollAnnounce(Input):
    """``ann``: the leader announces *result* (``'yes'``/``'no'``/``'timeout'``) of *rfv_id*."""

    origin: ClassVar[str] = "remote"
    rfv_id: str
    result: str

    def __post_init__(self) -> None:
        if not isinstance(self.rfv_id, str):
            raise ValueError(f"PollAnnounce.rfv_id must be a str, got {self.rfv_id!r}")
        check_choice("PollAnnounce", "result", self.result, VOTE_RESULTS)
