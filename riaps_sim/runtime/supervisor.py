"""Supervision of real node processes: start, ready, kill, stop, and deaths noticed.

Each node runs in a fresh interpreter, ``python -m riaps_sim.runtime.nodeproc FD`` (a plain
subprocess, not ``multiprocessing``: nothing re-runs the user's ``__main__``, whatever the start
method of the platform, and a script without an ``if __name__ == "__main__"`` guard works). The
parent keeps one end of a Unix socket pair per node as a ``multiprocessing.connection.Connection``
and sends the node's ``NodeLaunch`` on it first, by value (``riaps_sim.runtime.shipping``), then
``Start`` and faults. When the parent goes away the connection closes and the node stops, so no node
process outlives its run.

The child gets the parent's ``sys.path`` (as ``PYTHONPATH``), as ``multiprocessing``'s spawn does,
so modules the parent can import by name, the child can too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, cast

from .launch import NodeLaunch, Ready
from .shipping import ByValue

__all__ = ["NodeHandle", "NodeSupervisor", "Death", "sigterm_as_exit"]

log = logging.getLogger("riaps_sim.runtime")


class NodeHandle:
    """One node process: the ``multiprocessing.Process``-like face of a ``subprocess.Popen``."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], control: Connection) -> None:
        self.name = name
        self.popen = popen
        self.control = control
        self.hung_up = False  #: the node's end of the control connection has closed (it has ended)

    def __repr__(self) -> str:
        state = "alive" if self.is_alive() else f"exit {self.exitcode}"
        return f"<NodeHandle {self.name} pid {self.pid} {state}>"

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def exitcode(self) -> int | None:
        """``None`` while it runs; the exit status, or ``-N`` for signal N, once it has ended."""
        return self.popen.poll()

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def terminate(self) -> None:
        if self.is_alive():
            self.popen.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.is_alive():
            self.popen.kill()

    def join(self, timeout: float | None = None) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def send(self, message: Any) -> bool:
        """Send *message* on the control connection; ``False`` if the node is gone."""
        try:
            self.control.send(message)
        except (OSError, ValueError):
            return False
        return True

    def receive(self) -> list[Any]:
        """What the node has sent since the last call (without waiting); nothing once it has hung up."""
        out: list[Any] = []
        try:
            while not self.hung_up and self.control.poll():
                out.append(self.control.recv())
        except (EOFError, OSError):
            self.hung_up = True
        return out

    def close(self) -> None:
        self.control.close()


@dataclass(frozen=True, slots=True)
class Death:
    """A node process that ended on its own."""

    node: str
    pid: int
    exitcode: int


def _child_environment() -> dict[str, str]:
    paths = [p for p in sys.path if isinstance(p, str) and p and os.path.exists(p)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


class NodeSupervisor:
    """The node processes of one run, by node name (a restarted node replaces its old handle)."""

    def __init__(self) -> None:
        self.handles: dict[str, NodeHandle] = {}
        self._settled: set[int] = set()  # pids whose end is accounted for (killed by us, or reported)

    def __repr__(self) -> str:
        return f"<NodeSupervisor alive={self.alive()}>"

    def spawn(self, launch: NodeLaunch) -> NodeHandle:
        """Start a process for *launch*'s node and send it the launch."""
        name = launch.plan.name
        shipped = ByValue(launch, what=f"the launch of node {name!r} (its components {sorted(launch.plan.components)})")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            popen = subprocess.Popen(
                [sys.executable, "-m", "riaps_sim.runtime.nodeproc", str(theirs.fileno())], pass_fds=(theirs.fileno(),), env=_child_environment()
            )
        finally:
            theirs.close()
        old = self.handles.pop(name, None)
        if old is not None:
            old.close()
        handle = self.handles[name] = NodeHandle(name, popen, Connection(ours.detach()))
        handle.send(shipped)
        return handle

    def alive(self) -> list[str]:
        return [name for name, handle in self.handles.items() if handle.is_alive()]

    def is_alive(self, name: str) -> bool:
        handle = self.handles.get(name)
        return handle is not None and handle.is_alive()

    def kill(self, name: str) -> None:
        """SIGKILL the node's process (a crash) and wait for it to end."""
        handle = self.handles[name]
        handle.kill()
        handle.join(5)
        self._settled.add(handle.pid)

    def pause(self, name: str) -> None:
        """Stall the node's process (SIGSTOP): its loop, timers and handlers stop; the kernel keeps its input."""
        handle = self.handles[name]
        if handle.is_alive():
            handle.popen.send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        """Let a stalled node's process run on (SIGCONT)."""
        handle = self.handles.get(name)
        if handle is not None and handle.is_alive():
            handle.popen.send_signal(signal.SIGCONT)

    def send(self, name: str, message: Any) -> bool:
        return self.handles[name].send(message)

    def broadcast(self, message: Any) -> None:
        """Send *message* to every live node."""
        for handle in self.handles.values():
            if handle.is_alive():
                handle.send(message)

    def receive(self, timeout_s: float = 0.0) -> list[tuple[str, Any]]:
        """``(node, message)`` for what the nodes sent, waiting up to *timeout_s* seconds for the first.

        Without anything to listen to (no node still connected), it waits the *timeout_s* out.
        """
        listening = {h.control: h for h in self.handles.values() if not h.hung_up and not h.control.closed}
        if not listening:
            time.sleep(timeout_s)  # the parent's own pace, not a node's: nothing can arrive meanwhile
            return []
        out: list[tuple[str, Any]] = []
        for ready in wait(list(listening), timeout=timeout_s):
            handle = listening[cast(Connection, ready)]
            out.extend((handle.name, message) for message in handle.receive())
        return out

    def await_ready(self, names: list[str], timeout_s: float = 60.0) -> None:
        """Wait until every named node has said ``Ready``; fail if one dies or *timeout_s* passes."""
        waiting = {self.handles[n].control: n for n in names}
        deadline = time.monotonic() + timeout_s
        while waiting:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"node processes {sorted(waiting.values())} did not start within {timeout_s:g} s")
            for ready in wait(list(waiting), timeout=min(0.2, remaining)):
                connection = cast(Connection, ready)
                name = waiting[connection]
                try:
                    message = connection.recv()
                except (EOFError, OSError):
                    message = None
                if not isinstance(message, Ready):
                    self.handles[name].join(1)
                    raise RuntimeError(f"node process {name} died while starting (exit code {self.handles[name].exitcode}); see its log lines above")
                del waiting[connection]
            dead = [n for n in waiting.values() if not self.handles[n].is_alive()]
            if dead:
                raise RuntimeError(f"node process(es) {dead} died while starting; see their log lines above")

    def deaths(self) -> list[Death]:
        """Processes that ended on their own since the last call (not killed, not stopped by us)."""
        out = []
        for name, handle in self.handles.items():
            code = handle.exitcode
            if code is not None and handle.pid not in self._settled:
                self._settled.add(handle.pid)
                out.append(Death(name, handle.pid, code))
        return out

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM every node, wait up to *timeout_s* seconds in all, then SIGKILL what still runs."""
        for handle in self.handles.values():
            handle.terminate()
        deadline = time.monotonic() + timeout_s
        for name, handle in self.handles.items():
            handle.join(max(0.0, deadline - time.monotonic()))
            if handle.is_alive():
                log.warning("node %s (pid %s) did not stop within %g s of SIGTERM; killing it", name, handle.pid, timeout_s)
                handle.kill()
                handle.join(1)
            if handle.exitcode in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
                self._settled.add(handle.pid)
            handle.close()


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """While a run goes on in the main thread, SIGTERM raises ``SystemExit`` so clean-up runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
