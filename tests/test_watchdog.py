"""A livelocked or endless run ends with a failure that names it; the search goes on (issue 21's watchdog)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import pytest

from riaps_sim import GroupType, Scenario
from riaps_sim.coord import FIXED_TABLE, PROTOCOLS
from riaps_sim.coord.election import row
from riaps_sim.coord.fixed import FixedProtocol
from riaps_sim.examples import Groupie
from riaps_sim.explore import explore
from riaps_sim.explore.runs import run_schedule
from riaps_sim.faults import Crash
from riaps_sim.runtime.watchdog import RunTimeLimit, wall_clock_limit


class ZeroDelayHeartbeat(FixedProtocol):
    """``fixed`` with a planted livelock: its heartbeat timer re-arms itself with no delay."""

    name: ClassVar[str] = "planted-zero-delay-heartbeat"

    def _on_heartbeat_timer(self, event: Any, now: float) -> None:
        self._publish_tic()
        self._arm("heartbeat", 0.0, now)


ZeroDelayHeartbeat.TABLE = {
    key: (row(ZeroDelayHeartbeat._on_heartbeat_timer, to=key[0]) if key[1] == "TimerFired[heartbeat]" else value)
    for key, value in FIXED_TABLE.items()
}


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(PROTOCOLS, ZeroDelayHeartbeat.name, ZeroDelayHeartbeat)
    return ZeroDelayHeartbeat.name


def _scenario(protocol: str) -> Scenario:
    return Scenario.group_of(3, Groupie, group=GroupType(name="TheGroup", protocol=protocol), duration=10.0)


def test_a_livelocked_run_fails_with_its_schedule_and_the_control_passes(planted: str) -> None:
    faults = (Crash(at=5.0, node="n0"),)
    stuck = run_schedule(_scenario(planted), faults, seed=1, quiet_from=6.0, duration_s=10.0)
    assert stuck.failed and stuck.properties == ["no_livelock"], stuck.violations
    assert "virtual time stopped" in stuck.violations[0].text and stuck.faults == faults
    control = run_schedule(_scenario("fixed"), faults, seed=1, quiet_from=6.0, duration_s=10.0)
    assert "no_livelock" not in control.properties


def test_explore_reports_livelocks_and_finishes(planted: str) -> None:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        result = explore(_scenario(planted), 4, executor=pool, progress=False, shrink_failures=False)
    assert len(result.outcomes) == 4 and all(o.properties == ["no_livelock"] for o in result.outcomes)
    assert time.perf_counter() - started < 120


def test_the_wall_clock_limit_ends_a_block_that_never_returns() -> None:
    def spin() -> None:
        with wall_clock_limit(0.2) as armed:
            assert armed
            while True:
                pass

    with pytest.raises(RunTimeLimit, match="over 0.2 s of wall-clock time"):
        spin()
    with wall_clock_limit(None) as armed:
        assert not armed
