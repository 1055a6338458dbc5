"""The simulated runtime: nodes on hosts of a SimPy ``Network``, in virtual time.

``SimDriver`` implements the driver interface for one host: its clock is the host's (skewed and
drifting as the faults say), timers are SimPy timeouts scaled by the clock's rate, and a watched
socket calls back whenever it becomes readable. By default the loop costs nothing: a handler
runs in no time and a timer runs when it falls due. A ``LoopModel`` (from a calibration, see
``riaps_sim.calibration``) makes a node busy for a drawn time per message it handles, so that
input and timers falling due meanwhile wait (bursts queue), and makes timers run a drawn time late. ``Simulation`` puts nodes, discovery and the trace
together, applies typed faults when they fall due (``simfaults``), follows the hosts' power (a
crashed host's node dies, a restarted one starts afresh with new components) and records drops and
faults in the trace. ``SimDriver.pause`` stalls a node (the ``Pause`` fault).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..component import Component
from ..coord.coverage import TableCoverage
from ..discovery.sim import SimDiscovery
from ..faults import Fault
from ..model import GroupType
from ..net import Network, NetworkEvent
from ..net.faults import FaultNote
from ..net.latency import Latency
from ..trace import Kind, Trace
from .node import Node, node_random
from .simfaults import SimFaults
from .storage import MemoryStorage
from .watchdog import ZERO_DELAY_TIMERS, Livelock

__all__ = ["SimDriver", "Simulation", "LoopModel"]

log = logging.getLogger("riaps_sim.runtime")

#: The first span of virtual time (s) after which ``Simulation.run`` freezes what exists (see ``run``).
_FREEZE_FIRST_S = 1.0

#: While ``Simulation.run`` runs, a full collection comes after this many collections of the middle generation (Python's default: 10).
_FULL_COLLECTION_EVERY = 100


@dataclass(frozen=True, slots=True)
class LoopModel:
    """What a simulated node's loop costs: *processing* seconds busy per message handled, timers *timer_lateness* late.

    Both are ``riaps_sim.net`` latency distributions (or ``None``: not modelled), drawn from the
    node's own seeded stream.
    """

    processing: Latency | None = None
    timer_lateness: Latency | None = None

    def __post_init__(self) -> None:
        for name in ("processing", "timer_lateness"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Latency):
                raise ValueError(f"LoopModel.{name} must be a riaps_sim.net latency distribution or None, got {value!r}")


class _Timer:
    __slots__ = ("callback", "cancelled", "driver")

    def __init__(self, callback: Callable[[], None], driver: SimDriver) -> None:
        self.callback = callback
        self.cancelled = False
        self.driver = driver

    def fire(self, _event: Any) -> None:
        if self.cancelled:
            return
        driver = self.driver
        if driver.paused_until > driver.env.now:
            driver.defer(self.run)
        elif driver.busy_until > driver.env.now:
            driver.when_free(self.fire)
        else:
            self.callback()

    def run(self) -> None:
        if not self.cancelled:
            self.callback()


class SimDriver:
    """The loop of one node on one simulated host; *loop* (with its generator *rng*) says what handling costs."""

    def __init__(self, network: Network, host_name: str, loop: LoopModel | None = None, rng: random.Random | None = None) -> None:
        self.network = network
        self.host = network.host(host_name)
        self.env = network.env
        self._watched: dict[Any, Callable[[], None]] = {}
        self.stopped = False
        self.paused_until = 0.0  #: virtual time until which the node is stalled (``Pause``)
        self._deferred: list[Callable[[], None]] = []
        self.busy_until = 0.0  #: virtual time until which the node handles input it took (a ``LoopModel``'s processing)
        self._waiting: list[Callable[[Any], None]] = []
        self._processing = loop.processing if loop is not None else None
        self._lateness = loop.timer_lateness if loop is not None else None
        self._rng = rng if rng is not None else random.Random(0)
        #: This node's clock: its host's (skewed and drifting as the faults say), the host's own method, read once per message.
        self.clock: Callable[[], float] = self.host.clock
        self._instant = -1.0  # the virtual time of the last timer armed due at once, and how many were (the livelock watchdog)
        self._due_at_once = 0

    def __repr__(self) -> str:
        return f"<SimDriver {self.host.name} watching {len(self._watched)}>"

    def true_time(self) -> float | None:
        return float(self.env.now)

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(callback, self)
        delay = max(0.0, delay_s) / self.host.rate
        if self._lateness is not None:
            delay += self._lateness.sample(self._rng)
        if delay <= 0.0:
            self._count_due_at_once()
        self.env.timeout(delay).callbacks.append(timer.fire)
        return timer

    def _count_due_at_once(self) -> None:
        """Raise ``Livelock`` when this node arms too many timers due at once without virtual time moving."""
        now = self.env.now
        if now != self._instant:
            self._instant, self._due_at_once = now, 0
        self._due_at_once += 1
        if self._due_at_once > ZERO_DELAY_TIMERS:
            raise Livelock(str(self.host.name), now)

    def cancel(self, handle: Any) -> None:
        if isinstance(handle, _Timer):
            handle.cancelled = True

    def watch(self, socket: Any, callback: Callable[[], None]) -> None:
        first = socket not in self._watched
        self._watched[socket] = callback
        if first:
            self._arm(socket)

    def unwatch(self, socket: Any) -> None:
        self._watched.pop(socket, None)

    def stop(self) -> None:
        """Forget every socket and timer callback (the node died)."""
        self.stopped = True
        self._watched.clear()

    def _arm(self, socket: Any) -> None:
        if self.stopped or socket not in self._watched or socket.closed:
            return
        socket.readable_event().callbacks.append(lambda _event: self._ready(socket))

    def _ready(self, socket: Any) -> None:
        callback = self._watched.get(socket)
        if callback is None or self.stopped or socket.closed:
            return
        if self.paused_until > self.env.now:  # stalled: the kernel keeps the input, the process reads it later
            self.defer(lambda: self._ready(socket))
            return
        if self._processing is None:
            callback()
            self._arm(socket)
            return
        if self.busy_until > self.env.now:  # still handling earlier input: this waits its turn
            self.when_free(lambda _event: self._ready(socket))
            return
        callback()  # takes one message (``handled`` says stop), so what else waits is read when the node is free
        self._arm(socket)

    # -- processing cost (a LoopModel) ---------------------------------------------------------------------

    def handled(self, seconds: float) -> bool:
        """The node handled a message: it is busy for one draw of its processing cost from now (or from when it
        is free, if later). Returns True: take no more input until then (the node's ``probe`` hook, see ``Node``)."""
        if self._processing is None:
            return False
        self.busy_until = max(self.busy_until, self.env.now) + self._processing.sample(self._rng)
        return True

    def when_free(self, action: Callable[[Any], None]) -> None:
        """Run *action* once the node has finished handling the input it took (``busy_until``), in the order asked."""
        self._waiting.append(action)
        if len(self._waiting) == 1:
            self.env.timeout(self.busy_until - self.env.now).callbacks.append(self._free)

    def _free(self, _event: Any) -> None:
        waiting, self._waiting = self._waiting, []
        for action in waiting:
            if self.stopped:
                return
            action(None)  # each checks again: one that makes the node busy sends the rest back to wait

    # -- stalls (the Pause fault) ------------------------------------------------------------------------

    def pause(self, duration_s: float) -> None:
        """Stall the node for *duration_s* seconds: timers and input that fall due meanwhile wait, then run in order.

        Its clock runs on and its sockets keep receiving (as a SIGSTOPped process's kernel does),
        so high-water marks fill and queued input is all there on resuming.
        """
        until = self.env.now + duration_s
        if until > self.paused_until:
            self.paused_until = until
            self.env.timeout(duration_s).callbacks.append(self._resume)

    def defer(self, action: Callable[[], None]) -> None:
        """Run *action* when the stall ends (in the order deferred)."""
        self._deferred.append(action)

    def _resume(self, _event: Any) -> None:
        if self.paused_until > self.env.now or self.stopped:
            return
        deferred, self._deferred = self._deferred, []
        for action in deferred:
            if self.stopped:
                return
            action()


ComponentFactory = Callable[[], Component]


class Simulation:
    """Nodes running components on a simulated network, with one trace.

    Parameters
    ----------
    group_types:
        The application's group types (``GroupType`` objects, or a mapping by name).
    seed:
        Seeds the network and every node's generator; the same seed gives the same run.
    network:
        A ready ``Network`` (own topology); by default a switched LAN is made as nodes are added.
    discovery_delay_s:
        How long discovery takes to tell other nodes of a new pub, in seconds.
    trace_all:
        Keep a row for every heartbeat (``tic``, ``ldr``) send and delivery. By default they are
        counted per (node, peer, command) in the trace's tallies, so that memory grows with state
        changes rather than with N^2 x T (see ``riaps_sim.trace``).
    loop_models:
        Per node name, what its loop costs (``LoopModel``: processing per message, timer
        lateness), drawn from a stream seeded by *seed* and the node's name; nodes without one
        handle input in no time and run timers on time (the default).

    Examples
    --------
    >>> from riaps_sim.examples import Groupie
    >>> sim = Simulation([GroupType(name="TheGroup")], seed=1)
    >>> for i in range(5):
    ...     _ = sim.add_node(f"n{i}", {"member": Groupie})
    >>> sim.run(until=10)
    >>> [name for name, node in sim.nodes.items() if node.members[0].group.isLeader()]
    ['n2']
    """

    def __init__(
        self,
        group_types: Mapping[str, GroupType] | Sequence[GroupType],
        seed: int = 0,
        network: Network | None = None,
        discovery_delay_s: float = 0.05,
        trace_all: bool = False,
        loop_models: Mapping[str, LoopModel] | None = None,
    ) -> None:
        if not isinstance(group_types, Mapping):
            group_types = {g.name: g for g in group_types}
        self.group_types = dict(group_types)
        self.seed = seed
        self.network = network if network is not None else Network(seed=seed)
        self.env = self.network.env
        self.trace = Trace(keep_heartbeats=trace_all)
        self.discovery = SimDiscovery(self.env, delay_s=discovery_delay_s)
        self.nodes: dict[str, Node] = {}
        self._factories: dict[str, dict[str, ComponentFactory]] = {}
        self.network.on_event(self._on_network_event, kinds=("drop", "fault"))
        self.faults = SimFaults(self)
        self._storage: dict[str, MemoryStorage] = {}  # per node: outlives its crashes, as a disk would
        self._starts: dict[str, int] = {}
        self._applying = 0
        self.loop_models: dict[str, LoopModel] = dict(loop_models or {})
        self.coverage: TableCoverage | None = None  #: set before nodes start: told each table case the machines take

    def __repr__(self) -> str:
        return f"<Simulation t={self.env.now:.3f} s nodes={list(self.nodes)} events={len(self.trace)}>"

    def add_node(self, name: str, components: Mapping[str, ComponentFactory], address: str | None = None, start_at: float | None = None) -> Node:
        """Add host *name* (if the network lacks it) running the named components; start it now or at *start_at*."""
        if name in self._factories:
            raise ValueError(f"the simulation already has a node named {name!r}")
        try:
            self.network.host(name)
        except (KeyError, ValueError):
            self.network.add_host(name, address=address)
        self._factories[name] = dict(components)
        node = self._make_node(name)
        if start_at is None or start_at <= self.env.now:
            node.start()
        else:
            self.env.timeout(start_at - self.env.now).callbacks.append(lambda _e: node.start())
        return node

    def _make_node(self, name: str) -> Node:
        host = self.network.host(name)
        loop = self.loop_models.get(name)
        if loop is None:
            driver = SimDriver(self.network, name)
        else:  # its own stream per incarnation, apart from the node's: the protocol's draws stay the same
            driver = SimDriver(self.network, name, loop, node_random(self.seed, f"{name}/loop#{self._starts.get(name, 0)}"))
        node = Node(
            name,
            host.address,
            host.context,
            driver,
            self.group_types,
            self.discovery.for_node(name),
            self.trace,
            seed=self.seed,
            incarnation=host.incarnation,
            storage=self._storage.setdefault(name, MemoryStorage()),
            restarts=self._starts.get(name, 0),
            coverage=self.coverage,
        )
        if loop is not None and loop.processing is not None:
            node.probe = driver  # the member tells it each message it handles; it charges the processing cost
        self._starts[name] = self._starts.get(name, 0) + 1
        for instance, factory in self._factories[name].items():
            node.build(factory, instance)
        self.nodes[name] = node
        return node

    def run(self, until: float | None = None) -> None:
        """Run the simulation to virtual time *until* (seconds), or until nothing is left to do.

        While it runs, long-lived objects (the network, nodes, sockets: N^2 of them for N nodes)
        are left out of Python's cyclic garbage collection (``gc.freeze``), which otherwise spends
        a third of a 200-node run traversing them again and again. Most of them are made in the
        first seconds (discovery connects every pair), so the run goes in spans of virtual time
        that double from ``_FREEZE_FIRST_S`` and freezes what exists at the end of each; the
        events run in the same order as in one call. What is left to collect is mostly the
        messages in flight (a heartbeat round of N members puts N^2 copies on the wire at once),
        which die young and are freed without the collector: full collections, which would walk
        them again whenever the long-lived objects are few, come ten times less often
        (``_FULL_COLLECTION_EVERY``). Everything frozen is handed back (``gc.unfreeze``) and the
        thresholds restored when the run returns. Nothing is done if the caller froze objects itself.
        """
        if gc.get_freeze_count() or (until is not None and until <= self.env.now):
            self.network.run(until=until)
            return
        thresholds = gc.get_threshold()
        gc.set_threshold(thresholds[0], thresholds[1], max(thresholds[2], _FULL_COLLECTION_EVERY))
        gc.freeze()
        try:
            if until is None:
                self.network.run()
                return
            span = _FREEZE_FIRST_S
            while self.env.now < until:
                self.network.run(until=min(until, self.env.now + span))
                gc.freeze()
                span *= 2
        finally:
            gc.unfreeze()
            gc.set_threshold(*thresholds)

    def step(self) -> None:
        """Process the next event."""
        self.network.step()

    def peek(self) -> float:
        """The virtual time of the next event."""
        return self.network.peek()

    @property
    def now(self) -> float:
        return float(self.env.now)

    # -- faults --------------------------------------------------------------------------------------------

    def schedule_faults(self, faults: Iterable[Fault], start: float = 0.0) -> None:
        """Apply the typed *faults* (``riaps_sim.faults``) when they fall due; *start* is time 0."""
        self.faults.schedule(faults, start)

    def record_fault(self, detail: str) -> None:
        """Record a ``fault`` event (by the ``network``) in the trace, now."""
        now = float(self.env.now)
        self.trace.record(now, now, "network", None, None, Kind.FAULT, detail=detail)

    @contextlib.contextmanager
    def applying(self) -> Iterator[None]:
        """While a typed fault is applied, the network's own notes of it are not recorded again."""
        self._applying += 1
        try:
            yield
        finally:
            self._applying -= 1

    def components(self) -> dict[str, dict[str, Component]]:
        """Every node's components now (a restarted node's are the fresh ones), by node and instance name."""
        return {name: dict(node.components) for name, node in self.nodes.items()}

    # -- the network's facts, followed -----------------------------------------------------------------

    def _on_network_event(self, event: NetworkEvent) -> None:
        time = event.time
        if event.kind == "drop":
            self.trace.record(
                time,
                time,
                str(event.source),
                None,
                None,
                Kind.DROP,
                peer=str(event.target) or None,
                msg_id=event.msg_id or None,
                detail=str(event.detail),
            )
        elif event.kind == "fault":
            note: FaultNote = event.detail
            if not self._applying:  # a fault applied through the network's own API
                self.record_fault(note.describe())
            effect = note.effect
            if effect in ("crash", "restart"):
                self._follow_power(effect, str(note.hosts[0]))

    def _follow_power(self, effect: str, name: str) -> None:
        """A host went down or came back: its node dies, or a fresh one starts."""
        if name not in self.nodes:
            return
        if effect == "crash":
            node = self.nodes[name]
            node.crash()
            node.driver.stop()  # type: ignore[attr-defined]
            self.discovery.node_down(name)
        elif self.network.host(name).alive:
            self._make_node(name).start()
