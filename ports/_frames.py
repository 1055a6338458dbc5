"""Frame codecs shared by the group ports: the timestamp frame and the frame-count check.

The optional timestamp frame is a *native-endian* 8-byte IEEE double, exactly as the reference
packs it with ``struct.pack("d", t)``; everything else on a group port is opaque bytes.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Sequence

from ._errors import PortError

__all__ = ["pack_timestamp", "unpack_timestamp", "check_frame_count"]

_TIMESTAMP = struct.Struct("d")
TIMESTAMP_SIZE = _TIMESTAMP.size


def pack_timestamp(seconds: float) -> bytes:
    """Encode a time in seconds as the reference's timestamp frame."""
    return _TIMESTAMP.pack(seconds)


def unpack_timestamp(frame: bytes, where: str) -> float:
    """Decode a timestamp frame, or raise ``PortError`` naming *where* it came from."""
    if len(frame) != TIMESTAMP_SIZE:
        raise PortError(
            f"{where} received a timestamp frame of {len(frame)} bytes; a timed group sends an {TIMESTAMP_SIZE}-byte native double", errno.EPROTO
        )
    return float(_TIMESTAMP.unpack(frame)[0])


def check_frame_count(frames: Sequence[bytes], expected: int, layout: str, where: str) -> None:
    """Raise ``PortError`` unless *frames* has exactly *expected* frames.

    *layout* spells the expected frames (``"[cmd, payload, timestamp]"``) for the message.
    """
    if len(frames) != expected:
        raise PortError(f"{where} received {len(frames)} frame(s), expected {expected}: {layout}", errno.EPROTO)
