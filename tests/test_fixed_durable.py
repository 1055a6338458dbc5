"""``fixed`` keeps its term and vote across crashes, draws fresh numbers in each incarnation, and never wraps a term."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from riaps_sim import GroupType, Scenario, run_scenario
from riaps_sim.analysis.checks import one_leader_per_incarnation_term
from riaps_sim.coord import Join, RequestVote, make_machine
from riaps_sim.coord.commands import DurableState, Persist, Publish
from riaps_sim.coord.fixed import TERM_LIMIT
from riaps_sim.coord.wire import decode
from riaps_sim.examples import Groupie
from riaps_sim.faults import CRASHED, LEADER, Crash, Restart
from riaps_sim.runtime.storage import FileStorage

A, B, C = b"\x0a" * 16, b"\x0b" * 16, b"\x0c" * 16


def test_a_vote_is_persisted_before_it_is_sent_and_a_restarted_member_does_not_vote_again() -> None:
    m = make_machine("fixed", member_id=A, rng=random.Random(1))
    m.handle(Join(), 0.0)
    out = m.handle(RequestVote(term=3, candidate=B), 1.0)
    assert isinstance(out[0], Persist) and out[0] == Persist(term=3, voted_for=B)
    assert any(isinstance(c, Publish) for c in out[1:]), "the vote was not sent after being stored"
    again = make_machine("fixed", member_id=C, rng=random.Random(2), durable=(3, B))  # the node restarted: a new member id
    again.handle(Join(), 0.0)
    replies = [c for c in again.handle(RequestVote(term=3, candidate=C), 1.0) if isinstance(c, Publish)]
    reply = decode(replies[0].cmd.value, replies[0].payload)
    assert reply.term == 3 and not reply.granted, "a second vote in term 3 was granted"


def test_terms_never_wrap() -> None:
    from riaps_sim.coord import LeaderAnnounce

    m = make_machine("fixed", member_id=A, rng=random.Random(1))
    m.handle(Join(), 0.0)
    out = m.handle(LeaderAnnounce(term=TERM_LIMIT, leader=B, host="10.0.0.2", port=4000), 1.0)
    assert m.term == 0 and [c.cause for c in out if getattr(c, "kind", "") == "drop"] == ["leader announcement at the term limit"]


def test_file_storage_survives_a_new_process(tmp_path) -> None:
    path = tmp_path / "n1.state.json"
    state = DurableState(term=7, voted_for=B, configuration=(A, B, C))
    FileStorage(path).save("TheGroup.g1", state)
    assert FileStorage(path).load("TheGroup.g1") == state
    path.write_text(json.dumps({"TheGroup.g1": [7, B.hex()]}))  # the form written before the configuration was kept
    assert FileStorage(path).load("TheGroup.g1") == DurableState(term=7, voted_for=B)
    path.write_text("not json")
    with pytest.raises(ValueError, match="not a node state file"):
        FileStorage(path)


@pytest.mark.slow
def test_a_hundred_restarts_of_each_role_never_reuse_a_terms_vote_or_a_poll_id() -> None:
    faults = []
    at = 5.0
    for cycle in range(200):  # even cycles the leader, odd ones a named node: 100 restarts of each
        node = LEADER if cycle % 2 == 0 else f"n{cycle % 5}"
        faults += [Crash(at=at, node=node), Restart(at=at + 1.5, node=CRASHED)]
        at += 4.0
    scenario = Scenario.group_of(
        5, Groupie, {"min_size": 5, "vote_after": 2.0}, group=GroupType(name="TheGroup", protocol="fixed"), faults=faults, duration=at + 5.0
    )
    trace = run_scenario(scenario, seed=9).trace
    restarts = [e for e in trace.select(kind="fault") if (e.detail or "").startswith("restart")]
    assert len(restarts) >= 190, f"only {len(restarts)} restarts happened"
    assert one_leader_per_incarnation_term(trace) == []
    polls = Counter(e.msg_id for e in trace.select(kind="vote_requested"))
    assert len(polls) > 100 and max(polls.values()) == 1, polls.most_common(3)
