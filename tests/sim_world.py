"""The simulated world for the port suite: every part on a host of its own in one fresh ``Network``.

Waiting advances virtual time, event by event, until the condition holds or the deadline (in
virtual seconds) passes; nothing here sleeps or reads the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ports
from riaps_sim.net import Network
from worlds import PATIENCE_S, World


class SimWorld(World):
    """Parts on hosts 10.0.0.1, 10.0.0.2, ... of a switched LAN with 0.5 ms links (1 ms host to host)."""

    name = "sim"
    reports_handshakes = True

    def __init__(self, seed: int = 0) -> None:
        self.network = Network(seed=seed)
        self._count = 0

    def part(self, name: str, keys: ports.CurveKeys | None = None, options: ports.PortOptions | None = None) -> ports.Part:
        self._count += 1
        host = f"{name}#{self._count}"
        self.network.add_host(host)
        return self.network.part(host, keys=keys, options=options, name=name)

    def wait_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        env = self.network.env
        deadline = env.now + (PATIENCE_S if timeout is None else timeout)
        while not predicate():
            if env.peek() > deadline:
                if deadline > env.now:
                    env.run(until=deadline)
                return predicate()
            env.step()
        return True

    def wait_readable(self, socket: Any, timeout: float | None = None) -> bool:
        return self.wait_until(lambda: bool(socket.poll(0)), timeout)

    def close(self) -> None:
        for host in self.network.hosts:
            host.context.destroy(linger=0)
