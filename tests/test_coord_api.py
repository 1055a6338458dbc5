"""The coord package's public surface and its import rules."""

from __future__ import annotations

import ast
from pathlib import Path

import riaps_sim.coord as coord

COORD = Path(coord.__file__).parent
PROTOCOL_MODULES = sorted(p for p in COORD.glob("*.py") if p.name != "group.py")  # group.py: the facade, not protocol
FORBIDDEN = {"zmq", "simpy", "time", "random", "threading", "socket", "ports"}


def test_all_names_exist_and_are_unique() -> None:
    """Every name in coord.__all__ is exported, once."""
    assert len(coord.__all__) == len(set(coord.__all__))
    assert [n for n in coord.__all__ if not hasattr(coord, n)] == []


def test_protocol_modules_import_no_io_clock_or_global_random() -> None:
    """Protocol code imports none of zmq, simpy, time, random, threading, socket or ports."""
    bad = []
    for path in PROTOCOL_MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            )
            bad += [(path.name, n) for n in names if n.split(".")[0] in FORBIDDEN]
    assert bad == []


def test_modules_stay_small() -> None:
    """One concept per module, each well under 400 lines."""
    assert {p.name: n for p in PROTOCOL_MODULES if (n := len(p.read_text().splitlines())) >= 400} == {}
