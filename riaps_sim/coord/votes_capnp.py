"""The Cap'n Proto ``GroupVote`` codec for ``rfv``, ``rcm``, ``rtc`` and ``ann`` payloads.

The schema is the reference's ``dc.capnp`` (file id ``@0xf99c15c18d87043c``), shipped beside this
module and loaded with pycapnp once, on first use, so importing :mod:`riaps_sim.coord` stays light.
Messages are written unpacked (``to_bytes``), as the reference does. Enums are converted to and
from plain strings here and nowhere else, so no capnp object ever leaves this module (fixes B13).
"""

from __future__ import annotations

import functools
import math
import struct
from pathlib import Path
from typing import Any

from ._checks import POLL_KINDS, POLL_SUBJECTS, VOTE_RESULTS
from .errors import WireError
from .events import PollSpec

__all__ = ["SCHEMA_PATH", "schema", "encode_request", "decode_request", "encode_ballot", "decode_ballot"]

SCHEMA_PATH = Path(__file__).with_name("dc.capnp")
_UNIONS = ("rfv", "rtc", "ann")


@functools.cache
def schema() -> Any:
    """The loaded ``dc.capnp`` module (pycapnp), loaded once."""
    import capnp  # imported here: a C extension, only needed when a poll is encoded or decoded

    return capnp.load(str(SCHEMA_PATH))


def encode_request(poll: PollSpec) -> bytes:
    """``GroupVote{rfv}`` bytes for *poll* (the payload of both ``rfv`` and ``rcm``)."""
    msg = schema().GroupVote.new_message()
    rfv = msg.init("rfv")
    rfv.topic = poll.topic
    rfv.rfvId = poll.rfv_id
    rfv.kind = poll.kind
    rfv.subject = poll.subject
    rfv.release = float(poll.release_s)
    rfv.started = float(poll.started_s)
    rfv.timeout = float(poll.timeout_s)
    return bytes(msg.to_bytes())


def encode_ballot(which: str, rfv_id: str, vote: str) -> bytes:
    """``GroupVote{rtc}`` or ``GroupVote{ann}`` bytes (*which* is ``'rtc'`` or ``'ann'``)."""
    msg = schema().GroupVote.new_message()
    body = msg.init(which)
    body.rfvId = rfv_id
    body.vote = vote
    return bytes(msg.to_bytes())


def _check_framing(cmd: bytes, payload: bytes) -> None:
    """Check that *payload* is exactly one unpacked capnp message: segment table plus segments."""
    if len(payload) < 8:
        raise WireError(cmd, "a capnp message of at least 8 bytes", f"{len(payload)} bytes")
    count = struct.unpack_from("<I", payload)[0] + 1
    if count > 64:
        raise WireError(cmd, "a capnp segment table of at most 64 segments", f"{count} segments")
    header = 4 + 4 * count
    header += -header % 8
    if len(payload) < header:
        raise WireError(cmd, f"a capnp segment table of {header} bytes", f"{len(payload)} bytes")
    sizes = struct.unpack_from(f"<{count}I", payload, 4)
    expected = header + 8 * sum(sizes)
    if len(payload) != expected:
        raise WireError(cmd, f"a capnp message of {expected} bytes", f"{len(payload)} bytes")


def _enum(cmd: bytes, field: str, value: Any, names: tuple[str, ...]) -> str:
    raw = int(value.raw)
    if not 0 <= raw < len(names):
        raise WireError(cmd, f"{field} in {names}", f"enum value {raw}")
    return names[raw]


def _read(cmd: bytes, payload: bytes, want: str) -> dict[str, Any]:
    _check_framing(cmd, payload)
    try:
        with schema().GroupVote.from_bytes(payload) as msg:
            which = msg._which()  # the union's raw discriminant, so a bad one is reported, not raised
            which = int(getattr(which, "raw", which))
            if not 0 <= which < len(_UNIONS):
                raise WireError(cmd, f"GroupVote.{want}", f"union discriminant {which}")
            if _UNIONS[which] != want:
                raise WireError(cmd, f"GroupVote.{want}", f"GroupVote.{_UNIONS[which]}")
            body = getattr(msg, want)
            if want == "rfv":
                return {
                    "rfv_id": str(body.rfvId),
                    "topic": bytes(body.topic),
                    "kind": _enum(cmd, "kind", body.kind, POLL_KINDS),
                    "subject": _enum(cmd, "subject", body.subject, POLL_SUBJECTS),
                    "release_s": float(body.release),
                    "started_s": float(body.started),
                    "timeout_s": float(body.timeout),
                }
            return {"rfv_id": str(body.rfvId), "vote": _enum(cmd, "vote", body.vote, VOTE_RESULTS)}
    except WireError:
        raise
    except Exception as exc:  # the capnp boundary: KjException, UnicodeDecodeError, ... become one type
        detail = (str(exc).splitlines() or [""])[0][:200]
        raise WireError(cmd, f"a valid capnp GroupVote.{want}", f"{type(exc).__name__}: {detail}") from None


def decode_request(cmd: bytes, payload: bytes) -> PollSpec:
    """The :class:`PollSpec` in ``GroupVote{rfv}`` bytes; :class:`WireError` if malformed."""
    fields = _read(cmd, payload, "rfv")
    for name in ("release_s", "started_s", "timeout_s"):
        if not math.isfinite(fields[name]) or (name == "timeout_s" and fields[name] < 0):
            raise WireError(cmd, f"{name} finite" + (" and >= 0" if name == "timeout_s" else ""), repr(fields[name]))
    return PollSpec(**fields)


def decode_ballot(cmd: bytes, payload: bytes, which: str) -> tuple[str, str]:
    """``(rfv_id, vote)`` from ``GroupVote{rtc}`` or ``{ann}`` bytes; :class:`WireError` if malformed."""
    fields = _read(cmd, payload, which)
    return fields["rfv_id"], fields["vote"]
