"""``ReqPort``/``RepPort`` (asynchronous request/reply) and ``CltPort``/``SrvPort`` (synchronous client/server).

RIAPS uses REQ and REP sockets. Here the requesting side is a DEALER and the replying side a ROUTER
that keep REQ/REP's envelope on the wire, so they talk to RIAPS's own REQ and REP sockets
byte for byte, and the simulated network needs only the DEALER and ROUTER it has:

- a ``req`` port sends ``[request id, b"", payload]``, as a REQ with ``REQ_RELAXED`` and
  ``REQ_CORRELATE`` does: a new request may go out before the last reply came, and only the reply
  to the latest request is delivered (older ones are dropped and counted);
- a ``clt`` port sends ``[b"", payload]``, strictly alternating as a plain REQ: a second ``send``
  before the reply is ``PortError`` (``EPROTO``) until ``reset()``;
- ``rep`` and ``srv`` ports keep the envelope of the request being answered and send the reply
  back along it; a reply without a request, or a second request read before replying, is
  ``PortError`` (``EPROTO``), as on a REP socket.

Several providers share the load round robin. While no provider is connected, ``send`` returns
False and ``recv`` returns ``None`` (RIAPS). A ``clt`` port cannot block: RIAPS's
``clt.recv()`` waits for the reply; here it returns the reply only if it has arrived, else raises
``PortError`` (``EAGAIN``) saying so.
"""

from __future__ import annotations

import errno
import pickle
import struct
from typing import Any

import zmq

from ._appport import AppPort, AppSpec
from ._errors import OperationError, PortError
from ._info import PortInfo
from ._part import Part
from ._port import BindPort, ConnPort

__all__ = ["ReqPort", "RepPort", "CltPort", "SrvPort"]

_REQUEST_ID = struct.Struct("=I")  # libzmq's REQ_CORRELATE id: a native uint32


class ReqPort(ConnPort, AppPort):
    """A RIAPS ``req`` port: asynchronous requests; the reply triggers the component's ``on_<port>``."""

    portKind = "req"
    paired = True

    def __init__(self, parentPart: Part, portName: str, portSpec: AppSpec) -> None:
        super().__init__(parentPart, portName, portSpec)
        self._request_id = 0
        self._stale = 0

    def setupSocket(self, owner: Any) -> PortInfo:
        """Create the DEALER socket; it connects to every matching rep on ``update``."""
        return self.setupConnSocket(owner, zmq.DEALER, self.portKind)

    def closeSocket(self) -> None:
        self._drop_inbox()
        self.closeConnSocket()

    def send(self, msg: bytes) -> bool:
        """Send a request; False (nothing sent) while no rep port is connected."""
        if not self.servers:
            return False
        self._request_id = (self._request_id + 1) & 0xFFFFFFFF
        self._send_frames([_REQUEST_ID.pack(self._request_id), b"", *self._message_frames(msg)])
        return True

    def send_pyobj(self, msg: Any) -> bool:
        return self.send(pickle.dumps(msg))

    def _accept(self, frames: list[bytes]) -> bool:
        if len(frames) >= 3 and frames[1] == b"" and frames[0] == _REQUEST_ID.pack(self._request_id):
            return True
        self._stale += 1  # a reply to an older request, or a malformed one: REQ_CORRELATE drops it
        return False

    def recv(self) -> bytes | None:  # type: ignore[override]
        """The reply to the latest request; ``None`` while no rep port is connected."""
        if not self.servers and not self._inbox:
            return None
        return self._message_payload(self._next_frames()[2:])

    def recv_pyobj(self) -> Any:
        payload = self.recv()
        return None if payload is None else self._unpickle(payload)

    def stale_replies(self) -> int:
        """How many replies to superseded requests were dropped."""
        return self._stale


class CltPort(ConnPort, AppPort):
    """A RIAPS ``clt`` port: a strict request then its reply, read in a later handler (never blocks here)."""

    portKind = "clt"
    paired = True

    def __init__(self, parentPart: Part, portName: str, portSpec: AppSpec) -> None:
        super().__init__(parentPart, portName, portSpec)
        self._awaiting = False

    def setupSocket(self, owner: Any) -> PortInfo:
        return self.setupConnSocket(owner, zmq.DEALER, self.portKind)

    def closeSocket(self) -> None:
        self._drop_inbox()
        self.closeConnSocket()

    def reset(self) -> None:
        """Forget the outstanding request (its reply, if it comes, is dropped), as RIAPS's socket re-creation does."""
        self._awaiting = False
        self.fetch()
        self._drop_inbox()

    def send(self, msg: bytes) -> bool:
        """Send a request; False while no srv port is connected. ``PortError`` (``EPROTO``) if a reply is still due."""
        if not self.servers:
            return False
        if self._awaiting:
            raise PortError(f"CltPort {self.name!r}: a request is still waiting for its reply; recv() it first or reset()", errno.EPROTO)
        self._send_frames([b"", *self._message_frames(msg)])
        self._awaiting = True
        return True

    def send_pyobj(self, msg: Any) -> bool:
        return self.send(pickle.dumps(msg))

    def _accept(self, frames: list[bytes]) -> bool:
        return self._awaiting and len(frames) >= 2 and frames[0] == b""

    def recv(self) -> bytes | None:  # type: ignore[override]
        """The reply, if it has arrived; ``None`` while no srv is connected.

        Raises ``PortError``: ``EPROTO`` without a request, ``EAGAIN`` while the reply has not
        arrived (RIAPS blocks here; handlers here never block, so read it in a later handler).
        """
        if not self.servers:
            return None
        if not self._awaiting:
            raise PortError(f"CltPort {self.name!r}: recv() without a request; send() first", errno.EPROTO)
        self.fetch()
        if not self._inbox:
            raise PortError(
                f"CltPort {self.name!r}: the reply has not arrived; RIAPS would block here, but handlers never block "
                "in riaps-sim: read it in a later handler, or use a req port (its reply calls on_<port>)",
                errno.EAGAIN,
            )
        self._awaiting = False
        return self._message_payload(self._inbox.popleft()[1:])

    def recv_pyobj(self) -> Any:
        payload = self.recv()
        return None if payload is None else self._unpickle(payload)

    def ready(self) -> bool:
        return False  # a clt port has no handler: its owner reads the reply itself


class RepPort(BindPort, AppPort):
    """A RIAPS ``rep`` port: each request triggers ``on_<port>``, which reads it and sends one reply."""

    portKind = "rep"
    paired = True

    def __init__(self, parentPart: Part, portName: str, portSpec: AppSpec) -> None:
        super().__init__(parentPart, portName, portSpec)
        self._envelope: list[bytes] | None = None

    def setupSocket(self, owner: Any) -> PortInfo:
        """Create the ROUTER socket and bind it to a random port on the part's host."""
        return self.setupBindSocket(owner, zmq.ROUTER, self.portKind)

    def closeSocket(self) -> None:
        self._drop_inbox()
        self._envelope = None
        self.closeBindSocket()

    def update(self, host: str, port: int) -> None:
        raise OperationError(f"{type(self).__name__} {self.name!r} cannot update(): it binds and requesters connect to it")

    def _accept(self, frames: list[bytes]) -> bool:
        if b"" in frames[1:]:
            return True
        self._malformed_input(PortError(f"{type(self).__name__} {self.name!r} received a request without an envelope delimiter", errno.EPROTO))
        return False

    def ready(self) -> bool:
        return bool(self._inbox) and self._envelope is None

    def recv(self) -> bytes:
        """The next request's payload; ``PortError`` (``EPROTO``) if the last one is not answered yet."""
        if self._envelope is not None:
            raise PortError(f"{type(self).__name__} {self.name!r}: the last request is not answered yet; send() the reply first", errno.EPROTO)
        frames = self._next_frames()
        split = frames.index(b"", 1)
        payload = self._message_payload(frames[split + 1 :])
        self._envelope = frames[:split]
        return payload

    def recv_pyobj(self) -> Any:
        return self._unpickle(self.recv())

    def send(self, msg: bytes) -> bool:
        """Reply to the request just read; ``PortError`` (``EPROTO``) without one. True when sent."""
        if self._envelope is None:
            raise PortError(f"{type(self).__name__} {self.name!r}: no request to reply to; recv() one first", errno.EPROTO)
        envelope, self._envelope = self._envelope, None
        self._send_frames([*envelope, b"", *self._message_frames(msg)])
        return True

    def send_pyobj(self, msg: Any) -> bool:
        return self.send(pickle.dumps(msg))


class SrvPort(RepPort):
    """A RIAPS ``srv`` port: a rep port that serves ``clt`` ports."""

    portKind = "srv"
