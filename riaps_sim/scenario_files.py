"""Scenario files: a ``.py`` file that defines ``scenario``, or a TOML file, read strictly.

Nothing in a file is ignored: an unknown table or key, a value of the wrong type, an unknown
protocol, group kind, fault kind or component argument is a ``ScenarioError`` that names the file,
the table and field, and what was expected, before anything runs. TOML names are the Python names
(``Partition(sides=..., mode=...)`` is ``kind = "partition"``, ``sides = ...``, ``mode = ...``;
``ClockSkew(offset_s=...)`` is ``kind = "clock_skew"``, ``offset_s = ...``)::

    [scenario]
    name = "leader partition"      # optional: the file's name
    duration = 60                  # seconds
    seed = 1
    description = "..."

    [[group]]
    name = "TheGroup"              # kind = "leader", message = "Msg", timed = false, protocol = "riaps"
    timing = { heartbeat = 1000 }  # RIAPS model names, or the Python ones (heartbeat_ms = 1000);
                                   # reference_poll_timeout_units = false: riaps without B3

    [[node]]
    name = "n"                     # with count = 5: nodes n0 .. n4; address = "10.0.0.1" for one node
    count = 5
    components = { member = { class = "riaps_sim.examples:Groupie", args = { ask_leader_every = 2.0 } } }

    [[fault]]
    kind = "partition"             # partition heal crash restart pause clock_skew loss duplicate delay
    at = 20                        # or: after = "vote_announced", delay = 0.5
    sides = [["@leader"]]          # roles: @leader, @followers, @leader+K, @crashed

    [network]                      # the simulated LAN (optional)
    latency = { kind = "uniform", low = 0.0005, high = 0.002 }   # or seconds: latency = 0.001
    loss = 0.0
    reorder = false
    discovery_delay_s = 0.05

Node tables also take ``start_s`` (when the node starts its components). ``[scenario]`` also takes
``calibration = "calibration.toml"``, a file made by ``riaps-sim calibrate`` (relative to the
scenario file), applied in simulation (see ``riaps_sim.calibration``).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import runpy
import sys
import tomllib
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from .component import Component
from .coord.timing import MODEL_NAMES, Timing
from .faults import ClockSkew, Crash, Delay, Duplicate, Fault, FaultSchedule, Heal, Loss, Partition, Pause, Restart
from .model import GroupType

__all__ = ["ScenarioError", "load_file", "FAULT_KINDS", "check_component_args", "import_component"]


class ScenarioError(ValueError):
    """A scenario that cannot be run: the message names the file, the line or field, and what was expected."""


#: TOML ``kind`` of each fault class (its name in snake case).
FAULT_KINDS: dict[str, type[Fault]] = {
    "partition": Partition,
    "heal": Heal,
    "crash": Crash,
    "restart": Restart,
    "clock_skew": ClockSkew,
    "loss": Loss,
    "duplicate": Duplicate,
    "delay": Delay,
    "pause": Pause,
}

_NUMBER = (int, float)
#: The one timing key that is not milliseconds (``Timing.reference_poll_timeout_units``).
UNITS_KEY = "reference_poll_timeout_units"


def _type_name(value: Any) -> str:
    return {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "a list", dict: "a table"}.get(
        type(value), type(value).__name__
    )


class _Table:
    """One table of a TOML file being read: every key must be taken, each of the expected type."""

    def __init__(self, path: Path, where: str, data: Any) -> None:
        self.path = path
        self.where = where
        if not isinstance(data, dict):
            self.fail(f"expected a table, got {_type_name(data)} {data!r}")
        self.data: dict[str, Any] = data
        self.taken: set[str] = set()

    def fail(self, what: str, key: str | None = None) -> NoReturn:
        where = f"{self.where}.{key}" if key else self.where
        raise ScenarioError(f"{self.path}: {where}: {what}")

    def has(self, key: str) -> bool:
        return key in self.data

    def take(self, key: str, kind: type | tuple[type, ...], expected: str, default: Any = dataclasses.MISSING) -> Any:
        """The value of *key*, which must be of *kind* (described as *expected*); *default* if absent."""
        self.taken.add(key)
        if key not in self.data:
            if default is dataclasses.MISSING:
                self.fail(f"missing; expected {expected}")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,))):
            self.fail(f"expected {expected}, got {_type_name(value)} {value!r}", key)
        return value

    def table(self, key: str) -> _Table:
        self.taken.add(key)
        return _Table(self.path, f"{self.where}.{key}", self.data.get(key, {}))

    def done(self, expected: list[str]) -> None:
        unknown = sorted(set(self.data) - self.taken)
        if unknown:
            self.fail(f"unknown field(s) {unknown}; expected {sorted(expected)}")


def load_file(path: Path) -> Any:
    """The scenario defined by *path*, a ``.py`` or ``.toml`` file."""
    if path.suffix == ".toml":
        return _load_toml(path)
    if path.suffix == ".py":
        return _load_python(path)
    raise ScenarioError(f"{path}: a scenario file ends in .py or .toml")


def _load_python(path: Path) -> Any:
    from .scenario import Scenario

    folder = str(path.resolve().parent)
    if folder not in sys.path:  # as `python FILE` does: modules beside the file import by name
        sys.path.insert(0, folder)
    try:
        namespace = runpy.run_path(str(path), run_name="riaps_sim_scenario")
        found = namespace.get("scenario")
        if callable(found) and not isinstance(found, Scenario):
            found = found()
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    except Exception as exc:
        line = next((f.lineno for f in reversed(traceback.extract_tb(sys.exc_info()[2])) if Path(f.filename).resolve() == path.resolve()), None)
        where = f"{path}:{line}" if line else str(path)
        raise ScenarioError(f"{where}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(found, Scenario):
        raise ScenarioError(f"{path}: expected a Scenario (or a function returning one) named 'scenario', found {type(found).__name__}")
    return found


def _load_toml(path: Path) -> Any:
    from .scenario import NodeSpec, Scenario

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    top = _Table(path, "top level", data)
    head = top.table("scenario")
    head.where = "[scenario]"
    groups = [_group(_Table(path, f"group[{i}]", g)) for i, g in enumerate(top.take("group", list, "[[group]] tables", []))]
    if not groups:
        top.fail("expected at least one [[group]] table with a name")
    nodes = []
    for i, raw in enumerate(top.take("node", list, "[[node]] tables", [])):
        table = _Table(path, f"node[{i}]", raw)
        name = table.take("name", str, "a node name")
        count = table.take("count", int, "a whole number of nodes", None)
        address = table.take("address", str, "an IPv4 address", None)
        start_s = table.take("start_s", _NUMBER, "a time in seconds", 0.0)
        components = _components(table.table("components"))
        table.done(["name", "count", "address", "start_s", "components"])
        if count is not None and count < 1:
            table.fail(f"expected a count >= 1, got {count}", "count")
        if count is not None and address is not None:
            table.fail("a node table with count cannot give one address to all; give each node its own table", "address")
        for node_name in [f"{name}{k}" for k in range(count)] if count else [name]:
            try:
                nodes.append(NodeSpec(node_name, components, address, float(start_s)))
            except ScenarioError as exc:
                table.fail(str(exc))
    faults = [_fault(_Table(path, f"fault[{i}]", f)) for i, f in enumerate(top.take("fault", list, "[[fault]] tables", []))]
    network = _network(top.table("network")) if top.has("network") else None
    top.done(["scenario", "group", "node", "fault", "network"])
    name = head.take("name", str, "a string", path.stem)
    duration = head.take("duration", _NUMBER, "a number of seconds", 60.0)
    seed = head.take("seed", int, "an integer seed", 0)
    description = head.take("description", str, "a string", "")
    keys = head.take("keys", str, "a key folder (riaps-sim keys new DIR), relative to the file", None)
    insecure = head.take("insecure", bool, "true or false", False)
    calibration_file = head.take("calibration", str, "a calibration file (riaps-sim calibrate), relative to the file", None)
    head.done(["name", "duration", "seed", "description", "keys", "insecure", "calibration"])
    if keys is not None:
        keys = str((path.parent / keys).resolve())
    calibration = None
    if calibration_file is not None:
        from .calibration import load_calibration

        calibration = load_calibration(path.parent / calibration_file)
    try:
        return Scenario(
            name,
            tuple(groups),
            tuple(nodes),
            FaultSchedule(faults),
            float(duration),
            seed,
            description,
            keys=keys,
            insecure=insecure,
            network=network,
            calibration=calibration,
        )
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def _network(table: _Table) -> Any:
    from .netprofile import NetworkProfile, latency_from_table

    values: dict[str, Any] = {}
    if table.has("latency"):
        raw = table.take("latency", (int, float, dict), 'seconds, or a table like { kind = "uniform", low = 0.001, high = 0.004 }')
        try:
            values["latency"] = latency_from_table(raw) if isinstance(raw, dict) else float(raw)
        except (ValueError, TypeError) as exc:
            table.fail(str(exc), "latency")
    if table.has("loss"):
        values["loss"] = table.take("loss", _NUMBER, "a probability")
    if table.has("reorder"):
        values["reorder"] = table.take("reorder", bool, "true or false")
    if table.has("discovery_delay_s"):
        values["discovery_delay_s"] = table.take("discovery_delay_s", _NUMBER, "seconds")
    table.done(["latency", "loss", "reorder", "discovery_delay_s"])
    try:
        return NetworkProfile(**values)
    except ValueError as exc:
        table.fail(str(exc))


def _group(table: _Table) -> GroupType:
    fields = {
        "name": (str, "a group type name"),
        "kind": (str, "one of 'leader', 'consensus', 'default'"),
        "message": (str, "a message type name"),
        "timed": (bool, "true or false"),
        "protocol": (str, "a protocol name"),
        "blocking_join_leave": (bool, "true or false"),
    }
    values = {key: table.take(key, kind, expected) for key, (kind, expected) in fields.items() if table.has(key) or key == "name"}
    timing_table = table.table("timing")
    table.done([*fields, "timing"])
    known = set(MODEL_NAMES) | set(MODEL_NAMES.values())
    params: dict[str, Any] = {}
    for key in [k for k in timing_table.data if k in known]:
        params[MODEL_NAMES.get(key, key)] = timing_table.take(key, int, "a whole number of milliseconds")
    if timing_table.has(UNITS_KEY):
        params[UNITS_KEY] = timing_table.take(UNITS_KEY, bool, "true or false (riaps: read consensusTimeout as seconds, B3)")
    timing_table.done(sorted(known | {UNITS_KEY}))
    try:
        return GroupType(timing=Timing(**params), **values)
    except (ValueError, TypeError) as exc:
        table.fail(str(exc))


def _components(table: _Table) -> dict[str, tuple[type[Component], dict[str, Any]]]:
    out = {}
    for instance in list(table.data):
        spec = table.table(instance)
        ref = spec.take("class", str, 'a "module:Class" reference')
        cls = import_component(ref, functools.partial(spec.fail, key="class"))
        args = spec.table("args").data
        spec.done(["class", "args"])
        problem = check_component_args(cls, args)
        if problem:
            spec.fail(problem, "args")
        out[instance] = (cls, dict(args))
    return out


def _fault(table: _Table) -> Fault:
    kind = table.take("kind", str, f"one of {sorted(FAULT_KINDS)}")
    if kind == "clock":
        table.fail("the kind is now 'clock_skew' (the class is ClockSkew)", "kind")
    if kind not in FAULT_KINDS:
        table.fail(f"expected one of {sorted(FAULT_KINDS)}, got {kind!r}", "kind")
    cls = FAULT_KINDS[kind]
    names = [f.name for f in dataclasses.fields(cls)]
    values = {name: table.data[name] for name in names if name in table.data}
    table.taken.update(values)
    table.done(["kind", *names])
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        table.fail(f"a {kind} needs {missing}")
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        table.fail(str(exc))


def import_component(ref: str, fail: Callable[[str], Any]) -> type[Component]:
    """The component class that ``"module:Class"`` names; *fail(what)* raises the caller's error."""
    module_name, _, attr = ref.partition(":")
    if not attr:
        fail(f"expected 'module:Class', got {ref!r}")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        fail(f"cannot import {ref!r}: {exc}")
    if not (isinstance(cls, type) and issubclass(cls, Component)):
        fail(f"{ref!r} is not a Component subclass")
    return cls  # type: ignore[no-any-return]


def check_component_args(cls: type, args: Mapping[str, Any]) -> str | None:
    """What is wrong with building *cls* from keyword *args* (unknown or missing arguments), or ``None``."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return None  # a signature we cannot read: the build will tell
    try:
        signature.bind(**args)
    except TypeError as exc:
        accepted = [p.name for p in signature.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        return f"{cls.__name__}({', '.join(f'{k}=...' for k in args)}): {exc}; it accepts {accepted}"
    return None
