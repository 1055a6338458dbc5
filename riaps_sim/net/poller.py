"""``Poller``: pyzmq's ``Poller`` shape over simulated sockets, plus a SimPy event to wait on.

``poll(timeout_ms)`` answers at once, whatever the timeout, because the simulation cannot block
inside a call; ``wait(timeout_s)`` is the waiting form: a SimPy event that succeeds with the
same list of ``(socket, mask)`` when input arrives, or with ``[]`` when the timeout passes.
"""

from __future__ import annotations

import simpy
import zmq

from .sockets import SimSocket, Wakeup

__all__ = ["Poller"]


class Poller:
    """Watch simulated sockets for input (``POLLIN``) and room to send (``POLLOUT``).

    Examples
    --------
    >>> from riaps_sim.net import Network
    >>> import zmq
    >>> net = Network()
    >>> sock = net.add_host("a").context.socket(zmq.SUB)
    >>> poller = Poller()
    >>> poller.register(sock, zmq.POLLIN)
    >>> poller.poll(1000)
    []
    """

    def __init__(self) -> None:
        self._sockets: dict[SimSocket, int] = {}

    def __repr__(self) -> str:
        return f"<Poller of {len(self._sockets)} socket(s)>"

    def register(self, socket: SimSocket, flags: int = zmq.POLLIN | zmq.POLLOUT) -> None:
        """Watch *socket* for *flags*; registering again replaces the flags, 0 unregisters."""
        if not isinstance(socket, SimSocket):
            raise TypeError(f"the simulated Poller watches simulated sockets only, got {socket!r}")
        if flags:
            self._sockets[socket] = flags
        else:
            self._sockets.pop(socket, None)

    modify = register

    def unregister(self, socket: SimSocket) -> None:
        """Stop watching *socket*; ``KeyError`` if it was not registered, as in pyzmq."""
        del self._sockets[socket]

    @property
    def sockets(self) -> list[tuple[SimSocket, int]]:
        return list(self._sockets.items())

    def poll(self, timeout: int | None = None) -> list[tuple[SimSocket, int]]:
        """The registered sockets ready now, as ``(socket, mask)``; *timeout* (ms) is ignored."""
        ready = []
        for socket, flags in self._sockets.items():
            mask = socket.poll(0, flags)
            if mask:
                ready.append((socket, mask))
        return ready

    def wait(self, timeout_s: float | None = None) -> simpy.Event:
        """A SimPy event that succeeds with ``poll()``'s list once some socket has input, or ``[]`` after *timeout_s*.

        Raises ``ValueError`` if no socket is registered, as there would be nothing to wait for.
        """
        if not self._sockets:
            raise ValueError("Poller.wait() with no registered socket would never wake; register a socket first")
        env = next(iter(self._sockets)).env
        event = Wakeup(env, self)
        ready = self.poll(0)
        if ready:
            event.succeed(ready)
            return event
        for socket, flags in self._sockets.items():
            if flags & zmq.POLLIN:
                socket.check_open()
                socket.add_waiter(event)
        if timeout_s is not None:
            timer = env.timeout(timeout_s)

            def give_up(_timer: simpy.Event) -> None:
                if not event.triggered:
                    event.succeed([])

            timer.callbacks.append(give_up)
        return event
