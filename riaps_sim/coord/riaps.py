"""The ``riaps`` protocol: the reference election (riaps-groups.md §3.3-3.4), quirks included.

Each action reproduces one cell of the reference's ``handleTimeout``/``handleNetMessage``.
What is deliberately *not* reproduced: crashes and mis-typing (B4, B5, B7, B13, B16, ...), the
poll unit bug (B3), and the starvation of the single multiplexed timer (B24).
"""

from __future__ import annotations

from typing import ClassVar

from .actions import SharedActions
from .election import RIAPS_TABLE, Role, Table
from .events import LeaderAnnounce, RequestVote, VoteReply
from .polls import PollRules, RiapsPolls
from .requests import TimerFired

__all__ = ["RiapsProtocol"]


class RiapsProtocol(SharedActions):
    """A group member that behaves as a reference RIAPS (riaps-pycom v2) member.

    Quorum is judged on the live view (B12): an election starts only if
    ``numPeers > groupMinSize//2 + 1`` (so at least 3 members with the default 2) and is won with
    ``votes >= numPeers//2 + 1``. See :data:`~riaps_sim.coord.election.RIAPS_TABLE`.

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
    TABLE: ClassVar[Table] = RIAPS_TABLE
    POLLS: ClassVar[PollRules] = RiapsPolls()

    # ------------------------------------------------------------------ follower

    def _follower_deadline(self, event: TimerFired, now: float) -> None:
        """Deadline passed: elect if ``numPeers > groupMinSize//2 + 1``, else wait again keeping
        the (maybe dead) leader (B10, B12)."""
        if len(self.peers) > self.group_min_size // 2 + 1:
            self._start_election(now)
        else:
            self._arm_leader_deadline(now)

    def _start_election(self, now: float) -> None:
        if self.leader is not None:
            self._notify("handleLeaderExited", self.leader)
        self.term = (self.term + 1) % 2**32  # ``!L`` wraps
        self.role = Role.CANDIDATE
        self.votes, self.voters, self.voted_for = 1, {self.member_id: None}, self.member_id
        self._disconnect()
        self._publish(RequestVote(term=self.term, candidate=self.member_id))
        self._arm("election", self._election_timeout_s(), now)
        self.leader = None

    def _follower_vote(self, event: RequestVote, now: float) -> None:
        """Vote yes if not voted yet (any term, B9), for a higher term, or for the same
        candidate; adopt the request's term even if lower (B9); drop the leader and the
        deadline (B11)."""
        grant = self.voted_for is None or event.term > self.term or event.candidate == self.voted_for
        self._publish(event.reply(granted=grant, voter=self.member_id))
        self.term = event.term
        if self.leader is not None:
            self._notify("handleLeaderExited", self.leader)
        self._cancel("election")
        self.leader = None
        self._disconnect()
        if grant:
            self.voted_for = event.candidate

    def _follow_any_leader(self, event: LeaderAnnounce, now: float) -> None:
        """Accept any ``ldr``, whatever its term (B9): adopt term and leader, clear the vote,
        re-arm the deadline, connect the qry port."""
        self.role = Role.FOLLOWER
        self._adopt_leader(event, now)

    def _adopt_leader(self, event: LeaderAnnounce, now: float) -> None:
        self.term = event.term
        previous, self.leader = self.leader, event.leader
        if previous != event.leader:
            self._notify("handleLeaderElected", event.leader)
        self.voted_for = None
        self._arm_leader_deadline(now)
        self._follow(event.host, event.port)

    # ------------------------------------------------------------------ candidate

    def _candidate_timeout(self, event: TimerFired, now: float) -> None:
        """No majority in time: back to follower with a fresh deadline (retry in 2-3 s)."""
        self.role = Role.FOLLOWER
        self.voted_for = None
        if self.leader is not None:
            self._notify("handleLeaderExited", self.leader)
        self.leader = None
        self._arm_leader_deadline(now)

    def _candidate_on_request(self, event: RequestVote, now: float) -> None:
        """Same term, other candidate: vote no. Higher term: vote yes and revert to follower
        *without* a deadline (B11). Own or lower: ignore. The wait restarts in every case
        but the revert."""
        if event.term == self.term:
            if event.candidate != self.member_id:
                self._publish(event.reply(granted=False, voter=self.member_id))
        elif event.term > self.term:
            self.role = Role.FOLLOWER
            self._publish(event.reply(granted=True, voter=self.member_id))
            self.term = event.term
            if self.leader is not None:
                self._notify("handleLeaderExited", self.leader)
            self.leader = None
            self._disconnect()
            self.voted_for = event.candidate
            self._cancel("election")
            return
        self._arm("election", self._election_timeout_s(), now)

    def _count_vote(self, event: VoteReply, now: float) -> None:
        """Count any yes for us, of any term, from anyone, twice if sent twice (B9); win with
        ``votes >= numPeers//2 + 1`` of the live view (B12)."""
        if event.granted and event.candidate == self.member_id:
            self.votes += 1
            if self.votes >= len(self.peers) // 2 + 1:
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

    def _stop_leading(self, now: float) -> None:
        self._cancel("leader")

    def _leader_yield_same_term(self, event: LeaderAnnounce, now: float) -> None:
        """Yield only to another leader of the *same* term (B6), without a ``lex`` for our own
        component (B10); ignore every other ``ldr``."""
        if event.term == self.term and event.leader != self.member_id:
            self.role = Role.FOLLOWER
            self._stop_leading(now)
            self._adopt_leader(event, now)
