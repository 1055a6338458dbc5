"""Field validation shared by the input and command dataclasses."""

from __future__ import annotations

import ipaddress
import math

ID_BYTES = 16
TERM_LIMIT = 2**32
VOTE_RESULTS = ("yes", "no", "timeout")  #: poll outcomes and ballot values, as plain strings (fixes B13)
POLL_KINDS = ("majority", "consensus")
POLL_SUBJECTS = ("value", "action")


def check_id(owner: str, field: str, value: object) -> None:
    """Raise unless *value* is a 16-byte member id."""
    if not isinstance(value, bytes) or len(value) != ID_BYTES:
        raise ValueError(f"{owner}.{field} must be a 16-byte member id, got {value!r}")


def check_term(owner: str, value: object) -> None:
    """Raise unless *value* is an int with ``0 <= value < 2**32`` (a ``!L`` on the wire)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < TERM_LIMIT:
        raise ValueError(f"{owner}.term must be an int with 0 <= term < 2**32, got {value!r}")


def check_bytes(owner: str, field: str, value: object, limit: int | None = None) -> None:
    """Raise unless *value* is bytes (at most *limit* long)."""
    if not isinstance(value, bytes) or (limit is not None and len(value) > limit):
        bound = f" of at most {limit} bytes" if limit is not None else ""
        raise ValueError(f"{owner}.{field} must be bytes{bound}, got {value!r}")


def check_choice(owner: str, field: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise unless *value* is one of the strings *choices*."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{owner}.{field} must be one of {choices}, got {value!r}")


def check_seconds(owner: str, field: str, value: object, *, minimum: float | None = None) -> None:
    """Raise unless *value* is a finite real number (not below *minimum*)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{owner}.{field} must be a finite number of seconds, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{owner}.{field} must be >= {minimum} s, got {value!r}")


def check_host(owner: str, host: object) -> None:
    try:
        ok = isinstance(host, str) and str(ipaddress.IPv4Address(host)) == host
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{owner}.host must be a dotted IPv4 address like '10.0.0.1', got {host!r}")


def check_port(owner: str, port: object, minimum: int) -> None:
    if not isinstance(port, int) or isinstance(port, bool) or not minimum <= port <= 65535:
        raise ValueError(f"{owner}.port must be an int in [{minimum}, 65535], got {port!r}")
