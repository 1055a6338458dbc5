"""The scenario reference, generated from the code at every docs build so it cannot drift.

``reference_rst()`` walks the dataclasses a scenario is made of (``Scenario``, ``NodeSpec``,
``GroupType``, ``Timing``) and every fault class the TOML form knows, and writes one table per
class: field, type, default, TOML key and meaning. Meanings come from the code: a numpy-style
``Parameters`` section of the class docstring, or a ``#:`` comment on the field; for fields the
code does not describe, ``NOTES`` below says it. A field with no meaning anywhere is reported, and
the Sphinx directive turns that into a warning, which fails the build (``-W``): a new field cannot
reach the docs undescribed.

Used as a Sphinx extension (``.. scenario-reference::``, and ``.. message-codes::`` for the
glossary's table of message codes) and by the test suite.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any

from riaps_sim.coord.timing import MODEL_NAMES, Timing
from riaps_sim.faults import Fault
from riaps_sim.model import GROUP_KINDS, GroupType
from riaps_sim.netprofile import NetworkProfile
from riaps_sim.scenario import NodeSpec, Scenario
from riaps_sim.scenario_files import FAULT_KINDS  # the TOML fault kinds (the loader's own table)

#: Meanings of the fields whose classes do not describe them, by ``Class.field`` or by ``field``.
NOTES = {
    "Scenario.name": "The scenario's name: labels summaries, plots and output folders.",
    "Scenario.group_types": "The group types of the application (at least one).",
    "Scenario.nodes": "The nodes, each with its components; names must be unique identifiers.",
    "Scenario.faults": "The fault schedule, in seconds from the start of the run (any order; sorted by time).",
    "Scenario.duration": "Seconds to run, in virtual time (simulation) or real time.",
    "Scenario.seed": "The seed of the simulation's random draws (election timeouts, loss...).",
    "Scenario.description": "One line saying what the scenario shows.",
    "Scenario.topology": "An optional networkx graph for the simulation (see the class docstring); not in TOML.",
    "Scenario.keys": "Real world: the application's key material, a folder made by ``riaps-sim keys new`` or an ``AppKeys``; "
    "default: fresh keys for each run.",
    "Scenario.insecure": "Real world: no CURVE, no allow-list, unsigned beacons (for interop with unmodified RIAPS nodes); "
    "summaries say it was used.",
    "Scenario.network": "The simulated LAN (a ``NetworkProfile``, below); default: 0.5 ms links, no loss.",
    "Scenario.calibration": "Simulation only: a ``Calibration`` (made by ``riaps-sim calibrate``) that times links, handlers "
    "and timers as a measured real system does; in TOML the path of its file, relative to the scenario file. Default: none.",
    "NodeSpec.start_s": "Seconds after the run's time 0 at which the node starts its components (a late joiner).",
    "NetworkProfile.latency": "One-way latency of a message between two hosts: seconds, or a distribution "
    '(in TOML ``{ kind = "uniform", low = 0.001, high = 0.004 }``).',
    "NetworkProfile.loss": "The probability that a message between two hosts is lost, in [0, 1).",
    "NetworkProfile.reorder": "Whether messages may overtake each other (latency draws are not forced into order).",
    "NetworkProfile.discovery_delay_s": "Seconds simulated discovery takes to tell members about each other.",
    "NodeSpec.name": "The node's name, an identifier (``-`` allowed).",
    "NodeSpec.components": "Instance name to ``(Component subclass, keyword arguments)``.",
    "NodeSpec.address": "The node's IPv4 address in the real world (default: 127.0.0.N on loopback).",
    "Scenario.trace_all": "Simulation only: keep a trace row for every heartbeat (``tic``, ``ldr``) instead of counting them; "
    "sequence charts of heartbeats need it.",
    "at": "Seconds from the start of the run when the fault falls due; give either ``at`` or ``after``.",
    "after": "A trace event kind (``riaps_sim.faults.TRIGGERS``): the fault falls due at the first such event.",
    "delay": "Seconds after the ``after`` event (only with ``after``).",
    "Pause.duration_s": "Seconds the node stays stalled (SIGSTOP, then SIGCONT in the real world).",
    "Partition.sides": "Lists of node names or roles (``@leader``, ``@followers``, ``@leader+K``, ``@crashed``); one list cuts "
    "it off from all other nodes.",
    "Partition.mode": "``hold`` delays traffic until the heal (TCP under a firewall DROP); ``drop`` loses it.",
    "one_way": "Only traffic from the first to the second side (or from *a* to *b*) is affected.",
    "node": "The node, or a role resolved when the fault falls due: ``@leader`` (the node that leads) or ``@crashed`` "
    "(the node the latest crash took down).",
    "ClockSkew.offset_s": "Seconds added to the node's clock.",
    "ClockSkew.rate": "How fast the clock runs: 1.0 is a perfect clock, 1.001 gains a millisecond a second.",
    "a": "One end of the link (a node name).",
    "b": "The other end of the link (a node name, or a switch in a custom topology).",
    "Loss.rate": "The probability that each message on the link is lost, 0 to 1.",
    "Duplicate.rate": "The probability that each message on the link is delivered twice, 0 to 1.",
    "Delay.latency_s": "The link's latency from then on, in seconds.",
}

#: TOML keys of the non-fault classes: (TOML table, key) by field; absent means "not in TOML".
TOML_KEYS: dict[type, tuple[str, dict[str, str]]] = {
    Scenario: (
        "[scenario]",
        {
            "name": "name",
            "duration": "duration",
            "seed": "seed",
            "description": "description",
            "group_types": "[[group]] tables",
            "nodes": "[[node]] tables",
            "faults": "[[fault]] tables",
            "keys": "keys",
            "insecure": "insecure",
            "network": "[network] table",
            "calibration": "calibration",
        },
    ),
    NodeSpec: ("[[node]]", {"name": "name", "components": "components", "address": "address", "start_s": "start_s"}),
    NetworkProfile: ("[network]", {"latency": "latency", "loss": "loss", "reorder": "reorder", "discovery_delay_s": "discovery_delay_s"}),
    GroupType: ("[[group]]", {"name": "name", "kind": "kind", "message": "message", "timed": "timed", "timing": "timing", "protocol": "protocol"}),
    Timing: ("[[group]] timing", {field: f"{model}`` or ``{field}" for model, field in MODEL_NAMES.items()}),
}


def parameter_docs(cls: type) -> dict[str, str]:
    """Field meanings from the numpy-style ``Parameters`` section of *cls*'s docstring."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    section = re.search(r"^Parameters\n-+\n(.*?)(?:^\S[^\n]*\n-+\n|\Z)", doc, flags=re.S | re.M)
    if not section:
        return {}
    out: dict[str, str] = {}
    names: list[str] = []
    for line in section.group(1).splitlines():
        if line and not line[0].isspace():
            names = [n.strip() for n in line.split(":")[0].split(",") if n.strip()]
            for name in names:
                out[name] = ""
        elif line.strip():
            for name in names:
                out[name] = (out[name] + " " + line.strip()).strip()
    return out


def attribute_docs(cls: type) -> dict[str, str]:
    """Field meanings from ``#:`` comments in *cls*'s source (what autodoc reads)."""
    try:
        from sphinx.pycode import ModuleAnalyzer

        docs = ModuleAnalyzer.for_module(cls.__module__).find_attr_docs()
    except Exception:  # no source (a frozen install): the other sources still apply
        return {}
    return {name: " ".join(lines).strip() for (scope, name), lines in docs.items() if scope == cls.__qualname__}


def meaning(cls: type, field: str) -> str:
    """The meaning of *field* of *cls*, from the code first, then ``NOTES``; ``""`` if none."""
    for source in (parameter_docs(cls), attribute_docs(cls)):
        if source.get(field):
            return source[field]
    for klass in cls.__mro__:
        if f"{klass.__name__}.{field}" in NOTES:
            return NOTES[f"{klass.__name__}.{field}"]
    return NOTES.get(field, "")


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        return f"``{field.default!r}``"
    if field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
        return "empty" if hasattr(value, "__len__") and not len(value) else f"``{type(value).__name__}()``"
    return "required"


def _cell(text: str) -> str:
    return " ".join(text.split())


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", "   :widths: auto", ""]
    for row in [header, *rows]:
        out.append(f"   * - {_cell(row[0])}")
        out.extend(f"     - {_cell(cell)}" for cell in row[1:])
    return out + [""]


def fault_classes() -> list[tuple[str | None, type[Fault], dict[str, str]]]:
    """``(TOML kind or None, class, TOML key -> field)`` for every fault class ``riaps_sim.faults`` exports.

    TOML keys are the Python field names (``riaps_sim.scenario_files`` reads them so); a class the
    TOML form does not know has kind ``None`` and no keys.
    """
    from riaps_sim import faults

    kinds = {cls: kind for kind, cls in FAULT_KINDS.items()}
    classes = [obj for name in faults.__all__ if isinstance(obj := getattr(faults, name), type) and issubclass(obj, Fault) and obj is not Fault]
    return [(kinds.get(cls), cls, {f.name: f.name for f in dataclasses.fields(cls)} if cls in kinds else {}) for cls in classes]


def reference_rst() -> tuple[str, list[str]]:
    """The reference as reStructuredText, and the ``Class.field`` names that have no meaning anywhere."""
    missing: list[str] = []
    lines: list[str] = []

    def heading(text: str, mark: str) -> None:
        # rubrics, not sections: the directive's output lands inside the page's own section
        lines.extend([f".. rubric:: {text}", ""] if mark == "~" else [f"**{text}**", ""])

    heading("Scenario tables", "-")
    for cls in (Scenario, NodeSpec, GroupType, Timing, NetworkProfile):
        table, keys = TOML_KEYS[cls]
        heading(cls.__name__, "~")
        lines.extend([f":class:`{cls.__module__}.{cls.__qualname__}`; in TOML: ``{table}``.", ""])
        rows = []
        for field in dataclasses.fields(cls):
            text = meaning(cls, field.name)
            if not text:
                missing.append(f"{cls.__name__}.{field.name}")
            toml = f"``{keys[field.name]}``" if field.name in keys else "(Python only)"
            rows.append([f"``{field.name}``", f"``{field.type}``", _default(field), toml, text])
        lines.extend(_table(rows, ["field", "type", "default", "TOML", "meaning"]))
        if cls is NodeSpec:
            lines.extend(
                [
                    "TOML only: ``count = N`` in a ``[[node]]`` table makes N nodes ``<name>0`` .. ``<name>N-1`` with the "
                    'same components; ``components`` is ``{ instance = { class = "module:Class", args = { ... } } }``.',
                    "",
                ]
            )
        if cls is GroupType:
            lines.extend([f"``kind`` is one of {', '.join(f'``{k}``' for k in GROUP_KINDS)}; ``protocol`` is ``riaps`` or ``fixed``.", ""])
    heading("Faults", "-")
    lines.extend(["In TOML, each ``[[fault]]`` table has ``at``, ``kind`` (the name below) and the keys listed.", ""])
    for kind, cls, keys in fault_classes():
        heading(f'{cls.__name__} (``kind = "{kind}"``)' if kind else f"{cls.__name__} (Python only)", "~")
        lines.extend([inspect.cleandoc(cls.__doc__ or ""), ""])
        by_field = {field: key for key, field in keys.items()}
        rows = []
        for field in dataclasses.fields(cls):
            text = meaning(cls, field.name)
            if not text:
                missing.append(f"{cls.__name__}.{field.name}")
            toml = f"``{by_field[field.name]}``" if field.name in by_field else "(Python only)"
            rows.append([f"``{field.name}``", f"``{field.type}``", _default(field), toml, text])
        lines.extend(_table(rows, ["parameter", "type", "default", "TOML", "meaning"]))
    return "\n".join(lines), missing


def message_codes_rst() -> tuple[str, list[str]]:
    """The table of message codes (``riaps_sim.analysis.codes``), and the wire codes it lacks."""
    from riaps_sim.analysis.codes import MESSAGE_CODES
    from riaps_sim.coord.wire import Code

    missing = [c.value.decode() for c in Code if c.value.decode() not in MESSAGE_CODES]
    rows = [[f"``{c.code}``", c.meaning, c.path, c.purpose] for c in MESSAGE_CODES.values()]
    return "\n".join(_table(rows, ["code", "meaning", "how it travels", "what for"])), missing


def setup(app: Any) -> dict[str, Any]:
    """Register ``.. scenario-reference::`` and ``.. message-codes::``."""
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util import logging
    from sphinx.util.docutils import SphinxDirective

    log = logging.getLogger(__name__)

    def _check_tables(container: nodes.Element, expected: int, directive: SphinxDirective) -> None:
        """Warn (an error under -W) unless the text became tables: it must be parsed as reStructuredText."""
        found = len(list(container.findall(nodes.table)))
        if found != expected:
            log.warning(
                "%s made %d tables instead of %d: use it inside {eval-rst} in a MyST page",
                directive.name,
                found,
                expected,
                location=directive.get_location(),
            )

    class ScenarioReference(SphinxDirective):
        def run(self) -> list[nodes.Node]:
            text, missing = reference_rst()
            for name in missing:
                log.warning("scenario reference: %s has no description in the code or in NOTES", name, location=self.get_location())
            container = nodes.container()
            self.state.nested_parse(StringList(text.splitlines(), source="scenario-reference"), self.content_offset, container)
            _check_tables(container, len([line for line in text.splitlines() if line.startswith(".. list-table::")]), self)
            return container.children

    class MessageCodes(SphinxDirective):
        def run(self) -> list[nodes.Node]:
            text, missing = message_codes_rst()
            for code in missing:
                log.warning("message codes: wire code %r has no entry in riaps_sim.analysis.codes", code, location=self.get_location())
            container = nodes.container()
            self.state.nested_parse(StringList(text.splitlines(), source="message-codes"), self.content_offset, container)
            _check_tables(container, 1, self)
            return container.children

    app.add_directive("scenario-reference", ScenarioReference)
    app.add_directive("message-codes", MessageCodes)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
