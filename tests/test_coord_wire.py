"""Wire codecs: one table of (event, frames) drives encode and decode; malformed input is one error."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riaps_sim.coord import wire
from riaps_sim.coord.errors import WireError
from riaps_sim.coord.events import (
    GroupMessage,
    Heartbeat,
    LeaderAnnounce,
    MemberLeave,
    MessageFromLeader,
    MessageToLeader,
    PollAnnounce,
    PollOpened,
    PollRequest,
    PollSpec,
    RequestVote,
    VoteCast,
    VoteReply,
    PreVoteReply,
    PreVoteRequest,
)
from riaps_sim.coord.votes_capnp import schema
from riaps_sim.coord.wire import Code, decode, encode

A = bytes(range(16))
B = bytes(range(100, 116))
SPEC = PollSpec(rfv_id="AB12CD34", topic=b"topic", kind="consensus", subject="action", release_s=1700000002.5, started_s=1700000000.25, timeout_s=2.0)


def _capnp(**union: object) -> bytes:
    """GroupVote bytes built straight from the schema, independently of the codec under test."""
    return bytes(schema().GroupVote.new_message(**union).to_bytes())


# The reference's unpacked GroupVote{ann(rfvId='ABCD1234', vote=no)}, pinned byte for byte.
ANN_NO_HEX = "00000000070000000000000001000100020000000000000000000000010001000100000000000000010000004a00000041424344313233340000000000000000"

CASES = [
    (Heartbeat(member=A), b"tic", A),
    (MemberLeave(member=B), b"mlt", B),
    (RequestVote(term=7, candidate=A), b"req", b"\x00\x00\x00\x07" + A),
    (RequestVote(term=2**32 - 1, candidate=A), b"req", b"\xff\xff\xff\xff" + A),
    (VoteReply(term=3, candidate=A, granted=True, voter=B), b"vot", b"\x00\x00\x00\x03" + A + b"\x00\x00\x00\x01" + B),
    (VoteReply(term=3, candidate=A, granted=False, voter=B), b"vot", b"\x00\x00\x00\x03" + A + b"\x00\x00\x00\x00" + B),
    (
        LeaderAnnounce(term=1, leader=A, host="10.0.0.2", port=45678),
        b"ldr",
        b"\x00\x00\x00\x01" + A + bytes([10, 0, 0, 2]) + struct.pack(">L", 45678),
    ),
    (LeaderAnnounce(term=1, leader=A, host="0.0.0.0", port=0), b"ldr", b"\x00\x00\x00\x01" + A + bytes(8)),
    (GroupMessage(payload=b"hello"), b"msg", b"hello"),
    (GroupMessage(payload=b""), b"msg", b""),
    (MessageToLeader(payload=b"up"), b"mtl", b"up"),
    (MessageFromLeader(payload=b"down"), b"mfl", b"down"),
    (
        PollRequest(poll=SPEC),
        b"rfv",
        _capnp(
            rfv=dict(topic=b"topic", rfvId="AB12CD34", kind="consensus", subject="action", release=1700000002.5, started=1700000000.25, timeout=2.0)
        ),
    ),
    (
        PollOpened(poll=PollSpec(rfv_id="Z9", topic=b"q")),
        b"rcm",
        _capnp(rfv=dict(topic=b"q", rfvId="Z9", kind="majority", subject="value", release=0.0, started=0.0, timeout=0.0)),
    ),
    (VoteCast(rfv_id="AB12CD34", vote="yes"), b"rtc", _capnp(rtc=dict(rfvId="AB12CD34", vote="yes"))),
    (VoteCast(rfv_id="AB12CD34", vote="timeout"), b"rtc", _capnp(rtc=dict(rfvId="AB12CD34", vote="timeout"))),
    (PollAnnounce(rfv_id="ABCD1234", result="no"), b"ann", bytes.fromhex(ANN_NO_HEX)),
    (PreVoteRequest(term=8, candidate=A), b"pvq", b"\x00\x00\x00\x08" + A),
    (PreVoteReply(term=8, candidate=A, granted=True, voter=B), b"pva", b"\x00\x00\x00\x08" + A + b"\x00\x00\x00\x01" + B),
]
IDS = [f"{cmd.decode()}-{i}" for i, (_, cmd, _) in enumerate(CASES)]


@pytest.mark.parametrize(("event", "cmd", "payload"), CASES, ids=IDS)
def test_encode(event: object, cmd: bytes, payload: bytes) -> None:
    """encode gives the reference's exact frames."""
    assert encode(event) == (cmd, payload)  # type: ignore[arg-type]


@pytest.mark.parametrize(("event", "cmd", "payload"), CASES, ids=IDS)
def test_decode(event: object, cmd: bytes, payload: bytes) -> None:
    """decode of the reference's frames gives back the event."""
    assert decode(cmd, payload) == event


@pytest.mark.parametrize(("event", "cmd", "payload"), [c for c in CASES if c[1] in (b"mtl", b"rfv", b"rtc")])
def test_decode_attaches_sender(event: object, cmd: bytes, payload: bytes) -> None:
    """On the ans port the routing identity is attached as the sender."""
    assert decode(cmd, payload, sender=b"m1").sender == b"m1"  # type: ignore[attr-defined]


def test_codes_and_formats_are_the_reference_ones() -> None:
    """The reference's twelve 3-byte codes and five struct formats, then fixed's two pre-vote codes (laid out as req and vot)."""
    assert [c.value for c in Code] == [b"tic", b"req", b"vot", b"ldr", b"msg", b"mtl", b"mfl", b"rfv", b"rcm", b"rtc", b"ann", b"mlt", b"pvq", b"pva"]
    assert wire.FORMATS == {
        Code.TIC: "!16s",
        Code.REQ: "!L16s",
        Code.VOT: "!L16sL16s",
        Code.LDR: "!L16sLL",
        Code.MLT: "!16s",
        Code.PVQ: "!L16s",
        Code.PVA: "!L16sL16s",
    }
    assert Code.TIC == b"tic" and isinstance(Code.TIC, bytes)


def test_vote_results_are_plain_strings() -> None:
    """Decoded votes are str, never capnp enums, so bool('no') is not a trap (B13)."""
    result = decode(b"ann", bytes.fromhex(ANN_NO_HEX)).result  # type: ignore[attr-defined]
    assert type(result) is str and result == "no"


@pytest.mark.parametrize(
    ("cmd", "payload", "match"),
    [
        (b"xyz", b"", r"bad b'xyz' frame: expected one of .*unknown command"),
        (b"tic", A[:15], r"bad b'tic' frame: expected 16 bytes \(!16s\), got 15 bytes"),
        (b"req", A, r"expected 20 bytes \(!L16s\), got 16 bytes"),
        (b"vot", b"\x00\x00\x00\x03" + A + b"\x00\x00\x00\x02" + B, r"expected a vote of 0 \(no\) or 1 \(yes\), got 2"),
        (b"pva", b"\x00\x00\x00\x03" + A + b"\x00\x00\x00\x02" + B, r"expected a pre-vote of 0 \(no\) or 1 \(yes\), got 2"),
        (b"pvq", A, r"expected 20 bytes \(!L16s\), got 16 bytes"),
        (b"ldr", b"\x00\x00\x00\x01" + A + bytes(4) + b"\x00\x01\x00\x00", r"a TCP port in \[0, 65535\], got 65536"),
        (b"ann", b"", r"capnp message of at least 8 bytes"),
        (b"ann", bytes.fromhex(ANN_NO_HEX)[:-8], r"expected a capnp message of 64 bytes, got 56 bytes"),
        (b"rtc", bytes.fromhex(ANN_NO_HEX), r"expected GroupVote.rtc, got GroupVote.ann"),
        (
            b"ann",
            _capnp(ann=dict(rfvId="X", vote="no")).replace(b"\x01\x00\x00\x00\x00\x00\x00\x00", b"\x07" + bytes(7), 1),
            r"bad b'ann' frame: expected vote in \('yes', 'no', 'timeout'\), got enum value 7",
        ),
    ],
)
def test_malformed_input_names_command_expected_and_actual(cmd: bytes, payload: bytes, match: str) -> None:
    """Malformed frames raise WireError naming the command, the expectation and what arrived."""
    with pytest.raises(WireError, match=match):
        decode(cmd, payload)


def test_wire_error_is_a_value_error() -> None:
    """WireError is a ValueError and keeps its parts."""
    with pytest.raises(ValueError) as info:
        decode(b"tic", b"")
    assert (info.value.cmd, info.value.actual) == (b"tic", "0 bytes")  # type: ignore[attr-defined]


def test_encode_refuses_non_messages() -> None:
    """Only network messages have a wire form."""
    with pytest.raises(TypeError, match="network message"):
        encode(object())  # type: ignore[arg-type]


def _check_decodes_or_wire_error(cmd: bytes, payload: bytes) -> None:
    try:
        decode(cmd, payload)
    except WireError:
        pass


@settings(max_examples=300, deadline=None)
@given(case=st.sampled_from(CASES), cut=st.integers(min_value=1, max_value=200))
def test_truncated_payloads(case: tuple[object, bytes, bytes], cut: int) -> None:
    """A truncated fixed-size or capnp payload raises WireError, nothing else."""
    _event, cmd, payload = case
    if cmd in (b"msg", b"mtl", b"mfl") or not payload:
        return
    with pytest.raises(WireError):
        decode(cmd, payload[: max(0, len(payload) - cut)])


@settings(max_examples=300, deadline=None)
@given(case=st.sampled_from(CASES), extra=st.binary(min_size=1, max_size=40))
def test_extended_payloads(case: tuple[object, bytes, bytes], extra: bytes) -> None:
    """Trailing bytes after a fixed-size or capnp payload raise WireError, nothing else."""
    _event, cmd, payload = case
    if cmd in (b"msg", b"mtl", b"mfl"):
        return
    with pytest.raises(WireError):
        decode(cmd, payload + extra)


@settings(max_examples=500, deadline=None)
@given(cmd=st.sampled_from([c.value for c in Code] + [b"", b"zzz", b"tics"]), payload=st.binary(max_size=120))
def test_garbage_payloads(cmd: bytes, payload: bytes) -> None:
    """Garbage decodes to an event or raises WireError; no other exception escapes."""
    _check_decodes_or_wire_error(cmd, payload)


@settings(max_examples=400, deadline=None)
@given(
    case=st.sampled_from([c for c in CASES if c[1] in (b"rfv", b"rcm", b"rtc", b"ann")]),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=10**6), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_corrupt_capnp(case: tuple[object, bytes, bytes], flips: list[tuple[int, int]]) -> None:
    """Byte-flipped Cap'n Proto payloads decode or raise WireError, never KjException."""
    _event, cmd, payload = case
    data = bytearray(payload)
    for where, value in flips:
        data[where % len(data)] = value
    _check_decodes_or_wire_error(cmd, bytes(data))
