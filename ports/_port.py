"""``Port``, ``BindPort`` and ``ConnPort``: a named socket owned by a part, and its two ways to meet peers.

These bases hold what every group port shares: socket options, CURVE set-up and handshake
monitoring, the translation of ZeroMQ errors into ``PortError`` at this one boundary, and the
counters behind ``statistics()``. Sends and receives never block: a port is driven by a loop that
polls it (the runtime's, a test's, or a notebook's), and the simulated world cannot block at all.
"""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass
from typing import Any

import zmq

from ._errors import OperationError, PortError, SetupError
from ._info import PortInfo, PortScope
from ._part import Part
from ._zap import HandshakeRefusal

__all__ = ["Port", "BindPort", "ConnPort", "PortStatistics"]

log = logging.getLogger("ports")

_HANDSHAKE_FAILURES = zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH
# A server's refusals by the allow-list are reported by the ZAP handler, which knows the peer and its key.
_SERVER_HANDSHAKE_FAILURES = zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
_PROTOCOL_ERRORS: dict[int, str] = {
    int(zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH): "the peer does not use CURVE",
    int(zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC): "the peer holds other keys",
}


@dataclass(frozen=True, slots=True)
class PortStatistics:
    """Counts of what a port has done since it was made.

    ``malformed`` counts received frame lists of the wrong shape; ``send_failures`` counts sends
    that raised ``PortError``; ``handshake_failures`` counts refused CURVE handshakes.
    """

    sent: int = 0
    received: int = 0
    malformed: int = 0
    send_failures: int = 0
    handshake_failures: int = 0


class Port:
    """A named socket owned by a part.

    Subclasses implement ``setupSocket``, ``closeSocket`` and the directions that make sense for
    them; every other direction raises ``OperationError`` saying why.

    Parameters
    ----------
    parentPart:
        The owning ``Part``: it supplies ``appContext``, ``host``, ``clock`` and ``keys``.
    portName:
        The port's name, used in logs, errors and ``PortInfo``.
    portSpec:
        Optional; subclasses interpret it.
    """

    def __init__(self, parentPart: Part, portName: str, portSpec: Any = None) -> None:
        self.parent = parentPart
        self.name = portName
        self.context = parentPart.appContext
        self.index = None
        self.security = parentPart.keys is not None
        options = parentPart.options
        self.sendTimeout = options.send_timeout_ms
        self.recvTimeout = options.recv_timeout_ms
        self.sendhwm = options.send_hwm
        self.recvhwm = options.recv_hwm
        self.maxMessageBytes = options.max_message_bytes
        self.sendTime = 0.0
        self.recvTime = 0.0
        self.socket: Any = None
        self.isTimed = False
        self.deadline: float | None = 0.0
        self.info: PortInfo | None = None
        self.owner: Any = None
        self.portScope = PortScope.GLOBAL
        self.msgType = ""
        self._monitor: Any = None
        self._sent = 0
        self._received = 0
        self._malformed = 0
        self._send_failures = 0
        self._handshake_failures = 0

    def __repr__(self) -> str:
        state = "closed" if self.socket is None else self._describe_endpoint()
        return f"<{type(self).__name__} {self.name!r} {state} sent={self._sent} received={self._received}>"

    def _describe_endpoint(self) -> str:
        return "open"

    # -- RIAPS accessors --------------------------------------------------------------------------

    def setOwner(self, owner: Any) -> None:
        """Record the object that polls this port (a component thread or a runtime)."""
        self.owner = owner

    def getDeadline(self) -> float | None:
        return self.deadline

    def getIndex(self) -> int | None:
        return self.index

    def getLocalIface(self) -> str:
        """The loopback interface address."""
        return "127.0.0.1"

    def getGlobalIface(self) -> str:
        """The address of the part's host, which group ports bind to and announce."""
        return self.parent.host

    def get_recvTime(self) -> float:
        """When the last timed message was received, in seconds of the part's clock."""
        return self.recvTime

    def get_sendTime(self) -> float:
        """When the last timed message received was sent, in seconds of the sender's clock."""
        return self.sendTime

    def get_recv_timeout(self) -> float | None:
        """The receive timeout in seconds, or ``None`` for none."""
        return None if self.recvTimeout < 0 else self.recvTimeout / 1000.0

    def get_send_timeout(self) -> float | None:
        """The send timeout in seconds, or ``None`` for none."""
        return None if self.sendTimeout < 0 else self.sendTimeout / 1000.0

    def set_recv_timeout(self, rto: float | None) -> None:
        """Set the receive timeout, *rto* in seconds (``None`` for none), on the port and its socket."""
        self.recvTimeout = -1 if rto is None else int(rto * 1000)
        if self.socket is not None:
            self.socket.setsockopt(zmq.RCVTIMEO, self.recvTimeout)

    def set_send_timeout(self, sto: float | None) -> None:
        """Set the send timeout, *sto* in seconds (``None`` for none), on the port and its socket."""
        self.sendTimeout = -1 if sto is None else int(sto * 1000)
        if self.socket is not None:
            self.socket.setsockopt(zmq.SNDTIMEO, self.sendTimeout)

    def get_hwm(self) -> tuple[int, int]:
        """``(send, receive)`` high-water marks in messages."""
        return (self.sendhwm, self.recvhwm)

    def getSocket(self) -> Any:
        """The port's socket, for a poller; ``None`` before ``setupSocket``."""
        return self.socket

    def inSocket(self) -> bool:
        """Whether the socket is polled for input."""
        return True

    def getInfo(self) -> PortInfo | None:
        """The ``PortInfo`` from the last ``setupSocket``, or ``None`` before it."""
        return self.info

    def statistics(self) -> PortStatistics:
        """A snapshot of this port's counters."""
        return PortStatistics(
            sent=self._sent,
            received=self._received,
            malformed=self._malformed,
            send_failures=self._send_failures,
            handshake_failures=self._handshake_failures,
        )

    # -- life cycle hooks (no-ops unless a subclass needs them) ------------------------------------

    def setup(self) -> None:
        """Prepare the port before its socket exists. Nothing to do for group ports."""

    def reset(self) -> None:
        """Reset the port after a discovery restart. Nothing to do for group ports."""

    def activate(self) -> None:
        pass

    def deactivate(self) -> None:
        pass

    def terminate(self) -> None:
        pass

    def setupSocket(self, owner: Any) -> PortInfo:
        raise SetupError(f"{type(self).__name__} does not set up a socket")

    def closeSocket(self) -> None:
        raise SetupError(f"{type(self).__name__} does not close a socket")

    def update(self, host: str, port: int) -> None:
        raise OperationError(f"{type(self).__name__} {self.name!r} does not connect to peers")

    # -- directions: subclasses override the ones they support -------------------------------------

    def send(self, msg: bytes) -> bool:
        raise OperationError(self._wrong_direction("send"))

    def send_pyobj(self, msg: Any) -> bool:
        raise OperationError(self._wrong_direction("send_pyobj"))

    def recv(self) -> bytes:
        raise OperationError(self._wrong_direction("recv"))

    def recv_pyobj(self) -> Any:
        raise OperationError(self._wrong_direction("recv_pyobj"))

    def _wrong_direction(self, method: str) -> str:
        return f"{type(self).__name__} {self.name!r} cannot {method}()"

    # -- socket set-up shared by the subclasses ------------------------------------------------------

    def _make_socket(self, zmqType: int, server: bool, sockopts: list[tuple[int, Any]]) -> Any:
        socket = self.context.socket(zmqType)
        self.socket = socket
        self.set_sockoptions(sockopts)
        self.setupCurve(server)
        return socket

    def set_sockoptions(self, sockopts: list[tuple[int, Any]] | None = None) -> None:
        """Apply the part's timeouts, high-water marks and message size limit, then *sockopts* ``(option, value)`` pairs.

        ``str`` values are encoded as UTF-8; ``int`` and ``bytes`` values are set as they are.
        """
        socket = self._require_socket()
        socket.setsockopt(zmq.SNDTIMEO, self.sendTimeout)
        socket.setsockopt(zmq.RCVTIMEO, self.recvTimeout)
        socket.setsockopt(zmq.SNDHWM, self.sendhwm)
        socket.setsockopt(zmq.RCVHWM, self.recvhwm)
        socket.setsockopt(zmq.MAXMSGSIZE, self.maxMessageBytes)
        for option, value in sockopts or ():
            if isinstance(value, str):
                value = value.encode("utf-8")
            if not isinstance(value, (int, bytes)):
                raise SetupError(f"{self.name!r}: socket option {option} needs an int, str or bytes value, got {value!r}")
            socket.setsockopt(option, value)

    def setupCurve(self, server: bool) -> None:
        """Turn CURVE on when the part has keys: as a server when *server*, else as a client.

        A server socket's ``ZAP_DOMAIN`` is the port's name, so the context's ``ZapHandler`` (if
        any) names the port in what it refuses. Handshake failures are watched through a socket
        monitor; ``refusals`` (or ``checkSecurity``) reports them.
        """
        keys = self.parent.keys
        if keys is None or self.socket is None:
            return
        socket = self.socket
        socket.setsockopt(zmq.CURVE_SECRETKEY, keys.secret)
        socket.setsockopt(zmq.CURVE_PUBLICKEY, keys.public)
        if server:
            socket.setsockopt(zmq.CURVE_SERVER, 1)
            socket.setsockopt(zmq.ZAP_DOMAIN, self.name.encode("utf-8"))
        else:
            socket.setsockopt(zmq.CURVE_SERVERKEY, keys.public)
        if hasattr(socket, "get_monitor_socket"):
            self._monitor = socket.get_monitor_socket(_SERVER_HANDSHAKE_FAILURES if server else _HANDSHAKE_FAILURES)

    def getMonitorSocket(self) -> Any:
        """The socket that becomes readable on a refused CURVE handshake, or ``None`` without keys."""
        return self._monitor

    def refusals(self) -> list[HandshakeRefusal]:
        """Every refused security handshake this port's monitor saw since the last call, as records.

        A peer without the application's keys gets nothing through; this is where that becomes
        visible instead of silent. A runtime calls it when ``getMonitorSocket()`` is readable.
        A server port's monitor sees handshakes that fail before authentication (no CURVE, other
        keys); refusals by the allow-list come from the context's ``ZapHandler``. A client port
        also sees the allow-list refusing it (``EVENT_HANDSHAKE_FAILED_AUTH``, status 400).
        """
        from zmq.utils.monitor import parse_monitor_message

        records: list[HandshakeRefusal] = []
        monitor = self._monitor
        while monitor is not None and monitor.poll(0):
            event = parse_monitor_message(monitor.recv_multipart())
            kind, value = int(event["event"]), int(event["value"])
            if kind == zmq.EVENT_MONITOR_STOPPED:
                continue
            if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                reason = f"refused by the server's allow-list (ZAP status {value})"
            elif kind == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
                reason = _PROTOCOL_ERRORS.get(value, f"protocol error {value:#x}")
            else:
                reason = "handshake failed (no detail)"
            endpoint = event["endpoint"].decode("utf-8", "replace")
            server = isinstance(self, BindPort)
            records.append(HandshakeRefusal(port=self.name, peer="" if server else endpoint, mechanism="", reason=f"{reason} on {endpoint}"))
            self._handshake_failures += 1
        return records

    def checkSecurity(self) -> list[str]:
        """Log and return, as text, every refused security handshake seen since the last call (see ``refusals``)."""
        reports: list[str] = []
        for refusal in self.refusals():
            text = f"{type(self).__name__} {self.name!r}: CURVE handshake with {refusal.peer or 'a peer'} refused: {refusal.reason}"
            log.warning(text)
            reports.append(text)
        return reports

    def _close_monitor(self) -> None:
        if self._monitor is not None:
            try:
                self.socket.disable_monitor()
            except zmq.ZMQError:
                pass
            self._monitor.close(linger=0)
            self._monitor = None

    def _require_socket(self) -> Any:
        if self.socket is None:
            raise SetupError(f"{type(self).__name__} {self.name!r} has no socket: call setupSocket(owner) first")
        return self.socket

    # -- the one place where ZeroMQ errors become PortErrors --------------------------------------------

    def _send_frames(self, frames: list[bytes]) -> None:
        try:
            self.socket.send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            self._send_failures += 1
            raise PortError(
                f"{type(self).__name__} {self.name!r} could not send: its queue is full (high-water mark {self.sendhwm}); the peer is slow or gone",
                errno.EAGAIN,
            ) from None
        except zmq.ZMQError as exc:
            self._send_failures += 1
            raise PortError(f"{type(self).__name__} {self.name!r} send failed: {exc.strerror}", exc.errno) from exc
        except AttributeError:
            if self.socket is None:
                self._require_socket()
            raise
        self._sent += 1

    def _recv_frames(self) -> list[bytes]:
        try:
            frames: list[bytes] = self.socket.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            raise PortError(
                f"{type(self).__name__} {self.name!r} has nothing to receive; poll its socket until it is readable", errno.EAGAIN
            ) from None
        except zmq.ZMQError as exc:
            raise PortError(f"{type(self).__name__} {self.name!r} receive failed: {exc.strerror}", exc.errno) from exc
        except AttributeError:
            if self.socket is None:
                self._require_socket()
            raise
        self._received += 1
        return frames

    def _malformed_input(self, error: PortError) -> PortError:
        """Count and log a malformed frame list, and return the error to raise."""
        self._malformed += 1
        log.warning("%s", error.message)
        return error


class BindPort(Port):
    """A port whose socket binds: its peers connect to it."""

    def __init__(self, parentPart: Part, portName: str, portSpec: Any = None) -> None:
        super().__init__(parentPart, portName, portSpec)
        self.host: str | None = None
        self.portNum: int | None = None
        self.bindAddr: str | None = None

    def _describe_endpoint(self) -> str:
        return self.bindAddr or "unbound"

    def _bind(self) -> int:
        host = self.getGlobalIface() if self.portScope == PortScope.GLOBAL else self.getLocalIface()
        try:
            port = self.parent.bind_random(self.socket, host)
        except zmq.ZMQError as exc:
            raise SetupError(f"{type(self).__name__} {self.name!r} cannot bind on {host}: {exc.strerror}") from exc
        self.host = host
        self.portNum = port
        self.bindAddr = self.parent.endpoint(host, port)
        return port

    def setupBindSocket(self, owner: Any, zmqType: int, portKind: str, sockopts: list[tuple[int, Any]] | None = None) -> PortInfo:
        """Create the socket, apply options and CURVE (as server), bind to a random port."""
        self.setOwner(owner)
        self._make_socket(zmqType, server=True, sockopts=sockopts or [])
        port = self._bind()
        self.info = PortInfo(portKind, self.portScope, self.name, self.msgType, self.host or "", port)
        return self.info

    def closeBindSocket(self) -> None:
        """Unbind and close the socket; the port can be set up again afterwards."""
        if self.socket is None:
            return
        self._close_monitor()
        if self.bindAddr is not None:
            try:
                self.socket.unbind(self.bindAddr)
            except zmq.ZMQError:
                pass
        self.socket.close(linger=0)
        self.socket = None
        self.bindAddr = None
        self.portNum = None


class ConnPort(Port):
    """A port whose socket connects to the bind ports of its peers."""

    def __init__(self, parentPart: Part, portName: str, portSpec: Any = None) -> None:
        super().__init__(parentPart, portName, portSpec)
        #: The peers connected to, in the order they were added (a set in the reference; ordered here
        #: so that disconnecting them is deterministic).
        self.servers: dict[tuple[str, int], None] = {}
        self.portNum = -1

    def _describe_endpoint(self) -> str:
        return f"connected to {len(self.servers)}"

    def setupConnSocket(self, owner: Any, zmqType: int, portKind: str, sockopts: list[tuple[int, Any]] | None = None) -> PortInfo:
        """Create the socket and apply options and CURVE (as client). It connects on ``update``."""
        self.setOwner(owner)
        self._make_socket(zmqType, server=False, sockopts=sockopts or [])
        self.info = PortInfo(portKind, self.portScope, self.name, self.msgType, self.getGlobalIface(), -1)
        return self.info

    def update(self, host: str, port: int) -> None:
        """Connect to the peer at *host*:*port*, once; repeated calls for the same peer do nothing.

        *port* may arrive as a float, as the reference's discovery sends it (B22). As in the
        reference, a port never disconnects from a peer that left (B18): libzmq 4.3.5 can abort
        (``!_more``, fq.cpp:80) when a local ``disconnect`` ends a pipe while a multipart message
        from it is being read, which we reproduced; a stale endpoint costs only reconnect attempts.
        """
        key = (host, _port_number(port, self))
        if key in self.servers:
            return
        socket = self._require_socket()
        socket.connect(self.parent.endpoint(*key))
        self.servers[key] = None

    def closeConnSocket(self) -> None:
        """Disconnect from every peer and close the socket."""
        if self.socket is None:
            return
        self._close_monitor()
        for host, port in self.servers:
            try:
                self.socket.disconnect(self.parent.endpoint(host, port))
            except zmq.ZMQError:
                pass
        self.servers.clear()
        self.socket.close(linger=0)
        self.socket = None

    def connected(self) -> int:
        """How many peers this port has been told to connect to."""
        return len(self.servers)


def _port_number(port: Any, where: Port) -> int:
    number = int(port)
    if number != port or not 0 < number < 65536:
        raise OperationError(f"{type(where).__name__} {where.name!r}: {port!r} is not a port number")
    return number
