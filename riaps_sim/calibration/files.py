"""Calibration files: the TOML form of a ``Calibration``, written by ``riaps-sim calibrate`` and read strictly.

Nothing in a file is ignored: an unknown table or key, a value of the wrong type or a
distribution that cannot be is a ``CalibrationError`` naming the file and the field. Every
distribution is a table as in a scenario's ``[network]`` (``kind`` = constant, uniform, normal,
lognormal or empirical, and its fields, in seconds)::

    [calibration]
    version = 1
    source = "5 real runs of 'leader-crash' on loopback"

    [latency]                       # every link without its own; optional
    kind = "empirical"
    samples = [0.00061, 0.00072, ...]

    [[link]]                        # one (source, target) pair; optional, repeatable
    source = "n0"
    target = "n1"
    latency = { kind = "lognormal", median = 0.0009, sigma = 0.4, shift = 0.0004 }

    [processing]                    # seconds busy per message handled, every node without its own
    kind = "empirical"
    samples = [0.00021, ...]

    [[node]]                        # one node's own processing cost; optional, repeatable
    name = "n0"
    processing = { kind = "constant", delay = 0.0003 }

    [timers]
    lateness = { kind = "empirical", samples = [...] }

    [measured]                      # how the measured quantities spread, for the reader
    "latency.tic" = { count = 800, p50 = 0.0009, p90 = 0.0014, max = 0.004 }
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from ..net.latency import Constant, Empirical, Latency, LogNormal, TruncatedNormal, Uniform
from ..netprofile import latency_from_table
from ..scenario_files import ScenarioError
from .record import Calibration, LinkLatency, NodeCost
from .stats import Spread

__all__ = ["CalibrationError", "load_calibration", "dumps", "write_calibration", "VERSION"]

#: The file format's version; a file of another version is refused.
VERSION = 1


class CalibrationError(ScenarioError):
    """A calibration file that cannot be used: the message names the file, the field and what was expected."""


class _Reader:
    """One table of the file: each key taken once with its type checked; leftovers are errors."""

    def __init__(self, path: Path, where: str, data: Any) -> None:
        self.path, self.where = path, where
        if not isinstance(data, dict):
            self.fail(f"expected a table, got {data!r}")
        self.data: dict[str, Any] = data
        self.taken: set[str] = set()

    def fail(self, what: str, key: str | None = None) -> NoReturn:
        raise CalibrationError(f"{self.path}: {self.where}{'.' + key if key else ''}: {what}")

    def take(self, key: str, kinds: tuple[type, ...], expected: str, default: Any = None, required: bool = False) -> Any:
        self.taken.add(key)
        if key not in self.data:
            if required:
                self.fail(f"missing; expected {expected}", key)
            return default
        value = self.data[key]
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            self.fail(f"expected {expected}, got {value!r}", key)
        return value

    def sub(self, key: str) -> _Reader:
        self.taken.add(key)
        return _Reader(self.path, f"{self.where}.{key}" if self.where != "top level" else f"[{key}]", self.data.get(key))

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.taken)
        if unknown:
            self.fail(f"unknown field(s) {unknown}; expected {sorted(self.taken)}")


def _distribution(reader: _Reader, key: str | None = None) -> Latency:
    """The distribution in *reader* (the whole table) or in its field *key*."""
    if key is None:
        raw = dict(reader.data)
        reader.taken.update(reader.data)
    else:
        raw = reader.take(key, (dict,), 'a distribution table like { kind = "lognormal", median = 0.001, sigma = 0.3 }', required=True)
    try:
        return latency_from_table(raw)
    except (ValueError, TypeError) as exc:
        reader.fail(str(exc), key)


def load_calibration(path: str | Path) -> Calibration:
    """The calibration in the TOML file *path*; raises ``CalibrationError`` naming the file and field that are wrong."""
    path = Path(path)
    if not path.exists():
        raise CalibrationError(f"{path}: no such calibration file (make one with 'riaps-sim calibrate')")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationError(f"{path}: not TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise CalibrationError(f"{path}: not a text file: {exc}") from None
    top = _Reader(path, "top level", data)
    head = top.sub("calibration")
    version = head.take("version", (int,), f"the format version, {VERSION}", required=True)
    if version != VERSION:
        head.fail(f"this riaps-sim reads version {VERSION}, the file is version {version}", "version")
    source = head.take("source", (str,), "a description of what was measured", "")
    head.done()
    values: dict[str, Any] = {"source": source}
    if "latency" in data:
        values["latency"] = _distribution(top.sub("latency"))
    if "processing" in data:
        values["processing"] = _distribution(top.sub("processing"))
    if "timers" in data:
        timers = top.sub("timers")
        values["timer_lateness"] = _distribution(timers, "lateness")
        timers.done()
    links = []
    for i, raw in enumerate(top.take("link", (list,), "[[link]] tables", [])):
        table = _Reader(path, f"link[{i}]", raw)
        source_node = table.take("source", (str,), "a node name", required=True)
        target_node = table.take("target", (str,), "a node name", required=True)
        latency = _distribution(table, "latency")
        table.done()
        links.append(_make(table.fail, LinkLatency, source_node, target_node, latency))
    nodes = []
    for i, raw in enumerate(top.take("node", (list,), "[[node]] tables", [])):
        table = _Reader(path, f"node[{i}]", raw)
        name = table.take("name", (str,), "a node name", required=True)
        processing = _distribution(table, "processing")
        table.done()
        nodes.append(_make(table.fail, NodeCost, name, processing))
    measured = {}
    if "measured" in data:
        table = top.sub("measured")
        for name in list(table.data):
            entry = table.sub(name)
            count = entry.take("count", (int,), "a whole number of samples", required=True)
            numbers = [entry.take(k, (int, float), "seconds", required=True) for k in ("p50", "p90", "max")]
            entry.done()
            measured[name] = _make(entry.fail, Spread, count, *[float(n) for n in numbers])
        table.done()
    top.done()
    calibration: Calibration = _make(top.fail, Calibration, links=links, nodes=nodes, measured=measured, **values)
    return calibration


def _make(fail: Callable[[str], NoReturn], cls: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return cls(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        fail(str(exc))


# -- writing -------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _fields(latency: Latency) -> list[tuple[str, str]]:
    if isinstance(latency, Constant):
        return [("kind", '"constant"'), ("delay", _number(latency.delay))]
    if isinstance(latency, Uniform):
        return [("kind", '"uniform"'), ("low", _number(latency.low)), ("high", _number(latency.high))]
    if isinstance(latency, TruncatedNormal):
        return [
            ("kind", '"normal"'),
            ("mu", _number(latency.mu)),
            ("sigma", _number(latency.sigma)),
            ("low", _number(latency.low)),
            ("high", _number(latency.high)),
        ]
    if isinstance(latency, LogNormal):
        return [("kind", '"lognormal"'), ("median", _number(latency.median)), ("sigma", _number(latency.sigma)), ("shift", _number(latency.shift))]
    if isinstance(latency, Empirical):
        return [("kind", '"empirical"'), ("samples", "[" + ", ".join(_number(s) for s in latency.samples) + "]")]
    raise ValueError(f"a calibration file cannot hold a {type(latency).__name__}; use Constant, Uniform, TruncatedNormal, LogNormal or Empirical")


def _inline(latency: Latency) -> str:
    return "{ " + ", ".join(f"{k} = {v}" for k, v in _fields(latency)) + " }"


def dumps(calibration: Calibration) -> str:
    """The TOML text of *calibration* (``load_calibration`` reads it back equal)."""
    out = ["# riaps-sim calibration: apply with 'riaps-sim run SCENARIO --calibration FILE'", "", "[calibration]", f"version = {VERSION}"]
    out.append(f"source = {_string(calibration.source)}")
    if calibration.latency is not None:
        out += ["", "# one-way latency of every link without its own, seconds", "[latency]"]
        out += [f"{k} = {v}" for k, v in _fields(calibration.latency)]
    if calibration.processing is not None:
        out += ["", "# seconds a node is busy for each message it handles", "[processing]"]
        out += [f"{k} = {v}" for k, v in _fields(calibration.processing)]
    if calibration.timer_lateness is not None:
        out += ["", "# how late a timer runs after it falls due, seconds", "[timers]", f"lateness = {_inline(calibration.timer_lateness)}"]
    for link in calibration.links:
        out += ["", "[[link]]", f"source = {_string(link.source)}", f"target = {_string(link.target)}", f"latency = {_inline(link.latency)}"]
    for cost in calibration.nodes:
        out += ["", "[[node]]", f"name = {_string(cost.node)}", f"processing = {_inline(cost.processing)}"]
    if calibration.measured:
        out += ["", "# how the measured quantities spread (seconds), for the reader: not applied", "[measured]"]
        for name, spread in calibration.measured.items():
            out.append(
                f"{_string(name)} = {{ count = {spread.count}, p50 = {_number(spread.p50)}, p90 = {_number(spread.p90)}, max = {_number(spread.max)} }}"
            )
    return "\n".join(out) + "\n"


def write_calibration(calibration: Calibration, path: str | Path) -> Path:
    """Write *calibration* to *path* as TOML (folders made as needed); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(calibration), encoding="utf-8")
    return path
