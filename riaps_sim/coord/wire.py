"""Frame codecs of the group protocol: command codes, struct formats, encode and decode.

Byte-compatible with the reference (riaps-pycom's ``dc.py``): a group frame list is
``[cmd, payload]``; ``cmd`` is one of the 3-byte codes of :class:`Code`; the payload is a
``struct`` in network byte order for the election and membership messages, the application's
bytes for ``msg``/``mtl``/``mfl``, and a Cap'n Proto ``GroupVote`` for the polls. Optional
timestamp frames are the ports' business, not this module's. Two codes are ours, not the
reference's: ``pvq`` and ``pva``, the pre-vote of protocol ``fixed``; a ``riaps`` member never
sends them.

Both directions are pure functions::

    >>> encode(Heartbeat(member=bytes(range(16))))
    (<Code.TIC: b'tic'>, b'\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f')
    >>> decode(b'tic', bytes(range(16))) == Heartbeat(member=bytes(range(16)))
    True

Anything malformed raises :class:`WireError` (a ``ValueError``) naming the command, what was
expected and what arrived; never ``struct.error``, a capnp exception or ``IndexError``.
"""

from __future__ import annotations

import enum
import ipaddress
from typing import cast
import struct
from collections.abc import Callable

from . import votes_capnp
from .errors import WireError
from .events import (
    GroupMessage,
    Heartbeat,
    Input,
    LeaderAnnounce,
    MemberLeave,
    MessageFromLeader,
    MessageToLeader,
    PollAnnounce,
    PollOpened,
    PollRequest,
    RequestVote,
    VoteCast,
    PreVoteReply,
    PreVoteRequest,
    VoteReply,
)

__all__ = ["Code", "FORMATS", "WireError", "encode", "decode", "NO_LEADER_PORT"]


class Code(bytes, enum.Enum):
    """The 3-byte ASCII command codes of the group protocol (frame 0).

    Members are ``bytes``, so ``port.sendGroup(Code.TIC, payload)`` works as is. The inproc-only
    codes of the reference (``mjd``, ``lel``, ``lex``, ``upd``, ``ack``, ``err``, ``nld``) never
    travel between members and are not here.
    """

    TIC = b"tic"  #: heartbeat, PUB, ``!16s`` member id
    REQ = b"req"  #: request vote, PUB, ``!L16s`` term, candidate
    VOT = b"vot"  #: vote reply, PUB (broadcast), ``!L16sL16s`` term, candidate, 0/1, voter
    LDR = b"ldr"  #: leader heartbeat, PUB, ``!L16sLL`` term, leader, IPv4 as uint32, ans port
    MSG = b"msg"  #: application message, PUB
    MTL = b"mtl"  #: message to leader, qry -> ans
    MFL = b"mfl"  #: message from leader, ans -> qry
    RFV = b"rfv"  #: request for vote, qry -> ans, capnp ``GroupVote{rfv}``
    RCM = b"rcm"  #: the leader's call for votes, PUB, the same ``GroupVote{rfv}``
    RTC = b"rtc"  #: reply to the call, qry -> ans, capnp ``GroupVote{rtc}``
    ANN = b"ann"  #: poll result, PUB, capnp ``GroupVote{ann}``
    MLT = b"mlt"  #: member leaves, PUB, ``!16s`` member id
    PVQ = b"pvq"  #: pre-vote request (``fixed`` only, not in the reference), PUB, ``!L16s`` as ``req``
    PVA = b"pva"  #: pre-vote reply (``fixed`` only, not in the reference), PUB, ``!L16sL16s`` as ``vot``


#: The struct format of each fixed-layout payload, named once.
FORMATS: dict[Code, str] = {
    Code.TIC: "!16s",
    Code.REQ: "!L16s",
    Code.VOT: "!L16sL16s",
    Code.LDR: "!L16sLL",
    Code.MLT: "!16s",
    Code.PVQ: "!L16s",
    Code.PVA: "!L16sL16s",
}
_STRUCTS = {code: struct.Struct(fmt) for code, fmt in FORMATS.items()}

#: ``ldr`` with this port means "no leader" (never sent by the reference, accepted).
NO_LEADER_PORT = 0


def _pack(code: Code, *fields: object) -> tuple[Code, bytes]:
    return code, _STRUCTS[code].pack(*fields)


def encode(event: Input) -> tuple[Code, bytes]:
    """The ``(cmd, payload)`` frames that carry *event* on the wire.

    Parameters
    ----------
    event : Input
        A network message: :class:`Heartbeat`, :class:`RequestVote`, :class:`VoteReply`,
        :class:`LeaderAnnounce`, :class:`MemberLeave`, :class:`GroupMessage`,
        :class:`MessageToLeader`, :class:`MessageFromLeader`, :class:`PollRequest`,
        :class:`PollOpened`, :class:`VoteCast` or :class:`PollAnnounce`. Routing identities
        (``sender``) are not part of the payload: the ports carry them.

    Returns
    -------
    tuple of (Code, bytes)

    Raises
    ------
    TypeError
        If *event* is not a network message (a local request or a timer has no wire form).
    """
    match event:
        case Heartbeat(member=member):
            return _pack(Code.TIC, member)
        case MemberLeave(member=member):
            return _pack(Code.MLT, member)
        case RequestVote(term=term, candidate=candidate):
            return _pack(Code.REQ, term, candidate)
        case VoteReply(term=term, candidate=candidate, granted=granted, voter=voter):
            return _pack(Code.VOT, term, candidate, int(granted), voter)
        case PreVoteRequest(term=term, candidate=candidate):
            return _pack(Code.PVQ, term, candidate)
        case PreVoteReply(term=term, candidate=candidate, granted=granted, voter=voter):
            return _pack(Code.PVA, term, candidate, int(granted), voter)
        case LeaderAnnounce(term=term, leader=leader, host=host, port=port):
            return _pack(Code.LDR, term, leader, int(ipaddress.IPv4Address(host)), port)
        case GroupMessage(payload=payload):
            return Code.MSG, payload
        case MessageToLeader(payload=payload):
            return Code.MTL, payload
        case MessageFromLeader(payload=payload):
            return Code.MFL, payload
        case PollRequest(poll=poll):
            return Code.RFV, votes_capnp.encode_request(poll)
        case PollOpened(poll=poll):
            return Code.RCM, votes_capnp.encode_request(poll)
        case VoteCast(rfv_id=rfv_id, vote=vote):
            return Code.RTC, votes_capnp.encode_ballot("rtc", rfv_id, vote)
        case PollAnnounce(rfv_id=rfv_id, result=result):
            return Code.ANN, votes_capnp.encode_ballot("ann", rfv_id, result)
    raise TypeError(f"encode() takes a network message such as Heartbeat or PollRequest, got {event!r}")


def _unpack(code: Code, payload: bytes) -> tuple[object, ...]:
    layout = _STRUCTS[code]
    if len(payload) != layout.size:
        raise WireError(code, f"{layout.size} bytes ({FORMATS[code]})", f"{len(payload)} bytes")
    return layout.unpack(payload)


def _tic(payload: bytes, sender: bytes) -> Input:
    (member,) = _unpack(Code.TIC, payload)
    return Heartbeat(member=member)  # type: ignore[arg-type]


def _mlt(payload: bytes, sender: bytes) -> Input:
    (member,) = _unpack(Code.MLT, payload)
    return MemberLeave(member=member)  # type: ignore[arg-type]


def _candidacy(code: Code, kind: type[RequestVote] | type[PreVoteRequest]) -> Callable[[bytes, bytes], Input]:
    """The decoder of ``req`` or ``pvq``: term and candidate."""

    def decode_candidacy(payload: bytes, sender: bytes) -> Input:
        term, candidate = _unpack(code, payload)
        return kind(term=term, candidate=candidate)  # type: ignore[arg-type]

    return decode_candidacy


def _ballot(code: Code, kind: type[VoteReply] | type[PreVoteReply], what: str) -> Callable[[bytes, bytes], Input]:
    """The decoder of ``vot`` or ``pva``: term, candidate, 0 or 1, voter."""

    def decode_ballot(payload: bytes, sender: bytes) -> Input:
        term, candidate, granted, voter = _unpack(code, payload)
        if granted not in (0, 1):
            raise WireError(code, f"a {what} of 0 (no) or 1 (yes)", f"{granted}")
        return kind(term=term, candidate=candidate, granted=granted == 1, voter=voter)  # type: ignore[arg-type]

    return decode_ballot


def _ldr(payload: bytes, sender: bytes) -> Input:
    term, leader, host, port = _unpack(Code.LDR, payload)
    if port > 65535:  # type: ignore[operator]
        raise WireError(Code.LDR, "a TCP port in [0, 65535]", f"{port}")
    return LeaderAnnounce(term=cast(int, term), leader=cast(bytes, leader), host=str(ipaddress.IPv4Address(host)), port=cast(int, port))


def _rfv(payload: bytes, sender: bytes) -> Input:
    return PollRequest(poll=votes_capnp.decode_request(Code.RFV, payload), sender=sender)


def _rcm(payload: bytes, sender: bytes) -> Input:
    return PollOpened(poll=votes_capnp.decode_request(Code.RCM, payload))


def _rtc(payload: bytes, sender: bytes) -> Input:
    rfv_id, vote = votes_capnp.decode_ballot(Code.RTC, payload, "rtc")
    return VoteCast(rfv_id=rfv_id, vote=vote, sender=sender)


def _ann(payload: bytes, sender: bytes) -> Input:
    rfv_id, result = votes_capnp.decode_ballot(Code.ANN, payload, "ann")
    return PollAnnounce(rfv_id=rfv_id, result=result)


_DECODERS: dict[Code, Callable[[bytes, bytes], Input]] = {
    Code.TIC: _tic,
    Code.REQ: _candidacy(Code.REQ, RequestVote),
    Code.VOT: _ballot(Code.VOT, VoteReply, "vote"),
    Code.LDR: _ldr,
    Code.MSG: lambda payload, sender: GroupMessage(payload=payload),
    Code.MTL: lambda payload, sender: MessageToLeader(payload=payload, sender=sender),
    Code.MFL: lambda payload, sender: MessageFromLeader(payload=payload),
    Code.RFV: _rfv,
    Code.RCM: _rcm,
    Code.RTC: _rtc,
    Code.ANN: _ann,
    Code.MLT: _mlt,
    Code.PVQ: _candidacy(Code.PVQ, PreVoteRequest),
    Code.PVA: _ballot(Code.PVA, PreVoteReply, "pre-vote"),
}


_CODES: dict[bytes, Code] = {c.value: c for c in Code}  # a dict lookup is several times cheaper than Code(raw)

# Heartbeats repeat the same payload every period (``tic``: the member id; ``ldr``: term, leader,
# endpoint), and their events are frozen values that carry no sender: decoding one payload once
# and handing out the same event again gives the machine exactly what a fresh decode would.
_PERIODIC = frozenset({Code.TIC.value, Code.LDR.value})
_RECENT_MAX = 4096
_recent: dict[tuple[bytes, bytes], Input] = {}


def decode(cmd: bytes, payload: bytes, *, sender: bytes = b"") -> Input:
    """The input event carried by the frames ``[cmd, payload]``.

    Parameters
    ----------
    cmd : bytes
        Frame 0, a command code (a :class:`Code` or plain bytes).
    payload : bytes
        Frame 1.
    sender : bytes, optional
        The routing identity the ans port received the frames from (``mtl``, ``rfv``, ``rtc``);
        ignored for other commands. ``b''`` means this member itself.

    Returns
    -------
    Input
        One of the network messages listed in :func:`encode`.

    Raises
    ------
    WireError
        On an unknown command, a payload of the wrong length or layout, an enum or field value
        out of range, or a corrupt Cap'n Proto message. Nothing else escapes.
    """
    if cmd.__class__ is bytes and payload.__class__ is bytes:  # a heartbeat seen before: its event again
        known = _recent.get((cmd, payload))
        if known is not None:
            return known
    raw = bytes(cmd) if isinstance(cmd, (bytes, bytearray, memoryview)) else None
    if raw is None:
        raise WireError(b"?", "a bytes command code", f"{type(cmd).__name__} {cmd!r}")
    code = _CODES.get(raw)
    if code is None:
        raise WireError(raw, f"one of {[c.value.decode() for c in Code]}", f"unknown command {raw!r}") from None
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise WireError(raw, "a bytes payload", f"{type(payload).__name__}")
    try:
        event = _DECODERS[code](bytes(payload), bytes(sender))
    except WireError:
        raise
    except ValueError as exc:  # a field the dataclass refuses, e.g. an over-long routing identity
        raise WireError(raw, "valid field values", str(exc)) from None
    if raw in _PERIODIC:
        if len(_recent) >= _RECENT_MAX:
            _recent.clear()
        _recent[(raw, bytes(payload))] = event
    return event
