"""The ``riaps`` protocol: the reference election (riaps-pycom's ``dc.py``), quirks included.

Each case of :data:`RIAPS_TABLE` reproduces one cell of the reference's
``handleTimeout``/``handleNetMessage``; its guards are the reference's conditions, and the bug
each keeps is noted beside it. What is deliberately *not* reproduced: crashes and mis-typing
(B4, B5, B7, B13, B16, ...). The poll unit bug (B3) is kept unless the group's timing says
``reference_poll_timeout_units=False``.

The reference's loop, kept (B24): one poll timeout does the work of every timer. Here that timeout
is the timer ``election`` in FOLLOWER and CANDIDATE and ``leader`` in LEADER; the follower's deadline
for a leader is a value (:attr:`RiapsProtocol.leader_deadline`), looked at only when that timeout
fires, i.e. when the reference's poll returns quietly. A ``tic`` goes out on the first input of any
kind (a loop iteration) at least a heartbeat after the last one, so it locks onto incoming traffic
and may run apart from the leader's ``ldr``, as in the reference. The timer ``heartbeat`` fires once,
a heartbeat after ``Join``; it is only such an iteration.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .actions import ANSWER_PORT, SharedActions, every_role, shared_rows
from .election import Role, Row, Table, TermChange, case, row
from .events import Input, LeaderAnnounce, RequestVote, VoteReply
from .polls import PollRules, RiapsPolls
from .requests import TimerFired

__all__ = ["RiapsProtocol", "RIAPS_TABLE"]

F, C, L = Role.FOLLOWER, Role.CANDIDATE, Role.LEADER
#: Times are float sums (a timer's due time is now + delay): a tic falls due this much early, so
#: that a timeout a heartbeat after the last tic is not missed by a rounding error.
_CLOCK_SLACK_S = 1e-6
ADOPT, NEXT = TermChange.ADOPT, TermChange.NEXT


class RiapsProtocol(SharedActions):
    """A group member that behaves as a reference RIAPS (riaps-pycom v2) member.

    Quorum is judged on the live view (B12): an election starts only if
    ``numPeers > groupMinSize//2 + 1`` (so at least 3 members with the default 2) and is won with
    ``votes >= numPeers//2 + 1``. See :data:`RIAPS_TABLE`.

    Examples
    --------
    >>> import random
    >>> from riaps_sim.coord import Join
    >>> m = RiapsProtocol(member_id=bytes(16), rng=random.Random(1))
    >>> [type(c).__name__ for c in m.handle(Join(), now=0.0)]
    ['Publish', 'ArmTimer', 'ArmTimer', 'TraceEvent']
    >>> m
    <RiapsProtocol 00000000.. FOLLOWER term=0 peers=0>
    """

    name: ClassVar[str] = "riaps"
    TABLE: ClassVar[Table]  # RIAPS_TABLE, below
    POLLS: ClassVar[PollRules] = RiapsPolls()
    #: What the reference means to guarantee; ``riaps-sim check`` shows where its bugs break it (B6, B9, B12).
    #: Its guards compare member ids only for equality, so it is ``member_symmetric``.
    PROMISES: ClassVar[frozenset[str]] = frozenset(
        {"one_leader_per_term", "poll_results_agree", "result_only_for_opened_poll", "no_lower_term_leader", "member_symmetric"}
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: The follower's deadline for hearing a leader (node clock, s), or None (B11): checked only
        #: when the poll timeout fires (B24).
        self.leader_deadline: float | None = None
        #: When this member last published ``tic`` (node clock, s).
        self.last_tic: float | None = None
        if self.timing.reference_poll_timeout_units:  # B3: consensusTimeout (ms) read as seconds
            self._consensus_timeout_s = float(self.timing.consensus_timeout_ms)

    def snapshot(self) -> dict[str, Any]:
        """The machine's state (:meth:`GroupMachine.snapshot`) with the loop's: the deadline and the last ``tic``."""
        return {**super().snapshot(), "leader_deadline": self.leader_deadline, "last_tic": self.last_tic}

    # ------------------------------------------------------------------ the reference's loop (B24)

    def _dispatch(self, event: Input, now: float, row: Row) -> None:
        """One iteration of the reference's loop: a ``tic`` if one is due, then the row."""
        if self.joined and (self.last_tic is None or now - self.last_tic >= self._heartbeat_s - _CLOCK_SLACK_S):
            self._publish_tic()
        super()._dispatch(event, now, row)

    def _publish_tic(self) -> None:
        self.last_tic = self.now
        super()._publish_tic()

    def _arm_leader_deadline(self, now: float) -> None:
        """A new deadline for the leader, ``randrange(electionMax, peerTimeout)`` ms ahead. The poll
        timeout keeps running (``rcm``, ``ann``); if none runs (``Join``), the loop starts at a drawn phase.

        The phase: the reference's loop starts with a ``tic`` and a heartbeat's wait, so a member's
        tics and its quiet timeouts share one phase, set by when its group thread started (and by the
        discovery updates that restart the wait). The machine draws that phase,
        ``randrange(1, heartbeat]`` ms, and its next ``tic`` falls due with the first timeout (so that
        one comes sooner than a heartbeat after the ``Join``'s). Members that join at one instant
        would otherwise check their deadlines at one instant and always split the first vote.
        """
        self.leader_deadline = now + self._rng.randrange(self.timing.election_max_ms, self.timing.peer_timeout_ms) / 1000.0
        if "election" not in self.timers and "leader" not in self.timers:
            phase = self._rng.randrange(1, self.timing.heartbeat_ms + 1) / 1000.0
            self._arm("election", phase, now)
            self.last_tic = now + phase - self._heartbeat_s

    def _wait_votes(self, now: float) -> None:
        """``setTimeout(electionTimeout())``: the poll timeout for a candidate or a voter."""
        self._arm("election", self._election_timeout_s(), now)

    def _iterate(self, event: object, now: float) -> None:
        """A loop iteration and nothing more (the ``tic`` check ran before)."""

    def _idle(self, event: TimerFired, now: float) -> None:
        """A quiet timeout before the deadline: ``setTimeout(HB)``."""
        self._arm("election", self._heartbeat_s, now)

    def _postpone_wait(self, event: VoteReply, now: float) -> None:
        """Someone else's vote: ``setTimeout(electionTimeout())``, the deadline check postponed."""
        self._wait_votes(now)

    def _postpone_ldr(self, event: object, now: float) -> None:
        """A leader's poll timeout is reset to a heartbeat by any election message, its own ``ldr`` echo
        included, so the next ``ldr`` is late by the echo's latency (B24)."""
        self._arm("leader", self._heartbeat_s, now)

    # ------------------------------------------------------------------ follower

    def _start_election(self, event: TimerFired, now: float) -> None:
        """Stand in the new term: vote for ourselves, drop the leader, publish ``req``, wait for votes."""
        if self.leader is not None:
            self._notify("handleLeaderExited", self.leader)
        self.votes, self.voters, self.voted_for = 1, {self.member_id: None}, self.member_id
        self._disconnect()
        self._publish(RequestVote(term=self.term, candidate=self.member_id))
        self._wait_votes(now)
        self.leader_deadline = None
        self.leader = None

    def _wait_again(self, event: TimerFired, now: float) -> None:
        """Too few members in view to elect: a new deadline, keeping the (maybe dead) leader (B10)."""
        self._arm("election", self._heartbeat_s, now)
        self._arm_leader_deadline(now)

    def _grant_and_forget_leader(self, event: RequestVote, now: float) -> None:
        """Vote yes, drop the leader and the deadline (B11)."""
        self._answer_and_forget_leader(event, granted=True)
        self.voted_for = event.candidate

    def _refuse_and_forget_leader(self, event: RequestVote, now: float) -> None:
        """Vote no; the leader and the deadline are dropped all the same (B11)."""
        self._answer_and_forget_leader(event, granted=False)

    def _answer_and_forget_leader(self, event: RequestVote, *, granted: bool) -> None:
        self._publish(event.reply(granted=granted, voter=self.member_id))
        if self.leader is not None:
            self._notify("handleLeaderExited", self.leader)
        self.leader_deadline = None
        self._wait_votes(self.now)
        self.leader = None
        self._disconnect()

    def _follow_leader(self, event: LeaderAnnounce, now: float) -> None:
        """Follow the announced leader (its term already adopted): clear the vote, re-arm the deadline, connect."""
        previous, self.leader = self.leader, event.leader
        self.leader_heard_at = now
        if previous != event.leader:
            self._notify("handleLeaderElected", event.leader)
        self.voted_for = None
        self._wait_votes(now)
        self._arm_leader_deadline(now)
        self._follow(event.host, event.port)

    # ------------------------------------------------------------------ candidate

    def _give_up(self, event: TimerFired, now: float) -> None:
        """No majority in time: a follower with a fresh deadline (retry in 2-3 s)."""
        self.voted_for = None
        if self.leader is not None:
            self._notify("handleLeaderExited", self.leader)
        self.leader = None
        self._arm("election", self._heartbeat_s, now)
        self._arm_leader_deadline(now)

    def _refuse_and_wait(self, event: RequestVote, now: float) -> None:
        """Another candidate of our term: vote no, and the wait for votes restarts."""
        self._publish(event.reply(granted=False, voter=self.member_id))
        self._restart_wait(event, now)

    def _restart_wait(self, event: RequestVote, now: float) -> None:
        """Our own ``req`` echoed, or an older one: the wait for votes restarts."""
        self._wait_votes(now)

    def _count_vote(self, event: VoteReply, now: float) -> None:
        self.votes += 1

    def _count_vote_and_win(self, event: VoteReply, now: float) -> None:
        self.votes += 1
        self.leader_deadline = None
        self._become_leader(now)

    # ------------------------------------------------------------------ leader

    def _leader_heartbeat(self, event: TimerFired, now: float) -> None:
        """The leader's quiet timeout: publish ``ldr``, ``setTimeout(HB)``; it never checks its quorum (B12).

        Its ``tic`` is not tied to the ``ldr``: it leaves on the first input a heartbeat after the
        last one (:meth:`_dispatch`), often this timeout, sometimes a peer's message (B24).
        """
        self._publish_ldr()
        self._arm("leader", self._heartbeat_s, now)

    def _yield(self, event: LeaderAnnounce, now: float) -> None:
        """Another leader of our term: stop leading and follow it, without a ``lex`` for our own component (B10)."""
        self._cancel("leader")
        self._follow_leader(event, now)


# ---------------------------------------------------------------------- guards: the reference's conditions


def deadline_passed(m: RiapsProtocol, event: TimerFired) -> bool:
    """The follower's deadline is set and passed (checked only on a quiet timeout, B24; never once a ``req`` cleared it, B11)."""
    return m.leader_deadline is not None and m.now >= m.leader_deadline - _CLOCK_SLACK_S


def deadline_passed_with_quorum(m: RiapsProtocol, event: TimerFired) -> bool:
    """The deadline passed and ``numPeers > groupMinSize//2 + 1``: judged on the live view (B12)."""
    return deadline_passed(m, event) and len(m.peers) > m.group_min_size // 2 + 1


def free_to_vote(m: RiapsProtocol, event: RequestVote) -> bool:
    """Not voted yet (whatever the term, B9), a higher term, or the candidate already voted for."""
    return m.voted_for is None or event.term > m.term or event.candidate == m.voted_for


def rival_of_our_term(m: RiapsProtocol, event: RequestVote) -> bool:
    """Another candidate of our term."""
    return event.term == m.term and event.candidate != m.member_id


def higher_term(m: RiapsProtocol, event: RequestVote | LeaderAnnounce) -> bool:
    """The input's term is above ours."""
    return event.term > m.term


def yes_for_us(m: RiapsProtocol, event: VoteReply) -> bool:
    """A yes for us, of any term, from anyone, a repeat counted again (B9)."""
    return event.granted and event.candidate == m.member_id


def yes_completing_live_majority(m: RiapsProtocol, event: VoteReply) -> bool:
    """A yes for us that brings the votes to ``numPeers//2 + 1`` of the live view (B9, B12)."""
    return yes_for_us(m, event) and m.votes + 1 >= len(m.peers) // 2 + 1


def other_leader_of_our_term(m: RiapsProtocol, event: LeaderAnnounce) -> bool:
    """Another leader of the *same* term; any other ``ldr`` leaves a leader unmoved (B6)."""
    return event.term == m.term and event.leader != m.member_id


P = RiapsProtocol  # the actions, by the class that holds them

#: The ``riaps`` table: the shared rows, the ans port served in every role (§3.5, even after
#: stepping down), and the election as the reference runs it.
# fmt: off: one case per line, as a table reads
RIAPS_TABLE: Table = {
    **shared_rows((F, C, L), {"TimerFired[heartbeat]": P._iterate}),  # fires once: tics go out per iteration (B24)
    **every_role((F, C, L), ANSWER_PORT),
    # FOLLOWER: TimerFired[election] is the quiet poll timeout, the only time the deadline is looked at (B24)
    (F, "TimerFired[election]"): row(
        case(deadline_passed_with_quorum, P._start_election, C, NEXT),
        case(deadline_passed, P._wait_again, F),  # the stale leader kept (B10)
        case(None, P._idle, F),
    ),
    (F, "RequestVote"): row(
        case(free_to_vote, P._grant_and_forget_leader, F, ADOPT),  # even a lower term (B9)
        case(None, P._refuse_and_forget_leader, F, ADOPT),
    ),
    (F, "VoteReply"): row(P._postpone_wait, to=F),
    (F, "LeaderAnnounce"): row(P._follow_leader, to=F, term=ADOPT),  # any term, even lower (B9)
    # CANDIDATE
    (C, "TimerFired[election]"): row(P._give_up, to=F),
    (C, "RequestVote"): row(
        case(rival_of_our_term, P._refuse_and_wait, C),
        case(higher_term, P._grant_and_forget_leader, F, ADOPT),  # the reverting voter keeps no deadline (B11)
        case(None, P._restart_wait, C),
    ),
    (C, "VoteReply"): row(case(yes_completing_live_majority, P._count_vote_and_win, L), case(yes_for_us, P._count_vote, C), case(None, P._ignore, C)),
    (C, "LeaderAnnounce"): row(P._follow_leader, to=F, term=ADOPT),
    # LEADER
    (L, "TimerFired[leader]"): row(P._leader_heartbeat, to=L),  # never checks its quorum (B12)
    (L, "RequestVote"): row(P._postpone_ldr, to=L),  # never yields to a higher term (B6)
    (L, "VoteReply"): row(P._postpone_ldr, to=L),
    (L, "LeaderAnnounce"): row(
        case(other_leader_of_our_term, P._yield, F),  # no lex (B10)
        case(None, P._postpone_ldr, L),  # its own echo too (B24)
    ),
}
# fmt: on
RiapsProtocol.TABLE = RIAPS_TABLE
