"""``riaps`` runs the reference's loop (B24): one poll timeout, tics per loop iteration, deadlines looked at quietly."""

from __future__ import annotations

import pytest
from test_coord_election import LowRandom

from riaps_sim.coord import (
    AnswerPortBound,
    GroupMachine,
    Heartbeat,
    Join,
    LeaderAnnounce,
    MessageToLeader,
    Publish,
    TimerFired,
    VoteReply,
    make_machine,
)
from riaps_sim.coord.wire import Code

A, B, C = (bytes([i]) * 16 for i in (0xA, 0xB, 0xC))


def _published(commands: list[object]) -> list[Code]:
    return [c.cmd for c in commands if isinstance(c, Publish)]


def _member() -> GroupMachine:
    """Joined at 0 s with A, B, C in view; LowRandom: its loop's phase 1 ms, deadlines 2.0 s, waits for votes 1.5 s."""
    m = make_machine("riaps", member_id=A, rng=LowRandom())
    assert _published(m.handle(Join(), 0.0)) == [Code.TIC]
    for p in (A, B, C):
        m.handle(Heartbeat(member=p), 0.0)
    assert _published(m.handle(TimerFired(name="election"), 0.001)) == [Code.TIC]  # the loop's phase: tics go with it
    return m


def test_a_tic_leaves_on_the_first_input_of_any_kind_a_heartbeat_after_the_last() -> None:
    m = _member()
    assert _published(m.handle(Heartbeat(member=B), 1.0)) == []  # 0.999 s after the last tic
    assert _published(m.handle(MessageToLeader(payload=b"x", sender=B), 1.2)) == [Code.TIC]  # any input is a loop iteration
    assert _published(m.handle(TimerFired(name="election"), 1.001)) == []  # its own timeout, 0.2 s too early now


def test_a_follower_looks_at_its_deadline_only_when_the_poll_times_out_quietly() -> None:
    m = _member()
    m.handle(LeaderAnnounce(term=1, leader=B, host="10.0.0.2", port=4000), 0.5)  # deadline 2.5 s; quiet timeout at 2.0 s
    assert m.leader_deadline == 2.5 and m.timers["election"] == 2.0
    assert Code.REQ not in _published(m.handle(TimerFired(name="election"), 2.0))  # before the deadline: wait a heartbeat
    for when in (2.6, 2.8, 2.9):  # past the deadline, but traffic keeps the poll busy: nothing looks at it
        assert Code.REQ not in _published(m.handle(Heartbeat(member=C), when))
    assert Code.REQ in _published(m.handle(TimerFired(name="election"), 3.0))  # the quiet timeout: stand
    assert m.term == 2


def test_a_leaders_tic_locks_onto_incoming_traffic_and_stays_apart_from_its_ldr() -> None:
    """The leader's ``ldr`` is postponed by its own echo (B24); a member's tic arriving after the leader's tic fell
    due, but before that timeout, carries the leader's tic, and the next period repeats it: tic and ldr run apart."""
    m = _member()
    m.handle(TimerFired(name="election"), 2.001)  # deadline 2.0 passed: stand, term 1 (its tic due too)
    m.handle(VoteReply(term=1, candidate=A, granted=True, voter=B), 2.01)
    assert _published(m.handle(AnswerPortBound(host="10.0.0.1", port=4000), 2.01)) == [Code.LDR]
    assert m.is_leader
    m.handle(LeaderAnnounce(term=1, leader=A, host="10.0.0.1", port=4000), 2.3)  # its own first ldr's slow echo: next ldr 3.3
    assert m.timers["leader"] == 3.3
    ldr_at, tic_at = [], []
    for start in (3.1, 4.6):  # each period: B's tic after our tic fell due, then our timeout, then the echo
        for when, event in (
            (start, Heartbeat(member=B)),
            (start + 0.2, TimerFired(name="leader")),
            (start + 0.5, LeaderAnnounce(term=1, leader=A, host="10.0.0.1", port=4000)),
        ):
            out = _published(m.handle(event, when))
            tic_at += [when] * out.count(Code.TIC)
            ldr_at += [when] * out.count(Code.LDR)
        assert m.timers["leader"] == pytest.approx(start + 1.5)
    assert ldr_at == pytest.approx([3.3, 4.8]) and tic_at == pytest.approx([3.1, 4.6])  # 0.2 s apart, every period
