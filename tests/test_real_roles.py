"""Who leads in a real run comes from what the nodes report, whoever else reads the trace files.

A user's ``wait_until`` and ``trace()`` read the node processes' trace files as they grow. The
leader tracker (``current_leader()``, ``@leader`` resolution) must not depend on having read them
first: the nodes report their roles to the parent on their control connections.
"""

from __future__ import annotations

import pytest

from riaps_sim.coord.group import Group
from riaps_sim.examples import Groupie
from riaps_sim.model import GroupType
from riaps_sim.runtime.process import NodePlan, RealRun
from riaps_sim.trace import Kind, Trace

DEADLINE = 60.0  # seconds: generous, the run is a few seconds long but boots fresh interpreters at load 20


class LeavesOnceLeading(Groupie):
    """Leaves its group one second after it is elected leader (the followers stay)."""

    def handleLeaderElected(self, group: Group, leaderId: bytes) -> None:
        super().handleLeaderElected(group, leaderId)
        if group.isLeader():
            self.after(1.0, self._leave)


def _leads(trace: Trace) -> bool:
    return any(e.kind == Kind.STATE and e.detail == "leader" for e in trace)


def _left(trace: Trace) -> bool:
    return bool(trace.select(kind=Kind.GROUP_LEFT))


@pytest.mark.slow
def test_reading_the_trace_does_not_make_the_leader_stale(tmp_path) -> None:
    """The leader is known after a reader took every row; once it has left its group, it no longer leads."""
    with RealRun([GroupType(name="TheGroup")], tmp_path, seed=1) as run:
        for i in range(3):
            run.add_node(NodePlan(f"n{i}", f"127.0.0.{41 + i}", {"groupie": (LeavesOnceLeading, {})}))
        run.start(duration_s=DEADLINE)
        assert run.wait_until(_leads, DEADLINE), "nobody led"
        leader = next(e.node for e in run.trace() if e.kind == Kind.STATE and e.detail == "leader")
        assert run.current_leader() == leader
        assert run.wait_until(_left, DEADLINE), "the leader never left"
        assert run.current_leader() != leader  # None, or a leader the others elected since
