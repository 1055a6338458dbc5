"""Fixtures shared by the suite: the worlds a port test runs in."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from worlds import World, make_world  # noqa: E402

WORLDS = ["real-tcp", "real-inproc"]
if importlib.util.find_spec("riaps_sim.net") is not None and (Path(__file__).parent / "sim_world.py").exists():
    WORLDS.append("sim")


@pytest.fixture(params=WORLDS)
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """Every world the port tests run in: real ZeroMQ over tcp and inproc, and the simulation."""
    w = make_world(request.param)
    yield w
    w.close()


@pytest.fixture
def real_world() -> Iterator[World]:
    """Real ZeroMQ over tcp loopback only, for what only the real world has."""
    w = make_world("real-tcp")
    yield w
    w.close()
