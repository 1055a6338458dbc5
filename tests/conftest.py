"""Fixtures and hooks shared by the suite: the worlds a port test runs in, and what the machine allows.

Tests that need more of the machine than Python carry a marker of the need (``netns``: root and
network namespaces; ``iptables``: firewall rules inside them) and skip with the reason where the
need is unmet (``host.abilities``, probed once per process). Tests that touch machine-wide state
(namespaces, root's links and rules) run one at a time on one xdist worker: they share the group
``machine``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from host import Need, abilities  # noqa: E402
from worlds import World, make_world  # noqa: E402

WORLDS = ["real-tcp", "real-inproc"]
if importlib.util.find_spec("riaps_sim.net") is not None and (Path(__file__).parent / "sim_world.py").exists():
    WORLDS.append("sim")

#: The xdist group of tests that change machine-wide state (``--dist loadgroup`` runs them on one worker).
MACHINE = "machine"


def _needs(item: pytest.Item) -> set[Need]:
    return {need for need in Need if item.get_closest_marker(need.value) is not None}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test whose needs this machine does not meet to skip, saying which and why; put every
    test that needs namespaces or iptables in the ``machine`` group (before xdist reads the groups)."""
    for item in items:
        needs = _needs(item)
        if not needs:
            continue
        item.add_marker(pytest.mark.xdist_group(MACHINE))
        if reason := abilities().missing(needs):
            item.add_marker(pytest.mark.skip(reason=reason))


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
