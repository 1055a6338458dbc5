"""Endpoints, IPv4 addresses and stable seeds: the small pure helpers the network model shares.

Seeds are derived with BLAKE2b over the text of their parts, never with Python's ``hash()``,
whose value for strings changes with ``PYTHONHASHSEED``: the same scenario seed gives the same
per-host and per-link generators in every process.
"""

from __future__ import annotations

import ipaddress
import random
from hashlib import blake2b

import zmq

__all__ = ["derive_seed", "derived_random", "parse_endpoint", "default_address", "check_address", "WILDCARDS"]

#: Bind addresses that mean "every interface of this host".
WILDCARDS = ("*", "0.0.0.0")

_BASE = int(ipaddress.IPv4Address("10.0.0.0"))


def derive_seed(seed: int | str, *parts: object) -> int:
    """A 64-bit seed from *seed* and *parts* (names, kinds), the same in every process."""
    text = repr((seed, *parts)).encode("utf-8")
    return int.from_bytes(blake2b(text, digest_size=8).digest(), "big")


def derived_random(seed: int | str, *parts: object) -> random.Random:
    """A ``random.Random`` seeded with ``derive_seed(seed, *parts)``."""
    return random.Random(derive_seed(seed, *parts))


def default_address(index: int) -> str:
    """The *index*-th automatic host address: 10.0.0.1 ... 10.0.0.254, then 10.0.1.1, and so on."""
    if index < 0 or index >= 254 * 256 * 256:
        raise ValueError(f"no automatic address for host number {index}; give addresses explicitly")
    high, low = divmod(index, 254)
    return str(ipaddress.IPv4Address(_BASE + high * 256 + low + 1))


def check_address(address: str) -> str:
    """*address* normalised as dotted IPv4 text, or ``ValueError`` saying what is wrong."""
    try:
        parsed = ipaddress.IPv4Address(address)
    except (ipaddress.AddressValueError, ValueError):
        raise ValueError(f"host address must be IPv4 text like '10.0.0.7', got {address!r}") from None
    if parsed.is_loopback or parsed.is_unspecified or parsed.is_multicast:
        raise ValueError(f"host address {address!r} is loopback, unspecified or multicast; use a unicast address")
    return str(parsed)


def parse_endpoint(endpoint: str, allow_wildcard_port: bool = False) -> tuple[str, str, int | None]:
    """Split ``tcp://host:port`` into ``(transport, host, port)``.

    *port* is ``None`` for ``*`` when *allow_wildcard_port* (a bind to any free port). Raises
    ``zmq.ZMQError`` with ``EINVAL`` for a malformed endpoint and ``EPROTONOSUPPORT`` for a
    transport the simulation does not model, as libzmq does.
    """
    if isinstance(endpoint, bytes):
        endpoint = endpoint.decode("utf-8")
    if not isinstance(endpoint, str):
        raise TypeError(f"endpoint must be str like 'tcp://10.0.0.3:5555', got {endpoint!r}")
    transport, sep, rest = endpoint.partition("://")
    if not sep:
        raise zmq.ZMQError(zmq.EINVAL, f"invalid endpoint {endpoint!r}: expected 'tcp://host:port'")
    if transport != "tcp":
        raise zmq.ZMQError(zmq.EPROTONOSUPPORT, f"transport {transport!r} in {endpoint!r} is not simulated; use tcp://host:port")
    host, sep, port_text = rest.rpartition(":")
    if not sep or not host:
        raise zmq.ZMQError(zmq.EINVAL, f"invalid endpoint {endpoint!r}: expected 'tcp://host:port'")
    if port_text == "*" and allow_wildcard_port:
        return transport, host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise zmq.ZMQError(zmq.EINVAL, f"invalid endpoint {endpoint!r}: port must be 1..65535")
    return transport, host, int(port_text)
