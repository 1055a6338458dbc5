"""The actions both protocols share (membership, messages, polls, the component's requests) and their rows."""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping

from .commands import BindAnswerPort, Result, SendToLeader, SendToMember
from .election import Role, Row, row
from .events import (
    GroupMessage,
    Heartbeat,
    MemberLeave,
    MessageFromLeader,
    MessageToLeader,
    PollAnnounce,
    PollOpened,
    PollRequest,
    PollSpec,
    VoteCast,
)
from .machine import GroupMachine
from .requests import AnswerPortBound, AnswerPortFailed, AskVote, CastVote, Leave, Post, PostToLeader, PostToMember, SendFailed, TimerFired
from .wire import Code, encode

__all__ = ["SharedActions", "RFV_ALPHABET", "shared_rows"]

#: Poll ids are 8 characters drawn from this alphabet, as in RIAPS.
RFV_ALPHABET = string.ascii_uppercase + string.digits


class SharedActions(GroupMachine):
    """The actions of the rows common to ``riaps`` and ``fixed`` (:func:`shared_rows`), and the helpers
    both protocols' election actions use."""

    # ------------------------------------------------------------------ membership and messages

    def _on_heartbeat(self, event: Heartbeat, now: float) -> None:
        if self.peers.heard(event.member, now):
            self._notify("handleMemberJoined", event.member)

    def _on_member_leave(self, event: MemberLeave, now: float) -> None:
        if self.peers.remove(event.member):
            self._notify("handleMemberLeft", event.member)

    def _on_heartbeat_timer(self, event: TimerFired, now: float) -> None:
        self._publish_tic()
        self._arm("heartbeat", self._heartbeat_s, now)

    def _on_group_message(self, event: GroupMessage, now: float) -> None:
        self._notify("handleGroupMessage", event.payload)

    def _on_message_to_leader(self, event: MessageToLeader, now: float) -> None:
        self._notify("handleMessageToLeader", event.payload, event.sender)

    def _on_message_from_leader(self, event: MessageFromLeader, now: float) -> None:
        self._notify("handleMessageFromLeader", event.payload)

    def _ignore(self, event: object, now: float) -> None:
        """Nothing to do (a row that names it says so)."""

    # ------------------------------------------------------------------ runtime reports

    def _on_answer_port_bound(self, event: AnswerPortBound, now: float) -> None:
        self.answer_endpoint = (event.host, event.port)
        self.binding = False
        if self.is_leader:
            self._publish_ldr()

    def _on_answer_port_failed(self, event: AnswerPortFailed, now: float) -> None:
        """Traced; a follower or candidate was not waiting for the port any more."""
        self.binding = False
        self._emit(self._trace("error", cause=f"cannot bind the ans port: {event.reason}"))

    def _leader_without_port(self, event: AnswerPortFailed, now: float) -> None:
        """Without an ans port nobody can reach the leader: it steps down (B5 would crash)."""
        self._on_answer_port_failed(event, now)
        self._notify("handleLeaderExited", self.member_id)
        self.leader = None
        self._cancel("leader")
        self._arm_leader_deadline(now)

    def _on_send_failed(self, event: SendFailed, now: float) -> None:
        self._emit(self._trace("error", cause=f"{event.what} failed: {event.reason}"))

    def _become_leader(self, now: float) -> None:
        """Won (the row makes the role LEADER): notify ``lel`` for ourselves, get an ans port, announce, start the ldr period."""
        self.leader = self.member_id
        self._notify("handleLeaderElected", self.member_id)
        self._cancel("election")
        if self.answer_endpoint is not None:
            self._publish_ldr()  # the ans port stays bound once bound (§3.5); no rebind (B5)
        elif not self.binding:
            self.binding = True
            self._emit(BindAnswerPort())
        self._arm("leader", self._heartbeat_s, now)

    # ------------------------------------------------------------------ local requests

    def _on_leave(self, event: Leave, now: float) -> None:
        """Publish ``mlt``, cancel every timer, disconnect; no leadership hand-off (as the reference)."""
        self._publish(MemberLeave(member=self.member_id))
        for name in list(self.timers):
            self._cancel(name)
        self._disconnect()
        self.left = True
        self._emit(Result(value=True))

    def _on_post(self, event: Post, now: float) -> None:
        self._publish(GroupMessage(payload=event.payload))
        self._emit(Result(value=True))

    def _on_post_to_leader(self, event: PostToLeader, now: float) -> None:
        if self.leader is None:
            self._emit(Result(value=False, reason="no leader"))
        elif self.is_leader:  # loops back to our own handleMessageToLeader, identity b''
            self._notify("handleMessageToLeader", event.payload, b"")
            self._emit(Result(value=True))
        else:
            self._emit(SendToLeader(cmd=Code.MTL, payload=event.payload))
            self._emit(Result(value=True))

    def _on_post_to_member(self, event: PostToMember, now: float) -> None:
        """Only the leader sends to members (B16 fixed); identity ``b''`` loops back to itself."""
        if self.leader is None:
            self._emit(Result(value=False, reason="no leader"))
        elif not self.is_leader:
            self._emit(Result(value=False, reason="only the leader sends to members; use PostToLeader"))
        elif event.identity == b"":
            self._notify("handleMessageFromLeader", event.payload)
            self._emit(Result(value=True))
        else:
            self._emit(SendToMember(identity=event.identity, cmd=Code.MFL, payload=event.payload))
            self._emit(Result(value=True))

    def _on_ask_vote(self, event: AskVote, now: float) -> None:
        """Result is the new poll id, or None without a leader."""
        if self.leader is None:
            self._emit(Result(value=None, reason="no leader"))
            return
        spec = PollSpec(
            rfv_id="".join(self._rng.choices(RFV_ALPHABET, k=8)),
            topic=event.topic,
            kind=event.kind,
            subject=event.subject,
            release_s=event.release_s,
            started_s=now,
            timeout_s=event.timeout_ms / 1000.0 if event.timeout_ms is not None else 0.0,
        )
        self.known_polls.add(spec.rfv_id)
        self._poll_asked(spec, now)
        if self.is_leader:
            self._open_poll(spec, b"", now)
        else:
            cmd, payload = encode(PollRequest(poll=spec))
            self._emit(SendToLeader(cmd=cmd, payload=payload))
        self._emit(Result(value=spec.rfv_id))

    def _on_cast_vote(self, event: CastVote, now: float) -> None:
        vote = "yes" if event.vote else "no"
        if self.leader is None:
            self._emit(Result(value=False, reason="no leader"))
            return
        if self.is_leader:
            self._count_ballot(event.rfv_id, vote, b"", now)
        else:
            cmd, payload = encode(VoteCast(rfv_id=event.rfv_id, vote=vote))
            self._emit(SendToLeader(cmd=cmd, payload=payload))
        self._emit(Result(value=True))

    # ------------------------------------------------------------------ polls

    def _poll_asked(self, spec: PollSpec, now: float) -> None:
        """This member's component asked for the poll *spec* (a protocol that ends it for its requester overrides this)."""

    def _next_poll_due(self) -> float | None:
        """When the ``poll`` timer must fire next: the earliest deadline of a poll open here (a protocol may add its own)."""
        return min((p.deadline_s for p in self.polls.values()), default=None)

    def _on_poll_request(self, event: PollRequest, now: float) -> None:
        self._open_poll(event.poll, event.sender, now)

    def _on_vote_cast(self, event: VoteCast, now: float) -> None:
        self._count_ballot(event.rfv_id, event.vote, event.sender, now)

    def _on_poll_opened(self, event: PollOpened, now: float) -> None:
        spec = event.poll
        self.known_polls.add(spec.rfv_id)
        if spec.subject == "action":
            self._notify("handleActionVoteRequest", spec.rfv_id, spec.topic, spec.release_s)
        else:
            self._notify("handleVoteRequest", spec.rfv_id, spec.topic)
        self._leader_seen(now)

    def _on_poll_announce(self, event: PollAnnounce, now: float) -> None:
        self._notify("handleVoteResult", event.rfv_id, event.result)
        self._leader_seen(now)

    def _on_poll_timer(self, event: TimerFired, now: float) -> None:
        self._check_polls(now)

    def _leader_seen(self, now: float) -> None:
        """``rcm`` and ``ann`` count as leader heartbeats: a follower re-arms its deadline."""
        if self.role is Role.FOLLOWER:
            self.leader_heard_at = now
            self._arm_leader_deadline(now)

    def _open_poll(self, spec: PollSpec, requester: bytes, now: float) -> None:
        if spec.rfv_id in self.polls:
            self._drop("poll id already open", peer=requester or None, rfv_id=spec.rfv_id)
            return
        poll = self.POLLS.open(spec, requester, self.peers.members(), now, self._consensus_timeout_s)
        self.known_polls.add(spec.rfv_id)
        timeout_s = spec.timeout_s if spec.timeout_s > 0 else self._consensus_timeout_s
        self._emit(self._trace("vote_requested", peer=requester or None, rfv_id=spec.rfv_id, cause=f"{spec.kind}, timeout {timeout_s:g} s"))
        if poll is None:  # already past its timeout when it reached the leader
            self._announce(spec.rfv_id, "timeout")
            return
        self.polls[spec.rfv_id] = poll
        self._publish(PollOpened(poll=spec))
        self._rearm_poll_timer(now)

    def _count_ballot(self, rfv_id: str, vote: str, sender: bytes, now: float) -> None:
        poll = self.polls.get(rfv_id)
        voter = sender or self.member_id
        if poll is None:
            self._drop("ballot for a poll that is not open here", peer=voter, rfv_id=rfv_id)
            return
        cause = self.POLLS.count(poll, voter, vote)
        if cause:
            self._drop(cause, peer=voter, rfv_id=rfv_id)
            return
        self._emit(self._trace("vote_cast", peer=voter, rfv_id=rfv_id, cause=vote))
        self._decide(rfv_id, now)
        self._rearm_poll_timer(now)

    def _check_polls(self, now: float) -> None:
        for rfv_id in list(self.polls):
            self._decide(rfv_id, now)
        self._rearm_poll_timer(now)

    def _decide(self, rfv_id: str, now: float) -> None:
        result = self.POLLS.decide(self.polls[rfv_id], now)
        if result is not None:
            del self.polls[rfv_id]
            self._announce(rfv_id, result)

    def _announce(self, rfv_id: str, result: str) -> None:
        self._publish(PollAnnounce(rfv_id=rfv_id, result=result))
        self._emit(self._trace("vote_announced", rfv_id=rfv_id, cause=result))

    def _rearm_poll_timer(self, now: float) -> None:
        """``fixed`` only: keep the ``poll`` timer on the earliest deadline (:meth:`_next_poll_due`)."""
        if self.POLLS.lazy_expiry:
            return
        due = self._next_poll_due()
        if due is None:
            self._cancel("poll")
            return
        if self.timers.get("poll") != due:
            self._arm("poll", max(0.0, due - now), now)
            self.timers["poll"] = due  # exactly the deadline, so the comparison above holds


#: The rows both protocols share, by input key: the role never changes.
SHARED: dict[str, Callable[..., None]] = {
    "Heartbeat": SharedActions._on_heartbeat,
    "MemberLeave": SharedActions._on_member_leave,
    "GroupMessage": SharedActions._on_group_message,
    "MessageFromLeader": SharedActions._on_message_from_leader,
    "PollOpened": SharedActions._on_poll_opened,
    "PollAnnounce": SharedActions._on_poll_announce,
    "TimerFired[heartbeat]": SharedActions._on_heartbeat_timer,
    "AnswerPortBound": SharedActions._on_answer_port_bound,
    "SendFailed": SharedActions._on_send_failed,
    "Leave": SharedActions._on_leave,
    "Post": SharedActions._on_post,
    "PostToLeader": SharedActions._on_post_to_leader,
    "PostToMember": SharedActions._on_post_to_member,
    "AskVote": SharedActions._on_ask_vote,
    "CastVote": SharedActions._on_cast_vote,
}
#: What only a leader's ans port receives.
ANSWER_PORT: dict[str, Callable[..., None]] = {
    "MessageToLeader": SharedActions._on_message_to_leader,
    "PollRequest": SharedActions._on_poll_request,
    "VoteCast": SharedActions._on_vote_cast,
}


def every_role(roles: Iterable[Role], actions: Mapping[str, Callable[..., None]]) -> dict[tuple[Role, str], Row]:
    """One unguarded row per role and input key, keeping the role."""
    return {(role, key): row(action, to=role) for key, action in actions.items() for role in roles}


def shared_rows(roles: Iterable[Role], overrides: Mapping[str, Callable[..., None]] | None = None) -> dict[tuple[Role, str], Row]:
    """The rows common to both protocols for *roles*, with *overrides* (input key -> action) in place
    of the shared action. A leader whose ans port cannot be bound steps down."""
    roles = tuple(roles)
    rows = every_role(roles, {**SHARED, **(overrides or {})})
    for role in roles:
        if role is Role.LEADER:
            rows[(role, "AnswerPortFailed")] = row(SharedActions._leader_without_port, to=Role.FOLLOWER)
        else:
            rows[(role, "AnswerPortFailed")] = row(SharedActions._on_answer_port_failed, to=role)
    return rows
