"""The worlds a test can run in: real ZeroMQ (tcp loopback, inproc) and, once it exists, simulation.

A test written against ``World`` runs unchanged in each (one suite, two worlds). Waiting is always
on a condition with a deadline: on real ZeroMQ the deadline is wall time and generous, because the
machine is noisy (the default, ``PATIENCE_S``, is scaled by the machine's load); in simulation it is
virtual time and exact. A short explicit timeout, as in "nothing arrives within 0.3 s", is taken as
given in every world.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import zmq
from wallclock import deadline_s

import ports

SPEC = {"message": "Msg", "timed": False, "kind": "leader"}
TIMED_SPEC = {"message": "Msg", "timed": True, "kind": "leader"}
#: How long a world waits by default for what must happen: seconds on an idle machine, or virtual seconds.
PATIENCE_S = 10.0


class World:
    """What every world offers to a test."""

    name = "abstract"
    #: Whether a refused CURVE handshake is reported through the port's monitor socket.
    reports_handshakes = True

    def part(self, name: str, keys: ports.CurveKeys | None = None, options: ports.PortOptions | None = None) -> ports.Part:
        """A new part on a host of its own (where the world has hosts)."""
        raise NotImplementedError

    def wait_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Let the world run until *predicate* holds or *timeout* seconds pass (by default the world's
        patience); return whether it held."""
        raise NotImplementedError

    def wait_readable(self, socket: Any, timeout: float | None = None) -> bool:
        """Let the world run until *socket* has a message or *timeout* seconds pass (by default the world's patience)."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class RealWorld(World):
    """Real ZeroMQ in this process, over tcp loopback or inproc."""

    def __init__(self, transport: str) -> None:
        self.name = f"real-{transport}"
        self.transport = transport
        self.context = zmq.Context()

    def part(self, name: str, keys: ports.CurveKeys | None = None, options: ports.PortOptions | None = None) -> ports.Part:
        return ports.Part(self.context, host="127.0.0.1", keys=keys, transport=self.transport, options=options, name=name)

    def wait_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        deadline = time.monotonic() + (deadline_s(PATIENCE_S) if timeout is None else timeout)
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

    def wait_readable(self, socket: Any, timeout: float | None = None) -> bool:
        return bool(socket.poll(int((deadline_s(PATIENCE_S) if timeout is None else timeout) * 1000), zmq.POLLIN))

    def close(self) -> None:
        self.context.destroy(linger=0)


def make_world(name: str) -> World:
    """Build the world called *name*: ``real-tcp``, ``real-inproc`` or ``sim``."""
    if name.startswith("real-"):
        return RealWorld(name.removeprefix("real-"))
    if name == "sim":
        from sim_world import SimWorld  # added with riaps_sim.net

        return SimWorld()
    raise ValueError(f"unknown world {name!r}")


def publish_until_received(
    world: World, pub: ports.GroupPubPort, sub: ports.GroupSubPort, payload: bytes = b"probe", timeout: float = PATIENCE_S
) -> list[bytes]:
    """Publish *payload* until *sub* receives it, riding out the slow-joiner window; return the frames.

    ZeroMQ drops what a PUB sends before a subscriber's connection is up, so the first message
    after ``connect`` may be lost in either world. Frames that are not *payload* are discarded.
    *timeout* is scaled by the machine's load (a step takes longer than 0.05 s in simulation only on failure).
    Probes sent after the one received are still on their way; a last *fence* message, which comes after
    them on the same connection, is read up to, so that the test's next message is the next it receives.
    """
    deadline_steps = max(1, int(deadline_s(timeout) / 0.05))
    for _ in range(deadline_steps):
        pub.sendGroup(b"msg", payload)
        while world.wait_readable(sub.getSocket(), 0.05):
            frames = sub.recvGroup()
            if frames[1] == payload:
                _read_up_to_fence(world, pub, sub, payload + b" fence", timeout)
                return frames
    raise AssertionError(f"{sub!r} never received {payload!r} from {pub!r} in {timeout} s")


def _read_up_to_fence(world: World, pub: ports.GroupPubPort, sub: ports.GroupSubPort, fence: bytes, timeout: float) -> None:
    """Send *fence* and read *sub* up to it, discarding what comes before (late probes)."""
    pub.sendGroup(b"msg", fence)
    while world.wait_readable(sub.getSocket(), deadline_s(timeout)):
        if sub.recvGroup()[1] == fence:
            return
    raise AssertionError(f"{sub!r} never received the fence {fence!r} from {pub!r}")
