"""Metrics and invariants on hand-made traces whose right answers are known."""

from __future__ import annotations

import pytest

from riaps_sim.analysis import (
    agreed_leader_intervals,
    check_all,
    drops_by_cause,
    failovers,
    first_leader_time,
    leaderless_intervals,
    message_latencies,
    message_rates,
    split_brain_intervals,
    term_changes,
    vote_outcomes,
)
from riaps_sim.analysis.invariants import (
    no_callback_after_leaving,
    no_crashed_loop,
    no_delivery_outside_group,
    one_leader_per_term,
    vote_results_agree,
)
from riaps_sim.trace import Kind, Trace

G = "G.g1"
NODES = ["n1", "n2", "n3", "n4", "n5"]


def mid(node: str) -> str:
    return f"{node}-member-id"


class Story:
    """Write a trace the way the runtime would, in a few words per step."""

    def __init__(self) -> None:
        self.trace = Trace()

    def at(self, t: float, node: str, kind: str, component: str | None = "c", group: str | None = G, **fields) -> Story:
        self.trace.record(t, t, node, component, group, kind, **fields)
        return self

    def join_all(self, t: float = 0.0) -> Story:
        for n in NODES:
            self.at(t, n, Kind.GROUP_JOINED, peer=mid(n), detail="riaps")
        return self

    def lead(self, t: float, node: str, term: int, followers: list[str], lag: float = 0.1) -> Story:
        self.at(t, node, Kind.STATE, peer=mid(node), term=term, detail="leader")
        self.at(t, node, Kind.LEADER_ELECTED, peer=mid(node))
        for i, f in enumerate(followers, 1):
            self.at(t + lag * i, f, Kind.LEADER_ELECTED, peer=mid(node))
        return self

    def fault(self, t: float, detail: str) -> Story:
        return self.at(t, "network", Kind.FAULT, component=None, group=None, detail=detail)


def partition_story() -> Trace:
    """The default scenario, faithful protocol: leader n1 cut off at 20 s, n2 elected at 22.5 s, healed at 40 s, both stay."""
    s = Story().join_all()
    s.at(1.0, "n1", Kind.STATE, peer=mid("n1"), term=1, detail="candidate")
    s.lead(1.2, "n1", 1, ["n2", "n3", "n4", "n5"])
    s.fault(20.0, "partition n1 | n2,n3,n4,n5")
    s.at(22.0, "n2", Kind.STATE, peer=mid("n2"), term=2, detail="candidate")
    s.lead(22.5, "n2", 2, ["n3", "n4", "n5"])
    s.fault(40.0, "heal")
    s.at(60.0, "n3", Kind.TIMER, detail="end")
    return s.trace


def crash_story() -> Trace:
    s = Story().join_all()
    s.lead(1.0, "n1", 1, ["n2", "n3", "n4", "n5"])
    s.fault(20.0, "crash n1")
    s.at(22.0, "n3", Kind.LEADER_EXITED, peer=mid("n1"))
    s.at(22.1, "n3", Kind.STATE, peer=mid("n3"), term=2, detail="candidate")
    s.lead(22.5, "n3", 2, ["n2", "n4", "n5"], lag=0.05)
    s.at(30.0, "n2", Kind.TIMER, detail="end")
    return s.trace


def test_first_leader_is_when_the_last_member_agrees() -> None:
    """Time to first leader counts until every live member believes in the same leader."""
    assert first_leader_time(partition_story()) == pytest.approx(1.6)
    assert first_leader_time(partition_story(), since=0.5) == pytest.approx(1.1)
    assert agreed_leader_intervals(partition_story())[0].start == pytest.approx(1.6)


def test_failover_after_a_crash() -> None:
    """A crashed leader's failover lasts from the crash to the survivors' agreement on another."""
    (f,) = failovers(crash_story())
    assert (f.lost_at, f.old_leader, f.new_leader, f.cause) == (20.0, mid("n1"), mid("n3"), "crash n1")
    assert f.duration == pytest.approx(2.65)
    (gap,) = leaderless_intervals(crash_story())
    assert (gap.start, gap.end) == (20.0, 22.5)


def test_failover_after_a_partition_and_split_brain_after_heal() -> None:
    """A leader cut off in a minority: the majority side agrees on n2; both stay leaders after the heal (B6)."""
    trace = partition_story()
    (f,) = failovers(trace)
    assert (f.new_leader, f.cause) == (mid("n2"), "partition n1 | n2,n3,n4,n5")
    assert f.duration == pytest.approx(2.8)
    during, after = split_brain_intervals(trace)
    assert (during.start, during.end) == (22.5, 40.0)
    assert during.what == ("n1-membe@n1 in {n1}", "n2-membe@n2 in {n2,n3,n4,n5}")
    assert (after.start, after.end, after.what) == (40.0, 60.0, ("n1-membe@n1", "n2-membe@n2"))
    assert leaderless_intervals(trace) == []


def test_a_lost_leader_never_replaced_is_reported_open() -> None:
    """A failover that never completes has no new leader and no duration."""
    s = Story().join_all()
    s.lead(1.0, "n1", 1, ["n2", "n3", "n4", "n5"])
    s.fault(5.0, "crash n1")
    (f,) = failovers(s.trace)
    assert (f.new_leader, f.agreed_at, f.duration) == (None, None, None)


def test_term_changes_votes_latencies_drops_rates() -> None:
    """The remaining metrics read straight from their events."""
    s = Story().join_all()
    s.at(1.0, "n1", Kind.STATE, peer=mid("n1"), term=1, detail="candidate")
    s.at(1.2, "n1", Kind.STATE, peer=mid("n1"), term=1, detail="leader")
    s.at(3.0, "n1", Kind.VOTE_REQUESTED, component=None, msg_id="AB12CD34", detail="majority")
    s.at(3.5, "n1", Kind.VOTE_ANNOUNCED, msg_id="AB12CD34", detail="yes")
    s.at(3.6, "n2", Kind.VOTE_ANNOUNCED, msg_id="AB12CD34", detail="yes")
    s.at(4.0, "n1", Kind.SEND, msg_id=7, detail="tic", size=19)
    s.at(4.25, "n2", Kind.DELIVER, msg_id=7, detail="tic", size=19)
    s.at(5.0, "n1", Kind.DROP, detail="partition")
    s.at(5.0, "n2", Kind.DROP, detail="partition")
    s.at(5.0, "n2", Kind.DROP, detail="loss")
    trace = s.trace
    assert term_changes(trace) == [(1.0, "n1", 1)]
    (vote,) = vote_outcomes(trace)
    assert vote.results == {"n1/c": "yes", "n2/c": "yes"} and vote.latency == pytest.approx(0.5)
    assert message_latencies(trace) == {"tic": [0.25]}
    assert drops_by_cause(trace) == {"partition": 2, "loss": 1}
    assert message_rates(trace) == {"n1": pytest.approx(1 / 5.0)}


def test_several_groups_need_a_name() -> None:
    """With more than one group in the trace, a metric asks which one."""
    s = Story().join_all()
    s.at(1.0, "n1", Kind.GROUP_JOINED, group="G.other", peer="x")
    with pytest.raises(ValueError, match=r"several groups \['G.g1', 'G.other'\]; name one"):
        first_leader_time(s.trace)


# -- invariants ---------------------------------------------------------------------------------------


def test_clean_runs_violate_nothing() -> None:
    """A crash and failover with one leader per term breaks no invariant."""
    assert check_all(crash_story()) == []


def test_two_leaders_in_one_term_is_named() -> None:
    """Two members leading the same term is a violation naming the term and nodes."""
    s = Story().join_all()
    s.lead(1.0, "n1", 3, [])
    s.lead(1.5, "n2", 3, [])
    (v,) = one_leader_per_term(s.trace)
    assert (v.time, v.nodes) == (1.5, ("n1", "n2")) and "2 leaders in term 3 of G.g1" in str(v)


def test_disagreeing_vote_results() -> None:
    """Members told different results for one poll is a violation."""
    s = Story().join_all()
    s.at(2.0, "n1", Kind.VOTE_ANNOUNCED, msg_id="P1", detail="yes")
    s.at(2.1, "n2", Kind.VOTE_ANNOUNCED, msg_id="P1", detail="timeout")
    (v,) = vote_results_agree(s.trace)
    assert v.nodes == ("n1", "n2") and "['timeout', 'yes']" in v.text


def test_delivery_and_callback_after_leaving() -> None:
    """Deliveries and callbacks to a member that left are violations; after rejoining they are fine."""
    s = Story().join_all()
    s.at(5.0, "n4", Kind.GROUP_LEFT, peer=mid("n4"))
    s.at(5.5, "n4", Kind.DELIVER, detail="msg", group=G)
    s.at(5.6, "n4", Kind.MEMBER_LEFT, peer=mid("n5"))
    s.at(7.0, "n4", Kind.GROUP_JOINED, peer="new-id")
    s.at(7.5, "n4", Kind.DELIVER, detail="msg")
    s.at(7.6, "n4", Kind.MEMBER_JOINED, peer=mid("n1"))
    assert [v.time for v in no_delivery_outside_group(s.trace)] == [5.5]
    assert [v.time for v in no_callback_after_leaving(s.trace)] == [5.6]


def test_crashed_loop_is_a_violation() -> None:
    """An error that ended a node loop is reported; other errors are not."""
    s = Story().join_all()
    s.at(3.0, "n2", Kind.ERROR, detail="callback handleGroupMessage raised KeyError")
    s.at(4.0, "n3", Kind.ERROR, component=None, detail="loop crashed: RuntimeError boom")
    assert [v.nodes for v in no_crashed_loop(s.trace)] == [("n3",)]
