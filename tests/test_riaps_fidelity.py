"""``riaps`` as the reference: its loop (B24) from a leader's first second, and its poll deadline."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from riaps_sim import Scenario, run_scenario
from riaps_sim.coord import Timing
from riaps_sim.examples import Groupie
from riaps_sim.faults import Crash, Delay
from riaps_sim.trace import Trace


def _first_ldr_lags(trace: Trace) -> list[float]:
    """For each leadership: its first ``ldr`` minus the last ``tic`` its leader sent before it (seconds)."""
    lags = []
    for won in trace.select(kind="state"):
        if won.detail != "leader":
            continue
        sends = trace.select(kind="send", node=won.node)
        first_ldr = min(e.when for e in sends if e.detail == "ldr" and e.when >= won.when)
        lags.append(first_ldr - max(e.when for e in sends if e.detail == "tic" and e.when <= first_ldr))
    return lags


def test_a_riaps_leaders_first_ldr_leaves_with_a_tic_in_most_elections() -> None:
    """As the reference: the election starts on a quiet timeout, which is also when the member's tic falls due,
    so the first ``ldr`` follows a ``tic`` by the votes' round trip (before: 300 ms at the median, up to 1 s)."""
    lags = [
        lag
        for seed in range(8)
        for lag in _first_ldr_lags(run_scenario(Scenario.group_of(3, Groupie, duration=12.0, seed=seed), trace_all=True).trace)
    ]
    assert len(lags) >= 8
    assert statistics.median(lags) < 0.020, lags


def test_a_leader_killed_early_leaves_the_group_leaderless_about_as_often_as_the_reference() -> None:
    """The scripted repro of issue 22 (item 5), in simulation: 3 members, the leader dies 0.2 s after its election.
    The survivors look at their deadline only on a quiet timeout (B24), and must stand before the dead leader
    ages out of their view (peerTimeout after its last tic); after that 2 members never elect (B10, B12).
    The reference stays leaderless in 1 of 8 such runs; we were at 6 of 14 on real ZeroMQ. Seeds 0-39: 4 fail."""
    leaderless = []
    for seed in range(40):
        scenario = Scenario.group_of(3, Groupie, faults=[Crash(node="@leader", after="leader_elected", delay=0.2)], duration=14.0, seed=seed)
        trace = run_scenario(scenario).trace
        crash = trace.select(kind="fault")[0].when
        if not [e for e in trace.select(kind="state") if e.detail == "leader" and e.when > crash]:
            leaderless.append(seed)
    assert 1 <= len(leaderless) <= 8, leaderless


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_a_leader_killed_within_0_3_s_of_its_election_is_replaced_on_real_zeromq(seed: int) -> None:
    """The same script on real ZeroMQ (3 processes, SIGKILL 0.2 s after the election). Re-election is not certain
    for the reference or for riaps (B10, B12: 7 of 8 reference runs), but a node's draws come from the seed, and
    with these seeds the survivors' deadlines fall before their quiet timeouts; seeds 0-19 re-elected 19 of 20
    (bench/early_leader_kill.py --mode real)."""
    scenario = Scenario.group_of(3, Groupie, faults=[Crash(node="@leader", after="leader_elected", delay=0.2)], duration=9.0, seed=seed)
    trace = run_scenario(scenario, mode="real").trace
    crash = trace.select(kind="fault")[0].when
    assert [e for e in trace.select(kind="state") if e.detail == "leader" and e.when > crash], trace.select(kind="state")


@pytest.mark.parametrize(("protocol", "result"), [("riaps", "timeout"), ("fixed", "timeout")])
def test_a_1500_ms_vote_over_500_ms_links_times_out_as_in_the_reference(protocol: str, result: str) -> None:
    """The reference's deadline, started + timeout - (now - started), leaves 0.5 s for ballots that take 1 s: a poll
    that crossed a link times out. fixed holds the poll to its requester's deadline: the ballots reach the leader
    1.5 s after the request left, at the deadline, and decide nothing. The links slow down once a leader is elected
    (riaps's candidates split every vote when a message takes longer than their timeouts' spread), and riaps reads
    the 1500 ms default in milliseconds here (``reference_poll_timeout_units=False``; the reference's B3 would make
    it 1500 s)."""
    from riaps_sim import GroupType

    group = GroupType(name="TheGroup", protocol=protocol, timing=Timing(reference_poll_timeout_units=False))
    slow = [Delay(a=a, b=b, latency_s=0.5, at=7.0) for a, b in (("n0", "n1"), ("n0", "n2"), ("n1", "n2"))]  # 0.5 s host to host
    scenario = Scenario.group_of(3, Groupie, {"vote_after": 8.0}, group=group, faults=slow, duration=20.0, seed=0)  # every member asks once
    trace = run_scenario(scenario).trace
    crossed = {e.msg_id for e in trace.select(kind="vote_requested") if e.peer}  # asked by a member that does not lead
    assert len(crossed) == 2, trace.select(kind="vote_requested")
    results = {e.detail for e in trace.select(kind="vote_announced") if e.component and e.msg_id in crossed}
    assert results == {result}, results


def test_the_poll_timeout_units_are_a_group_option_in_scenario_files(tmp_path: Path) -> None:
    """``timing = { reference_poll_timeout_units = false }`` in a scenario file; a wrong type is a clear error."""
    from riaps_sim.scenario_files import ScenarioError, load_file

    text = """
[scenario]
duration = 5
[[group]]
name = "TheGroup"
timing = { consensusTimeout = 1200, reference_poll_timeout_units = %s }
[[node]]
name = "n"
count = 3
components = { member = { class = "riaps_sim.examples:Groupie" } }
"""
    path = tmp_path / "s.toml"
    path.write_text(text % "false")
    timing = load_file(path).group_types[0].timing
    assert (timing.consensus_timeout_ms, timing.reference_poll_timeout_units) == (1200, False)
    path.write_text(text % '"no"')
    with pytest.raises(ScenarioError, match="reference_poll_timeout_units.*true or false"):
        load_file(path)
