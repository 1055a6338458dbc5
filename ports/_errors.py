"""The three exceptions the group ports raise.

Re-exported from :mod:`ports`.
"""

from __future__ import annotations

__all__ = ["PortError", "OperationError", "SetupError"]


class PortError(Exception):
    """A port operation failed on the socket, or a peer sent a frame list of the wrong shape.

    Parameters
    ----------
    message:
        What failed, naming the port.
    errno:
        The errno of the cause: the ZeroMQ errno for socket failures, ``errno.EAGAIN`` when there was
        nothing to receive or the send queue was full, ``errno.EPROTO`` for malformed frames.
        ``None`` when there is no errno. (The reference requires this argument and some of its own
        call sites forget it, B7; here it is optional.)

    The port stays usable after a ``PortError``.
    """

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message, errno)
        self.message = message
        self.errno = errno

    def __str__(self) -> str:
        return self.message if self.errno is None else f"{self.message} (errno {self.errno})"


class OperationError(Exception):
    """The caller asked a port for something it does not do: the wrong direction, or the wrong state."""


class SetupError(Exception):
    """A port was used before its socket was set up, or was set up with a bad specification."""
