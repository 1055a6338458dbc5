"""The ``fixed`` protocol: the reference's messages and roles with its safety and liveness
findings repaired (B6, B9, B10, B11, B12, B17).

- Quorum is a majority of the group, both to start and to win an election: of ``groupMinSize``
  or of the *configuration* (every member heard since joining until it leaves with ``mlt``; a
  crashed member still counts, a restarted node's new member takes its old one's slot), whichever
  is larger. A leader that sees fewer members than that steps down (B12). So a minority never
  elects, even when ``groupMinSize`` is left at its default of 2.
- Term and vote are durable: ``Persist`` goes out before a vote does, and a restarted member
  resumes from them, so it cannot vote twice in a term. Terms never wrap (``TERM_LIMIT``).
- A poll result is taken only for a poll this member requested or was asked to vote in.
- Terms never go backwards; a lower-term ``req`` or ``ldr`` is dropped; a higher term makes a
  leader or candidate step down (B6, B9). Two leaders of the same term (only possible with a
  forged message or more members than ``groupMinSize``) resolve to the larger member id.
- One vote per term, kept across ``ldr``; a candidate counts each known member once, and only
  for its current term (B9).
- A voter re-arms its deadline, so a vanished candidate cannot stall the group (B11).
- A follower whose deadline passes without a quorum drops its leader and notifies
  ``handleLeaderExited``; so does a stepping-down leader's own component (B10).
- Polls decide as soon as the outcome is certain, count each electorate member once, and
  expire on their own timer (B17, see :class:`~riaps_sim.coord.polls.FixedPolls`).

Safety (at most one leader per term) holds whatever ``groupMinSize`` is, as long as members do
not join in the middle of a partition (a configuration that grows on one side only).
"""

from __future__ import annotations

from typing import Any, ClassVar

from .election import FIXED_TABLE, Role, Table
from .events import Heartbeat, LeaderAnnounce, MemberLeave, PollAnnounce, RequestVote, VoteReply
from .polls import FixedPolls, PollRules
from .requests import TimerFired
from .riaps import RiapsProtocol

__all__ = ["FixedProtocol", "TERM_LIMIT"]

#: The last term ``fixed`` accepts: the wire's ``!L`` holds 2**32 - 1, and a term never wraps.
TERM_LIMIT = 2**32 - 1


def member_slot(member: bytes) -> bytes:
    """What a member stands for across its node's restarts: its id without the incarnation.

    Member ids are IPv4 address (4 bytes), incarnation (4) and a per-node counter (8)
    (``Node.new_member_id``); a node's k-th member keeps its slot when the node restarts.
    """
    return member[:4] + member[8:]


class FixedProtocol(RiapsProtocol):
    """A group member with the reference's wire format and the fixes listed in this module.

    Shares the ``riaps`` actions its table still names (candidate timeout, winning, shared
    rows); see :data:`~riaps_sim.coord.election.FIXED_TABLE` and
    :func:`~riaps_sim.coord.election.differences`.
    """

    name: ClassVar[str] = "fixed"
    TABLE: ClassVar[Table] = FIXED_TABLE
    POLLS: ClassVar[PollRules] = FixedPolls()
    DURABLE: ClassVar[bool] = True  # term and vote survive a crash: a restarted member cannot vote twice in a term

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._configuration: dict[bytes, bytes] = {}  # slot -> the member heard in it last
        self._split_votes = 0  # elections in a row that ended without a leader (for the back-off)

    def _start_election(self, now: float) -> None:
        """As ``riaps``, except at the last term: terms never wrap (a wrapped term would win every comparison)."""
        if self.term >= TERM_LIMIT:
            self._drop(f"term {self.term} is at the limit; no election")
            self._arm_leader_deadline(now)
            return
        super()._start_election(now)

    def _on_poll_announce(self, event: PollAnnounce, now: float) -> None:
        """Take a result only for a poll this member knows (asked to vote in it, or requested it)."""
        if event.rfv_id not in self.known_polls:
            self._drop("announcement of a poll this member was not asked", rfv_id=event.rfv_id)
            return
        super()._on_poll_announce(event, now)

    @property
    def configuration(self) -> dict[bytes, bytes]:
        """The members this one counts a majority of: every member heard since joining, until it
        leaves with ``mlt``, one per *slot* (a restarted node's new member replaces its old one)."""
        return self._configuration

    @property
    def quorum(self) -> int:
        """A majority of the group: of ``groupMinSize`` or of the configuration, whichever is larger.

        A member that crashed still counts (it may come back with its old vote), so a minority
        can never elect, whatever ``groupMinSize`` says; ``groupMinSize`` is the size below which
        the group does not elect at all.
        """
        return max(self.group_min_size, len(self._configuration)) // 2 + 1

    def _on_heartbeat(self, event: Heartbeat, now: float) -> None:
        super()._on_heartbeat(event, now)
        self._configuration[member_slot(event.member)] = event.member

    def _on_member_leave(self, event: MemberLeave, now: float) -> None:
        """Forget the member; if it was the leader, drop it at once and elect soon (within an election timeout)."""
        super()._on_member_leave(event, now)
        slot = member_slot(event.member)
        if self._configuration.get(slot) == event.member:
            del self._configuration[slot]
        if event.member == self.leader and self.role is Role.FOLLOWER:
            self._notify("handleLeaderExited", event.member)
            self.leader = None
            self._disconnect()
            self._arm("election", self._rng.randrange(0, self.timing.election_min_ms) / 1000.0, now)

    # ------------------------------------------------------------------ election timing

    def _candidate_timeout(self, event: TimerFired, now: float) -> None:
        """No majority in time: back to follower, keeping this term's vote (for itself: one vote per
        term), and count the split vote for the back-off."""
        self.role = Role.FOLLOWER
        if self.leader is not None:
            self._notify("handleLeaderExited", self.leader)
        self.leader = None
        self._split_votes += 1
        self._arm("election", self._retry_delay_s(), now)

    #: How far apart split candidates retry, as a share of ``electionMax`` per split vote so far (four at most).
    RETRY_SPREAD = 1.0

    def _retry_delay_s(self) -> float:
        """After a split vote, retry soon but apart: uniform over a window that widens with each split."""
        return self._rng.random() * min(self._split_votes, 4) * self.RETRY_SPREAD * self.timing.election_max_ms / 1000.0

    # ------------------------------------------------------------------ follower

    def _follower_deadline_fixed(self, event: TimerFired, now: float) -> None:
        """Deadline passed: elect with a quorum in view; without one, drop the leader (with
        ``lex``) and wait again (B10, B12)."""
        if len(self.peers) >= self.quorum:
            self._start_election(now)
            return
        if self.leader is not None:
            self._notify("handleLeaderExited", self.leader)
            self.leader = None
        self._disconnect()
        self._arm_leader_deadline(now)

    def _vote_by_term(self, event: RequestVote, now: float) -> None:
        """Drop lower terms; a higher term is adopted (clearing vote and leader); grant one
        candidate per term; re-arm the deadline after voting (B9, B11)."""
        if event.term >= TERM_LIMIT:
            self._drop("vote request at the term limit", peer=event.candidate)
            return
        if event.term < self.term:
            self._drop("vote request for a lower term", peer=event.candidate)
            return
        if event.term > self.term:
            self.term, self.voted_for = event.term, None
            if self.leader is not None:
                self._notify("handleLeaderExited", self.leader)
                self.leader = None
                self._disconnect()
        grant = self._may_vote_for(event.candidate)
        self._publish(event.reply(granted=grant, voter=self.member_id))
        if grant:
            self.voted_for = event.candidate
            self._arm_leader_deadline(now)

    def _may_vote_for(self, candidate: bytes) -> bool:
        """One vote per term: for the first candidate that asks, and again for the same one."""
        return self.voted_for in (None, candidate)

    def _follow_newer_leader(self, event: LeaderAnnounce, now: float) -> None:
        """Follow an ``ldr`` of our term or newer; drop older ones; between two leaders of one
        term keep the larger id (B6, B9)."""
        if event.term >= TERM_LIMIT:
            self._drop("leader announcement at the term limit", peer=event.leader)
            return
        if event.term < self.term:
            self._drop("leader announcement for a lower term", peer=event.leader)
            return
        current = self.leader
        if event.term == self.term and current is not None and current != event.leader and event.leader < current:
            self._drop("conflicting leader of the same term with a smaller id", peer=event.leader)
            return
        if event.term > self.term:
            self.voted_for = None
        self.role = Role.FOLLOWER
        self.term = event.term
        self._split_votes = 0  # a leader: the back-off starts afresh
        previous, self.leader = self.leader, event.leader
        if previous != event.leader:
            self._notify("handleLeaderElected", event.leader)
        self._arm_leader_deadline(now)
        self._follow(event.host, event.port)

    # ------------------------------------------------------------------ candidate

    def _candidate_on_request_fixed(self, event: RequestVote, now: float) -> None:
        """Higher term: step down and vote as a follower would. Same term, other candidate:
        vote no. Own request or lower term: ignore; the wait for votes is not extended."""
        if event.term > self.term:
            self.role = Role.FOLLOWER
            self._vote_by_term(event, now)
        elif event.term == self.term and event.candidate != self.member_id:
            self._publish(event.reply(granted=False, voter=self.member_id))

    def _count_vote_once(self, event: VoteReply, now: float) -> None:
        """Count a yes for us in our term from a known member, once; win with a majority of
        ``groupMinSize`` (B9, B12)."""
        if not event.granted or event.candidate != self.member_id:
            return
        if event.term != self.term:
            self._drop("vote for another term", peer=event.voter)
        elif event.voter not in self.peers:
            self._drop("vote from an unknown member", peer=event.voter)
        elif event.voter in self.voters:
            self._drop("second vote from the same member", peer=event.voter)
        else:
            self.voters[event.voter] = None
            self.votes = len(self.voters)
            if self.votes >= self.quorum:
                self._become_leader(now)

    # ------------------------------------------------------------------ leader

    def _step_down(self) -> None:
        """Leader to follower; our own component learns that its leadership ended (B10)."""
        self._notify("handleLeaderExited", self.member_id)
        self.role, self.leader = Role.FOLLOWER, None
        self._cancel("leader")

    def _leader_heartbeat_checked(self, event: TimerFired, now: float) -> None:
        """Publish ``ldr`` while a quorum is in view; otherwise step down (B12)."""
        if len(self.peers) < self.quorum:
            self._step_down()
            self._arm_leader_deadline(now)
            return
        self._publish_ldr()
        self._arm("leader", self._heartbeat_s, now)

    def _leader_on_request(self, event: RequestVote, now: float) -> None:
        """A higher-term candidate: step down and vote as a follower (B6); else ignore."""
        if event.term > self.term:
            self._step_down()
            self._vote_by_term(event, now)

    def _leader_on_announce(self, event: LeaderAnnounce, now: float) -> None:
        """Yield to a higher term, or in the same term to a larger id (B6); else ignore."""
        if event.leader == self.member_id:
            return
        if event.term > self.term or (event.term == self.term and event.leader > self.member_id):
            self._step_down()
            self._follow_newer_leader(event, now)
