"""A real run lands on the simulation's time axis and reads the same way: times from 0, the same checks.

Real traces count seconds from the run's time 0 (when the nodes start their components), the parent's
fault rows included; the trace ends at the run's end, so the nodes' shutdown is not a failover; and
a node killed by a crash fault keeps the heartbeat counts it had written.
"""

from __future__ import annotations

import pytest

from riaps_sim import Scenario, run_scenario
from riaps_sim.analysis import failovers
from riaps_sim.examples import Groupie
from riaps_sim.faults import Crash

DURATION = 6.0  # seconds of real time: an election takes about 2 s


@pytest.mark.slow
def test_a_fault_free_real_run_counts_from_zero_and_checks_as_in_simulation() -> None:
    scenario = Scenario.group_of(3, Groupie, duration=DURATION, seed=1)
    result = run_scenario(scenario, mode="real")
    times = [e.when for e in result.trace]
    assert result.start == 0.0 and times and min(times) >= 0.0 and max(times) <= DURATION
    assert all(0.0 <= t.first <= t.last <= DURATION + 0.5 for t in result.trace.tallies().values())
    assert result.summary().first_leader_s is not None
    assert failovers(result.trace) == [], "the nodes' shutdown counted as a failover"
    assert not result.trace.select(kind="group_left"), "the shutdown's group_left rows are past the run's end"
    report = result.check()
    assert report.violations == [] and all(r.holds for r in report.liveness), report.lines()


@pytest.mark.slow
def test_a_crashed_nodes_heartbeats_are_counted_up_to_its_crash() -> None:
    scenario = Scenario.group_of(3, Groupie, duration=DURATION, seed=2, faults=[Crash(at=4.0, node="n1")])
    result = run_scenario(scenario, mode="real")
    (crash,) = [e for e in result.trace.select(kind="fault") if e.detail == "crash n1"]
    assert 4.0 <= crash.when < 4.5, "the parent's fault row is on the run's time axis"
    sent = {key.command: tally for key, tally in result.trace.tallies().items() if key.kind == "send" and key.node == "n1"}
    assert "tic" in sent and sent["tic"].count >= 2, f"n1's heartbeats before its crash were lost: {sent}"
    assert sent["tic"].last <= crash.when
