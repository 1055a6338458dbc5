"""Polls: the rules alone, then 3-member polls end to end through the in-memory cluster."""

from __future__ import annotations

import pytest

from riaps_sim.coord import AskVote, FixedPolls, PollSpec, RiapsPolls, Timing
from test_coord_group import Cluster, elect

A, B, C, D = (bytes([i]) * 16 for i in (1, 2, 3, 4))


def _open(rules: object, kind: str = "majority", timeout_s: float = 0.0, started_s: float = 10.0, now: float = 10.0):
    spec = PollSpec(rfv_id="P", kind=kind, timeout_s=timeout_s, started_s=started_s)
    return rules.open(spec, b"", (A, B, C), now, 1.5)  # type: ignore[attr-defined]


@pytest.mark.parametrize("rules", [RiapsPolls(), FixedPolls()], ids=["riaps", "fixed"])
def test_default_timeout_is_consensus_timeout_in_seconds(rules: object) -> None:
    """A timeout of 0 means consensusTimeout, 1500 ms = 1.5 s, from the leader's now (B3 fixed)."""
    assert _open(rules).deadline_s == 11.5
    assert _open(rules, timeout_s=4.0).deadline_s == 14.0


def test_riaps_refuses_a_request_already_past_its_timeout() -> None:
    """riaps: now - started > timeout (requester's and leader's clocks mixed) refuses the poll."""
    assert _open(RiapsPolls(), started_s=8.0, now=10.0) is None
    assert _open(RiapsPolls(), started_s=8.6, now=10.0) is not None


def test_fixed_holds_a_poll_to_its_requesters_deadline() -> None:
    """fixed: the deadline is started + timeout (the requester's), never more than timeout from now."""
    assert _open(FixedPolls(), started_s=8.0, now=10.0) is None  # 1.5 s timeout: over at 9.5
    assert _open(FixedPolls(), started_s=8.6, now=10.0).deadline_s == pytest.approx(10.1)
    assert _open(FixedPolls(), started_s=30.0, now=10.0).deadline_s == 11.5  # a requester's clock far ahead


def test_riaps_waits_for_every_ballot_and_counts_duplicates() -> None:
    """riaps: a majority is decided only when count == numPeers; a second ballot counts (B17)."""
    rules, poll = RiapsPolls(), _open(RiapsPolls())
    assert rules.count(poll, A, "yes") == "" and rules.count(poll, A, "yes") == ""
    assert rules.decide(poll, 10.1) is None
    assert rules.count(poll, D, "no") == ""  # a stranger counts too
    assert rules.decide(poll, 10.1) == "yes"  # 2 yes of numPeers 3, all "3" ballots in
    assert rules.decide(_open(RiapsPolls()), 11.6) == "timeout"


def test_riaps_never_decides_once_more_ballots_than_members_arrived() -> None:
    """riaps: count > numPeers never equals it; only the deadline ends the poll (B17)."""
    rules, poll = RiapsPolls(), _open(RiapsPolls())
    for voter in (A, B, C, D):
        rules.count(poll, voter, "yes")
    assert rules.decide(poll, 11.0) is None and rules.decide(poll, 11.51) == "timeout"


def test_fixed_decides_early_and_counts_each_member_once() -> None:
    """fixed: yes at a majority of yes; duplicates and strangers dropped with a cause (B17)."""
    rules, poll = FixedPolls(), _open(FixedPolls())
    assert rules.count(poll, A, "yes") == ""
    assert rules.count(poll, A, "yes") == "second ballot from the same member"
    assert rules.count(poll, D, "yes") == "ballot from a member outside the poll's electorate"
    assert rules.decide(poll, 10.1) is None
    rules.count(poll, B, "yes")
    assert rules.decide(poll, 10.1) == "yes"


@pytest.mark.parametrize(
    ("kind", "votes", "result"),
    [
        ("majority", ("no", "no"), "no"),
        ("consensus", ("no",), "no"),
        ("consensus", ("yes", "yes"), None),
        ("consensus", ("yes", "yes", "yes"), "yes"),
    ],
)
def test_fixed_decides_as_soon_as_the_outcome_is_certain(kind: str, votes: tuple[str, ...], result: str | None) -> None:
    """fixed: no once yes can no longer reach the threshold (consensus: one no)."""
    rules, poll = FixedPolls(), _open(FixedPolls(), kind=kind)
    for voter, vote in zip((A, B, C), votes):
        rules.count(poll, voter, vote)
    assert rules.decide(poll, 10.1) == result


# ------------------------------------------------------------------------------ end to end

VOTES = {"yyn": (True, True, False), "nny": (False, False, True), "yyy": (True, True, True)}


@pytest.mark.parametrize("protocol", ["riaps", "fixed"])
@pytest.mark.parametrize("requester", ["leader", "follower"])
@pytest.mark.parametrize(
    ("kind", "subject", "votes", "result"),
    [
        ("majority", "value", "yyn", "yes"),
        ("majority", "value", "nny", "no"),
        ("majority", "action", "yyn", "yes"),
        ("consensus", "value", "yyn", "no"),
        ("consensus", "action", "yyy", "yes"),
    ],
)
def test_three_member_poll_gives_the_same_correct_result_everywhere(
    protocol: str, requester: str, kind: str, subject: str, votes: str, result: str
) -> None:
    """Every member, leader and requester included, is asked once and hears the one right result."""
    c = elect(protocol, 3, 3 if protocol == "fixed" else 2)
    leader = c.leaders()[0]
    asker = leader if requester == "leader" else (leader + 1) % 3
    c.voter = lambda node, rfv_id: VOTES[votes][node]
    rfv_id = c.ask(asker, AskVote(topic=b"t", kind=kind, subject=subject, release_s=c.now + 2.0))
    assert isinstance(rfv_id, str) and len(rfv_id) == 8
    c.run_until(c.now + 1.0)
    asked = "handleActionVoteRequest" if subject == "action" else "handleVoteRequest"
    assert sorted(node for node, args in c.callbacks(asked)) == [0, 1, 2]
    assert sorted(c.callbacks("handleVoteResult")) == [(i, (rfv_id, result)) for i in range(3)]


def test_riaps_poll_with_no_timeout_given_does_not_time_out_within_60_s() -> None:
    """riaps, as the reference: consensusTimeout (1500, ms) is read as seconds when no timeout is given (B3),
    so a poll with an abstainer stays open; the other members' ballots are counted and nothing is announced."""
    c = elect("riaps", 3, 2)
    leader = c.leaders()[0]
    c.voter = lambda node, rfv_id: None if node == (leader + 1) % 3 else True
    asked_at = c.now
    c.ask(leader, AskVote(topic=b"t"))
    c.run_until(asked_at + 60.0)
    assert c.leaders() == [leader]  # the leader's timers ran all along, and none expired the poll
    assert c.callbacks("handleVoteResult") == []
    assert [tr.cause for _, _, tr in c.traces if tr.kind == "vote_cast"] == ["yes", "yes"]


def test_riaps_majority_with_an_abstainer_times_out_after_the_default_timeout_in_milliseconds() -> None:
    """riaps with ``reference_poll_timeout_units=False``: 2 yes of 3 and one silent member give timeout,
    announced 1.5 s later (B17 kept, B3 repaired)."""
    c = elect("riaps", 3, 2, timing=Timing(reference_poll_timeout_units=False))
    leader = c.leaders()[0]
    c.voter = lambda node, rfv_id: None if node == (leader + 1) % 3 else True
    asked_at = c.now
    rfv_id = c.ask(leader, AskVote(topic=b"t"))
    c.run_until(asked_at + 1.4)
    assert c.callbacks("handleVoteResult") == []
    c.run_until(asked_at + 3.0)  # lazy: announced at the first timer after the deadline
    assert sorted(c.callbacks("handleVoteResult")) == [(i, (rfv_id, "timeout")) for i in range(3)]
    (announced,) = [t for t, _, tr in c.traces if tr.kind == "vote_announced"]
    assert asked_at + 1.5 < announced <= asked_at + 2.5


def test_fixed_majority_with_an_abstainer_is_decided_by_the_majority() -> None:
    """fixed: 2 yes of 3 decide at once; the silent member does not matter (B17 fixed)."""
    c = elect("fixed", 3, 3)
    leader = c.leaders()[0]
    c.voter = lambda node, rfv_id: None if node == (leader + 1) % 3 else True
    rfv_id = c.ask(leader, AskVote(topic=b"t"))
    c.run_until(c.now + 0.1)
    assert sorted(c.callbacks("handleVoteResult")) == [(i, (rfv_id, "yes")) for i in range(3)]


def test_fixed_poll_times_out_on_its_own_timer() -> None:
    """fixed: with two abstainers the poll ends as timeout exactly at its deadline."""
    c = elect("fixed", 3, 3)
    leader = c.leaders()[0]
    c.voter = lambda node, rfv_id: True if node == leader else None
    asked_at = c.now
    c.ask(leader, AskVote(topic=b"t", timeout_ms=500.0))
    c.run_until(asked_at + 1.0)
    (announced,) = [t for t, _, tr in c.traces if tr.kind == "vote_announced"]
    assert announced == pytest.approx(asked_at + 0.5)


@pytest.mark.parametrize("protocol", ["riaps", "fixed"])
def test_asking_without_a_leader_returns_none(protocol: str) -> None:
    """requestVote with no leader returns None and sends nothing."""
    c = Cluster(3, protocol=protocol, group_min_size=3)
    c.start()
    c.run_until(1.0)
    assert c.ask(0, AskVote(topic=b"t")) is None
