"""The ``fixed`` protocol: the reference's messages and roles, held to Raft's standard for elections.

This module holds the member's state and actions; its table, with the named guards, is
:data:`riaps_sim.coord.fixed_table.FIXED_TABLE` (:func:`~riaps_sim.coord.election.differences`
lists what differs from ``riaps``):

- **Pre-vote** (Raft thesis §9.6): a follower whose deadline passes with a quorum in view first
  becomes PRECANDIDATE and publishes ``pvq`` for ``term + 1``; it raises its term and stands only
  if a quorum answers yes with ``pva``. So a member that cannot win -- cut off, or while the others
  still hear a live leader -- never disturbs the group's term, and a healed minority rejoins
  without an election.
- **Leader stickiness**: a member that heard a live leader within ``electionMin`` grants no
  pre-vote and ignores a ``req`` (its term is not adopted); a leader steps down only for a higher
  term, which with pre-vote only a candidate that could win can reach.
- **Check-quorum**: a leader that has not heard a majority within ``electionMax`` steps down.
- **Quorum** is a majority of the group, to stand and to win: of ``groupMinSize`` or of the
  *configuration* (every member heard since joining until it leaves with ``mlt``; a crashed member
  still counts, a restarted node's new member takes its old one's slot), whichever is larger.
  ``groupMinSize`` should be the group's size: a member whose live view exceeds it traces a
  warning, because until the group has been seen whole, a minority of ``groupMinSize``'s majority
  could elect.
- **Durable term and vote**: ``Persist`` goes out before a vote does, and a restarted member
  resumes from them, so it cannot vote twice in a term. Terms never wrap (:data:`TERM_LIMIT`).
- Terms never go backwards; a lower-term ``req`` or ``ldr`` is dropped; a higher term makes a
  leader or candidate step down (B6, B9). Two leaders of the same term (only possible with a forged
  message) resolve to the larger member id. One vote per term, kept across ``ldr``; a candidate
  counts each known member once, only for its current term (B9). A voter re-arms its deadline (B11).
- A follower whose deadline passes without a quorum drops its leader and notifies
  ``handleLeaderExited``; so does a stepping-down leader's own component (B10).
- **Leadership hand-over**: a leader's ``mlt`` clears every member's leader at once, and they elect
  within an election timeout instead of waiting for the leader to age out.
- **Split votes** back off: the retry is drawn from a window that widens with each split in a row.
- **Durable configuration**: the configuration is kept with term and vote, so a restarted member
  counts the same quorum as before its crash (with ``groupMinSize`` below the group's size, a
  member that forgot whom it had seen could elect itself in a minority).
- Polls decide as soon as the outcome is certain, count each electorate member once, and expire on
  their own timer at the **requester's** deadline (B17, :class:`~riaps_sim.coord.polls.FixedPolls`);
  a requester that has no result by its deadline is told ``timeout`` by its own member (a lost
  request or result ends all the same). A member's component is told a poll's result once: ``ann``
  is taken only for a poll this member asked for or was asked to vote in, and only the first time.

Safety (at most one leader per term) holds whatever ``groupMinSize`` is, as long as the group has
been seen whole before it is partitioned; with ``groupMinSize`` at the group's size it holds always.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .commands import DurableState
from .election import Role, Table
from .events import Heartbeat, LeaderAnnounce, MemberLeave, PreVoteReply, PreVoteRequest, RequestVote, VoteReply
from .poll_ends import PollsEndOnce
from .polls import FixedPolls, PollRules
from .promises import Promise
from .requests import TimerFired

__all__ = ["FixedProtocol", "TERM_LIMIT", "MAX_TERM_STEP", "JOIN_CONFIRM_HEARTBEATS", "member_slot"]

#: Terms are below this: the wire's ``!L`` holds 2**32 - 1, and a term never wraps.
TERM_LIMIT = 2**32 - 1

#: The most a member's term moves on one message (a higher-term ``req`` or ``ldr``): a forged or
#: stray term far ahead (an old deployment's process, a key holder) is dropped, so it cannot use up
#: the terms left and stop every election. Elections with pre-vote raise the term by one, so a
#: working group never comes near it; a member more than this many terms behind its group (a node
#: whose state file is that old) must have its state reset (``riaps-sim state``).
MAX_TERM_STEP = 2**16

#: A member joins the configuration once heard over this many heartbeat periods: heartbeats from
#: made-up ids in a short burst do not grow the quorum (a member's ``tic`` heartbeats come one period apart).
JOIN_CONFIRM_HEARTBEATS = 1.5


#: How a drop names the input it refuses.
_WHAT = {RequestVote: "vote request", LeaderAnnounce: "leader announcement", PreVoteRequest: "pre-vote request", VoteReply: "vote"}


def member_slot(member: bytes) -> bytes:
    """What a member stands for across its node's restarts: its id without the incarnation.

    Member ids are IPv4 address (4 bytes), incarnation (4) and a per-node counter (8)
    (``Node.new_member_id``); a node's k-th member keeps its slot when the node restarts.
    """
    return member[:4] + member[8:]


def _sender(event: Any) -> bytes | None:
    """The member an election message comes from."""
    for field in ("voter", "leader", "candidate"):
        value = getattr(event, field, None)
        if value is not None:
            return value  # type: ignore[no-any-return]
    return None


class FixedProtocol(PollsEndOnce):
    """A group member with the reference's wire format (plus ``pvq``/``pva``) and the repairs above.

    See :data:`~riaps_sim.coord.fixed_table.FIXED_TABLE`. Shares only the rows common to both protocols with ``riaps``; its
    election actions are its own.
    """

    name: ClassVar[str] = "fixed"
    TABLE: ClassVar[Table]  # FIXED_TABLE, set by riaps_sim.coord.fixed_table
    POLLS: ClassVar[PollRules] = FixedPolls()
    DURABLE: ClassVar[bool] = True  # term and vote survive a crash: a restarted member cannot vote twice in a term
    #: What ``riaps-sim check`` (:mod:`riaps_sim.check.properties`) and the trace checks hold it to. Not
    #: ``member_symmetric``: between two leaders or pre-candidates of one term the larger id wins.
    PROMISES: ClassVar[frozenset[str]] = frozenset(Promise) - {Promise.MEMBER_SYMMETRIC}

    #: How far apart split candidates retry, as a share of ``electionMax`` per failed election in a row (four at most).
    RETRY_SPREAD = 1.0

    def __init__(self, **kwargs: Any) -> None:
        self._configuration: dict[bytes, bytes] = {}  # slot -> the member heard in it last (restored by super())
        self._first_heard: dict[bytes, float] = {}  # members in view not yet in the configuration -> first heard (s)
        super().__init__(**kwargs)
        self.prevoters: dict[bytes, None] = {}  # who said yes to our pre-vote, ourselves included
        self.failed_elections = 0  # pre-votes and elections in a row that ended without a leader (the back-off)
        self._warned_min_size = False

    # ------------------------------------------------------------------ what the guards read

    @property
    def configuration(self) -> dict[bytes, bytes]:
        """The members this one counts a majority of: every member heard since joining, until it
        leaves with ``mlt``, one per *slot* (a restarted node's new member replaces its old one)."""
        return self._configuration

    @property
    def quorum(self) -> int:
        """A majority of the group: of ``groupMinSize`` or of the configuration, whichever is larger.

        A member that crashed still counts (it may come back with its old vote), so a minority
        can never elect once the group was seen whole, whatever ``groupMinSize`` says.
        """
        return max(self.group_min_size, len(self._configuration)) // 2 + 1

    @property
    def leader_is_live(self) -> bool:
        """This member leads, or heard its leader within ``electionMin`` (leader stickiness)."""
        if self.leader is None:
            return False
        if self.leader == self.member_id:
            return True
        return self.leader_heard_at is not None and self.now - self.leader_heard_at < self.timing.election_min_ms / 1000.0

    def heard_quorum(self) -> bool:
        """Check-quorum: a majority of the group heard within ``electionMax`` (this member's own ``tic`` included)."""
        since = self.now - self.timing.election_max_ms / 1000.0
        return self.peers.heard_since(since) >= self.quorum

    def snapshot(self) -> dict[str, Any]:
        """As :meth:`GroupMachine.snapshot`, with the configuration, members not yet in it, the pre-votes, the
        back-off, the polls awaited and told, and whether the durable state changed since it was persisted."""
        state = super().snapshot()
        state.update(
            configuration=dict(self._configuration),
            first_heard=dict(self._first_heard),
            prevoters=tuple(self.prevoters),
            failed_elections=self.failed_elections,
            awaiting=dict(self.awaiting),
            told=tuple(self._told),
            durable_changed=self._durable_changed,
        )
        return state

    # ------------------------------------------------------------------ durable state

    def durable_state(self) -> DurableState:
        """Term, vote and the configuration (sorted: the same set is the same record)."""
        return DurableState(term=self.term, voted_for=self.voted_for, configuration=tuple(sorted(self._configuration.values())))

    def _restore(self, durable: DurableState) -> None:
        """A restarted member counts a majority of everyone it had seen before its crash."""
        self._configuration = {member_slot(m): m for m in durable.configuration}

    # ------------------------------------------------------------------ membership

    def _on_heartbeat(self, event: Heartbeat, now: float) -> None:
        """As shared; a member heard over ``JOIN_CONFIRM_HEARTBEATS`` heartbeats joins the configuration (kept
        durably), and a live view above ``groupMinSize`` is traced once."""
        super()._on_heartbeat(event, now)
        member, slot = event.member, member_slot(event.member)
        known = self._configuration.get(slot)
        if known != member and (known is not None or member == self.member_id or self._heard_long_enough(member, now)):
            self._configuration[slot] = member  # a new member's slot, or a restarted node's member in its old one
            self._first_heard.pop(member, None)
            self._durable_changed = True
        if not self._warned_min_size and len(self.peers) > self.group_min_size:
            self._warned_min_size = True
            self._emit(
                self._trace(
                    "warning",
                    cause=f"groupMinSize {self.group_min_size} is below the {len(self.peers)} members in view: until the group "
                    "has been seen whole, a minority could elect; set groupMinSize to the group's size",
                )
            )

    def _heard_long_enough(self, member: bytes, now: float) -> bool:
        """*member* was first heard at least ``JOIN_CONFIRM_HEARTBEATS`` heartbeats ago (members not yet confirmed
        are remembered while in view, so a burst of made-up ids costs memory only while it lasts)."""
        first = self._first_heard.setdefault(member, now)
        if len(self._first_heard) > 2 * len(self.peers) + 8:
            self._first_heard = {m: t for m, t in self._first_heard.items() if m in self.peers}
        return now - first >= JOIN_CONFIRM_HEARTBEATS * self._heartbeat_s

    def _on_member_leave(self, event: MemberLeave, now: float) -> None:
        """Forget the member; if it was our leader, drop it at once and elect within an election timeout (hand-over)."""
        super()._on_member_leave(event, now)
        slot = member_slot(event.member)
        if self._configuration.get(slot) == event.member:
            del self._configuration[slot]
            self._durable_changed = True
        if event.member == self.leader and self.role is Role.FOLLOWER:
            self._notify("handleLeaderExited", event.member)
            self.leader = None
            self._disconnect()
            self._arm("election", self._rng.randrange(0, self.timing.election_min_ms) / 1000.0, now)

    # ------------------------------------------------------------------ follower: the deadline

    def _ask_prevotes(self, event: TimerFired, now: float) -> None:
        """The leader is gone: drop it, and ask whether we could win ``term + 1`` (no term changes yet)."""
        self._forget_leader()
        self.prevoters = {self.member_id: None}
        self._publish(PreVoteRequest(term=self.term + 1, candidate=self.member_id))
        self._arm("election", self._election_timeout_s(), now)

    def _forget_leader_and_wait(self, event: TimerFired, now: float) -> None:
        """No quorum in view (or no term left): drop the leader (with ``lex``, B10) and look again in
        ``[heartbeat, electionMax)``: a quorum may be one heartbeat from view (members that join together)."""
        self._forget_leader()
        self._arm("election", self._rng.randrange(self.timing.heartbeat_ms, self.timing.election_max_ms) / 1000.0, now)

    def _forget_leader(self) -> None:
        if self.leader is not None:
            self._notify("handleLeaderExited", self.leader)
            self.leader = None
        self._disconnect()

    # ------------------------------------------------------------------ pre-vote

    def _grant_prevote(self, event: PreVoteRequest, now: float) -> None:
        self._publish(event.reply(granted=True, voter=self.member_id))

    def _grant_prevote_and_yield(self, event: PreVoteRequest, now: float) -> None:
        """A rival pre-candidate for the same term with a larger id: say yes and stand aside, so that of
        members whose deadlines passed together one stands, not all (which splits the vote)."""
        self.prevoters = {}
        self._grant_prevote(event, now)
        self._arm_leader_deadline(now)

    def _refuse_prevote(self, event: PreVoteRequest, now: float) -> None:
        self._publish(event.reply(granted=False, voter=self.member_id))

    def _count_prevote(self, event: PreVoteReply, now: float) -> None:
        self.prevoters[event.voter] = None

    def _stand(self, event: PreVoteReply, now: float) -> None:
        """A quorum would vote for us: stand in the new term, voting for ourselves."""
        self.prevoters = {}
        self.voters, self.voted_for = {self.member_id: None}, self.member_id
        self.votes = 1
        self._publish(RequestVote(term=self.term, candidate=self.member_id))
        self._arm("election", self._election_timeout_s(), now)

    def _prevote_failed(self, event: TimerFired, now: float) -> None:
        """Too few would vote for us (they hear a leader, or we are cut off): retry later, term unchanged."""
        self.prevoters = {}
        self._back_off(now)

    # ------------------------------------------------------------------ votes

    def _grant(self, event: RequestVote, now: float) -> None:
        """Vote yes (persisted before it leaves) and re-arm the deadline (B11)."""
        self.voted_for = event.candidate
        self._publish(event.reply(granted=True, voter=self.member_id))
        self._arm_leader_deadline(now)

    def _refuse(self, event: RequestVote, now: float) -> None:
        """One vote per term: already given to another candidate."""
        self._publish(event.reply(granted=False, voter=self.member_id))

    def _forget_leader_and_grant(self, event: RequestVote, now: float) -> None:
        """A higher term (adopted): the vote is free again; the leader of the old term is dropped."""
        self.voted_for = None
        if self.leader is not None:
            self._forget_leader()
        self._grant(event, now)

    def _step_down_and_grant(self, event: RequestVote, now: float) -> None:
        """A leader meets a higher term (adopted): it steps down and votes as a follower would (B6)."""
        self._step_down()
        self._forget_leader_and_grant(event, now)

    def _count_vote(self, event: VoteReply, now: float) -> None:
        self.voters[event.voter] = None
        self.votes = len(self.voters)

    def _count_vote_and_win(self, event: VoteReply, now: float) -> None:
        self._count_vote(event, now)
        self.failed_elections = 0
        self._become_leader(now)

    def _split_vote(self, event: TimerFired, now: float) -> None:
        """No majority in time: a follower, keeping this term's vote (for itself); retry after a back-off."""
        self._forget_leader()
        self._back_off(now)

    def _back_off(self, now: float) -> None:
        """Retry soon but apart from the others: uniform over a window that widens with each failure in a row."""
        self.failed_elections += 1
        spread = min(self.failed_elections, 4) * self.RETRY_SPREAD * self.timing.election_max_ms / 1000.0
        self._arm("election", self._rng.random() * spread, now)

    # ------------------------------------------------------------------ following a leader

    def _follow_leader(self, event: LeaderAnnounce, now: float) -> None:
        """Follow the announced leader of our term: re-arm the deadline, connect the qry port."""
        self.failed_elections = 0
        self.prevoters = {}
        previous, self.leader = self.leader, event.leader
        self.leader_heard_at = now
        if previous != event.leader:
            self._notify("handleLeaderElected", event.leader)
        self._arm_leader_deadline(now)
        self._follow(event.host, event.port)

    def _follow_new_term(self, event: LeaderAnnounce, now: float) -> None:
        """A leader of a higher term (adopted): the vote is free again."""
        self.voted_for = None
        self._follow_leader(event, now)

    def _remind_of_our_term(self, event: LeaderAnnounce, now: float) -> None:
        """Stranded in a higher term than a working group's leader: publish a ``req`` of our term, as etcd's
        Raft answers a stale leader, so that the leader adopts it, steps down, and the group elects
        again in a term that includes us. Nobody counts the votes it draws; the term is the message."""
        self._publish(RequestVote(term=self.term, candidate=self.member_id))

    # ------------------------------------------------------------------ leader

    def _announce_leadership(self, event: TimerFired, now: float) -> None:
        """A quorum heard lately: publish ``ldr`` and re-arm."""
        self._publish_ldr()
        self._arm("leader", self._heartbeat_s, now)

    def _step_down_without_quorum(self, event: TimerFired, now: float) -> None:
        """Check-quorum failed: stop leading (with ``lex`` for our component) and wait for a leader."""
        self._step_down()
        self._arm_leader_deadline(now)

    def _step_down(self) -> None:
        self._notify("handleLeaderExited", self.member_id)
        self.leader = None
        self._cancel("leader")

    def _step_down_and_follow(self, event: LeaderAnnounce, now: float) -> None:
        """Another leader of our term with a larger id (a forged or duplicated election): follow it."""
        self._step_down()
        self._follow_leader(event, now)

    def _step_down_and_follow_new_term(self, event: LeaderAnnounce, now: float) -> None:
        """A leader of a higher term (adopted): step down and follow it, the vote free again."""
        self._step_down()
        self._follow_new_term(event, now)

    # ------------------------------------------------------------------ drops

    def _drop_out_of_reach(self, event: Any, now: float) -> None:
        where = "at the term limit" if event.term >= TERM_LIMIT else f"more than {MAX_TERM_STEP} terms ahead"
        self._drop(f"{_WHAT[type(event)]} {where}", peer=_sender(event))

    def _drop_lower_term(self, event: Any, now: float) -> None:
        self._drop(f"{_WHAT[type(event)]} for a lower term", peer=_sender(event))

    def _drop_while_leader_lives(self, event: RequestVote, now: float) -> None:
        self._drop("vote request while the leader is live", peer=event.candidate)

    def _drop_smaller_rival(self, event: LeaderAnnounce, now: float) -> None:
        self._drop("conflicting leader of the same term with a smaller id", peer=event.leader)

    def _drop_vote_of_other_term(self, event: VoteReply, now: float) -> None:
        self._drop("vote for another term", peer=event.voter)

    def _drop_vote_of_stranger(self, event: VoteReply, now: float) -> None:
        self._drop("vote from an unknown member", peer=event.voter)

    def _drop_second_vote(self, event: VoteReply, now: float) -> None:
        self._drop("second vote from the same member", peer=event.voter)

    def _wait_at_term_limit(self, event: TimerFired, now: float) -> None:
        self._drop(f"no term left after {self.term}; no election")
        self._forget_leader_and_wait(event, now)
