"""The ``riaps`` protocol: the reference election (riaps-groups.md §3.3-3.4), quirks included.

Each case of :data:`RIAPS_TABLE` reproduces one cell of the reference's
``handleTimeout``/``handleNetMessage``; its guards are the reference's conditions, and the bug
each keeps is noted beside it. What is deliberately *not* reproduced: crashes and mis-typing
(B4, B5, B7, B13, B16, ...), the poll unit bug (B3), and the starvation of the single multiplexed
timer (B24).
"""

from __future__ import annotations

from typing import ClassVar

from .actions import ANSWER_PORT, SharedActions, every_role, shared_rows
from .election import Role, Table, TermChange, case, row
from .events import LeaderAnnounce, RequestVote, VoteReply
from .polls import PollRules, RiapsPolls
from .requests import TimerFired

__all__ = ["RiapsProtocol", "RIAPS_TABLE"]

F, C, L = Role.FOLLOWER, Role.CANDIDATE, Role.LEADER
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

    # ------------------------------------------------------------------ follower

    def _start_election(self, event: TimerFired, now: float) -> None:
        """Stand in the new term: vote for ourselves, drop the leader, publish ``req``, wait for votes."""
        if self.leader is not None:
            self._notify("handleLeaderExited", self.leader)
        self.votes, self.voters, self.voted_for = 1, {self.member_id: None}, self.member_id
        self._disconnect()
        self._publish(RequestVote(term=self.term, candidate=self.member_id))
        self._arm("election", self._election_timeout_s(), now)
        self.leader = None

    def _wait_again(self, event: TimerFired, now: float) -> None:
        """Too few members in view to elect: a new deadline, keeping the (maybe dead) leader (B10)."""
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
        self._cancel("election")
        self.leader = None
        self._disconnect()

    def _follow_leader(self, event: LeaderAnnounce, now: float) -> None:
        """Follow the announced leader (its term already adopted): clear the vote, re-arm the deadline, connect."""
        previous, self.leader = self.leader, event.leader
        self.leader_heard_at = now
        if previous != event.leader:
            self._notify("handleLeaderElected", event.leader)
        self.voted_for = None
        self._arm_leader_deadline(now)
        self._follow(event.host, event.port)

    # ------------------------------------------------------------------ candidate

    def _give_up(self, event: TimerFired, now: float) -> None:
        """No majority in time: a follower with a fresh deadline (retry in 2-3 s)."""
        self.voted_for = None
        if self.leader is not None:
            self._notify("handleLeaderExited", self.leader)
        self.leader = None
        self._arm_leader_deadline(now)

    def _refuse_and_wait(self, event: RequestVote, now: float) -> None:
        """Another candidate of our term: vote no, and the wait for votes restarts."""
        self._publish(event.reply(granted=False, voter=self.member_id))
        self._restart_wait(event, now)

    def _restart_wait(self, event: RequestVote, now: float) -> None:
        """Our own ``req`` echoed, or an older one: the wait for votes restarts."""
        self._arm("election", self._election_timeout_s(), now)

    def _count_vote(self, event: VoteReply, now: float) -> None:
        self.votes += 1

    def _count_vote_and_win(self, event: VoteReply, now: float) -> None:
        self.votes += 1
        self._become_leader(now)

    # ------------------------------------------------------------------ leader

    def _leader_heartbeat(self, event: TimerFired, now: float) -> None:
        """Publish ``tic`` and ``ldr`` together and re-arm both; the leader never checks its quorum (B12).

        The reference's loop publishes both in the same iteration, every heartbeat; two timers of
        independent phase would let the ``ldr`` lag the ``tic`` by up to a heartbeat, and that
        shortens the window in which survivors elect before a dead leader ages out. Until the
        first leader timer, the ``tic`` keeps its own cadence; from then on it goes with the ``ldr``.
        """
        self._publish_tic()
        self._publish_ldr()
        self._arm("leader", self._heartbeat_s, now)
        self._arm("heartbeat", self._heartbeat_s, now)  # re-armed after the leader timer, so it never fires first

    def _yield(self, event: LeaderAnnounce, now: float) -> None:
        """Another leader of our term: stop leading and follow it, without a ``lex`` for our own component (B10)."""
        self._cancel("leader")
        self._follow_leader(event, now)


# ---------------------------------------------------------------------- guards: the reference's conditions


def live_view_quorum(m: RiapsProtocol, event: TimerFired) -> bool:
    """``numPeers > groupMinSize//2 + 1``: judged on the live view (B12)."""
    return len(m.peers) > m.group_min_size // 2 + 1


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
    **shared_rows((F, C, L)),
    **every_role((F, C, L), ANSWER_PORT),
    # FOLLOWER
    (F, "TimerFired[election]"): row(
        case(live_view_quorum, P._start_election, C, NEXT),
        case(None, P._wait_again, F),  # the stale leader kept (B10)
    ),
    (F, "RequestVote"): row(
        case(free_to_vote, P._grant_and_forget_leader, F, ADOPT),  # even a lower term (B9)
        case(None, P._refuse_and_forget_leader, F, ADOPT),
    ),
    (F, "VoteReply"): row(P._ignore, to=F),
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
    (L, "RequestVote"): row(P._ignore, to=L),  # never yields to a higher term (B6)
    (L, "VoteReply"): row(P._ignore, to=L),
    (L, "LeaderAnnounce"): row(
        case(other_leader_of_our_term, P._yield, F),  # no lex (B10)
        case(None, P._ignore, L),
    ),
}
# fmt: on
RiapsProtocol.TABLE = RIAPS_TABLE
