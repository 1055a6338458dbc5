"""``Network``: hosts and switches on a graph (``Topology``) over a SimPy environment, with routing and accounts.

Edges carry ``latency`` (seconds, or a ``Latency``), ``bandwidth`` (bits/s, optional), ``loss``
and ``duplication`` rates. An undirected graph's edges apply both ways; a ``DiGraph`` gives each
direction its own attributes. Traffic follows the path of least mean latency, recomputed when
the topology or a latency changes. Nodes with ``switch=True`` forward traffic and have no
sockets; every other node is a host with an address (node attribute ``address``, else the next
free 10.0.x.y). A networkx graph describes a topology to copy (``graph=``), and ``Network.graph``
gives one back; the network itself routes on its own ``Topology``, so a run never imports networkx.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import simpy

from .addressing import check_address, default_address
from .faults import FaultNote, FaultsMixin
from .host import Host
from .latency import Latency, as_latency
from .links import Link, Route
from .stats import NetworkStatistics, freeze
from .topology import Topology
from .wire import TRAFFIC_KINDS, NetworkEvent, Wire

__all__ = ["Network"]

_EDGE_KEYS = ("latency", "bandwidth", "loss", "duplication")


class Network(FaultsMixin):
    """A simulated network of hosts whose sockets keep ZeroMQ's semantics.

    Parameters
    ----------
    env:
        The SimPy environment to run in; a new one if ``None``.
    graph:
        A networkx ``Graph`` or ``DiGraph`` to copy the topology from (the caller's graph is not
        modified), or ``None`` to start empty.
    seed:
        Seeds every generator in the network: hosts', links', nothing else.
    latency:
        Latency of the links ``add_host`` makes to its switch, in seconds or a ``Latency``
        (default 0.5 ms, so 1 ms host to host through one switch).
    bandwidth:
        Bandwidth of those links in bits/s, or ``None`` for unlimited.
    loopback:
        One-way latency between two sockets of the same host, in seconds (default 25 µs).
    record:
        Keep every event in ``events`` (a list of tuples), for determinism checks and traces.

    Examples
    --------
    >>> import zmq
    >>> net = Network(seed=1)
    >>> a, b = net.add_host("a"), net.add_host("b")
    >>> pub, sub = a.context.socket(zmq.PUB), b.context.socket(zmq.SUB)
    >>> pub.bind("tcp://10.0.0.1:5555"); sub.setsockopt(zmq.SUBSCRIBE, b""); sub.connect("tcp://10.0.0.1:5555")
    >>> net.run(until=0.01); pub.send_multipart([b"hi"]); net.run(until=0.02)
    >>> sub.recv_multipart()
    [b'hi']
    """

    def __init__(
        self,
        env: simpy.Environment | None = None,
        graph: Any = None,
        seed: int | str = 0,
        *,
        latency: Latency | float = 0.0005,
        bandwidth: float | None = None,
        loopback: Latency | float = 25e-6,
        record: bool = False,
    ) -> None:
        self.env = env if env is not None else simpy.Environment()
        self.seed = seed
        self.default_latency = as_latency(latency)
        self.default_bandwidth = bandwidth
        self.loopback = as_latency(loopback)
        self.topology = Topology()
        self._hosts: dict[Hashable, Host] = {}
        self._by_address: dict[str, Host] = {}
        self._routes: dict[tuple[Host, Host], Route | None] = {}
        self._impairments: dict[tuple[Hashable, Hashable], Link] = {}  # (source, target) host names -> a last hop
        self._preds: dict[Host, dict[Hashable, list[Hashable]]] = {}
        self._asked: dict[Host, int] = {}
        self._loopbacks: dict[Host, Link] = {}
        self.topology_version = 0
        self._next_address = 0
        self._listeners: list[tuple[Callable[[NetworkEvent], None], frozenset[str] | None]] = []
        self.wire = Wire(self)
        self.events: list[NetworkEvent] | None = None
        self._init_faults()
        if record:
            self.events = []
            self.on_event(self.events.append)
        if graph is not None:
            self._load(graph)

    def __repr__(self) -> str:
        switches = len(self.topology) - len(self._hosts)
        return f"<Network {len(self._hosts)} hosts, {switches} switches, seed={self.seed!r}, t={self.env.now:g} s>"

    # -- topology ------------------------------------------------------------------------------------

    @property
    def graph(self) -> Any:
        """A networkx ``DiGraph`` copy of the topology (made on each call; changing it changes nothing).

        Nodes carry ``address`` (hosts) or ``switch=True``; each direction of a link is an edge
        with its ``link`` and ``weight`` (the mean latency routing uses).
        """
        return self.topology.to_networkx()

    def _load(self, graph: Any) -> None:
        for node, data in graph.nodes(data=True):
            if data.get("switch"):
                self.add_switch(node)
            else:
                self.add_host(node, address=data.get("address"), switch=None)
        one_way = graph.is_directed()
        for u, v, data in graph.edges(data=True):
            extra = {k: data[k] for k in _EDGE_KEYS if k in data}
            self.add_link(u, v, one_way=one_way, **extra)

    def add_host(
        self,
        name: Hashable,
        address: str | None = None,
        *,
        switch: Hashable | None = "lan",
        latency: Latency | float | None = None,
        bandwidth: float | None = None,
    ) -> Host:
        """Add a host called *name* and return it; link it both ways to *switch* (made if missing).

        *address* defaults to the next free 10.0.x.y. ``switch=None`` adds no link: wire the host
        with ``add_link``. *latency* and *bandwidth* default to the network's. Raises ``ValueError``
        if the name or address is taken.
        """
        if name in self.topology:
            raise ValueError(f"the network already has a node called {name!r}; pick another name")
        if address is None:
            while default_address(self._next_address) in self._by_address:
                self._next_address += 1
            address = default_address(self._next_address)
        address = check_address(address)
        if address in self._by_address:
            raise ValueError(f"address {address} is taken by host {self._by_address[address].name!r}; give another")
        host = Host(self, name, address)
        self._hosts[name] = host
        self._by_address[address] = host
        self.topology.add_node(name, address=address)
        if switch is not None:
            if switch not in self.topology:
                self.add_switch(switch)
            self.add_link(name, switch, latency=latency, bandwidth=bandwidth)
        self._touch()
        return host

    def add_switch(self, name: Hashable) -> None:
        """Add a switch: a node that forwards traffic and has no sockets."""
        if name in self.topology:
            raise ValueError(f"the network already has a node called {name!r}; pick another name")
        self.topology.add_node(name, switch=True)
        self._touch()

    def add_link(
        self,
        a: Hashable,
        b: Hashable,
        latency: Latency | float | None = None,
        bandwidth: float | None = None,
        loss: float = 0.0,
        duplication: float = 0.0,
        one_way: bool = False,
    ) -> None:
        """Link nodes *a* and *b* (both ways unless *one_way*): *latency* s, *bandwidth* bit/s, rates."""
        for node in (a, b):
            if node not in self.topology:
                raise KeyError(f"no node {node!r} in the network; add it with add_host() or add_switch() first")
        latency = self.default_latency if latency is None else latency
        bandwidth = self.default_bandwidth if bandwidth is None else bandwidth
        pairs = [(a, b)] if one_way else [(a, b), (b, a)]
        for u, v in pairs:
            link = Link(u, v, self.seed, latency, bandwidth, loss, duplication)
            self.topology.add_edge(u, v, link, link.latency.mean)
        self._touch()

    def link(self, a: Hashable, b: Hashable) -> Link:
        """The link from *a* to *b*; ``KeyError`` naming both if there is none."""
        try:
            return self.topology.link(a, b)
        except KeyError:
            raise KeyError(f"no link from {a!r} to {b!r}; add one with add_link()") from None

    def _touch(self) -> None:
        """The topology or a link changed: cached routes are stale."""
        self.topology_version += 1
        self._routes.clear()
        self._preds.clear()
        self._asked.clear()

    def _reweigh(self, a: Hashable, b: Hashable) -> None:
        self.topology.set_weight(a, b, self.link(a, b).latency.mean)
        self._touch()

    # -- hosts and routes ----------------------------------------------------------------------------

    def host(self, name: Hashable) -> Host:
        """The host called *name*; ``KeyError`` listing a few names if there is none."""
        try:
            return self._hosts[name]
        except KeyError:
            known = ", ".join(map(repr, itertools.islice(self._hosts, 8)))
            raise KeyError(f"no host {name!r} in the network (hosts: {known}...); add it with add_host()") from None

    @property
    def hosts(self) -> list[Host]:
        """Every host, in the order they were added."""
        return list(self._hosts.values())

    def host_by_address(self, address: str, here: Host | None = None) -> Host | None:
        """The host an endpoint's address (or host name) designates; loopback means *here*."""
        if address in ("127.0.0.1", "localhost"):
            return here
        host = self._by_address.get(address)
        if host is None:
            host = self._hosts.get(address)
        return host

    def route(self, source: Host, target: Host) -> Route | None:
        """The path of least mean latency from *source* to *target*, or ``None`` if there is none."""
        key = (source, target)
        try:
            return self._routes[key]
        except KeyError:
            pass
        route: Route | None
        if source is target:
            if self.loopback.constant:
                route = Route([source.name], [], self.topology_version, self.loopback.mean)
            else:
                link = self._loopbacks.get(source)
                if link is None:
                    link = self._loopbacks[source] = Link(source.name, source.name, self.seed, self.loopback)
                route = Route([source.name], [link], self.topology_version)
        else:
            path = self._path(source, target)
            if path is None:
                route = None
            else:
                link_of = self.topology.link
                hops = [link_of(u, v) for u, v in zip(path, path[1:])]
                impairment = self._impairments.get((source.name, target.name))
                if impairment is not None:
                    hops.append(impairment)
                route = Route(path, hops, self.topology_version)
        self._routes[key] = route
        return route

    def _path(self, source: Host, target: Host) -> list[Hashable] | None:
        """The least-latency node path, or ``None``.

        A source's first few targets are searched pair by pair (cheap on a large switched LAN);
        a source that talks to many gets one full Dijkstra whose predecessors serve all its targets,
        so a mesh of N hosts costs N searches, not N².
        """
        pred = self._preds.get(source)
        if pred is None:
            asked = self._asked[source] = self._asked.get(source, 0) + 1
            if asked <= 16:
                return self.topology.shortest_path(source.name, target.name)
            pred = self.topology.predecessors(source.name)
            self._preds[source] = pred
        if target.name not in pred:
            return None
        path = [target.name]
        while path[-1] != source.name:
            path.append(pred[path[-1]][0])
        path.reverse()
        return path

    def part(self, host_name: Hashable, **kwargs: Any) -> Any:
        """A ``ports.Part`` on host *host_name* (added if missing): its context, address and clock.

        *kwargs* go to ``ports.Part`` (``keys``, ``options``, ``name``...).
        """
        import ports  # the layer above the network's sockets; imported here to keep net importable alone

        host = self._hosts.get(host_name) or self.add_host(host_name)
        kwargs.setdefault("name", str(host_name))
        return ports.Part(host.context, host=host.address, clock=host.clock, **kwargs)

    # -- running -------------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """True virtual time in seconds."""
        return float(self.env.now)

    def run(self, until: float | simpy.Event | None = None) -> Any:
        """Run the environment until *until* (a time in seconds or an event), as ``Environment.run``."""
        return self.env.run(until=until)

    def step(self) -> None:
        """Process the next event."""
        self.env.step()

    def peek(self) -> float:
        """The time of the next event (``inf`` if none)."""
        return float(self.env.peek())

    # -- events and accounts -------------------------------------------------------------------------

    def on_event(self, callback: Callable[[NetworkEvent], None], kinds: Iterable[str] | None = None) -> None:
        """Call *callback* with every ``NetworkEvent`` (time, kind, source, target, message id, detail).

        Kinds: send, deliver, drop (detail: cause), duplicate, release, fault (detail: text). Give
        *kinds* to hear only those: a listener that leaves out the per-copy traffic kinds (send,
        deliver, duplicate, release) costs nothing per message.
        """
        wanted = frozenset(kinds) if kinds is not None else None
        if wanted is not None and not wanted <= _ALL_KINDS:
            raise ValueError(f"network event kinds are {sorted(_ALL_KINDS)}, got {sorted(wanted - _ALL_KINDS)}")
        self._listeners.append((callback, wanted))
        self.wire.emit = _fan_out([(c, k) for c, k in self._listeners if k is None or k - TRAFFIC_KINDS])
        self.wire.emit_traffic = _fan_out([(c, k) for c, k in self._listeners if k is None or k & TRAFFIC_KINDS])

    def report_fault(self, note: FaultNote) -> None:
        """Tell the listeners that a fault was applied or undone (the event's ``detail`` is the ``FaultNote``)."""
        emit = self.wire.emit
        if emit is not None:
            emit(NetworkEvent(self.env.now, "fault", "", "", 0, note))

    def set_reordering(self, allowed: bool) -> None:
        """Let messages of one connection overtake each other when their delays differ (``True``),
        or keep every connection in order as TCP does (``False``, the default)."""
        self.wire.reorder = bool(allowed)

    def impairment(self, source: Hashable, target: Hashable) -> Link | None:
        """The extra last hop impairing traffic from host *source* to host *target* (see ``impair``), if any."""
        return self._impairments.get((source, target))

    def _set_impairment(self, source: Hashable, target: Hashable, link: Link | None) -> None:
        if link is None or (link.loss == 0 and link.duplication == 0 and link.latency.constant and link.latency.mean == 0):
            self._impairments.pop((source, target), None)
        else:
            self._impairments[(source, target)] = link
        self._touch()

    def statistics(self) -> NetworkStatistics:
        """Counts of every data message copy: sent, delivered, dropped by cause, in flight."""
        wire = self.wire
        travelling = wire.travelling()
        held = wire.held()
        pending = sum(len(conn.cp.pending) for conn in wire.connections)
        queued = sum(sock.queued_from_network() for host in self._hosts.values() for sock in host.context.sockets())
        return NetworkStatistics(
            sent=wire.sent,
            delivered=wire.delivered,
            dropped=freeze(wire.dropped),
            in_flight=travelling + held + pending + queued,
            held=held,
            queued=queued,
            duplicated=wire.duplicated,
        )

    def hosts_named(self, names: Iterable[Hashable]) -> list[Host]:
        """The hosts called *names* (a single name counts as one), in the given order."""
        if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
            names = [names]
        return [self.host(name) for name in names]


_ALL_KINDS = TRAFFIC_KINDS | {"drop", "fault"}


def _fan_out(listeners: list[tuple[Callable[[NetworkEvent], None], frozenset[str] | None]]) -> Callable[[NetworkEvent], None] | None:
    """One callable that gives each event to the *listeners* that want its kind (``None``: no listener)."""
    if not listeners:
        return None
    if len(listeners) == 1 and listeners[0][1] is None:
        return listeners[0][0]
    frozen = tuple(listeners)

    def emit(event: NetworkEvent) -> None:
        for callback, kinds in frozen:
            if kinds is None or event.kind in kinds:
                callback(event)

    return emit
