"""Simulated discovery: registrations reach the other nodes' directories after a delay.

It plays the role of the RIAPS discovery service inside the SimPy model. A node's own
registrations reach its own directory at once (so its sub port connects to its own pub, as in
RIAPS); the other nodes hear of them ``delay_s`` seconds later. A crashed node's endpoints are
forgotten ``ttl_s`` seconds after the crash, as the real beacon discovery forgets a silent node.
"""

from __future__ import annotations

from typing import Any

from .directory import Directory, Endpoint

__all__ = ["SimDiscovery", "NodeDiscovery"]

FOREVER = float("inf")


class NodeDiscovery:
    """One node's view of the simulated discovery service (what its runtime talks to)."""

    def __init__(self, service: SimDiscovery, node: str) -> None:
        self.service = service
        self.node = node
        self.directory = Directory()

    def __repr__(self) -> str:
        return f"<NodeDiscovery {self.node} {self.directory!r}>"

    def register(self, endpoint: Endpoint) -> None:
        self.directory.register(endpoint)
        self.service._announce(self.node)

    def unregister(self, endpoint: Endpoint) -> None:
        self.directory.unregister(endpoint)
        self.service._announce(self.node)


class SimDiscovery:
    """The discovery service of a simulated network.

    Parameters
    ----------
    env:
        The SimPy environment.
    delay_s:
        Seconds for a registration or withdrawal to reach the other nodes.
    ttl_s:
        Seconds after a crash until the crashed node's endpoints are forgotten.
    """

    def __init__(self, env: Any, delay_s: float = 0.05, ttl_s: float = 0.75) -> None:
        if delay_s < 0 or ttl_s < 0:
            raise ValueError(f"discovery delay and ttl must be >= 0 seconds, got {delay_s!r} and {ttl_s!r}")
        self.env = env
        self.delay_s = delay_s
        self.ttl_s = ttl_s
        self._nodes: dict[str, NodeDiscovery] = {}

    def for_node(self, node: str) -> NodeDiscovery:
        """A fresh view for *node* (a restarted node gets a new, empty one)."""
        view = self._nodes[node] = NodeDiscovery(self, node)
        for other in list(self._nodes.values()):
            if other is not view and other.directory.local():
                view.directory.heard(other.directory.local(), other.node, FOREVER)
        return view

    def node_down(self, node: str) -> None:
        """*node* crashed: its endpoints vanish from the others' directories after ``ttl_s``."""
        self._later(self.ttl_s, node, [])

    def _announce(self, node: str) -> None:
        self._later(self.delay_s, node, self._nodes[node].directory.local())

    def _later(self, delay: float, node: str, endpoints: list[Endpoint]) -> None:
        def deliver(_event: Any) -> None:
            for other in list(self._nodes.values()):
                if other.node != node:
                    other.directory.heard(endpoints, node, FOREVER)

        self.env.timeout(delay).callbacks.append(deliver)
