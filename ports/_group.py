"""The two group port bases: simplex (pub/sub) and duplex (qry/ans).

They read the group specification, and check the shape of received frame lists: a group frame
list is ``[cmd, payload]``, plus the routing identity in front on a ROUTER, plus a timestamp frame
at the end when the group is timed.
"""

from __future__ import annotations

import errno
import pickle
from collections.abc import Mapping
from typing import Any

from ._errors import PortError, SetupError
from ._frames import check_frame_count, pack_timestamp, unpack_timestamp
from ._info import PortScope
from ._part import Part
from ._port import Port

__all__ = ["GroupSimplexPort", "GroupDuplexPort", "GroupSpec", "GROUP_KINDS"]

GroupSpec = Mapping[str, Any]
GROUP_KINDS = ("default", "leader", "consensus")


def _read_spec(groupSpec: GroupSpec, portName: str) -> tuple[str, bool, str]:
    """Validate a group specification and return ``(message, timed, kind)``."""
    if not isinstance(groupSpec, Mapping):
        raise SetupError(f"port {portName!r}: groupSpec must be a mapping like {{'message': 'Msg', 'timed': False}}, got {groupSpec!r}")
    message = groupSpec.get("message")
    if not isinstance(message, str) or not message:
        raise SetupError(f"port {portName!r}: groupSpec needs 'message', the group's message type name; got {message!r}")
    timed = groupSpec.get("timed", False)
    if not isinstance(timed, bool):
        raise SetupError(f"port {portName!r}: groupSpec 'timed' must be True or False, got {timed!r}")
    kind = groupSpec.get("kind", "default")
    if kind not in GROUP_KINDS:
        raise SetupError(f"port {portName!r}: groupSpec 'kind' must be one of {GROUP_KINDS}, got {kind!r}")
    return message, timed, kind


class _GroupPort(Port):
    """What all four group ports share: the group spec, timestamps, frame-shape checks, pickling."""

    def __init__(self, parentPart: Part, portName: str, groupSpec: GroupSpec) -> None:
        super().__init__(parentPart, portName, None)
        _message, self.isTimed, self.kind = _read_spec(groupSpec, portName)
        self.groupSpec = groupSpec
        self.portScope = PortScope.GLOBAL

    def _group_frames(self, cmd: bytes, payload: bytes) -> list[bytes]:
        if self.isTimed:
            return [cmd, payload, pack_timestamp(self.parent.clock())]
        return [cmd, payload]

    def _check_group_frames(self, frames: list[bytes], head: int) -> list[bytes]:
        """Check *frames* = ``head`` routing frames + ``[cmd, payload]`` (+ timestamp if timed).

        On a timed group, record ``recvTime`` and ``sendTime``. A frame list of another shape is
        counted, logged and raised as ``PortError``; the port keeps working.
        """
        if not self.isTimed and len(frames) == head + 2:
            return frames  # the hot path: no strings built unless something is wrong
        where = f"{type(self).__name__} {self.name!r}"
        layout = ("[identity, " if head else "[") + ("cmd, payload, timestamp]" if self.isTimed else "cmd, payload]")
        try:
            check_frame_count(frames, head + 2 + self.isTimed, layout, where)
            if self.isTimed:
                self.sendTime = unpack_timestamp(frames[-1], where)
                self.recvTime = self.parent.clock()
        except PortError as error:
            raise self._malformed_input(error) from None
        return frames

    def _unpickle(self, payload: bytes) -> Any:
        try:
            return pickle.loads(payload)
        except Exception as exc:
            raise self._malformed_input(
                PortError(f"{type(self).__name__} {self.name!r} received a payload that does not unpickle: {exc}", errno.EPROTO)
            ) from None


class GroupSimplexPort(_GroupPort):
    """Base of the pub and sub ports: one direction, one message type."""

    def __init__(self, parentPart: Part, portName: str, groupSpec: GroupSpec) -> None:
        super().__init__(parentPart, portName, groupSpec)
        self.type = self.msgType = groupSpec["message"]


class GroupDuplexPort(_GroupPort):
    """Base of the qry and ans ports: requests to the leader, replies from it."""

    req_type = "group-mtl"
    rep_type = "group-mfl"

    def __init__(self, parentPart: Part, portName: str, groupSpec: GroupSpec) -> None:
        super().__init__(parentPart, portName, groupSpec)
        self.msgType = f"{self.req_type}#{self.rep_type}"
