"""The speed work keeps results: summaries equal those the code gave before it, with and without heartbeat rows.

The expected texts in ``tests/data`` were written by ``tests/data/make_summaries.py`` from the code of
``main`` before the speed work (every heartbeat a trace row, every metric its own replay).
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from riaps_sim.analysis.invariants import check_all
from riaps_sim.analysis.metrics import latency_summary, message_latencies, message_rates
from riaps_sim.examples import Groupie
from riaps_sim.faults import Crash, Heal, Partition
from riaps_sim.runner import run_scenario
from riaps_sim.scenario import LEADER, Scenario, load_scenario
from riaps_sim.trace import HEARTBEATS, Kind, Trace

DATA = Path(__file__).parent / "data"


def _group32() -> Scenario:
    return Scenario.group_of(
        32,
        Groupie,
        {"ask_leader_every": 3.0, "vote_after": 8.0},
        faults=[Crash(at=12.0, node=LEADER), Partition(at=20.0, sides=[["n1", "n2", "n3"]]), Heal(at=26.0)],
        duration=32.0,
        seed=3,
        name="group32",
    )


@pytest.mark.parametrize("name", ["default", "leader-crash"])
@pytest.mark.parametrize("trace_all", [False, True])
def test_builtin_summaries_are_as_before(name: str, trace_all: bool) -> None:
    result = run_scenario(load_scenario(name), trace_all=trace_all)
    assert "\n".join(result.summary().lines(notes=False)) + "\n" == (DATA / f"summary-{name}.txt").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_32_member_summary_is_as_before() -> None:
    result = run_scenario(_group32())
    assert "\n".join(result.summary().lines(notes=False)) + "\n" == (DATA / "summary-group32.txt").read_text(encoding="utf-8")


def test_counted_heartbeats_keep_what_the_rows_said(tmp_path: Path) -> None:
    """Counting heartbeats loses no count, rate or latency figure, and the trace file keeps the tallies."""
    full = run_scenario(load_scenario("default"), trace_all=True).trace
    lean = run_scenario(load_scenario("default")).trace
    assert not any(e.detail in HEARTBEATS and e.kind in (Kind.SEND, Kind.DELIVER) for e in lean)
    assert len(lean) < len(full) / 3
    assert lean.counts() == full.counts()
    assert lean.message_counts(Kind.DELIVER) == full.message_counts(Kind.DELIVER)
    assert message_rates(lean) == pytest.approx(message_rates(full))
    every = {k: (len(v), min(v), max(v)) for k, v in message_latencies(full).items()}
    summary = latency_summary(lean)
    for command, (count, low, high) in every.items():
        assert (summary[command]["count"], summary[command]["min"], summary[command]["max"]) == pytest.approx((count, low, high))
    lean.to_jsonl(tmp_path / "trace.jsonl")
    assert Trace.from_jsonl(tmp_path / "trace.jsonl") == lean


def test_a_heartbeat_delivered_outside_the_group_stays_a_row() -> None:
    """The check for deliveries to non-members still sees them when heartbeats are counted."""
    trace = Trace(keep_heartbeats=False)
    trace.record(0.0, 0.0, "n1", "c", "G.g", Kind.GROUP_JOINED, peer="aa")
    trace.record(1.0, 1.0, "n1", "c", "G.g", Kind.DELIVER, peer="n2", msg_id=1, detail="tic")
    trace.record(2.0, 2.0, "n1", "c", "G.g", Kind.GROUP_LEFT, peer="aa")
    trace.record(3.0, 3.0, "n1", "c", "G.g", Kind.DELIVER, peer="n2", msg_id=2, detail="tic")
    assert [e.when for e in trace.select(kind=Kind.DELIVER)] == [3.0]
    assert [v.invariant for v in check_all(trace)] == ["no_delivery_outside_group"]
    assert trace.counts()[Kind.DELIVER] == 2


def _five_members(*, caller_froze: bool) -> Trace:
    from riaps_sim.model import GroupType
    from riaps_sim.runtime.sim import Simulation

    sim = Simulation([GroupType(name="TheGroup")], seed=5)
    for i in range(5):
        sim.add_node(f"n{i}", {"member": Groupie})
    sim.schedule_faults([Crash(at=9.0, node="n0")])
    if caller_froze:
        gc.freeze()  # Simulation.run then leaves the collector alone: one network.run to the end
        try:
            sim.run(until=20.0)
        finally:
            gc.unfreeze()
    else:
        sim.run(until=20.0)
    return sim.trace


def test_a_run_in_spans_is_the_run_in_one_and_leaves_the_collector_as_it_was() -> None:
    """Simulation.run goes in spans of virtual time, freezing what exists between them: same events, same order."""
    thresholds = gc.get_threshold()
    in_spans = _five_members(caller_froze=False)
    assert (gc.get_freeze_count(), gc.get_threshold()) == (0, thresholds)
    in_one = _five_members(caller_froze=True)
    assert len(in_spans) > 100 and list(in_spans) == list(in_one) and in_spans.tallies() == in_one.tallies()
