"""The rules of DESIGN.md hold: protocol code stays world-agnostic, and the layers import downwards only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from riaps_sim.rules import check_paths, check_source

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL_CODE = [p for p in (ROOT / "riaps_sim" / "coord", ROOT / "riaps_sim" / "component.py") if p.exists()]


@pytest.mark.parametrize(
    "source, what",
    [
        ("import time\nnow = time.time()", "imports time: the wall clock and sleeps"),
        ("from random import randrange", "imports random: the global random generator"),
        ("import threading", "imports threading: threads"),
        ("import zmq", "imports zmq: ZeroMQ directly"),
        ("from simpy import Environment", "imports simpy: the simulator"),
        ("import os\nkey = os.urandom(16)", "calls os.urandom()"),
        ("from time import sleep", "imports time"),
        ("mod = __import__('time')", "imports dynamically with __import__()"),
    ],
)
def test_checker_reports_each_kind_of_breach(source: str, what: str) -> None:
    """Each forbidden import or call is reported with its line and the reason."""
    violations = check_source(source, "x.py")
    assert violations and what in violations[0].what and violations[0].line >= 1
    assert str(violations[0]).startswith("x.py:")


def test_clean_code_passes() -> None:
    """Code that asks its node for clock, timers and randomness is clean."""
    source = "def on_tick(self, node):\n    now = node.clock()\n    node.arm('hb', 1.0)\n    return node.random.random()\n"
    assert check_source(source) == []


def test_protocol_and_component_code_obey_the_rules() -> None:
    """riaps_sim.coord and the component base never touch the wall clock, global random, threads or sockets."""
    violations = check_paths(PROTOCOL_CODE)
    assert violations == [], "\n".join(map(str, violations))


def _imports(package: Path) -> list[tuple[str, str]]:
    """(file, absolute module) for every import in *package*, relative imports resolved."""
    found = []
    for file in sorted(package.rglob("*.py")):
        here = list(file.relative_to(ROOT).parts[:-1])  # the package the file belongs to
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(str(file.relative_to(ROOT)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                found.append((str(file.relative_to(ROOT)), module))
    return found


def test_ports_import_nothing_from_riaps_sim() -> None:
    """The ports package stands alone: arrows point down only."""
    assert [(f, m) for f, m in _imports(ROOT / "ports") if m.split(".")[0] == "riaps_sim"] == []


def test_net_knows_nothing_of_coord() -> None:
    """The network model does not import the coordination protocols."""
    net = ROOT / "riaps_sim" / "net"
    if not net.exists():
        pytest.skip("riaps_sim.net is not there yet")
    assert [(f, m) for f, m in _imports(net) if m.startswith("riaps_sim.coord")] == []
