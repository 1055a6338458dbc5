"""Roles and transition tables of the two coordination protocols, ``riaps`` and ``fixed``.

Theory of operation
-------------------
A member of a coordinated group is a machine with one of three roles (:class:`Role`). Every
input -- a decoded network message, a timer expiry, a port report from the runtime, or a local
request of the component -- is looked up in a table keyed by ``(role, input key)``; the input
key is the input's class name, or ``TimerFired[<name>]`` for a timer. The row names the action
method to run and the roles the machine may be in afterwards. A missing key is the single
error path (:meth:`GroupMachine.handle`): a peer's or the runtime's input is dropped and traced
with its cause naming role, term and input; a local request raises :class:`CoordError`. In both
cases the machine's state is unchanged.

Membership: every member publishes ``tic`` every heartbeat (timer ``heartbeat``) and hears its
own, so its view includes itself (B26). Before each table action, peers silent for more than
``peerTimeout`` are dropped and ``handleMemberLeft`` is notified. ``mlt`` removes a peer at once.

Election (a log-less Raft): a FOLLOWER holds a deadline for hearing from a leader (timer
``election``, drawn in ``[electionMax, peerTimeout)``). When it passes with a quorum in view,
the follower becomes CANDIDATE of ``term + 1``, votes for itself, publishes ``req`` and waits
``[electionMin, electionMax)`` (timer ``election`` again). Members answer with a broadcast
``vot``. Enough yes votes make it LEADER: it asks the runtime to bind its ans port
(``BindAnswerPort``; the runtime answers ``AnswerPortBound(host, port)``, which triggers the first
``ldr``) and publishes ``ldr`` every heartbeat (timer ``leader``). Followers connect their qry port
to the endpoint in ``ldr`` and re-arm their deadline on each ``ldr``, ``rcm`` and ``ann``.

Polls: a member asks the leader (``rfv``); the leader opens the poll and publishes ``rcm``;
every member, leader and requester included, answers ``rtc``; the leader publishes ``ann``.
The counting rules are in :mod:`riaps_sim.coord.polls`.

Timers are named. ``riaps`` arms ``heartbeat``, ``election`` and ``leader``; the reference
multiplexes all of them on one poll timeout (B24), and the one trace of that sharing we keep is
that ``riaps`` checks poll expiry whenever *any* of its timers fires (lazily, as the reference's
idle timeout does). ``fixed`` arms a fourth timer, ``poll``, at the next poll deadline.

The two tables share every row for membership, messages and local requests; the election rows
and the ans-port rows differ, and :func:`differences` lists them. ``riaps`` keeps the
reference's semantics: dynamic-view quorum (B12), a leader that never yields to another term
(B6), votes granted when ``votedFor is None`` whatever the term and terms going backwards (B9),
no re-armed deadline after voting (B11), a stale leader kept without quorum (B10), and a stale
ans port still serving ``mtl``/``rfv``/``rtc`` after stepping down. ``fixed`` repairs those:
see the row docstrings of :mod:`riaps_sim.coord.fixed`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Role", "Row", "Table", "RIAPS_TABLE", "FIXED_TABLE", "TIMERS", "input_key", "differences", "format_table"]


class Role(enum.Enum):
    """The role of a member in its group's election."""

    FOLLOWER = "FOLLOWER"
    CANDIDATE = "CANDIDATE"
    LEADER = "LEADER"


F, C, L = Role.FOLLOWER, Role.CANDIDATE, Role.LEADER
ALL = (F, C, L)

#: Timer names: ``heartbeat`` (tic period), ``election`` (follower's leader deadline, or the
#: candidate's wait for votes), ``leader`` (ldr period), ``poll`` (next poll deadline; fixed only).
TIMERS = ("heartbeat", "election", "leader", "poll")


@dataclass(frozen=True, slots=True)
class Row:
    """One transition: run method *action*; afterwards the role is one of *targets*."""

    action: str
    targets: tuple[Role, ...]

    def __str__(self) -> str:
        return f"{self.action} -> {'|'.join(r.name for r in self.targets)}"


Table = Mapping[tuple[Role, str], Row]


def input_key(event: object) -> str:
    """The table key of an input: its class name, or ``TimerFired[<name>]`` for a timer."""
    name = type(event).__name__
    if name == "TimerFired":
        return f"TimerFired[{getattr(event, 'name')}]"
    return name


def _every_role(rows: dict[tuple[Role, str], Row], keys: Iterable[str], action_of: Mapping[str, str]) -> None:
    for key in keys:
        for role in ALL:
            rows[(role, key)] = Row(action_of[key], (role,))


# Rows shared by both protocols, in every role; the role never changes here, except that a
# leader whose ans port cannot be bound steps down.
_SHARED = {
    "Heartbeat": "_on_heartbeat",
    "MemberLeave": "_on_member_leave",
    "GroupMessage": "_on_group_message",
    "MessageFromLeader": "_on_message_from_leader",
    "PollOpened": "_on_poll_opened",
    "PollAnnounce": "_on_poll_announce",
    "TimerFired[heartbeat]": "_on_heartbeat_timer",
    "AnswerPortBound": "_on_answer_port_bound",
    "SendFailed": "_on_send_failed",
    "Leave": "_on_leave",
    "Post": "_on_post",
    "PostToLeader": "_on_post_to_leader",
    "PostToMember": "_on_post_to_member",
    "AskVote": "_on_ask_vote",
    "CastVote": "_on_cast_vote",
}
# What only a leader's ans port receives.
_ANS = {"MessageToLeader": "_on_message_to_leader", "PollRequest": "_on_poll_request", "VoteCast": "_on_vote_cast"}


def _shared_rows() -> dict[tuple[Role, str], Row]:
    rows: dict[tuple[Role, str], Row] = {}
    _every_role(rows, _SHARED, _SHARED)
    rows[(F, "AnswerPortFailed")] = Row("_on_answer_port_failed", (F,))
    rows[(C, "AnswerPortFailed")] = Row("_on_answer_port_failed", (C,))
    rows[(L, "AnswerPortFailed")] = Row("_on_answer_port_failed", (F,))
    return rows


def _riaps_rows() -> dict[tuple[Role, str], Row]:
    rows = _shared_rows()
    # The ans port stays bound after stepping down and is served in every role (§3.5).
    _every_role(rows, _ANS, _ANS)
    rows.update(
        {
            (F, "TimerFired[election]"): Row("_follower_deadline", (F, C)),  # quorum of the live view (B12), leader kept (B10)
            (F, "RequestVote"): Row("_follower_vote", (F,)),  # votes if votedFor is None, any term (B9); deadline off (B11)
            (F, "VoteReply"): Row("_ignore", (F,)),
            (F, "LeaderAnnounce"): Row("_follow_any_leader", (F,)),  # any term, even lower (B9)
            (C, "TimerFired[election]"): Row("_candidate_timeout", (F,)),
            (C, "RequestVote"): Row("_candidate_on_request", (C, F)),  # reverting voter keeps no deadline (B11)
            (C, "VoteReply"): Row("_count_vote", (C, L)),  # any term, any voter, duplicates (B9); live-view majority (B12)
            (C, "LeaderAnnounce"): Row("_follow_any_leader", (F,)),
            (L, "TimerFired[leader]"): Row("_leader_heartbeat", (L,)),  # never checks its quorum (B12)
            (L, "RequestVote"): Row("_ignore", (L,)),  # never yields to a higher term (B6)
            (L, "VoteReply"): Row("_ignore", (L,)),
            (L, "LeaderAnnounce"): Row("_leader_yield_same_term", (L, F)),  # only the same term; no lex (B6, B10)
        }
    )
    return rows


def _fixed_rows() -> dict[tuple[Role, str], Row]:
    rows = _shared_rows()
    for key, action in _ANS.items():  # a former leader's ans port no longer serves
        rows[(L, key)] = Row(action, (L,))
    _every_role(rows, ["TimerFired[poll]"], {"TimerFired[poll]": "_on_poll_timer"})
    rows.update(
        {
            (F, "TimerFired[election]"): Row("_follower_deadline_fixed", (F, C)),  # fixed quorum; clears a stale leader
            (F, "RequestVote"): Row("_vote_by_term", (F,)),  # no vote for lower terms; deadline re-armed
            (F, "VoteReply"): Row("_ignore", (F,)),
            (F, "LeaderAnnounce"): Row("_follow_newer_leader", (F,)),  # never a lower term; tie by id
            (C, "TimerFired[election]"): Row("_candidate_timeout", (F,)),
            (C, "RequestVote"): Row("_candidate_on_request_fixed", (C, F)),
            (C, "VoteReply"): Row("_count_vote_once", (C, L)),  # this term, known voters, once each
            (C, "LeaderAnnounce"): Row("_follow_newer_leader", (C, F)),
            (L, "TimerFired[leader]"): Row("_leader_heartbeat_checked", (L, F)),  # steps down without a quorum
            (L, "RequestVote"): Row("_leader_on_request", (L, F)),  # yields to a higher term
            (L, "VoteReply"): Row("_ignore", (L,)),
            (L, "LeaderAnnounce"): Row("_leader_on_announce", (L, F)),  # yields to a higher term or a larger id
        }
    )
    return rows


RIAPS_TABLE: Table = _riaps_rows()
FIXED_TABLE: Table = _fixed_rows()


def differences(a: Table, b: Table) -> list[tuple[Role, str, Row | None, Row | None]]:
    """The keys where tables *a* and *b* differ, as ``(role, input key, row in a, row in b)``.

    Sorted by role then key; a missing row is None. ``differences(RIAPS_TABLE, FIXED_TABLE)``
    is the list of what the ``fixed`` protocol changes.
    """
    keys = sorted(set(a) | set(b), key=lambda k: (ALL.index(k[0]), k[1]))
    return [(role, key, a.get((role, key)), b.get((role, key))) for role, key in keys if a.get((role, key)) != b.get((role, key))]


def format_table(table: Table) -> str:
    """The table as aligned text, one row per line: ``ROLE  input key  action -> targets``."""
    keys = sorted(table, key=lambda k: (ALL.index(k[0]), k[1]))
    width = max(len(k[1]) for k in keys)
    return "\n".join(f"{role.name:<9}  {key:<{width}}  {table[(role, key)]}" for role, key in keys)
