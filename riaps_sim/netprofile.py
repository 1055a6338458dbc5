"""The simulated network of a scenario, in a few numbers: latency, loss, reordering, discovery delay.

Without a profile (and without a topology) nodes sit on one switched LAN whose links take 0.5 ms
each way (1 ms host to host). A ``NetworkProfile`` says what the LAN is like instead:

- *latency*: the one-way delay from any node to any other, a number of seconds or a distribution
  from ``riaps_sim.net`` (``Constant``, ``Uniform``, ``TruncatedNormal``, ``LogNormal``,
  ``Empirical`` samples, for instance measured ones). Each message draws once from it;
- *loss*: the probability that a message between two nodes is lost;
- *reorder*: let messages of one connection overtake each other when their delays differ (real
  TCP never does; this models a network or a transport that may);
- *discovery_delay_s*: how long discovery takes to tell the nodes of a new endpoint.

A real run applies *latency*, *loss* and *reorder* too, in each node's message layer, on top of
the network it has (``riaps_sim.runtime.linkfaults.LinkProfile``), so a loss study stays one on
real ZeroMQ; it refuses a *discovery_delay_s* other than the default, which it cannot honour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from .net import Network
from .net.latency import Constant, Empirical, Latency, LogNormal, TruncatedNormal, Uniform, as_latency

__all__ = ["NetworkProfile", "LATENCY_KINDS", "latency_from_table"]

#: TOML ``kind`` of each latency distribution, and its class.
LATENCY_KINDS: dict[str, type[Latency]] = {
    "constant": Constant,
    "uniform": Uniform,
    "normal": TruncatedNormal,
    "lognormal": LogNormal,
    "empirical": Empirical,
}


@dataclass(frozen=True)
class NetworkProfile:
    """The LAN: one-way *latency* (seconds or a distribution), *loss*, *reorder*, *discovery_delay_s* (see the module)."""

    latency: Latency | float = 0.001
    loss: float = 0.0
    reorder: bool = False
    discovery_delay_s: float = 0.05

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "latency", as_latency(self.latency))
        except TypeError as exc:
            raise ValueError(f"NetworkProfile.latency: {exc}") from None
        if not isinstance(self.loss, (int, float)) or isinstance(self.loss, bool) or not 0 <= self.loss < 1:
            raise ValueError(f"NetworkProfile.loss must be a probability in [0, 1), got {self.loss!r}")
        if not isinstance(self.reorder, bool):
            raise ValueError(f"NetworkProfile.reorder must be true or false, got {self.reorder!r}")
        if (
            not isinstance(self.discovery_delay_s, (int, float))
            or isinstance(self.discovery_delay_s, bool)
            or not self.discovery_delay_s >= 0
            or math.isinf(self.discovery_delay_s)
        ):
            raise ValueError(f"NetworkProfile.discovery_delay_s must be a finite number of seconds >= 0, got {self.discovery_delay_s!r}")

    def build(self, seed: int, hosts: list[tuple[str, str | None]]) -> Network:
        """A switched LAN of *hosts* (name, address) on which a message from any host to any other
        takes one draw of *latency* and is lost with *loss*: the host-to-switch link carries both,
        the switch-to-host link is instant."""
        network = Network(seed=seed)
        network.set_reordering(self.reorder)
        network.add_switch("lan")
        for name, address in hosts:
            network.add_host(name, address=address, switch=None)
            network.add_link(name, "lan", latency=self.latency, loss=self.loss, one_way=True)
            network.add_link("lan", name, latency=0.0, one_way=True)
        return network


def latency_from_table(table: dict[str, Any]) -> Latency:
    """A distribution from a TOML table: ``{ kind = "uniform", low = 0.001, high = 0.004 }``."""
    table = dict(table)
    kind = table.pop("kind", None)
    if kind not in LATENCY_KINDS:
        raise ValueError(f"latency kind must be one of {sorted(LATENCY_KINDS)}, got {kind!r}")
    cls = LATENCY_KINDS[kind]
    known = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ValueError(f"unknown field(s) {unknown} for a {kind} latency; expected {known}")
    try:
        return cls(**table)
    except TypeError as exc:
        raise ValueError(f"a {kind} latency needs {known}: {exc}") from None
