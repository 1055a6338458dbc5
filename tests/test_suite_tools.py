"""The suite's own tools: the load-scaled deadlines of real-time tests, and the probe of what the machine allows."""

from __future__ import annotations

from pathlib import Path

import host
import pytest
import wallclock
from host import Abilities, Need


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Set the machine's cores, 1-minute load average and runnable processes now, as a test says."""

    def set_to(cores: int, average: float, runnable: int) -> None:
        monkeypatch.setattr(wallclock.os, "cpu_count", lambda: cores)
        monkeypatch.setattr(wallclock.os, "getloadavg", lambda: (average, average, average))
        loadavg = tmp_path / "loadavg"
        loadavg.write_text(f"{average} {average} {average} {runnable + 1}/300 4242\n", encoding="ascii")
        monkeypatch.setattr(wallclock, "_LOADAVG", loadavg)

    return set_to


def test_deadlines_scale_with_the_load_per_core(machine) -> None:
    machine(cores=2, average=0.3, runnable=0)
    assert wallclock.slowdown() == 1.0 and wallclock.deadline_s(10.0) == 10.0, "an idle machine keeps the base deadline"
    machine(cores=2, average=8.0, runnable=1)
    assert wallclock.deadline_s(10.0) == 40.0
    machine(cores=2, average=20.0, runnable=3)
    assert wallclock.slowdown() == 10.0, "a load of 20 on 2 cores"
    machine(cores=2, average=90.0, runnable=90)
    assert wallclock.slowdown() == wallclock.MAX_SLOWDOWN


def test_a_hog_just_started_counts_before_the_average_catches_up(machine) -> None:
    machine(cores=2, average=0.5, runnable=12)
    assert wallclock.runnable_now() == 12
    assert wallclock.slowdown() == 6.0


def test_a_machine_without_proc_loadavg_falls_back_to_the_average(machine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    machine(cores=4, average=8.0, runnable=0)
    monkeypatch.setattr(wallclock, "_LOADAVG", tmp_path / "absent")
    assert wallclock.runnable_now() == 0 and wallclock.slowdown() == 2.0


def test_missing_names_each_unmet_need_and_its_reason() -> None:
    here = Abilities(netns=None, iptables="iptables is missing")
    assert here.missing({Need.NETNS}) is None
    assert here.missing({Need.NETNS, Need.IPTABLES}) == "needs iptables: iptables is missing"
    neither = Abilities(netns="network namespaces need root", iptables="iptables needs root")
    assert neither.missing({Need.NETNS, Need.IPTABLES}) == "needs netns: network namespaces need root; needs iptables: iptables needs root"
    assert neither.missing(set()) is None


def test_iptables_probe_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host.shutil, "which", lambda name: None)
    assert host._iptables_reason() == "iptables is missing (apt-get install -y iptables)"
    monkeypatch.setattr(host.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(host.os, "geteuid", lambda: 1000)
    assert host._iptables_reason() == "iptables needs root"


def test_every_need_is_a_registered_marker(pytestconfig: pytest.Config) -> None:
    """A marker of a need that pytest does not know would fail the run (--strict-markers) rather than skip."""
    registered = {line.split(":")[0] for line in pytestconfig.getini("markers")}
    assert {need.value for need in Need} <= registered


def test_this_tests_timeout_is_pyprojects_scaled_by_the_load(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> None:
    """conftest gives each test pyproject's timeout times the slowdown when it started (pytest-timeout reads it)."""
    marker = request.node.get_closest_marker("timeout")
    assert marker is not None
    base = float(pytestconfig.getini("timeout"))
    assert base <= marker.args[0] <= base * wallclock.MAX_SLOWDOWN
