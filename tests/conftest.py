"""Fixtures and hooks shared by the suite: the worlds a port test runs in, and what the machine allows.

Tests that need more of the machine than Python carry a marker of the need (``netns``: root and
network namespaces; ``iptables``: firewall rules inside them) and skip with the reason where the
need is unmet (``host.abilities``, probed once per process). Tests that touch machine-wide state
(namespaces, root's links and rules) run one at a time on one xdist worker: they share the group
``machine``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from host import Need, abilities  # noqa: E402
from wallclock import deadline_s  # noqa: E402
from worlds import World, make_world  # noqa: E402

WORLDS = ["real-tcp", "real-inproc"]
if importlib.util.find_spec("riaps_sim.net") is not None and (Path(__file__).parent / "sim_world.py").exists():
    WORLDS.append("sim")

#: The xdist group of tests that change machine-wide state (``--dist loadgroup`` runs them on one worker).
MACHINE = "machine"


@pytest.hookimpl(optionalhook=True)  # xdist's hook: known only where xdist is installed
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """Workers for ``-n auto`` (pyproject's addopts): twice the cores, 2 to 8, unless PYTEST_XDIST_AUTO_NUM_WORKERS says.

    Most of the suite's time is real time: node processes on real ZeroMQ run for seconds while the
    test waits, and the whole suite uses about a fifth of its wall time as CPU. Two workers per core
    keep the cores busy; the real-time tests tolerate the load (their deadlines scale with it).
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


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


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Scale pyproject's per-test timeout (pytest-timeout) by the machine's load, read as each test starts.

    The timeout catches hangs; on a machine loaded to 20 on 2 cores a CPU-bound test takes ten times
    as long as on an idle one and must not be taken for one. A ``timeout`` marker or ``--timeout`` wins.
    """
    base = item.config.getini("timeout") if item.config.pluginmanager.has_plugin("timeout") else None
    if base and item.get_closest_marker("timeout") is None and item.config.getoption("timeout", None) is None:
        item.add_marker(pytest.mark.timeout(deadline_s(float(base))))
    yield


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
