"""Socket options: which the simulated sockets accept, their libzmq defaults, and value checks.

Options are pyzmq's own integer constants. Values are stored as given and ``getsockopt`` returns
them; the ones that change behaviour (HWMs, LINGER, IDENTITY, ROUTER_MANDATORY, RECONNECT_IVL,
SUBSCRIBE, the CURVE keys, ZAP_DOMAIN, MAXMSGSIZE) are read by the sockets and handshakes. Others libzmq knows are
accepted and kept, so code that tunes TCP keepalives or heartbeats runs unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import zmq

__all__ = ["DEFAULTS", "BYTES_OPTIONS", "INT_OPTIONS", "check_option", "OptionsMixin"]

#: libzmq's defaults for the options ``getsockopt`` can be asked before they are set.
DEFAULTS: dict[int, Any] = {
    zmq.SNDHWM: 1000,
    zmq.RCVHWM: 1000,
    zmq.LINGER: -1,
    zmq.SNDTIMEO: -1,
    zmq.RCVTIMEO: -1,
    zmq.IDENTITY: b"",
    zmq.RECONNECT_IVL: 100,
    zmq.RECONNECT_IVL_MAX: 0,
    zmq.ROUTER_MANDATORY: 0,
    zmq.IMMEDIATE: 0,
    zmq.CURVE_SERVER: 0,
    zmq.CONFLATE: 0,
    zmq.TCP_KEEPALIVE: -1,
    zmq.TCP_KEEPALIVE_IDLE: -1,
    zmq.TCP_KEEPALIVE_INTVL: -1,
    zmq.TCP_KEEPALIVE_CNT: -1,
    zmq.HEARTBEAT_IVL: 0,
    zmq.HEARTBEAT_TIMEOUT: -1,
    zmq.HEARTBEAT_TTL: 0,
    zmq.SNDBUF: -1,
    zmq.RCVBUF: -1,
    zmq.BACKLOG: 100,
    zmq.MAXMSGSIZE: -1,
    zmq.IPV6: 0,
    zmq.RCVMORE: 0,
}

#: Options whose value is bytes.
BYTES_OPTIONS = frozenset(
    {zmq.IDENTITY, zmq.SUBSCRIBE, zmq.UNSUBSCRIBE, zmq.CURVE_PUBLICKEY, zmq.CURVE_SECRETKEY, zmq.CURVE_SERVERKEY, zmq.ZAP_DOMAIN}
)

#: Options whose value is an int.
INT_OPTIONS = frozenset(k for k in DEFAULTS if k not in BYTES_OPTIONS) | {zmq.TYPE, zmq.EVENTS}

_WRITABLE = (BYTES_OPTIONS | INT_OPTIONS) - {zmq.TYPE, zmq.EVENTS, zmq.RCVMORE}


def check_option(option: int, value: Any) -> Any:
    """*value* checked for *option* as pyzmq and libzmq check it; returns the value to store.

    Raises ``TypeError`` for ``str`` values (as pyzmq: use ``setsockopt_string``) and
    ``zmq.ZMQError(EINVAL)`` for unknown options or out-of-range values.
    """
    if isinstance(value, str):
        raise TypeError("unicode not allowed, use setsockopt_string")
    if option not in _WRITABLE:
        raise zmq.ZMQError(zmq.EINVAL, f"socket option {option} is not settable in the simulation")
    if option in BYTES_OPTIONS:
        if isinstance(value, (bytearray, memoryview)):
            value = bytes(value)
        if not isinstance(value, bytes):
            raise TypeError(f"socket option {option} needs bytes, got {value!r}")
        if option == zmq.IDENTITY and (not 0 < len(value) <= 255 or value[0] == 0):
            raise zmq.ZMQError(zmq.EINVAL, f"IDENTITY must be 1..255 bytes not starting with a zero byte, got {value!r}")
        if option in (zmq.CURVE_PUBLICKEY, zmq.CURVE_SECRETKEY, zmq.CURVE_SERVERKEY) and len(value) not in (32, 40):
            raise zmq.ZMQError(zmq.EINVAL, f"CURVE keys are 32 raw bytes or 40 bytes of Z85 text, got {len(value)} bytes")
        return value
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, int):
        raise TypeError(f"socket option {option} needs an int, got {value!r}")
    return value


class OptionsMixin:
    """``setsockopt``/``getsockopt`` and friends for ``SimSocket``; values live in ``_opts``."""

    if TYPE_CHECKING:
        socket_type: int
        _opts: dict[int, Any]
        _sndhwm: int
        _rcvhwm: int
        max_msg_size: int
        _last_endpoint: bytes
        _recv_partial: list[bytes]

        def check_open(self) -> None: ...
        def _subscribe(self, topic: bytes, on: bool) -> None: ...
        def poll(self, timeout: int | None = None, flags: int = 1) -> int: ...

    def setsockopt(self, option: int, value: int | bytes) -> None:
        """Set *option* (a pyzmq constant) to *value*; ``str`` raises ``TypeError`` as in pyzmq."""
        self.check_open()
        checked: Any = check_option(option, value)
        if option in (zmq.SUBSCRIBE, zmq.UNSUBSCRIBE):
            self._subscribe(checked, option == zmq.SUBSCRIBE)
            return
        self._opts[option] = checked
        if option == zmq.SNDHWM:
            self._sndhwm = checked
        elif option == zmq.RCVHWM:
            self._rcvhwm = checked
        elif option == zmq.MAXMSGSIZE:
            self.max_msg_size = checked

    def getsockopt(self, option: int) -> int | bytes:
        """The value of *option*: what was set, or libzmq's default."""
        self.check_open()
        if option == zmq.TYPE:
            return self.socket_type
        if option == zmq.EVENTS:
            return self.poll(0, 3)  # POLLIN | POLLOUT
        if option == zmq.LAST_ENDPOINT:
            return self._last_endpoint
        if option == zmq.RCVMORE:
            return int(bool(self._recv_partial))
        if option == zmq.MECHANISM:
            curve = self._opts.get(zmq.CURVE_SERVER) or zmq.CURVE_SERVERKEY in self._opts
            return zmq.CURVE if curve else zmq.NULL
        if option in self._opts:
            value: int | bytes = self._opts[option]
            return value
        if option in DEFAULTS:
            return DEFAULTS[option]  # type: ignore[no-any-return]
        if option in BYTES_OPTIONS:
            return b""
        raise zmq.ZMQError(zmq.EINVAL, f"socket option {option} is not known to the simulation")

    set = setsockopt
    get = getsockopt

    def setsockopt_string(self, option: int, value: str, encoding: str = "utf-8") -> None:
        """Set a bytes option from text."""
        self.setsockopt(option, value.encode(encoding))

    def getsockopt_string(self, option: int, encoding: str = "utf-8") -> str:
        value = self.getsockopt(option)
        assert isinstance(value, bytes)
        return value.decode(encoding)

    def option_set(self, option: int, default: Any = None) -> Any:
        """The value set for *option*, or *default* if none was (unlike ``getsockopt``, no libzmq default, open or closed)."""
        return self._opts.get(option, default)

    def reconnect_interval(self) -> float:
        return float(self._opts.get(zmq.RECONNECT_IVL, 100)) / 1000.0

    def _linger_s(self) -> float | None:
        linger = self._opts.get(zmq.LINGER, -1)
        return None if linger < 0 else linger / 1000.0
