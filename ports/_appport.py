"""``AppPort``: what the RIAPS message ports (pub, sub, req, rep, clt, srv, qry, ans) share.

A message port carries one payload per message, as RIAPS frames it: ``[payload]``, plus an 8-byte
native-double send time when the sending port is ``timed`` (RIAPS's layout). It is built from a
spec shaped like the RIAPS compiled model: ``{"type": "M"}`` for pub/sub, ``{"req_type": "Q",
"rep_type": "A"}`` for the pairs, with optional ``"timed"``, ``"scope"`` (``"global"`` or
``"local"``) and ``"index"``.

Receiving never blocks. ``fetch()`` moves every message waiting on the socket into the port's
inbox, so a runtime that is told "the socket is readable" can drain it at once and then hand the
messages to the component one handler call at a time (RIAPS calls ``on_<port>`` once per message);
``recv*`` takes from the inbox first, then from the socket.
"""

from __future__ import annotations

import errno
import pickle
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import PortError, SetupError
from ._frames import pack_timestamp, unpack_timestamp
from ._info import PortScope
from ._part import Part
from ._port import Port

__all__ = ["AppPort", "AppSpec", "APP_PORT_SCOPES"]

AppSpec = Mapping[str, Any]
APP_PORT_SCOPES = {"global": PortScope.GLOBAL, "local": PortScope.LOCAL}


class AppPort(Port):
    """Base of the RIAPS message ports: spec, framing, timestamps, the inbox and pickling."""

    #: ``"pub"``, ``"sub"``, ... as in ``PortInfo.portKind``; set by each subclass.
    portKind = ""
    #: Whether the spec names one message type (pub/sub) or a request/reply pair.
    paired = False

    def __init__(self, parentPart: Part, portName: str, portSpec: AppSpec) -> None:
        super().__init__(parentPart, portName, portSpec)
        if not isinstance(portSpec, Mapping):
            raise SetupError(f"{type(self).__name__} {portName!r}: portSpec must be a mapping, got {portSpec!r}")
        if self.paired:
            request, reply = portSpec.get("req_type"), portSpec.get("rep_type")
            if not (isinstance(request, str) and request and isinstance(reply, str) and reply):
                raise SetupError(
                    f"{type(self).__name__} {portName!r}: portSpec needs 'req_type' and 'rep_type' message names, got {dict(portSpec)!r}"
                )
            self.req_type, self.rep_type = request, reply
            self.msgType = f"{request}#{reply}"
        else:
            message = portSpec.get("type")
            if not isinstance(message, str) or not message:
                raise SetupError(f"{type(self).__name__} {portName!r}: portSpec needs 'type', the message type name, got {dict(portSpec)!r}")
            self.type = self.msgType = message
        timed = portSpec.get("timed", False)
        if not isinstance(timed, bool):
            raise SetupError(f"{type(self).__name__} {portName!r}: portSpec 'timed' must be True or False, got {timed!r}")
        scope = portSpec.get("scope", "global")
        if scope not in APP_PORT_SCOPES:
            raise SetupError(f"{type(self).__name__} {portName!r}: portSpec 'scope' must be one of {sorted(APP_PORT_SCOPES)}, got {scope!r}")
        self.isTimed = timed
        self.portScope = APP_PORT_SCOPES[scope]
        self.index = portSpec.get("index")
        self.portSpec = portSpec
        self._inbox: deque[list[bytes]] = deque()
        self._observer: Callable[[AppPort, list[bytes]], None] | None = None

    def getLocalIface(self) -> str:
        """Local-scope ports bind on the part's host too; discovery keeps them to that host (RIAPS binds 127.0.0.1)."""
        return self.parent.host

    # -- framing -------------------------------------------------------------------------------------

    def _message_frames(self, payload: bytes) -> list[bytes]:
        if not isinstance(payload, bytes):
            raise TypeError(f"{type(self).__name__} {self.name!r}.send takes bytes, got {type(payload).__name__}; use send_pyobj for objects")
        if self.isTimed:
            return [payload, pack_timestamp(self.parent.clock())]
        return [payload]

    def _message_payload(self, frames: list[bytes]) -> bytes:
        """The payload of ``[payload]`` or ``[payload, timestamp]``; record the times as RIAPS does."""
        where = f"{type(self).__name__} {self.name!r}"
        if len(frames) not in (1, 2):
            raise self._malformed_input(PortError(f"{where} received {len(frames)} frames; expected [payload] or [payload, timestamp]", errno.EPROTO))
        if len(frames) == 2:
            try:
                self.sendTime = unpack_timestamp(frames[1], where)
            except PortError as error:
                raise self._malformed_input(error) from None
        if self.isTimed:
            self.recvTime = self.parent.clock()
        return frames[0]

    def _unpickle(self, payload: bytes) -> Any:
        try:
            return pickle.loads(payload)
        except Exception as exc:
            raise self._malformed_input(
                PortError(f"{type(self).__name__} {self.name!r} received a payload that does not unpickle: {exc}", errno.EPROTO)
            ) from None

    def set_observer(self, observer: Callable[[AppPort, list[bytes]], None] | None) -> None:
        """Call *observer* with this port and the frames after every message it sends (a runtime traces sends so)."""
        self._observer = observer

    def _send_frames(self, frames: list[bytes]) -> None:
        super()._send_frames(frames)
        if self._observer is not None:
            self._observer(self, frames)

    # -- the inbox -------------------------------------------------------------------------------------

    def _accept(self, frames: list[bytes]) -> bool:
        """Whether a received frame list goes to the inbox (a req port drops stale replies here)."""
        return True

    def fetch(self) -> int:
        """Move every message waiting on the socket into the inbox; return how many the inbox holds now."""
        if self.socket is not None:
            while True:
                try:
                    frames = self._recv_frames()
                except PortError as error:
                    if error.errno == errno.EAGAIN:
                        break
                    raise
                if self._accept(frames):
                    self._inbox.append(frames)
        return len(self._inbox)

    def waiting(self) -> int:
        """How many fetched messages wait in the inbox."""
        return len(self._inbox)

    def ready(self) -> bool:
        """Whether ``recv`` would return a fetched message now (a runtime calls ``on_<port>`` while this holds)."""
        return bool(self._inbox)

    def discard(self) -> bool:
        """Drop the oldest fetched message (a handler left it unread); False if the inbox was empty."""
        if not self._inbox:
            return False
        self._inbox.popleft()
        return True

    def _next_frames(self) -> list[bytes]:
        if self._inbox:
            return self._inbox.popleft()
        while True:
            frames = self._recv_frames()
            if self._accept(frames):
                return frames

    def _drop_inbox(self) -> None:
        self._inbox.clear()
