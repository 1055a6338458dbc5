"""What a real node process is given: typed records, sent once from the parent to the node.

``NodeLaunch`` holds everything one node process needs to run; the parent (``RealRun``) builds it,
``riaps_sim.runtime.nodeproc`` runs it. It crosses the process boundary with cloudpickle
(``riaps_sim.runtime.shipping``), so the components may be classes defined anywhere: a notebook
cell, a script, a scenario file, a module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..faults import Fault
from ..model import GroupType
from ..trace import TraceEvent

__all__ = ["NodePlan", "NodeFaults", "BeaconSettings", "NodeLaunch", "Start", "Ready", "Observed"]


@dataclass(frozen=True)
class NodePlan:
    """What one node runs: its name, host address and components.

    ``components`` maps instance names to ``(component class, keyword arguments)``. The class may
    be defined anywhere; classes that cannot be imported by name in a fresh interpreter travel by
    value.
    """

    name: str
    host: str
    components: Mapping[str, tuple[type, Mapping[str, Any]]] = field(default_factory=dict)
    start_s: float = 0.0  #: when the node starts its components, in seconds after the run's time 0


@dataclass(frozen=True)
class NodeFaults:
    """The faults a node process applies itself, and what it needs to apply them.

    ``faults`` are applied at wall-clock ``t0 + fault.at`` (at once, in order, if already past:
    a restarted node catches up). ``t0`` is ``None`` for the nodes started with the run: they learn
    it from the parent once every node has booted (``Start``); ``addresses`` tells the senders of
    received messages apart; ``message_layer`` wraps the node's context in the fault layer
    (``riaps_sim.runtime.faultlayer``), which applies *profile* (the run's network: latency, loss,
    reordering) to every message from another node.
    """

    t0: float | None
    faults: tuple[Fault, ...] = ()
    addresses: Mapping[str, str] = field(default_factory=dict)
    message_layer: bool = False
    profile: Any = None  #: a ``linkfaults.LinkProfile``, or ``None``


@dataclass(frozen=True)
class BeaconSettings:
    """Where discovery beacons go: the UDP *port*, and *destinations* instead of the interface's broadcast address."""

    port: int
    destinations: tuple[tuple[str, int], ...] | None = None


@dataclass(frozen=True)
class NodeLaunch:
    """Everything one node process needs.

    *duration_s* counts from the node's start (time 0 of the run, or at once when there is no
    parent to give it). *keys* is the application's key material (``riaps_sim.security.AppKeys``)
    or ``None`` for an insecure run. *netns* names the network namespace to enter first.
    *trace_all* writes a row for every heartbeat instead of counting them. *restarts* counts the
    node's earlier processes in this run (each incarnation draws its own random numbers).
    *measure_loop* has the node write ``loop`` rows (handler service times, timer lateness, and
    its boot time from *launched_at*, the wall-clock time the parent started it) to its trace.
    *report_first* names the trace kinds whose first event the node reports to its parent
    (``Observed``), for faults triggered by them; roles are always reported when there is a parent.
    *tally_every_s* is how often the node writes its heartbeat counts to its trace file, so that a
    node killed with SIGKILL loses at most that much of them. *netns_cleanup* names the network
    namespaces the node removes if its parent dies (its own and the run's hub).
    """

    plan: NodePlan
    group_types: Mapping[str, GroupType]
    app: str
    seed: int
    duration_s: float
    trace_path: str
    beacon: BeaconSettings
    clock_offset_s: float = 0.0
    faults: NodeFaults | None = None
    netns: str | None = None
    keys: Any = None
    trace_all: bool = False
    restarts: int = 0
    measure_loop: bool = False
    launched_at: float | None = None
    report_first: tuple[str, ...] = ()
    tally_every_s: float = 1.0
    netns_cleanup: tuple[str, ...] = ()


@dataclass(frozen=True)
class Start:
    """Parent to node: start the components at wall-clock time *t0* (the run's time 0)."""

    t0: float


@dataclass(frozen=True)
class Ready:
    """Node to parent: booted, waiting for ``Start``."""

    pid: int


@dataclass(frozen=True)
class Observed:
    """Node to parent: a trace event the parent follows as it happens (a role changed, a trigger's first event).

    The parent learns who leads from these, not from the trace files, which anyone may be reading.
    """

    event: TraceEvent
