"""``riaps`` as the reference: the leader's ``tic`` and ``ldr`` leave in one heartbeat, in both worlds."""

from __future__ import annotations

import pytest

from riaps_sim import Scenario, run_scenario
from riaps_sim.examples import Groupie
from riaps_sim.trace import Trace


def _pairs(trace: Trace) -> list[float]:
    """For each ``ldr`` the leader sent after its first, how far the nearest ``tic`` it sent was (seconds)."""
    leader = next(e.node for e in trace.select(kind="state") if e.detail == "leader")
    sends = trace.select(kind="send", node=leader)
    tics = [e.when for e in sends if e.detail == "tic"]
    ldrs = [e.when for e in sends if e.detail == "ldr"][1:]  # the first goes out when the ans port is bound
    return [min(abs(t - when) for t in tics) for when in ldrs]


@pytest.mark.parametrize("mode", ["sim", pytest.param("real", marks=pytest.mark.slow)])
def test_the_leaders_tic_and_ldr_leave_within_20_ms(mode: str) -> None:
    scenario = Scenario.group_of(3, Groupie, duration=9.0, seed=5)
    gaps = _pairs(run_scenario(scenario, mode=mode, trace_all=True).trace)
    assert len(gaps) >= 3 and max(gaps) < 0.020, gaps
