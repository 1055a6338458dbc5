"""ZAP in the simulation: a context's authentication handler, reached as libzmq reaches it (RFC 27).

In libzmq a server socket's security handshake asks the ROUTER bound at
``inproc://zeromq.zap.01`` in its context whether to admit the client, and waits for the answer;
with no handler bound, everyone who completes the mechanism is admitted. Here a simulated ROUTER
bound at that endpoint becomes the context's ``ZapService``: a handshake puts the same request
frames into the ROUTER's queue (``request``), whatever serves that ROUTER (``ports.ZapHandler`` in
the node's loop) answers with ``send_multipart`` as it would over libzmq, and the ROUTER hands the
answer back here (``reply``), which resumes the handshake. So the very handler class runs in both
worlds, and a handshake waits for it exactly as long as its loop takes to answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sockets import SimSocket

__all__ = ["ZAP_ENDPOINT", "ZapService"]

ZAP_ENDPOINT = "inproc://zeromq.zap.01"

#: Called with the answer's status code (``b"200"``, ``b"400"``, ...).
ReplyCallback = Callable[[bytes], None]


class ZapService:
    """The handshakes of one context waiting for its ZAP handler, the ROUTER *router*."""

    def __init__(self, router: SimSocket) -> None:
        self.router = router
        self._pending: dict[bytes, tuple[bytes, ReplyCallback]] = {}
        self._count = 0

    def __repr__(self) -> str:
        return f"<ZapService {len(self._pending)} request(s) waiting>"

    def request(
        self, domain: bytes, address: str, identity: bytes, mechanism: bytes, credentials: tuple[bytes, ...], on_reply: ReplyCallback
    ) -> None:
        """Queue an RFC 27 request at the handler; *on_reply* gets the status when it answers."""
        self._count += 1
        request_id = str(self._count).encode()
        route = b"\x00zap" + request_id  # the requester's routing identity, as a ROUTER shows it
        self._pending[route] = (request_id, on_reply)
        self.router.inject((route, b"", b"1.0", request_id, domain, address.encode(), identity, mechanism, *credentials))

    def reply(self, frames: tuple[bytes, ...]) -> bool:
        """Take an answer the handler sent through its ROUTER; False if it answers no pending request."""
        entry = self._pending.get(frames[0])
        if entry is None:
            return False
        request_id, on_reply = entry
        # [route, b"", version, request id, status, text, user id, metadata]
        if len(frames) < 5 or frames[3] != request_id:
            return False
        del self._pending[frames[0]]
        on_reply(frames[4])
        return True

    def abandon(self) -> None:
        """The handler's socket closed: every waiting handshake is refused (status 500)."""
        pending, self._pending = self._pending, {}
        for _request_id, on_reply in pending.values():
            on_reply(b"500")
