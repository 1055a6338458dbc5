"""The ``fixed`` table: which input, in which role, under which named condition, does what (see :mod:`.fixed`)."""

from __future__ import annotations

from .actions import ANSWER_PORT, every_role, shared_rows
from .election import Role, Row, Table, TermChange, case, row
from .events import LeaderAnnounce, PreVoteReply, PreVoteRequest, RequestVote, VoteReply
from .fixed import MAX_TERM_STEP, TERM_LIMIT, FixedProtocol
from .requests import TimerFired

__all__ = ["FIXED_TABLE"]

F, P, C, L = Role.FOLLOWER, Role.PRECANDIDATE, Role.CANDIDATE, Role.LEADER
ADOPT, NEXT = TermChange.ADOPT, TermChange.NEXT


# ---------------------------------------------------------------------- guards


def term_out_of_reach(m: FixedProtocol, event: RequestVote | LeaderAnnounce) -> bool:
    """The input's term is at the limit, or more than ``MAX_TERM_STEP`` above ours: one forged or
    stray message must not move the group's term so far that no election is left."""
    return event.term >= TERM_LIMIT or event.term > m.term + MAX_TERM_STEP


def no_term_left(m: FixedProtocol, event: TimerFired) -> bool:
    """Our term + 1 would reach the limit."""
    return m.term + 1 >= TERM_LIMIT


def lower_term(m: FixedProtocol, event: RequestVote | LeaderAnnounce) -> bool:
    """The input's term is below ours: terms never go back (B9)."""
    return event.term < m.term


def lower_term_while_leaderless(m: FixedProtocol, event: LeaderAnnounce) -> bool:
    """A leader of a lower term while we have none: our term got ahead of a group that still works
    (our pre-vote passed, then our ``req`` was lost), and no message of its would ever carry us back."""
    return event.term < m.term and m.leader is None


def higher_term(m: FixedProtocol, event: RequestVote | LeaderAnnounce) -> bool:
    """The input's term is above ours."""
    return event.term > m.term


def quorum_in_view(m: FixedProtocol, event: TimerFired) -> bool:
    """A majority of the group (:attr:`FixedProtocol.quorum`) in the live view (B12)."""
    return len(m.peers) >= m.quorum


def leader_is_live(m: FixedProtocol, event: RequestVote) -> bool:
    """Stickiness: our leader was heard within ``electionMin``, so no candidate gets our vote."""
    return m.leader_is_live


def could_vote_for(m: FixedProtocol, event: PreVoteRequest) -> bool:
    """Pre-vote: its term is above ours, within reach (below the limit, at most ``MAX_TERM_STEP`` ahead), and we hear no live leader."""
    return m.term < event.term < TERM_LIMIT and event.term <= m.term + MAX_TERM_STEP and not m.leader_is_live


def larger_rival_prevote(m: FixedProtocol, event: PreVoteRequest) -> bool:
    """A pre-vote we could grant, for the term we ask for too, from a member with a larger id."""
    return could_vote_for(m, event) and event.term == m.term + 1 and event.candidate > m.member_id


def free_to_vote(m: FixedProtocol, event: RequestVote) -> bool:
    """One vote per term: not given yet in this term, or given to this candidate."""
    return m.voted_for is None or m.voted_for == event.candidate


def rival_of_our_term(m: FixedProtocol, event: RequestVote) -> bool:
    """Another candidate of our term."""
    return event.term == m.term and event.candidate != m.member_id


def prevote_for_us(m: FixedProtocol, event: PreVoteReply) -> bool:
    """A yes to our pre-vote for ``term + 1``, from a member in view, counted once."""
    return event.granted and event.candidate == m.member_id and event.term == m.term + 1 and event.voter in m.peers


def prevote_completing_quorum(m: FixedProtocol, event: PreVoteReply) -> bool:
    """A new yes to our pre-vote that makes a quorum."""
    return prevote_for_us(m, event) and event.voter not in m.prevoters and len(m.prevoters) + 1 >= m.quorum


def not_a_yes_for_us(m: FixedProtocol, event: VoteReply) -> bool:
    """A no, or a vote for someone else."""
    return not event.granted or event.candidate != m.member_id


def vote_of_other_term(m: FixedProtocol, event: VoteReply) -> bool:
    """A vote for us in another term (a late or replayed one)."""
    return event.term != m.term


def vote_of_stranger(m: FixedProtocol, event: VoteReply) -> bool:
    """A vote from a member not in view."""
    return event.voter not in m.peers


def second_vote(m: FixedProtocol, event: VoteReply) -> bool:
    """A vote from a member already counted."""
    return event.voter in m.voters


def vote_completing_quorum(m: FixedProtocol, event: VoteReply) -> bool:
    """A new vote (this term, a known member) that makes a quorum."""
    return len(m.voters) + 1 >= m.quorum


def quorum_lost(m: FixedProtocol, event: TimerFired) -> bool:
    """Check-quorum: fewer than a quorum heard within ``electionMax``."""
    return not m.heard_quorum()


def own_announcement(m: FixedProtocol, event: LeaderAnnounce) -> bool:
    """Our own ``ldr``, looped back."""
    return event.leader == m.member_id


def larger_leader_of_our_term(m: FixedProtocol, event: LeaderAnnounce) -> bool:
    """Another leader of our term with a larger id: between two, the larger id leads (B6)."""
    return event.term == m.term and event.leader > m.member_id


def smaller_rival_leader(m: FixedProtocol, event: LeaderAnnounce) -> bool:
    """Another leader of our term, with a smaller id than the one we follow."""
    return event.term == m.term and m.leader is not None and m.leader != event.leader and event.leader < m.leader


# ---------------------------------------------------------------------- the table

X = FixedProtocol  # the actions, by the class that holds them


def _vote_request(stay: Role) -> Row:
    """A ``req`` for a follower (with stickiness) or a pre-candidate (which has no leader to stick to)."""
    sticky = (case(leader_is_live, X._drop_while_leader_lives, stay),) if stay is F else ()  # the term is not adopted either
    return row(
        case(term_out_of_reach, X._drop_out_of_reach, stay),
        case(lower_term, X._drop_lower_term, stay),
        *sticky,
        case(higher_term, X._forget_leader_and_grant, F, ADOPT),
        case(free_to_vote, X._grant, F),
        case(None, X._refuse, stay),
    )


def _leader_announcement(stay: Role) -> Row:
    """An ``ldr`` for a follower, pre-candidate or candidate: never a lower term (but one stranded above a
    working group's term says so); between two leaders of one term, the larger id (only a follower has a
    leader to compare)."""
    stranded = (case(lower_term_while_leaderless, X._remind_of_our_term, stay),) if stay is not C else ()
    dropped = (case(lower_term, X._drop_lower_term, stay),) if stay is not P else ()  # a pre-candidate has no leader
    rival = (case(smaller_rival_leader, X._drop_smaller_rival, stay),) if stay is F else ()
    return row(
        case(term_out_of_reach, X._drop_out_of_reach, stay),
        *stranded,
        *dropped,
        *rival,
        case(higher_term, X._follow_new_term, F, ADOPT),
        case(None, X._follow_leader, F),
    )


def _prevote_request(stay: Role) -> Row:
    return row(case(could_vote_for, X._grant_prevote, stay), case(None, X._refuse_prevote, stay))


#: The ``fixed`` table: the shared rows (with its own membership and ``ann`` rules), the ans port
#: served by the leader only, a ``poll`` timer, and the election with pre-vote.
# fmt: off: one case per line, as a table reads
FIXED_TABLE: Table = {
    **shared_rows((F, P, C, L), {"Heartbeat": X._on_heartbeat, "MemberLeave": X._on_member_leave, "PollAnnounce": X._on_poll_announce}),
    **every_role((L,), ANSWER_PORT),  # a former leader's ans port no longer serves
    **every_role((F, P, C, L), {"TimerFired[poll]": X._on_poll_timer}),
    # FOLLOWER
    (F, "TimerFired[election]"): row(
        case(no_term_left, X._wait_at_term_limit, F),
        case(quorum_in_view, X._ask_prevotes, P),
        case(None, X._forget_leader_and_wait, F),  # drops a stale leader (B10)
    ),
    (F, "PreVoteRequest"): _prevote_request(F),
    (F, "PreVoteReply"): row(X._ignore, to=F),
    (F, "RequestVote"): _vote_request(F),
    (F, "VoteReply"): row(X._ignore, to=F),
    (F, "LeaderAnnounce"): _leader_announcement(F),
    # PRECANDIDATE
    (P, "TimerFired[election]"): row(X._prevote_failed, to=F),
    (P, "PreVoteRequest"): row(
        case(larger_rival_prevote, X._grant_prevote_and_yield, F),  # of rivals, one stands
        case(could_vote_for, X._grant_prevote, P),
        case(None, X._refuse_prevote, P),
    ),
    (P, "PreVoteReply"): row(case(prevote_completing_quorum, X._stand, C, NEXT), case(prevote_for_us, X._count_prevote, P), case(None, X._ignore, P)),
    (P, "RequestVote"): _vote_request(P),
    (P, "VoteReply"): row(X._ignore, to=P),
    (P, "LeaderAnnounce"): _leader_announcement(P),
    # CANDIDATE
    (C, "TimerFired[election]"): row(X._split_vote, to=F),
    (C, "PreVoteRequest"): _prevote_request(C),
    (C, "PreVoteReply"): row(X._ignore, to=C),
    (C, "RequestVote"): row(
        case(term_out_of_reach, X._drop_out_of_reach, C),
        case(higher_term, X._forget_leader_and_grant, F, ADOPT),
        case(rival_of_our_term, X._refuse, C),
        case(None, X._ignore, C),  # our own req, or an older one: the wait is not extended
    ),
    (C, "VoteReply"): row(
        case(not_a_yes_for_us, X._ignore, C),
        case(vote_of_other_term, X._drop_vote_of_other_term, C),
        case(vote_of_stranger, X._drop_vote_of_stranger, C),
        case(second_vote, X._drop_second_vote, C),
        case(vote_completing_quorum, X._count_vote_and_win, L),
        case(None, X._count_vote, C),
    ),
    (C, "LeaderAnnounce"): _leader_announcement(C),
    # LEADER
    (L, "TimerFired[leader]"): row(
        case(quorum_lost, X._step_down_without_quorum, F),  # check-quorum (B12)
        case(None, X._announce_leadership, L),
    ),
    (L, "PreVoteRequest"): row(X._refuse_prevote, to=L),  # a leader hears itself: always live
    (L, "PreVoteReply"): row(X._ignore, to=L),
    (L, "RequestVote"): row(
        case(term_out_of_reach, X._drop_out_of_reach, L),
        case(higher_term, X._step_down_and_grant, F, ADOPT),  # yields (B6); pre-vote let only a possible winner get here
        case(None, X._ignore, L),
    ),
    (L, "VoteReply"): row(X._ignore, to=L),
    (L, "LeaderAnnounce"): row(
        case(own_announcement, X._ignore, L),
        case(term_out_of_reach, X._drop_out_of_reach, L),
        case(higher_term, X._step_down_and_follow_new_term, F, ADOPT),
        case(larger_leader_of_our_term, X._step_down_and_follow, F),
        case(None, X._ignore, L),
    ),
}
# fmt: on
FixedProtocol.TABLE = FIXED_TABLE
