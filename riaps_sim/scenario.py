"""Scenarios: one definition of an experiment, run in simulation or on real ZeroMQ.

A scenario names the group types, the nodes and their components, the fault schedule, the
duration and the seed. ``run_scenario(scenario, mode="sim")`` and ``mode="real"`` take the same
object and return a ``RunResult`` whose trace has the same columns in both worlds.

Scenarios are written in Python (a file that defines ``scenario``, a ``Scenario`` or a function
returning one) or TOML, whose names are the Python names; ``riaps_sim.scenario_files`` reads both,
strictly, and documents the TOML form. Every mistake is a ``ScenarioError`` naming the file, the
table or field, and what was expected, before anything runs.

A node name ``"@leader"`` in a fault means whichever node leads when the fault happens.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .component import Component
from .faults import LEADER, Crash, Fault, FaultSchedule, Heal, Partition, check_restarts
from .model import GroupType
from .netprofile import NetworkProfile
from .scenario_files import ScenarioError, check_component_args, load_file

__all__ = ["NodeSpec", "Scenario", "ScenarioError", "load_scenario", "default_scenario", "BUILTIN", "LEADER"]


@dataclass(frozen=True)
class NodeSpec:
    """A node: its name, its components (instance name to ``(class, keyword arguments)``), optionally its
    address, and when it starts its components (*start_s* seconds after the run's time 0)."""

    name: str
    components: Mapping[str, tuple[type[Component], Mapping[str, Any]]]
    address: str | None = None
    start_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "_").isidentifier():
            raise ScenarioError(f"node name must be an identifier, got {self.name!r}")
        if not isinstance(self.start_s, (int, float)) or isinstance(self.start_s, bool) or not self.start_s >= 0:
            raise ScenarioError(f"node {self.name!r}: start_s must be a time >= 0 in seconds, got {self.start_s!r}")
        for instance, entry in self.components.items():
            if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], type) and issubclass(entry[0], Component)):
                raise ScenarioError(f"node {self.name!r}: component {instance!r} must be (Component subclass, kwargs), got {entry!r}")
            if not isinstance(entry[1], Mapping):
                raise ScenarioError(f"node {self.name!r}: component {instance!r}: arguments must be a mapping of keyword arguments, got {entry[1]!r}")
            problem = check_component_args(entry[0], entry[1])
            if problem:
                raise ScenarioError(f"node {self.name!r}: component {instance!r}: {problem}")


@dataclass(frozen=True)
class Scenario:
    """An experiment: group types, nodes, faults, duration (seconds) and seed.

    *topology* is an optional networkx graph for the simulation: nodes named like the scenario's
    nodes are hosts, nodes with ``switch=True`` are switches, and edges carry ``latency`` (seconds or
    a ``riaps_sim.net`` latency), ``bandwidth`` (bits/s), ``loss`` and ``duplication``; a ``DiGraph``
    gives each direction its own. Without it, nodes sit on one switched LAN with 0.5 ms links. The
    real world has the topology it has. *trace_all* keeps a trace row for every heartbeat in
    simulation, instead of counting them (see ``riaps_sim.trace``). In the real world, *keys* is
    the application's key material (a folder made by ``riaps-sim keys new``, or an ``AppKeys``;
    default: fresh for each run) and *insecure* turns authentication off. *network* describes the
    simulated LAN (``NetworkProfile``: latency distribution, loss, reordering, discovery delay).
    *calibration* (``riaps_sim.calibration.Calibration``, made by ``riaps-sim calibrate``) makes
    the simulation time messages, handlers and timers as a measured real system does.

    Examples
    --------
    >>> from riaps_sim.examples import Groupie
    >>> s = Scenario.group_of(5, Groupie, faults=[Crash(at=20, node=LEADER)], duration=40)
    >>> [n.name for n in s.nodes]
    ['n0', 'n1', 'n2', 'n3', 'n4']
    """

    name: str
    group_types: tuple[GroupType, ...]
    nodes: tuple[NodeSpec, ...]
    faults: FaultSchedule = field(default_factory=FaultSchedule)
    duration: float = 60.0
    seed: int = 0
    description: str = ""
    topology: Any = None
    trace_all: bool = False
    keys: Any = None
    insecure: bool = False
    network: NetworkProfile | None = None
    calibration: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "group_types", tuple(self.group_types))
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "faults", FaultSchedule(self.faults))
        where = f"scenario {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise ScenarioError(f"scenario name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.duration, numbers.Real) or isinstance(self.duration, bool):
            raise ScenarioError(f"{where}: duration must be a number of seconds, got {self.duration!r}")
        if not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool):
            raise ScenarioError(f"{where}: seed must be an integer, got {self.seed!r}")
        for i, group in enumerate(self.group_types):
            if not isinstance(group, GroupType):
                raise ScenarioError(f"{where}: group_types[{i}] must be a GroupType, got {group!r}")
        for i, node in enumerate(self.nodes):
            if not isinstance(node, NodeSpec):
                raise ScenarioError(f"{where}: nodes[{i}] must be a NodeSpec, got {node!r}")
        # No group types is fine: many RIAPS applications (Scenario.from_riaps_app) use only message ports.
        group_names = [g.name for g in self.group_types]
        repeated = sorted({n for n in group_names if group_names.count(n) > 1})
        if repeated:
            raise ScenarioError(f"{where}: group type names must be unique, repeated: {repeated}")
        if self.network is not None and not isinstance(self.network, NetworkProfile):
            raise ScenarioError(f"{where}: network must be a NetworkProfile, got {self.network!r}")
        if self.network is not None and self.topology is not None:
            raise ScenarioError(f"{where}: give either a topology or a network profile: the profile describes the default LAN")
        if self.calibration is not None:
            from .calibration import Calibration

            if not isinstance(self.calibration, Calibration):
                raise ScenarioError(f"{where}: calibration must be a riaps_sim.calibration.Calibration, got {self.calibration!r}")
            if self.topology is not None and self.calibration.shapes_network:
                raise ScenarioError(f"{where}: give either a topology or a calibration with link latencies: those describe the default LAN")
        if not self.duration > 0:
            raise ScenarioError(f"scenario {self.name!r}: duration must be > 0 seconds, got {self.duration!r}")
        names = [n.name for n in self.nodes]
        if not names:
            raise ScenarioError(f"scenario {self.name!r} has no nodes")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ScenarioError(f"scenario {self.name!r}: node names must be unique, repeated: {duplicates}")
        try:
            self.faults.check_nodes([*names, LEADER])
        except ValueError as exc:
            raise ScenarioError(f"scenario {self.name!r}: {exc}") from None
        try:
            check_restarts(self.faults)
        except ValueError as exc:
            raise ScenarioError(f"scenario {self.name!r}: {exc}") from None
        late = [f.describe() for f in self.faults if f.at is not None and f.at > self.duration]
        if late:
            raise ScenarioError(f"scenario {self.name!r}: faults after the end ({self.duration:g} s): {late}")

    @classmethod
    def group_of(
        cls,
        n: int,
        component: type[Component],
        args: Mapping[str, Any] | None = None,
        *,
        group: GroupType | None = None,
        faults: Sequence[Fault] = (),
        duration: float = 60.0,
        seed: int = 0,
        name: str | None = None,
        description: str = "",
    ) -> Scenario:
        """*n* nodes ``n0``.. each running one *component* (instance ``member``) in one group."""
        nodes = [NodeSpec(f"n{i}", {"member": (component, dict(args or {}))}) for i in range(n)]
        return cls(
            name or f"{n} x {component.__name__}",
            (group or GroupType(name="TheGroup"),),
            tuple(nodes),
            FaultSchedule(faults),
            duration,
            seed,
            description,
        )

    @classmethod
    def from_riaps_app(
        cls,
        app_dir: str | Path,
        depl: str | Path | None = None,
        *,
        hosts: int | Sequence[str] | None = None,
        faults: Sequence[Fault] = (),
        duration: float = 60.0,
        seed: int = 0,
        topology: Any = None,
        name: str | None = None,
        protocol: str = "riaps",
    ) -> Scenario:
        """A scenario running the unmodified RIAPS application in *app_dir* (see ``riaps_sim.apps``).

        *depl* defaults to the folder's only ``.depl`` file; *hosts* (a count or names) is needed
        when the deployment only says ``on all``. Raises ``riaps_sim.apps.AppError`` (a
        ``ScenarioError``) naming the file, line and construct of anything outside the supported subset.
        """
        from .apps import RiapsApp

        return RiapsApp.load(app_dir, depl).scenario(
            hosts=hosts, faults=faults, duration=duration, seed=seed, topology=topology, name=name, protocol=protocol
        )

    def with_seed(self, seed: int) -> Scenario:
        return replace(self, seed=seed)

    def with_protocol(self, protocol: str | None) -> Scenario:
        """This scenario with every group type run by *protocol* (a registered name or ``module:Class``; None: as it is)."""
        if protocol is None:
            return self
        return replace(self, group_types=tuple(replace(g, protocol=protocol) for g in self.group_types))

    def __repr__(self) -> str:
        """One line: name, nodes, groups and protocols, faults, duration and seed (not every field)."""
        names = self.node_names()
        shown = ", ".join(names) if len(names) <= 6 else f"{names[0]}..{names[-1]}"
        groups = ", ".join(f"{g.name} ({g.protocol})" for g in self.group_types)
        faults = "; ".join(f"{f.at:g} s {f.describe()}" for f in self.faults) or "no faults"
        return f"<Scenario {self.name!r}: {len(names)} nodes [{shown}], group {groups}, {faults}, {self.duration:g} s, seed {self.seed}>"

    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]


def default_scenario() -> Scenario:
    """Five members; the leader is partitioned away at t=20 s and healed at t=40 s; 60 s in all."""
    from .examples import Groupie

    return Scenario.group_of(
        5,
        Groupie,
        {"ask_leader_every": 2.0},
        faults=[Partition(at=20.0, sides=[[LEADER]]), Heal(at=40.0)],
        duration=60.0,
        seed=1,
        name="default",
        description="five members; the leader is partitioned away at t=20 s and healed at t=40 s",
    )


def _leader_crash() -> Scenario:
    from .examples import Groupie

    return Scenario.group_of(
        5,
        Groupie,
        faults=[Crash(at=20.0, node=LEADER)],
        duration=40.0,
        seed=1,
        name="leader-crash",
        description="five members; the leader crashes at t=20 s",
    )


def _polls() -> Scenario:
    from .examples import Groupie

    nodes = tuple(
        NodeSpec(f"n{i}", {"member": (Groupie, {"min_size": 5, "vote_after": 3.0 + i, "vote_every": 5.0, "ballot": i % 3 != 0})}) for i in range(5)
    )
    return Scenario(
        "polls",
        (GroupType(name="TheGroup"),),
        nodes,
        duration=60.0,
        seed=1,
        description="five members (groupMinSize 5), each asking a majority vote every 5 s; n0 and n3 vote no; no faults",
    )


BUILTIN = {"default": default_scenario, "leader-crash": _leader_crash, "polls": _polls}


# -- loading -----------------------------------------------------------------------------------------


def load_scenario(source: str | Path) -> Scenario:
    """A built-in scenario by name (``default``, ``leader-crash``), one read from a ``.py`` or ``.toml`` file,
    or a RIAPS application folder (``Scenario.from_riaps_app`` with its only deployment).

    Raises ``ScenarioError`` naming the file and the line or field that is wrong.
    """
    if str(source) in BUILTIN:
        return BUILTIN[str(source)]()
    path = Path(source)
    if path.is_dir():
        return Scenario.from_riaps_app(path)
    if not path.exists():
        raise ScenarioError(f"{path}: no such scenario file, and not a built-in scenario ({sorted(BUILTIN)})")
    found: Scenario = load_file(path)
    return found
