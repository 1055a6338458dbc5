"""``Calibration``: what the simulator should do differently to behave like a measured real system.

A calibration holds distributions (``riaps_sim.net`` latencies: constant, uniform, normal,
lognormal, empirical), each applied in simulation when present:

- *latency*: the one-way delay of every link without one of its own, and *links* for particular
  (source, target) pairs: the delay a message takes from a send to its delivery to the receiving
  member (transport, wake-up, decoding), as the real run measured it;
- *processing*: the time a node is busy for each message it handles, and *nodes* for particular
  nodes: input and timers that fall due meanwhile wait, so bursts queue as on a real member;
- *timer_lateness*: how late a node's timers run after they fall due.

*measured* keeps how the measured quantities spread (``Spread``: count, median, p90, max), by
name, for the reader: per command latency (``latency.tic``), handler service time, timer
lateness, process boot time. *source* says in words what was measured. ``riaps_sim.calibration.files``
reads and writes the TOML form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..net import Network
from ..net.latency import Latency
from ..netprofile import NetworkProfile
from ..runtime.sim import LoopModel
from .stats import Spread

__all__ = ["Calibration", "LinkLatency", "NodeCost"]


def _check_latency(where: str, value: Any, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, Latency):
        raise ValueError(
            f"{where} must be a distribution from riaps_sim.net (Constant, Uniform, TruncatedNormal, LogNormal, Empirical), got {value!r}"
        )


@dataclass(frozen=True, slots=True)
class LinkLatency:
    """The one-way *latency* (a distribution, seconds) of messages from node *source* to node *target*."""

    source: str
    target: str
    latency: Latency

    def __post_init__(self) -> None:
        for name in ("source", "target"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"LinkLatency.{name} must be a node name, got {getattr(self, name)!r}")
        _check_latency(f"link {self.source}->{self.target} latency", self.latency, optional=False)


@dataclass(frozen=True, slots=True)
class NodeCost:
    """How long node *node* is busy for each message it handles (*processing*, a distribution in seconds)."""

    node: str
    processing: Latency

    def __post_init__(self) -> None:
        if not isinstance(self.node, str) or not self.node:
            raise ValueError(f"NodeCost.node must be a node name, got {self.node!r}")
        _check_latency(f"node {self.node} processing", self.processing, optional=False)


@dataclass(frozen=True)
class Calibration:
    """Latency, processing cost and timer lateness for the simulator (see the module docstring).

    Examples
    --------
    >>> from riaps_sim.net import Constant
    >>> cal = Calibration(latency=Constant(0.002), processing=Constant(0.0005))
    >>> cal.latency_for("n0", "n1"), cal.loop_model("n0").processing
    (Constant(delay=0.002), Constant(delay=0.0005))
    """

    latency: Latency | None = None
    links: tuple[LinkLatency, ...] = ()
    processing: Latency | None = None
    nodes: tuple[NodeCost, ...] = ()
    timer_lateness: Latency | None = None
    measured: Mapping[str, Spread] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "links", tuple(self.links))
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "measured", dict(self.measured))  # a plain dict: scenarios travel to sweep workers by pickle
        _check_latency("Calibration.latency", self.latency)
        _check_latency("Calibration.processing", self.processing)
        _check_latency("Calibration.timer_lateness", self.timer_lateness)
        for i, link in enumerate(self.links):
            if not isinstance(link, LinkLatency):
                raise ValueError(f"Calibration.links[{i}] must be a LinkLatency, got {link!r}")
        for i, cost in enumerate(self.nodes):
            if not isinstance(cost, NodeCost):
                raise ValueError(f"Calibration.nodes[{i}] must be a NodeCost, got {cost!r}")
        pairs = [(link.source, link.target) for link in self.links]
        repeated = sorted({p for p in pairs if pairs.count(p) > 1})
        if repeated:
            raise ValueError(f"Calibration.links: each (source, target) once, repeated: {repeated}")
        names = [cost.node for cost in self.nodes]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"Calibration.nodes: each node once, repeated: {twice}")
        for name, spread in self.measured.items():
            if not isinstance(spread, Spread):
                raise ValueError(f"Calibration.measured[{name!r}] must be a Spread, got {spread!r}")
        if not isinstance(self.source, str):
            raise ValueError(f"Calibration.source must be a string, got {self.source!r}")

    def __repr__(self) -> str:
        parts = [f"latency {_name(self.latency)}"]
        if self.links:
            parts.append(f"{len(self.links)} link(s) of their own")
        parts.append(f"processing {_name(self.processing)}")
        if self.nodes:
            parts.append(f"{len(self.nodes)} node(s) of their own")
        parts.append(f"timer lateness {_name(self.timer_lateness)}")
        return f"<Calibration {', '.join(parts)}{'; ' + self.source if self.source else ''}>"

    @property
    def shapes_network(self) -> bool:
        """Whether it sets any link latency (the simulated LAN is then built from it)."""
        return self.latency is not None or bool(self.links)

    def build_network(self, seed: int, hosts: list[tuple[str, str | None]], profile: NetworkProfile | None = None) -> Network:
        """The simulated LAN of *hosts* (name, address) with this calibration's latencies.

        Loss, reordering and the rest come from *profile* (default ``NetworkProfile()``). Without
        links of their own, it is the profile's switched LAN with the calibrated latency; with
        them, every ordered pair of hosts gets a one-way link of its own latency (or the default).
        """
        profile = profile if profile is not None else NetworkProfile()
        if not self.links:
            return replace(profile, latency=self.latency if self.latency is not None else profile.latency).build(seed, hosts)
        network = Network(seed=seed)
        network.set_reordering(profile.reorder)
        for name, address in hosts:
            network.add_host(name, address=address, switch=None)
        for source, _ in hosts:
            for target, _ in hosts:
                if source != target:
                    latency = self.latency_for(source, target)
                    network.add_link(source, target, latency=latency if latency is not None else profile.latency, loss=profile.loss, one_way=True)
        return network

    def latency_for(self, source: str, target: str) -> Latency | None:
        """The latency of messages from *source* to *target*: the link's own, else the default (``None``: the simulator's)."""
        for link in self.links:
            if link.source == source and link.target == target:
                return link.latency
        return self.latency

    def processing_for(self, node: str) -> Latency | None:
        """How long *node* is busy per message handled: its own, else the default (``None``: not modelled)."""
        for cost in self.nodes:
            if cost.node == node:
                return cost.processing
        return self.processing

    def loop_model(self, node: str) -> LoopModel | None:
        """What the simulated loop of *node* models (processing cost, timer lateness), or ``None`` for neither."""
        processing = self.processing_for(node)
        if processing is None and self.timer_lateness is None:
            return None
        return LoopModel(processing=processing, timer_lateness=self.timer_lateness)

    def describe(self) -> list[str]:
        """Lines for a person: what it applies and what was measured."""
        lines = [f"calibration{': ' + self.source if self.source else ''}"]
        lines.append(f"  link latency: {_name(self.latency)}" + (f", and {len(self.links)} link(s) of their own" if self.links else ""))
        lines.append(f"  processing per message: {_name(self.processing)}" + (f", and {len(self.nodes)} node(s) of their own" if self.nodes else ""))
        lines.append(f"  timer lateness: {_name(self.timer_lateness)}")
        if self.measured:
            lines.append("  measured:")
            width = max(len(name) for name in self.measured)
            lines.extend(f"    {name:{width}}  {spread}" for name, spread in self.measured.items())
        return lines

    def __str__(self) -> str:
        return "\n".join(self.describe())


def _name(latency: Latency | None) -> str:
    if latency is None:
        return "not set"
    if hasattr(latency, "samples"):
        samples = latency.samples
        return f"empirical ({len(samples)} points, mean {latency.mean * 1000:.3f} ms)"
    return f"{type(latency).__name__} (mean {latency.mean * 1000:.3f} ms)"
