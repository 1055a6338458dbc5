"""``Link`` (one direction of an edge) and ``Route`` (the hops between two hosts): what a message's delay is made of.

A route's delay is the sum over its hops of a latency draw plus, on links with a bandwidth, the
time to serialise the message after whatever that link is still sending (store and forward). A
route whose hops are all constant, unlimited and lossless is *fixed*: its delay is one number and
the hot path adds it without drawing anything.
"""

from __future__ import annotations

import math
import random
from typing import Any

from .addressing import derive_seed
from .latency import Latency, as_latency

__all__ = ["Link", "Route", "check_rate", "check_bandwidth"]


def check_rate(name: str, rate: Any) -> float:
    """*rate* as a probability in [0, 1], or ``ValueError`` naming *name*."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name} must be a probability between 0 and 1, got {rate!r}")
    return float(rate)


def check_bandwidth(bandwidth: Any) -> float | None:
    """*bandwidth* in bits per second (``None`` for unlimited), or ``ValueError``."""
    if bandwidth is None:
        return None
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, (int, float)) or not bandwidth > 0 or math.isinf(bandwidth):
        raise ValueError(f"bandwidth must be a positive number of bits per second or None, got {bandwidth!r}")
    return float(bandwidth)


class Link:
    """One direction of a graph edge: latency, bandwidth (bits/s), loss and duplication rates.

    Its random generator is made on first use from (network seed, "link", source, target), so a
    link's draws do not depend on traffic elsewhere in the network.
    """

    __slots__ = ("source", "target", "latency", "bandwidth", "loss", "duplication", "busy_until", "_seed", "_rng")

    def __init__(
        self,
        source: Any,
        target: Any,
        seed: int | str,
        latency: Latency | float = 0.0005,
        bandwidth: float | None = None,
        loss: float = 0.0,
        duplication: float = 0.0,
    ) -> None:
        self.source = source
        self.target = target
        self.latency = as_latency(latency)
        self.bandwidth = check_bandwidth(bandwidth)
        self.loss = check_rate("loss", loss)
        self.duplication = check_rate("duplication", duplication)
        self.busy_until = 0.0
        self._seed = seed
        self._rng: random.Random | None = None

    @property
    def rng(self) -> random.Random:
        """This link's own generator."""
        if self._rng is None:
            self._rng = random.Random(derive_seed(self._seed, "link", str(self.source), str(self.target)))
        return self._rng

    @property
    def fixed(self) -> bool:
        """Whether every message takes the same time and none is lost or duplicated."""
        return self.latency.constant and self.bandwidth is None and self.loss == 0.0 and self.duplication == 0.0

    def __repr__(self) -> str:
        extra = "" if self.bandwidth is None else f" {self.bandwidth:g} bit/s"
        if self.loss:
            extra += f" loss={self.loss:g}"
        if self.duplication:
            extra += f" dup={self.duplication:g}"
        return f"<Link {self.source}->{self.target} {self.latency!r}{extra}>"


class Route:
    """The links from one host to another, as routing chose them, and how to time a message along them.

    *version* is the network's topology version when the route was computed; a pipe that caches
    a route recomputes it when the versions differ.
    """

    __slots__ = ("hops", "version", "fixed", "delay", "lossy", "sized", "nodes")

    def __init__(self, nodes: list[Any], hops: list[Link], version: int, base_delay: float = 0.0) -> None:
        self.nodes = tuple(nodes)
        self.version = version
        self.hops = tuple(hops)
        if hops:
            self.fixed = all(link.fixed for link in hops)
            self.delay = math.fsum(link.latency.mean for link in hops)
            self.lossy = any(link.loss or link.duplication for link in hops)
            self.sized = any(link.bandwidth is not None for link in hops)
        else:  # a loopback route with a constant delay
            self.fixed = True
            self.delay = float(base_delay)
            self.lossy = False
            self.sized = False

    def sample_delay(self, now: float, size: int) -> float:
        """The time in seconds for a message of *size* bytes sent at *now* to cross every hop.

        Reserves each bandwidth-limited link for the message's serialisation time, so messages
        sent back to back queue behind each other.
        """
        if self.fixed:
            return self.delay
        t = now
        for link in self.hops:
            bandwidth = link.bandwidth
            if bandwidth is not None:
                start = t if t > link.busy_until else link.busy_until
                t = start + size * 8.0 / bandwidth
                link.busy_until = t
            latency = link.latency
            t += latency.mean if latency.constant else latency.sample(link.rng)
        return t - now

    def fate(self) -> int:
        """How many copies of a message arrive: 0 (lost on some hop), 1, or 2 (duplicated on some hop)."""
        copies = 1
        for link in self.hops:
            if link.loss and link.rng.random() < link.loss:
                return 0
            if link.duplication and link.rng.random() < link.duplication:
                copies = 2
        return copies

    def __repr__(self) -> str:
        return f"<Route {' -> '.join(map(str, self.nodes))} mean {self.delay * 1e3:.3f} ms>"
