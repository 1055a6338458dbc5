"""Scenarios: one definition of an experiment, run in simulation or on real ZeroMQ.

A scenario names the group types, the nodes and their components, the fault schedule, the
duration and the seed. ``run_scenario(scenario, mode="sim")`` and ``mode="real"`` take the same
object and return a ``RunResult`` whose trace has the same columns in both worlds.

Scenarios are written in Python (a file that defines ``scenario``, a ``Scenario`` or a function
returning one) or, for simple cases, TOML::

    [scenario]
    name = "leader partition"
    duration = 60
    seed = 1

    [[group]]
    name = "TheGroup"            # kind = "leader", protocol = "riaps", timing = { heartbeat = 1000 }

    [[node]]
    name = "n"                   # with count = 5: nodes n0 .. n4
    count = 5
    components = { groupie = { class = "riaps_sim.examples:Groupie", args = { ask_leader_every = 2.0 } } }

    [[fault]]
    at = 20
    kind = "partition"           # partition heal crash restart clock loss duplicate delay
    sides = [["@leader"]]

A node name ``"@leader"`` in a fault means whichever node leads when the fault happens.
"""

from __future__ import annotations

import importlib
import runpy
import sys
import tomllib
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .component import Component
from .coord.timing import Timing
from .faults import LEADER, ClockSkew, Crash, Delay, Duplicate, Fault, FaultSchedule, Heal, Loss, Partition, Restart
from .model import GroupType

__all__ = ["NodeSpec", "Scenario", "ScenarioError", "load_scenario", "default_scenario", "BUILTIN", "LEADER"]

class ScenarioError(ValueError):
    """A scenario that cannot be run: the message names the file, the line or field, and what was expected."""


@dataclass(frozen=True)
class NodeSpec:
    """A node: its name, its components (instance name to ``(class, keyword arguments)``) and, optionally, its address."""

    name: str
    components: Mapping[str, tuple[type[Component], Mapping[str, Any]]]
    address: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "_").isidentifier():
            raise ScenarioError(f"node name must be an identifier, got {self.name!r}")
        for instance, entry in self.components.items():
            if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], type) and issubclass(entry[0], Component)):
                raise ScenarioError(f"node {self.name!r}: component {instance!r} must be (Component subclass, kwargs), got {entry!r}")


@dataclass(frozen=True)
class Scenario:
    """An experiment: group types, nodes, faults, duration (seconds) and seed.

    *topology* is an optional networkx graph for the simulation: nodes named like the scenario's
    nodes are hosts, nodes with ``switch=True`` are switches, and edges carry ``latency`` (seconds or
    a ``riaps_sim.net`` latency), ``bandwidth`` (bits/s), ``loss`` and ``duplication``; a ``DiGraph``
    gives each direction its own. Without it, nodes sit on one switched LAN with 0.5 ms links. The
    real world has the topology it has.

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "group_types", tuple(self.group_types))
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "faults", FaultSchedule(self.faults))
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
        late = [f.describe() for f in self.faults if f.at > self.duration]
        if late:
            raise ScenarioError(f"scenario {self.name!r}: faults after the end ({self.duration:g} s): {late}")

    @classmethod
    def group_of(
        cls, n: int, component: type[Component], args: Mapping[str, Any] | None = None, *, group: GroupType | None = None,
        faults: Sequence[Fault] = (), duration: float = 60.0, seed: int = 0, name: str | None = None, description: str = "",
    ) -> Scenario:
        """*n* nodes ``n0``.. each running one *component* (instance ``member``) in one group."""
        nodes = [NodeSpec(f"n{i}", {"member": (component, dict(args or {}))}) for i in range(n)]
        return cls(
            name or f"{n} x {component.__name__}", (group or GroupType(name="TheGroup"),), tuple(nodes),
            FaultSchedule(faults), duration, seed, description,
        )

    @classmethod
    def from_riaps_app(
        cls, app_dir: str | Path, depl: str | Path | None = None, *, hosts: int | Sequence[str] | None = None,
        faults: Sequence[Fault] = (), duration: float = 60.0, seed: int = 0, topology: Any = None, name: str | None = None,
        protocol: str = "riaps",
    ) -> Scenario:
        """A scenario running the unmodified RIAPS application in *app_dir* (see ``riaps_sim.apps``).

        *depl* defaults to the folder's only ``.depl`` file; *hosts* (a count or names) is needed
        when the deployment only says ``on all``. Raises ``riaps_sim.apps.AppError`` (a
        ``ScenarioError``) naming the file, line and construct of anything outside the supported subset.
        """
        from .apps import RiapsApp

        return RiapsApp.load(app_dir, depl).scenario(
            hosts=hosts, faults=faults, duration=duration, seed=seed, topology=topology, name=name, protocol=protocol,
        )

    def with_seed(self, seed: int) -> Scenario:
        return replace(self, seed=seed)

    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]


def default_scenario() -> Scenario:
    """Five members; the leader is partitioned away at t=20 s and healed at t=40 s; 60 s in all."""
    from .examples import Groupie

    return Scenario.group_of(
        5, Groupie, {"ask_leader_every": 2.0},
        faults=[Partition(at=20.0, sides=[[LEADER]]), Heal(at=40.0)],
        duration=60.0, seed=1, name="default",
        description="five members; the leader is partitioned away at t=20 s and healed at t=40 s",
    )


def _leader_crash() -> Scenario:
    from .examples import Groupie

    return Scenario.group_of(5, Groupie, faults=[Crash(at=20.0, node=LEADER)], duration=40.0, seed=1, name="leader-crash",
                             description="five members; the leader crashes at t=20 s")


BUILTIN = {"default": default_scenario, "leader-crash": _leader_crash}


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
    if path.suffix == ".toml":
        return _load_toml(path)
    if path.suffix == ".py":
        return _load_python(path)
    raise ScenarioError(f"{path}: a scenario file ends in .py or .toml")


def _load_python(path: Path) -> Scenario:
    try:
        namespace = runpy.run_path(str(path), run_name="riaps_sim_scenario")
    except ScenarioError:
        raise
    except Exception as exc:
        line = next((f.lineno for f in reversed(traceback.extract_tb(sys.exc_info()[2])) if Path(f.filename) == path.resolve() or f.filename == str(path)), None)
        where = f"{path}:{line}" if line else str(path)
        raise ScenarioError(f"{where}: {type(exc).__name__}: {exc}") from exc
    found = namespace.get("scenario")
    if callable(found) and not isinstance(found, Scenario):
        found = found()
    if not isinstance(found, Scenario):
        raise ScenarioError(f"{path}: expected a Scenario (or a function returning one) named 'scenario', found {type(found).__name__}")
    return found


_FAULTS: dict[str, tuple[type[Fault], dict[str, str]]] = {
    "partition": (Partition, {"sides": "sides", "mode": "mode", "one_way": "one_way"}),
    "heal": (Heal, {}),
    "crash": (Crash, {"node": "node"}),
    "restart": (Restart, {"node": "node"}),
    "clock": (ClockSkew, {"node": "node", "offset": "offset_s", "rate": "rate"}),
    "loss": (Loss, {"a": "a", "b": "b", "rate": "rate", "one_way": "one_way"}),
    "duplicate": (Duplicate, {"a": "a", "b": "b", "rate": "rate", "one_way": "one_way"}),
    "delay": (Delay, {"a": "a", "b": "b", "latency": "latency_s", "one_way": "one_way"}),
}


def _load_toml(path: Path) -> Scenario:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: {exc}") from None

    def fail(where: str, what: str) -> ScenarioError:
        return ScenarioError(f"{path}: {where}: {what}")

    head = data.get("scenario", {})
    unknown = sorted(set(data) - {"scenario", "group", "node", "fault"})
    if unknown:
        raise fail("top level", f"unknown table(s) {unknown}; expected [scenario], [[group]], [[node]], [[fault]]")
    groups = []
    for i, g in enumerate(data.get("group", [])):
        where = f"group[{i}]"
        try:
            timing = Timing.from_model(g.get("timing", {}))
            groups.append(GroupType(name=g["name"], kind=g.get("kind", "leader"), message=g.get("message", "Msg"),
                                    timed=g.get("timed", False), timing=timing, protocol=g.get("protocol", "riaps")))
        except KeyError as exc:
            raise fail(where, f"missing field {exc}") from None
        except (ValueError, TypeError) as exc:
            raise fail(where, str(exc)) from None
    if not groups:
        raise fail("group", "expected at least one [[group]] table with a name")
    nodes = []
    for i, n in enumerate(data.get("node", [])):
        where = f"node[{i}]"
        if "name" not in n:
            raise fail(where, "missing field 'name'")
        components = {}
        for instance, spec in n.get("components", {}).items():
            cwhere = f"{where}.components.{instance}"
            if not isinstance(spec, dict) or "class" not in spec:
                raise fail(cwhere, "expected { class = \"module:Class\", args = { ... } }")
            components[instance] = (_import_component(spec["class"], lambda what: fail(cwhere + ".class", what)), dict(spec.get("args", {})))
        count = n.get("count")
        names = [f"{n['name']}{k}" for k in range(count)] if count else [n["name"]]
        for name in names:
            try:
                nodes.append(NodeSpec(name, components, n.get("address") if not count else None))
            except ScenarioError as exc:
                raise fail(where, str(exc)) from None
    faults = []
    for i, f in enumerate(data.get("fault", [])):
        where = f"fault[{i}]"
        kind = f.get("kind")
        if kind not in _FAULTS:
            raise fail(where + ".kind", f"expected one of {sorted(_FAULTS)}, got {kind!r}")
        cls, renames = _FAULTS[kind]
        extra = sorted(set(f) - set(renames) - {"at", "kind"})
        if extra:
            raise fail(where, f"unknown field(s) {extra} for a {kind}; expected {sorted(renames)}")
        try:
            faults.append(cls(at=f["at"], **{renames[k]: v for k, v in f.items() if k in renames}))
        except KeyError as exc:
            raise fail(where, f"missing field {exc}") from None
        except (ValueError, TypeError) as exc:
            raise fail(where, str(exc)) from None
    try:
        return Scenario(head.get("name", path.stem), tuple(groups), tuple(nodes), FaultSchedule(faults),
                        float(head.get("duration", 60.0)), int(head.get("seed", 0)), head.get("description", ""))
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def _import_component(ref: str, fail: Any) -> type[Component]:
    module_name, _, attr = ref.partition(":")
    if not attr:
        raise fail(f"expected 'module:Class', got {ref!r}")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise fail(f"cannot import {ref!r}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Component)):
        raise fail(f"{ref!r} is not a Component subclass")
    return cls
