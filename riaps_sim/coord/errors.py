"""The errors of the coordination layer: bad bytes from a peer, and misuse by the caller."""

from __future__ import annotations

__all__ = ["WireError", "CoordError"]


class WireError(ValueError):
    """A frame from a peer could not be decoded.

    Raised by :func:`riaps_sim.coord.wire.decode` for an unknown command code, a payload of the
    wrong length, a corrupt Cap'n Proto message, an enum value out of range or a field out of
    range. The message names the command, what was expected and what arrived. A runtime catches
    it, traces a drop with the message as its cause, and keeps going: bad input from a peer never
    stops the loop.

    Attributes
    ----------
    cmd : bytes
        The command code as received (possibly unknown).
    expected : str
        What a well-formed payload looks like.
    actual : str
        What arrived instead.
    """

    def __init__(self, cmd: bytes, expected: str, actual: str) -> None:
        self.cmd = bytes(cmd)
        self.expected = expected
        self.actual = actual
        super().__init__(f"bad {self.cmd!r} frame: expected {expected}, got {actual}")

    def __reduce__(self) -> tuple[type[WireError], tuple[bytes, str, str]]:
        return (type(self), (self.cmd, self.expected, self.actual))


class CoordError(RuntimeError):
    """The caller misused a protocol machine (a local error, never caused by a peer).

    Examples: an input before ``Join``, a second ``Join``, any input after ``Leave``, or an
    internal inconsistency such as an action leaving a role its table row does not allow. The
    machine's state is unchanged when it is raised.
    """
