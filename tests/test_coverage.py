"""Table coverage: the cases a run's machines take, summed over a search and printed by explore."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from riaps_sim import GroupType, Scenario, run_scenario
from riaps_sim.coord import FIXED_TABLE, Heartbeat, Join, LeaderAnnounce, TimerFired, make_machine
from riaps_sim.coord.coverage import CaseId, TableCoverage, table_cases
from riaps_sim.coord.fixed import FixedProtocol
from riaps_sim.examples import Groupie
from riaps_sim.explore import explore

A, B = b"\x0a" * 16, b"\x0b" * 16


def test_a_machine_tells_its_coverage_each_case_it_takes() -> None:
    coverage = TableCoverage()
    m = make_machine("fixed", member_id=A, rng=random.Random(0))
    m.coverage = coverage
    m.handle(Join(), 0.0)
    m.handle(Heartbeat(member=A), 0.0)
    m.handle(Heartbeat(member=A), 0.1)
    m.handle(LeaderAnnounce(term=2**32 - 1, leader=B, host="10.0.0.2", port=4000), 0.2)
    m.handle(TimerFired(name="heartbeat"), 1.0)
    taken = coverage.taken()
    assert {(c.role, c.key, c.index) for c in taken} == {
        ("FOLLOWER", "Heartbeat", 0),
        ("FOLLOWER", "LeaderAnnounce", 0),  # [term_out_of_reach], the first case of the row
        ("FOLLOWER", "TimerFired[heartbeat]", 0),
    }
    assert taken[CaseId("fixed", "FOLLOWER", "Heartbeat", 0, str(FIXED_TABLE[(m.role, "Heartbeat")].cases[0]))] == 2
    assert set(taken) <= set(table_cases(FixedProtocol))


def test_a_simulated_run_reports_the_cases_of_every_member_and_a_run_without_coverage_is_the_same_run() -> None:
    scenario = Scenario.group_of(3, Groupie, group=GroupType(name="TheGroup", protocol="fixed"), duration=10.0, seed=3)
    coverage = TableCoverage()
    covered = run_scenario(scenario, coverage=coverage)
    taken = coverage.taken()
    assert ("LEADER", "TimerFired[leader]") in {(c.role, c.key) for c in taken}  # somebody led
    assert list(covered.trace) == list(run_scenario(scenario).trace)


def test_explore_prints_the_tables_coverage_summed_over_its_runs() -> None:
    scenario = Scenario.group_of(3, Groupie, group=GroupType(name="TheGroup", protocol="fixed"), duration=10.0)
    with ThreadPoolExecutor(max_workers=2) as pool:
        result = explore(scenario, 6, executor=pool, progress=False, shrink_failures=False)
    (fixed,) = result.coverage()
    assert fixed.protocol == "fixed" and len(fixed.cases) == len(table_cases(FixedProtocol))
    assert fixed.taken == frozenset().union(*(o.cases for o in result.outcomes)) and 0 < len(fixed.taken) < len(fixed.cases)
    text = str(result)
    assert f"table coverage (fixed): {len(fixed.taken)} of {len(fixed.cases)} cases taken" in text and "never: " in text
