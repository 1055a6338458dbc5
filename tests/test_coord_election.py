"""Election tables: one case per row with exact command lists, illegal inputs, properties."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riaps_sim.coord.commands import Persist
from riaps_sim.coord import (
    FIXED_TABLE,
    PROTOCOLS,
    RIAPS_TABLE,
    TIMERS,
    AnswerPortBound,
    AnswerPortFailed,
    ArmTimer,
    AskVote,
    BindAnswerPort,
    CancelTimer,
    CastVote,
    CoordError,
    Disconnect,
    DurableState,
    FollowLeader,
    GroupMachine,
    GroupMessage,
    Heartbeat,
    Input,
    Join,
    LeaderAnnounce,
    Leave,
    MemberLeave,
    MessageFromLeader,
    MessageToLeader,
    Notify,
    PollAnnounce,
    PollOpened,
    PollRequest,
    PollSpec,
    Post,
    PostToLeader,
    PostToMember,
    PreVoteReply,
    PreVoteRequest,
    Publish,
    RequestVote,
    Result,
    Role,
    Case,
    Row,
    SendFailed,
    SendToLeader,
    SendToMember,
    TimerFired,
    Timing,
    TraceEvent,
    VoteCast,
    VoteReply,
    differences,
    encode,
    format_table,
    input_key,
    make_machine,
)
from riaps_sim.coord.riaps import RiapsProtocol
from riaps_sim.coord.wire import Code
from test_coord_group import Cluster

T = TypeVar("T")
A, B, C, D = (bytes([i]) * 16 for i in (0xA, 0xB, 0xC, 0xD))  # A is "us"
F, PRE, CA, L = Role.FOLLOWER, Role.PRECANDIDATE, Role.CANDIDATE, Role.LEADER
HOST_A, HOST_B = ("10.0.0.1", 4000), ("10.0.0.2", 4001)


class LowRandom:
    """Always the low end: election timeout 1.5 s, leader deadline 2.0 s, poll id 'ABCDEFGH'."""

    def random(self) -> float:
        return 0.0

    def randrange(self, start: int, stop: int) -> int:
        return start

    def choices(self, population: Sequence[T], *, k: int = 1) -> list[T]:
        return list(population[:k])


def machine(protocol: str, gms: int | None = None, durable: DurableState | None = None) -> GroupMachine:
    return make_machine(protocol, member_id=A, rng=LowRandom(), group_min_size=gms or (2 if protocol == "riaps" else 3), durable=durable)


def follower(protocol: str, peers: Sequence[bytes] = (A, B, C), term: int = 0) -> GroupMachine:
    """Joined at *term* with *peers* in view, all heard at 0 s. For fixed, the peers are its configuration
    already (a group it has seen whole; a member joins it only once heard over 1.5 heartbeats)."""
    m = machine(protocol, durable=DurableState(term=term, configuration=tuple(peers)))
    m.handle(Join(), 0.0)
    for p in peers:
        m.handle(Heartbeat(member=p), 0.0)
    return m


def following(protocol: str, term: int = 1) -> GroupMachine:
    m = follower(protocol, term=term - 1 if protocol == "fixed" else 0)  # fixed moves at most MAX_TERM_STEP terms on one message
    m.handle(LeaderAnnounce(term=term, leader=B, host=HOST_B[0], port=HOST_B[1]), 0.5)
    return m


def precandidate(protocol: str, peers: Sequence[bytes] = (A, B, C)) -> GroupMachine:
    """fixed only: the deadline passed with a quorum in view; the pre-vote for term 1 is out."""
    m = follower(protocol, peers)
    m.handle(TimerFired(name="election"), 2.0)
    assert m.role is PRE and m.term == 0
    return m


def candidate(protocol: str, peers: Sequence[bytes] = (A, B, C)) -> GroupMachine:
    """Standing in term 1: riaps at once, fixed after one yes to its pre-vote (a quorum of three with itself)."""
    if protocol == "fixed":
        m = precandidate(protocol, peers)
        for voter in peers[1:]:
            if m.role is PRE:
                m.handle(PreVoteReply(term=1, candidate=A, granted=True, voter=voter), 2.05)
    else:
        m = follower(protocol, peers)
        m.handle(TimerFired(name="election"), 2.0)
    assert m.role is CA and m.term == 1
    return m


def leader(protocol: str) -> GroupMachine:
    """Leading term 1, its ans port bound, every member heard lately (at 2.1 s)."""
    m = candidate(protocol)
    m.handle(VoteReply(term=1, candidate=A, granted=True, voter=B), 2.1)
    m.handle(AnswerPortBound(host=HOST_A[0], port=HOST_A[1]), 2.1)
    for p in (A, B, C):
        m.handle(Heartbeat(member=p), 2.1)
    assert m.role is L
    return m


SETUPS: dict[Role, Callable[[str], GroupMachine]] = {F: following, PRE: precandidate, CA: candidate, L: leader}


def pub(event: Input) -> Publish:
    cmd, payload = encode(event)
    return Publish(cmd=cmd, payload=payload)


def asked(protocol: str) -> GroupMachine:
    """Following, and asked to vote in poll P."""
    m = following(protocol)
    m.handle(PollOpened(poll=PollSpec(rfv_id="P", topic=b"t")), 0.6)
    return m


def arm(name: str, delay: float) -> ArmTimer:
    return ArmTimer(name=name, delay_s=delay)


def note(callback: str, *args: object) -> Notify:
    return Notify(callback=callback, args=args)


def state(role: Role, term: int) -> TraceEvent:
    return TraceEvent(kind="state", role=role.name, term=term)


def drop(role: Role, term: int, cause: str, peer: bytes | None = None) -> TraceEvent:
    return TraceEvent(kind="drop", role=role.name, term=term, peer=peer, cause=cause)


def req(term: int, cand: bytes) -> RequestVote:
    return RequestVote(term=term, candidate=cand)


def vot(term: int, cand: bytes, granted: bool, voter: bytes) -> VoteReply:
    return VoteReply(term=term, candidate=cand, granted=granted, voter=voter)


def pvq(term: int, cand: bytes) -> PreVoteRequest:
    return PreVoteRequest(term=term, candidate=cand)


def pva(term: int, cand: bytes, granted: bool, voter: bytes) -> PreVoteReply:
    return PreVoteReply(term=term, candidate=cand, granted=granted, voter=voter)


def ldr(term: int, who: bytes, at: tuple[str, int] = HOST_B) -> LeaderAnnounce:
    return LeaderAnnounce(term=term, leader=who, host=at[0], port=at[1])


FOLLOW_B = FollowLeader(host=HOST_B[0], port=HOST_B[1])
BOTH = ("riaps", "fixed")
FIVE = (A, B, C, D, b"\xee" * 16)
LIMIT = 2**32 - 1  # fixed's TERM_LIMIT
SMALL = bytes([1]) * 16  # an id below B's


def precandidate_of_term_1(protocol: str) -> GroupMachine:
    """fixed: followed B in term 1 (no vote given), then its deadline passed: pre-voting for term 2."""
    m = following(protocol)
    m.handle(TimerFired(name="election"), 2.5)
    assert m.role is PRE and m.term == 1 and m.voted_for is None
    return m


def voted_then_precandidate(protocol: str) -> GroupMachine:
    """fixed: voted for C in term 1, then its deadline passed: pre-voting for term 2, its term-1 vote kept."""
    m = follower(protocol)
    m.handle(req(1, C), 0.5)
    m.handle(TimerFired(name="election"), 2.5)
    assert m.role is PRE and m.voted_for == C
    return m


# (protocols, setup, input, now, next role, exact commands); the setup's role and the input
# class name are the table row under test.
CASES: list[tuple[tuple[str, ...], Callable[[str], GroupMachine], Input, float, Role, list[Any]]] = [
    # FOLLOWER
    (("riaps",), follower, TimerFired(name="election"), 2.0, CA, [pub(req(1, A)), arm("election", 1.5), state(CA, 1)]),
    (("fixed",), follower, TimerFired(name="election"), 2.0, PRE, [pub(pvq(1, A)), arm("election", 1.5), state(PRE, 0)]),  # pre-vote first
    (
        ("riaps",),
        following,
        TimerFired(name="election"),
        2.5,
        CA,
        [note("handleLeaderExited", B), Disconnect(), pub(req(2, A)), arm("election", 1.5), state(CA, 2)],
    ),
    (
        ("fixed",),
        following,
        TimerFired(name="election"),
        2.5,
        PRE,
        [note("handleLeaderExited", B), Disconnect(), pub(pvq(2, A)), arm("election", 1.5), state(PRE, 1)],
    ),
    (("riaps",), lambda p: follower(p, (A, B)), TimerFired(name="election"), 2.0, F, [arm("election", 1.0)]),  # new deadline, a heartbeat's wait
    (("riaps",), following, TimerFired(name="election"), 2.0, F, [arm("election", 1.0)]),  # a quiet timeout before the deadline (B24)
    (("riaps",), lambda p: (m := follower(p), m.handle(req(1, C), 0.5), m)[-1], TimerFired(name="election"), 2.9, F, [arm("election", 1.0)]),  # B11
    (
        ("riaps",),
        lambda p: follower(p, (A, B, C)),
        TimerFired(name="election"),
        2.0,
        CA,
        [pub(req(1, A)), arm("election", 1.5), state(CA, 1)],
    ),  # 3 > 2//2 + 1
    (("fixed",), lambda p: follower(p, (A,)), TimerFired(name="election"), 2.0, F, [arm("election", 1.0)]),  # look again soon
    (
        ("riaps",),
        lambda p: (m := following(p), m.peers.remove(C), m.peers.remove(B), m)[-1],
        TimerFired(name="election"),
        2.5,
        F,
        [arm("election", 1.0)],
    ),  # keeps the stale leader (B10)
    (
        ("fixed",),
        lambda p: (m := following(p), m.peers.remove(C), m.peers.remove(B), m)[-1],
        TimerFired(name="election"),
        2.5,
        F,
        [note("handleLeaderExited", B), Disconnect(), arm("election", 1.0)],
    ),
    (("riaps",), follower, req(1, B), 0.5, F, [pub(vot(1, B, True, A)), arm("election", 1.5), state(F, 1)]),  # the deadline cleared (B11)
    (("fixed",), follower, req(1, B), 0.5, F, [pub(vot(1, B, True, A)), arm("election", 2.0), state(F, 1)]),
    (
        ("riaps",),
        lambda p: following(p, 3),
        req(1, C),
        0.6,
        F,  # lower term granted, term goes back (B9)
        [pub(vot(1, C, True, A)), note("handleLeaderExited", B), arm("election", 1.5), Disconnect(), state(F, 1)],
    ),
    (("riaps",), lambda p: (m := follower(p), m.handle(req(1, C), 0.5), m)[-1], req(1, D), 0.6, F, [pub(vot(1, D, False, A)), arm("election", 1.5)]),
    (("fixed",), lambda p: following(p, 3), req(1, C), 0.6, F, [drop(F, 3, "vote request for a lower term", C)]),
    (("fixed",), lambda p: following(p, 3), req(4, C), 0.6, F, [drop(F, 3, "vote request while the leader is live", C)]),  # stickiness
    (
        ("fixed",),
        lambda p: following(p, 3),
        req(4, C),
        2.1,  # the leader last heard 1.6 s ago: no longer live
        F,
        [note("handleLeaderExited", B), Disconnect(), pub(vot(4, C, True, A)), arm("election", 2.0), state(F, 4)],
    ),
    (("fixed",), lambda p: (m := following(p, 3), m.handle(req(4, C), 2.1), m)[-1], req(4, D), 2.2, F, [pub(vot(4, D, False, A))]),
    (("fixed",), follower, pvq(1, C), 0.5, F, [pub(pva(1, C, True, A))]),  # no term change, no vote
    (
        ("fixed",),
        lambda p: following(p, LIMIT - 1),
        TimerFired(name="election"),
        2.5,
        F,
        [drop(F, LIMIT - 1, f"no term left after {LIMIT - 1}; no election"), note("handleLeaderExited", B), Disconnect(), arm("election", 1.0)],
    ),
    (("fixed",), lambda p: following(p, 3), req(LIMIT, C), 2.5, F, [drop(F, 3, "vote request at the term limit", C)]),
    (("fixed",), following, req(1, C), 2.5, F, [pub(vot(1, C, True, A)), arm("election", 2.0)]),  # term 1's vote still free
    (("fixed",), following, ldr(LIMIT, C), 2.5, F, [drop(F, 1, "leader announcement at the term limit", C)]),
    (("fixed",), lambda p: (m := follower(p), m.handle(req(2, C), 0.5), m)[-1], ldr(1, B), 0.6, F, [pub(req(2, A))]),  # leaderless, above B
    (("fixed",), following, ldr(1, SMALL), 1.0, F, [drop(F, 1, "conflicting leader of the same term with a smaller id", SMALL)]),
    (("fixed",), lambda p: following(p, 3), pvq(4, C), 0.6, F, [pub(pva(4, C, False, A))]),  # the leader is live
    (("fixed",), lambda p: following(p, 3), pvq(3, C), 2.5, F, [pub(pva(3, C, False, A))]),  # not above our term
    (("fixed",), follower, pva(1, C, True, B), 0.5, F, []),
    (("fixed",), follower, vot(1, B, True, C), 0.5, F, []),
    (("riaps",), follower, vot(1, B, True, C), 0.5, F, [arm("election", 1.5)]),  # setTimeout(electionTimeout())
    (("fixed",), follower, ldr(1, B), 0.5, F, [note("handleLeaderElected", B), arm("election", 2.0), FOLLOW_B, state(F, 1)]),
    (("riaps",), follower, ldr(1, B), 0.5, F, [note("handleLeaderElected", B), arm("election", 1.5), FOLLOW_B, state(F, 1)]),
    (
        ("riaps",),
        lambda p: following(p, 3),
        ldr(1, C, HOST_A),
        0.6,
        F,  # any term (B9)
        [note("handleLeaderElected", C), arm("election", 1.5), FollowLeader(host=HOST_A[0], port=HOST_A[1]), state(F, 1)],
    ),
    (("fixed",), lambda p: following(p, 3), ldr(1, C, HOST_A), 0.6, F, [drop(F, 3, "leader announcement for a lower term", C)]),
    # PRECANDIDATE (fixed)
    (("fixed",), precandidate, TimerFired(name="election"), 2.9, F, [arm("election", 0.0), state(F, 0)]),  # refused: back off
    (("fixed",), precandidate, pva(1, A, True, C), 2.1, CA, [pub(req(1, A)), arm("election", 1.5), state(CA, 1)]),
    (("fixed",), lambda p: precandidate(p, (A, B, C, D, b"\xee" * 16)), pva(1, A, True, C), 2.1, PRE, []),  # 2 of 5: counted
    (("fixed",), precandidate, pva(1, A, False, C), 2.1, PRE, []),
    (("fixed",), precandidate, pva(1, A, True, D), 2.1, PRE, []),  # not in view
    (("fixed",), precandidate, pvq(1, B), 2.1, F, [pub(pva(1, B, True, A)), arm("election", 2.0), state(F, 0)]),  # B > A: stand aside
    (("fixed",), lambda p: precandidate(p, (A, B, C, SMALL)), pvq(1, SMALL), 2.1, PRE, [pub(pva(1, SMALL, True, A))]),  # A > SMALL
    (("fixed",), precandidate, req(1, B), 2.1, F, [pub(vot(1, B, True, A)), arm("election", 2.0), state(F, 1)]),
    (("fixed",), precandidate, vot(1, B, True, C), 2.1, PRE, []),
    (("fixed",), precandidate, pvq(0, B), 2.1, PRE, [pub(pva(0, B, False, A))]),
    (("fixed",), precandidate, req(LIMIT, B), 2.1, PRE, [drop(PRE, 0, "vote request at the term limit", B)]),
    (("fixed",), precandidate_of_term_1, req(0, C), 2.6, PRE, [drop(PRE, 1, "vote request for a lower term", C)]),
    (("fixed",), precandidate_of_term_1, req(1, C), 2.6, F, [pub(vot(1, C, True, A)), arm("election", 2.0), state(F, 1)]),
    (("fixed",), voted_then_precandidate, req(1, D), 2.6, PRE, [pub(vot(1, D, False, A))]),  # one vote per term
    (("fixed",), precandidate, ldr(LIMIT, B), 2.1, PRE, [drop(PRE, 0, "leader announcement at the term limit", B)]),
    (("fixed",), precandidate_of_term_1, ldr(0, C), 2.6, PRE, [pub(req(1, A))]),  # stranded above C's term: says so
    (("fixed",), precandidate, ldr(0, B), 2.1, F, [note("handleLeaderElected", B), arm("election", 2.0), FOLLOW_B, state(F, 0)]),
    # CANDIDATE
    (("riaps",), candidate, TimerFired(name="election"), 2.9, F, [arm("election", 1.0), state(F, 1)]),
    (
        ("fixed",),
        candidate,
        TimerFired(name="election"),
        2.9,
        F,  # a split vote: retry soon, at random (here 0)
        [arm("election", 0.0), state(F, 1)],
    ),
    (("riaps",), candidate, req(1, B), 2.1, CA, [pub(vot(1, B, False, A)), arm("election", 1.5)]),
    (("fixed",), candidate, req(1, B), 2.1, CA, [pub(vot(1, B, False, A))]),
    (("riaps",), candidate, req(1, A), 2.1, CA, [arm("election", 1.5)]),  # own echo restarts the wait
    (("fixed",), candidate, req(1, A), 2.1, CA, []),
    (("riaps",), candidate, req(2, B), 2.1, F, [pub(vot(2, B, True, A)), arm("election", 1.5), state(F, 2)]),
    (("fixed",), candidate, req(2, B), 2.1, F, [pub(vot(2, B, True, A)), arm("election", 2.0), state(F, 2)]),
    (
        ("fixed",),
        candidate,
        vot(1, A, True, B),
        2.1,
        L,
        [note("handleLeaderElected", A), CancelTimer(name="election"), BindAnswerPort(), arm("leader", 1.0), state(L, 1)],
    ),
    (
        ("riaps",),
        candidate,
        vot(1, A, True, B),
        2.1,
        L,
        [note("handleLeaderElected", A), CancelTimer(name="election"), BindAnswerPort(), arm("leader", 1.0), state(L, 1)],
    ),
    (
        ("riaps",),
        candidate,
        vot(7, A, True, D),
        2.1,
        L,  # any term, any voter (B9)
        [note("handleLeaderElected", A), CancelTimer(name="election"), BindAnswerPort(), arm("leader", 1.0), state(L, 1)],
    ),
    (("fixed",), candidate, vot(7, A, True, B), 2.1, CA, [drop(CA, 1, "vote for another term", B)]),
    (("fixed",), candidate, vot(1, A, True, D), 2.1, CA, [drop(CA, 1, "vote from an unknown member", D)]),
    (BOTH, candidate, vot(1, A, False, B), 2.1, CA, []),
    (BOTH, lambda p: candidate(p, FIVE), vot(1, A, True, B), 2.1, CA, []),  # 2 of 5: counted
    (("fixed",), candidate, ldr(1, B), 2.1, F, [note("handleLeaderElected", B), arm("election", 2.0), FOLLOW_B, state(F, 1)]),
    (("riaps",), candidate, ldr(1, B), 2.1, F, [note("handleLeaderElected", B), arm("election", 1.5), FOLLOW_B, state(F, 1)]),
    (("riaps",), candidate, ldr(0, B), 2.1, F, [note("handleLeaderElected", B), arm("election", 1.5), FOLLOW_B, state(F, 0)]),
    (("fixed",), candidate, ldr(0, B), 2.1, CA, [drop(CA, 1, "leader announcement for a lower term", B)]),
    (("fixed",), candidate, pvq(2, B), 2.1, CA, [pub(pva(2, B, True, A))]),
    (("fixed",), candidate, pvq(1, B), 2.1, CA, [pub(pva(1, B, False, A))]),
    (("fixed",), candidate, req(LIMIT, B), 2.1, CA, [drop(CA, 1, "vote request at the term limit", B)]),
    (("fixed",), candidate, ldr(LIMIT, B), 2.1, CA, [drop(CA, 1, "leader announcement at the term limit", B)]),
    (
        ("fixed",),
        lambda p: (m := candidate(p, FIVE), m.handle(vot(1, A, True, B), 2.1), m)[-1],
        vot(1, A, True, B),
        2.1,
        CA,
        [drop(CA, 1, "second vote from the same member", B)],
    ),
    (("fixed",), candidate, pva(2, A, True, B), 2.1, CA, []),
    # LEADER
    (("fixed",), leader, TimerFired(name="leader"), 2.9, L, [pub(ldr(1, A, HOST_A)), arm("leader", 1.0)]),
    (
        ("riaps",),
        leader,
        TimerFired(name="leader"),
        2.9,
        L,  # its last tic (2.0 s) is not a heartbeat old: the ldr goes alone; tics leave per loop iteration (B24)
        [pub(ldr(1, A, HOST_A)), arm("leader", 1.0)],
    ),
    (
        ("riaps",),
        lambda p: (m := leader(p), m.handle(MemberLeave(member=B), 2.2), m.handle(MemberLeave(member=C), 2.2), m)[-1],
        TimerFired(name="leader"),
        2.9,
        L,
        [pub(ldr(1, A, HOST_A)), arm("leader", 1.0)],
    ),  # no quorum check (B12)
    (
        ("fixed",),
        lambda p: (m := leader(p), m.handle(MemberLeave(member=B), 2.2), m.handle(MemberLeave(member=C), 2.2), m)[-1],
        TimerFired(name="leader"),
        2.9,
        F,
        [note("handleLeaderExited", A), arm("election", 2.0), state(F, 1)],
    ),
    (
        ("fixed",),
        leader,
        TimerFired(name="leader"),
        4.2,  # check-quorum: nobody heard within electionMax (2 s)
        F,
        [note("handleLeaderExited", A), arm("election", 2.0), state(F, 1)],
    ),
    (("fixed",), leader, pvq(2, B), 2.2, L, [pub(pva(2, B, False, A))]),  # a leader hears itself
    (("fixed",), leader, req(LIMIT, B), 2.2, L, [drop(L, 1, "vote request at the term limit", B)]),
    (("fixed",), leader, ldr(LIMIT, B), 2.2, L, [drop(L, 1, "leader announcement at the term limit", B)]),
    (("fixed",), leader, pva(2, B, True, C), 2.2, L, []),
    (("riaps",), leader, req(2, B), 2.2, L, [arm("leader", 1.0)]),  # never yields (B6); its ldr postponed (B24)
    (
        ("fixed",),
        leader,
        req(2, B),
        2.2,
        F,
        [note("handleLeaderExited", A), CancelTimer(name="leader"), pub(vot(2, B, True, A)), arm("election", 2.0), state(F, 2)],
    ),
    (("fixed",), leader, vot(1, A, True, C), 2.2, L, []),
    (("fixed",), leader, ldr(1, A, HOST_A), 2.2, L, []),  # own echo
    (("riaps",), leader, vot(1, A, True, C), 2.2, L, [arm("leader", 1.0)]),
    (("riaps",), leader, ldr(1, A, HOST_A), 2.2, L, [arm("leader", 1.0)]),  # own echo: the next ldr a heartbeat later (B24)
    (
        ("riaps",),
        leader,
        ldr(1, B),
        2.2,
        F,  # same term: yield, no lex (B6, B10)
        [CancelTimer(name="leader"), note("handleLeaderElected", B), arm("election", 1.5), FOLLOW_B, state(F, 1)],
    ),
    (("riaps",), leader, ldr(5, B), 2.2, L, [arm("leader", 1.0)]),  # another term: not followed (B6)
    (
        ("fixed",),
        leader,
        ldr(5, B),
        2.2,
        F,
        [note("handleLeaderExited", A), CancelTimer(name="leader"), note("handleLeaderElected", B), arm("election", 2.0), FOLLOW_B, state(F, 5)],
    ),
    (
        ("fixed",),
        leader,
        ldr(1, B),
        2.2,
        F,  # same term, larger id wins
        [note("handleLeaderExited", A), CancelTimer(name="leader"), note("handleLeaderElected", B), arm("election", 2.0), FOLLOW_B, state(F, 1)],
    ),
    # shared rows
    (("riaps",), following, Heartbeat(member=D), 1.0, F, [note("handleMemberJoined", D)]),
    (
        ("fixed",),
        following,
        Heartbeat(member=D),
        1.0,
        F,  # groupMinSize 3 and four in view: warned once
        [
            note("handleMemberJoined", D),
            TraceEvent(
                kind="warning",
                role="FOLLOWER",
                term=1,
                cause="groupMinSize 3 is below the 4 members in view: until the group has been seen whole, a minority could elect; "
                "set groupMinSize to the group's size",
            ),
        ],
    ),
    (BOTH, following, Heartbeat(member=B), 1.0, F, []),
    (BOTH, following, MemberLeave(member=C), 1.0, F, [note("handleMemberLeft", C)]),
    (BOTH, following, MemberLeave(member=D), 1.0, F, []),
    (("fixed",), following, TimerFired(name="heartbeat"), 1.0, F, [pub(Heartbeat(member=A)), arm("heartbeat", 1.0)]),
    (("riaps",), following, TimerFired(name="heartbeat"), 1.0, F, []),  # once after Join; the loop's tic comes first
    (BOTH, following, GroupMessage(payload=b"m"), 1.0, F, [note("handleGroupMessage", b"m")]),
    (BOTH, following, MessageFromLeader(payload=b"m"), 1.0, F, [note("handleMessageFromLeader", b"m")]),
    (("fixed",), following, PollOpened(poll=PollSpec(rfv_id="P", topic=b"t")), 1.0, F, [note("handleVoteRequest", "P", b"t"), arm("election", 2.0)]),
    (
        ("riaps",),
        following,
        PollOpened(poll=PollSpec(rfv_id="P", topic=b"t")),
        1.0,
        F,
        [note("handleVoteRequest", "P", b"t")],
    ),  # a new deadline, a value
    (
        BOTH,
        candidate,
        PollOpened(poll=PollSpec(rfv_id="P", topic=b"t", subject="action", release_s=9.0)),
        2.1,
        CA,
        [note("handleActionVoteRequest", "P", b"t", 9.0)],
    ),
    (("riaps",), following, PollAnnounce(rfv_id="P", result="no"), 1.0, F, [note("handleVoteResult", "P", "no")]),
    (("fixed",), asked, PollAnnounce(rfv_id="P", result="no"), 1.0, F, [note("handleVoteResult", "P", "no"), arm("election", 2.0)]),
    (
        ("fixed",),
        following,
        PollAnnounce(rfv_id="P", result="no"),
        1.0,
        F,  # a poll it was never asked: forged or stray
        [TraceEvent(kind="drop", role="FOLLOWER", term=1, rfv_id="P", cause="announcement of a poll this member was not asked")],
    ),
    (
        BOTH,
        following,
        SendFailed(what="mtl", reason="EAGAIN"),
        1.0,
        F,
        [TraceEvent(kind="error", role="FOLLOWER", term=1, cause="mtl failed: EAGAIN")],
    ),
    (BOTH, following, AnswerPortBound(host="10.0.0.1", port=4000), 1.0, F, []),
    (
        ("fixed",),
        leader,
        AnswerPortFailed(reason="EADDRINUSE"),
        2.2,
        F,  # a shared row: without an ans port the leader steps down
        [
            TraceEvent(kind="error", role="LEADER", term=1, cause="cannot bind the ans port: EADDRINUSE"),
            note("handleLeaderExited", A),
            CancelTimer(name="leader"),
            arm("election", 2.0),
            state(F, 1),
        ],
    ),
    (
        ("riaps",),
        leader,
        AnswerPortFailed(reason="EADDRINUSE"),
        2.2,
        F,  # a shared row: without an ans port the leader steps down
        [
            TraceEvent(kind="error", role="LEADER", term=1, cause="cannot bind the ans port: EADDRINUSE"),
            note("handleLeaderExited", A),
            CancelTimer(name="leader"),
            arm("election", 0.001),
            state(F, 1),
        ],
    ),
    (
        ("riaps",),
        following,
        MessageToLeader(payload=b"m", sender=C),
        1.0,
        F,  # stale ans port still served
        [note("handleMessageToLeader", b"m", C)],
    ),
    (
        ("fixed",),
        following,
        MessageToLeader(payload=b"m", sender=C),
        1.0,
        F,
        [drop(F, 1, "no transition for MessageToLeader in role FOLLOWER at term 1")],
    ),
    (BOTH, leader, MessageToLeader(payload=b"m", sender=C), 2.2, L, [note("handleMessageToLeader", b"m", C)]),
    # local requests
    (BOTH, following, Post(payload=b"m"), 1.0, F, [pub(GroupMessage(payload=b"m")), Result(value=True)]),
    (BOTH, follower, PostToLeader(payload=b"m"), 1.0, F, [Result(value=False, reason="no leader")]),
    (BOTH, following, PostToLeader(payload=b"m"), 1.0, F, [SendToLeader(cmd=Code.MTL, payload=b"m"), Result(value=True)]),
    (BOTH, leader, PostToLeader(payload=b"m"), 2.2, L, [note("handleMessageToLeader", b"m", b""), Result(value=True)]),
    (
        BOTH,
        following,
        PostToMember(payload=b"m", identity=C),
        1.0,
        F,
        [Result(value=False, reason="only the leader sends to members; use PostToLeader")],
    ),  # B16 fixed
    (BOTH, leader, PostToMember(payload=b"m", identity=C), 2.2, L, [SendToMember(identity=C, cmd=Code.MFL, payload=b"m"), Result(value=True)]),
    (BOTH, leader, PostToMember(payload=b"m", identity=b""), 2.2, L, [note("handleMessageFromLeader", b"m"), Result(value=True)]),
    (BOTH, follower, AskVote(topic=b"t"), 1.0, F, [Result(value=None, reason="no leader")]),
    (
        ("riaps",),
        following,
        AskVote(topic=b"t", timeout_ms=500.0),
        1.0,
        F,
        [
            SendToLeader(cmd=Code.RFV, payload=encode(PollRequest(poll=PollSpec(rfv_id="ABCDEFGH", topic=b"t", started_s=1.0, timeout_s=0.5)))[1]),
            Result(value="ABCDEFGH"),
        ],
    ),
    (  # fixed: the requester's own poll timer, at its deadline, ends the poll for it if no result came
        ("fixed",),
        following,
        AskVote(topic=b"t", timeout_ms=500.0),
        1.0,
        F,
        [
            arm("poll", 0.5),
            SendToLeader(cmd=Code.RFV, payload=encode(PollRequest(poll=PollSpec(rfv_id="ABCDEFGH", topic=b"t", started_s=1.0, timeout_s=0.5)))[1]),
            Result(value="ABCDEFGH"),
        ],
    ),
    (
        BOTH,
        following,
        CastVote(rfv_id="P", vote=False),
        1.0,
        F,
        [SendToLeader(cmd=Code.RTC, payload=encode(VoteCast(rfv_id="P", vote="no"))[1]), Result(value=True)],
    ),
    (
        BOTH,
        following,
        Leave(),
        1.0,
        F,
        [pub(MemberLeave(member=A)), CancelTimer(name="heartbeat"), CancelTimer(name="election"), Disconnect(), Result(value=True)],
    ),
]


@pytest.mark.parametrize(
    ("protocol", "second"),
    [
        ("riaps", [note("handleLeaderElected", A), CancelTimer(name="election"), BindAnswerPort(), arm("leader", 1.0), state(L, 1)]),
        ("fixed", [drop(CA, 1, "second vote from the same member", B)]),
    ],
)
def test_a_second_vote_from_one_member(protocol: str, second: list[Any]) -> None:
    """riaps counts a repeated vote again (B9); fixed drops it. Five members, win at 3 votes."""
    m = make_machine(protocol, member_id=A, rng=LowRandom(), group_min_size=5)
    m.handle(Join(), 0.0)
    for p in (A, B, C, D, b"\xee" * 16):
        m.handle(Heartbeat(member=p), 0.0)
    m.handle(TimerFired(name="election"), 2.0)
    if protocol == "fixed":  # two yes to the pre-vote, with its own a quorum of three
        m.handle(pva(1, A, True, C), 2.05)
        m.handle(pva(1, A, True, D), 2.05)
    assert m.role is CA
    assert m.handle(vot(1, A, True, B), 2.1) == []
    assert m.handle(vot(1, A, True, B), 2.1) == second


def _expand() -> list[Any]:
    out = []
    for i, (protocols, setup, event, now, role, commands) in enumerate(CASES):
        for p in protocols:
            out.append(pytest.param(p, setup, event, now, role, commands, id=f"{p}-{i}-{input_key(event)}"))
    return out


@pytest.mark.parametrize(("protocol", "setup", "event", "now", "role", "commands"), _expand())
def test_row(protocol: str, setup: Callable[[str], GroupMachine], event: Input, now: float, role: Role, commands: list[Any]) -> None:
    """(role, input) gives the next role and exactly these commands (a durable protocol's ``Persist`` aside:
    it comes first, exactly when its durable state (term, vote, configuration) changed, with the new values).
    riaps publishes a ``tic`` first on any input a heartbeat after its last one: the reference's loop, not the
    row (tested on its own in test_riaps_loop.py); the cases list the row's commands after it."""
    m = setup(protocol)
    before = m.durable_state()
    tic_due = isinstance(m, RiapsProtocol) and m.joined and not m.left and (m.last_tic is None or now - m.last_tic >= m.timing.heartbeat_ms / 1000)
    got = m.handle(event, now)
    if tic_due:
        assert got[:1] == [pub(Heartbeat(member=A))], got
        got = got[1:]
    persisted = [c for c in got if isinstance(c, Persist)]
    if m.DURABLE and (after := m.durable_state()) != before:
        assert got[0].state == after and len(persisted) == 1  # type: ignore[union-attr]
    else:
        assert persisted == []
    assert [c for c in got if not isinstance(c, Persist)] == commands
    assert m.role is role


ELECTION_KEYS = ("RequestVote", "VoteReply", "PreVoteRequest", "PreVoteReply", "LeaderAnnounce", "TimerFired[election]", "TimerFired[leader]")


def test_every_case_of_the_election_rows_is_covered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each case (guard and outcome) of each election row of both tables is taken by at least one exact case above."""
    taken: set[Case] = set()
    choose = Row.choose

    def recording(self: Row, machine: Any, event: Any) -> Case:
        chosen = choose(self, machine, event)
        taken.add(chosen)
        return chosen

    monkeypatch.setattr(Row, "choose", recording)
    for protocols, setup, event, now, _role, _ in CASES:
        for protocol in protocols:
            m = setup(protocol)
            row = m.TABLE.get((m.role, input_key(event)))
            if row is not None and len(row.cases) == 1:
                taken.add(row.cases[0])
            m.handle(event, now)
    for protocol, table in (("riaps", RIAPS_TABLE), ("fixed", FIXED_TABLE)):
        missing = [f"{role.name} {key}: {one}" for (role, key), row in table.items() if key in ELECTION_KEYS for one in row.cases if one not in taken]
        assert missing == [], f"{protocol}: cases no test takes: {missing}"


def test_every_case_names_functions_of_its_protocol() -> None:
    """Actions are functions of the protocol's class (or its bases); guards are named module functions."""
    for name, cls in PROTOCOLS.items():
        for key, row in cls.TABLE.items():
            for one in row.cases:
                assert getattr(cls, one.action.__name__, None) is one.action, (name, key, str(one))
                if one.guard is not None:
                    assert one.guard.__name__ != "<lambda>" and one.guard.__doc__, (name, key, str(one))


def test_roles_and_terms_are_written_in_one_place() -> None:
    """No action writes ``self.role`` or ``self.term``: the machine's dispatch applies the table's case."""
    import ast
    from pathlib import Path

    import riaps_sim.coord as coord

    writers = []
    for path in sorted(Path(coord.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                for inner in ast.walk(node):
                    targets = inner.targets if isinstance(inner, ast.Assign) else [inner.target] if isinstance(inner, ast.AugAssign) else []
                    for target in targets:
                        for t in target.elts if isinstance(target, ast.Tuple) else [target]:
                            if isinstance(t, ast.Attribute) and t.attr in ("role", "term") and getattr(t.value, "id", "") == "self":
                                writers.append(f"{path.name}:{node.name}")
    assert sorted(set(writers)) == ["machine.py:__init__", "machine.py:_dispatch"]


def test_the_rows_that_differ_between_riaps_and_fixed() -> None:
    """The fixes for B6, B9-B12, B17 and the pre-vote are exactly these rows (plus the stale ans port and poll timer)."""
    diff = [(role.name, key) for role, key, a, _b in differences(RIAPS_TABLE, FIXED_TABLE) if a is not None]
    assert diff == [
        ("FOLLOWER", "Heartbeat"),  # the configuration; the groupMinSize warning
        ("FOLLOWER", "LeaderAnnounce"),
        ("FOLLOWER", "MemberLeave"),  # hand-over
        ("FOLLOWER", "MessageToLeader"),
        ("FOLLOWER", "PollAnnounce"),  # only known polls
        ("FOLLOWER", "PollRequest"),
        ("FOLLOWER", "RequestVote"),
        ("FOLLOWER", "TimerFired[election]"),
        ("FOLLOWER", "TimerFired[heartbeat]"),  # riaps: tics per loop iteration (B24)
        ("FOLLOWER", "VoteCast"),
        ("FOLLOWER", "VoteReply"),  # riaps: setTimeout(electionTimeout()) (B24)
        ("CANDIDATE", "Heartbeat"),
        ("CANDIDATE", "LeaderAnnounce"),
        ("CANDIDATE", "MemberLeave"),
        ("CANDIDATE", "MessageToLeader"),
        ("CANDIDATE", "PollAnnounce"),
        ("CANDIDATE", "PollRequest"),
        ("CANDIDATE", "RequestVote"),
        ("CANDIDATE", "TimerFired[election]"),
        ("CANDIDATE", "TimerFired[heartbeat]"),
        ("CANDIDATE", "VoteCast"),
        ("CANDIDATE", "VoteReply"),
        ("LEADER", "Heartbeat"),
        ("LEADER", "LeaderAnnounce"),
        ("LEADER", "MemberLeave"),
        ("LEADER", "PollAnnounce"),
        ("LEADER", "RequestVote"),
        ("LEADER", "TimerFired[heartbeat]"),
        ("LEADER", "TimerFired[leader]"),
        ("LEADER", "VoteReply"),  # riaps: any election message postpones the ldr (B24)
    ]
    only_fixed = {(role.name, key) for role, key, a, _b in differences(RIAPS_TABLE, FIXED_TABLE) if a is None}
    assert {k for r, k in only_fixed if r != "PRECANDIDATE"} == {"PreVoteRequest", "PreVoteReply", "TimerFired[poll]"}
    text = format_table(FIXED_TABLE)
    assert "[leader_is_live] drop_while_leader_lives -> FOLLOWER" in text
    assert "[quorum_in_view] ask_prevotes -> PRECANDIDATE" in text
    assert "[prevote_completing_quorum] stand -> CANDIDATE, term + 1" in text
    assert "LEADER        RequestVote            postpone_ldr -> LEADER" in format_table(RIAPS_TABLE)


# ------------------------------------------------------------------------------ illegal inputs

REMOTE_SAMPLES: list[Input] = [MessageToLeader(payload=b"m", sender=C), PollRequest(poll=PollSpec(rfv_id="P")), VoteCast(rfv_id="P", vote="yes")]


@pytest.mark.parametrize("role", [F, CA])
@pytest.mark.parametrize("event", REMOTE_SAMPLES, ids=input_key)
def test_illegal_input_is_dropped_and_leaves_state_unchanged(role: Role, event: Input) -> None:
    """fixed: only a leader's ans port serves; elsewhere the input is traced as a drop, nothing else."""
    m = SETUPS[role]("fixed")
    before = m.snapshot()
    (out,) = m.handle(event, 2.2)
    assert out.kind == "drop" and f"in role {role.name} at term" in out.cause  # type: ignore[attr-defined]
    assert m.snapshot() == before


def test_stale_timer_is_dropped_and_leaves_state_unchanged() -> None:
    """A timer that is not armed (cancelled, or already fired) is dropped."""
    m = leader("riaps")
    before = m.snapshot()
    assert m.handle(TimerFired(name="election"), 2.3) == [drop(L, 1, "TimerFired[election]: stale timer (not armed)")]
    assert m.snapshot() == before


def test_local_requests_outside_membership_raise_and_change_nothing() -> None:
    """Before Join and after Leave a local request is a CoordError; a peer's input is dropped."""
    m = machine("riaps")
    with pytest.raises(CoordError, match="has not joined yet; send Join first"):
        m.handle(Post(payload=b"x"), 0.0)
    assert m.handle(Heartbeat(member=B), 0.0) == [drop(F, 0, "Heartbeat: member has not joined yet; send Join first")]
    m.handle(Join(), 0.0)
    with pytest.raises(CoordError, match="cannot Join twice"):
        m.handle(Join(), 0.0)
    m.handle(Leave(), 1.0)
    before = m.snapshot()
    with pytest.raises(CoordError, match="has left the group"):
        m.handle(AskVote(topic=b"t"), 1.0)
    assert m.snapshot() == before


def test_repr_shows_role_term_and_peers() -> None:
    """The repr names the protocol, member, role, term and peer count."""
    assert repr(leader("fixed")) == "<FixedProtocol 0a0a0a0a.. LEADER term=1 peers=3>"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(heartbeat_ms=0), "heartbeat_ms must be a positive int"),
        (dict(election_min_ms=900), r"incorrectly ordered.*heartbeat=1000, electionMin=900"),
        (dict(consensus_timeout_ms=2000), r"consensusTimeout < electionMax.*consensusTimeout=2000"),
    ],
)
def test_timing_is_validated(kwargs: dict[str, int], match: str) -> None:
    """Timing values must be positive ms, ordered as the reference asserts."""
    with pytest.raises(ValueError, match=match):
        Timing(**kwargs)


def test_model_value_zero_is_an_error_not_a_default() -> None:
    """Timing.from_model({'heartbeat': 0}) raises (the reference silently used the default)."""
    with pytest.raises(ValueError, match="heartbeat_ms"):
        Timing.from_model({"heartbeat": 0})
    assert Timing.from_model({"heartbeat": 500}).heartbeat_s == 0.5


def test_group_min_size_and_protocol_name_are_validated() -> None:
    """groupMinSize >= 2; unknown protocol names list the known ones."""
    with pytest.raises(ValueError, match="groupMinSize"):
        make_machine("riaps", member_id=A, rng=LowRandom(), group_min_size=1)
    with pytest.raises(ValueError, match=r"choose one of \['fixed', 'planted-double-vote', 'riaps'\]"):
        make_machine("raft", member_id=A, rng=LowRandom())


# ------------------------------------------------------------------------------ properties

IDS = st.sampled_from([A, B, C, D])
TERMS = st.integers(min_value=0, max_value=4)
INPUTS = st.one_of(
    st.builds(Heartbeat, member=IDS),
    st.builds(MemberLeave, member=st.sampled_from([B, C, D])),
    st.builds(RequestVote, term=TERMS, candidate=IDS),
    st.builds(VoteReply, term=TERMS, candidate=IDS, granted=st.booleans(), voter=IDS),
    st.builds(LeaderAnnounce, term=TERMS, leader=IDS, host=st.just("10.0.0.2"), port=st.sampled_from([0, 4001])),
    st.builds(TimerFired, name=st.sampled_from(TIMERS)),
    st.builds(AnswerPortBound, host=st.just("10.0.0.1"), port=st.just(4000)),
    st.builds(AnswerPortFailed, reason=st.just("x")),
    st.builds(PollRequest, poll=st.builds(PollSpec, rfv_id=st.sampled_from(["P", "Q"])), sender=IDS),
    st.builds(VoteCast, rfv_id=st.sampled_from(["P", "Q"]), vote=st.sampled_from(["yes", "no"]), sender=IDS),
    st.builds(PollOpened, poll=st.builds(PollSpec, rfv_id=st.just("P"))),
    st.builds(PostToLeader, payload=st.just(b"m")),
    st.builds(PostToMember, payload=st.just(b"m"), identity=IDS),
    st.builds(AskVote, topic=st.just(b"t")),
    st.builds(CastVote, rfv_id=st.sampled_from(["P", "Q"]), vote=st.booleans()),
)


@pytest.mark.parametrize("protocol", ["riaps", "fixed"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(INPUTS, st.floats(min_value=0.0, max_value=1.5)), max_size=60))
def test_random_input_sequences(protocol: str, steps: list[tuple[Input, float]]) -> None:
    """Any input sequence: no exception, a valid role, a leader knows itself; fixed terms never decrease."""
    m = make_machine(protocol, member_id=A, rng=random.Random(0), group_min_size=3)
    m.handle(Join(), 0.0)
    now = 0.0
    for event, dt in steps:
        now += dt
        term = m.term
        out = m.handle(event, now)
        assert m.role in Role
        assert (m.role is L) <= (m.leader == A)
        assert all(type(c).__module__ == "riaps_sim.coord.commands" for c in out)
        if protocol == "fixed":
            assert m.term >= term


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(3, 5),
    loss=st.floats(0.0, 0.3),
    jitter=st.floats(0.0, 0.5),
    cut_at=st.floats(2.0, 15.0),
    heal_at=st.floats(0.0, 10.0),
    crash=st.one_of(st.none(), st.integers(0, 4)),
)
def test_fixed_never_has_two_leaders_in_one_term(
    seed: int, n: int, loss: float, jitter: float, cut_at: float, heal_at: float, crash: int | None
) -> None:
    """fixed: under loss, reordering, a partition and a crash, at most one leader per term."""
    rng = random.Random(seed)
    c = Cluster(
        n,
        protocol="fixed",
        group_min_size=n,
        seed=seed,
        latency=lambda s, d, cmd: 0.002 + rng.random() * jitter,
        loss=lambda t, s, d, cmd: s != d and rng.random() < loss,
    )
    c.start()
    c.run_until(cut_at)
    side = list(range(rng.randrange(1, n)))
    c.partition(side, [i for i in range(n) if i not in side])
    if crash is not None and crash < n:
        c.crash(crash)
    c.run_until(cut_at + heal_at)
    c.heal()
    c.run_until(cut_at + heal_at + 10.0)
    assert all(len(nodes) == 1 for nodes in c.leaders_by_term().values()), c.leaders_by_term()
