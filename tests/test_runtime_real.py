"""Coordination in the real world: the same component class in separate OS processes on loopback.

Each node is a spawned process with real ZeroMQ sockets on its own 127.0.0.x address and UDP
beacon discovery. Tests wait on conditions of the merged trace with generous deadlines.
"""

from __future__ import annotations

import pytest
from wallclock import deadline_s

from riaps_sim.analysis import agreed_leader_intervals, check_all, failovers
from riaps_sim.examples import Groupie
from riaps_sim.model import GroupType
from riaps_sim.runtime.process import NodePlan, RealRun
from riaps_sim.trace import Kind, Trace

DEADLINE = 60.0


def node_of(trace: Trace, member_hex: str) -> str:
    return next(e.node for e in trace.select(kind=Kind.GROUP_JOINED) if e.peer == member_hex)


def agreed_leader(trace: Trace) -> str | None:
    intervals = agreed_leader_intervals(trace)
    return intervals[-1].what[0] if intervals else None


@pytest.mark.slow
@pytest.mark.parametrize("size", [4, 5])
def test_processes_elect_message_vote_and_fail_over(tmp_path, size: int) -> None:
    """N processes elect one leader, exchange leader messages, complete a vote; killing the leader yields a new one.
    (Not 3: two survivors of a riaps group of 3 may stay leaderless for good, as the reference's do, B10, B12, B24.)"""
    with RealRun([GroupType(name="TheGroup")], tmp_path, seed=size) as run:
        for i in range(size):
            behaviour = {"ask_leader_every": 0.5, "vote_after": 1.0 if i == 0 else None}
            run.add_node(NodePlan(f"n{i}", f"127.0.0.{i + 1}", {"groupie": (Groupie, behaviour)}))
        run.start(duration_s=120)
        assert run.wait_until(lambda t: agreed_leader(t) is not None, deadline_s(DEADLINE)), "no leader agreed by all"
        trace = run.trace()
        leader_node = node_of(trace, agreed_leader(trace))  # type: ignore[arg-type]
        followers = [f"n{i}" for i in range(size) if f"n{i}" != leader_node]

        def replies_reached_everyone(t: Trace) -> bool:
            got = {e.node for e in t.select(kind=Kind.CALLBACK) if e.detail == "handleMessageFromLeader"}
            return set(followers) <= got

        assert run.wait_until(replies_reached_everyone, deadline_s(DEADLINE)), "not every follower got a reply from the leader"

        def vote_done(t: Trace) -> bool:
            return {e.node for e in t.select(kind=Kind.VOTE_ANNOUNCED) if e.component} >= {f"n{i}" for i in range(size)}

        assert run.wait_until(vote_done, deadline_s(DEADLINE)), "the vote did not complete at every member"
        results = {e.detail for e in run.trace().select(kind=Kind.VOTE_ANNOUNCED) if e.component}
        assert results == {"yes"}

        run.kill(leader_node)

        def new_leader(t: Trace) -> bool:
            return any(f.new_leader is not None for f in failovers(t))

        assert run.wait_until(new_leader, deadline_s(DEADLINE)), "the survivors did not agree on a new leader"
        trace = run.trace()
        (failover,) = [f for f in failovers(trace) if f.new_leader]
        assert node_of(trace, failover.new_leader) != leader_node  # type: ignore[arg-type]
        assert failover.duration is not None and failover.duration < deadline_s(10.0)
        assert check_all(trace) == []
        assert run.dead() == []
