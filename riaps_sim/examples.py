"""Ready-made components for tutorials, scenarios and tests.

``Groupie`` is modelled on the RIAPS ``Groupie`` test component: it joins one group and, as
asked, writes to the leader, requests votes and answers them, while it records what it saw, with
the node's clock, so a notebook or a test can look at its view of the group.
"""

from __future__ import annotations

from typing import Any

from .component import Component
from .coord.group import Group

__all__ = ["Groupie"]


class Groupie(Component):
    """A group member that records its view and can exercise the group's features.

    Parameters
    ----------
    group, instance:
        The group type and instance to join on activation.
    min_size:
        ``groupMinSize`` for the join.
    ask_leader_every:
        If set, every this many seconds a member that is not the leader writes ``"from <name>"``
        to the leader, which answers ``"re: from <name>"`` to that member alone.
    ballot:
        How this member votes: True (yes), False (no), or None (abstain).
    leave_at:
        If set, the node-clock time in seconds at which it leaves the group.
    vote_after:
        If set, this many seconds after activation (and again every second until a leader is
        known) it asks the group to vote on ``b"proposal"`` by majority.
    vote_every:
        With *vote_after*: after each poll it asked, ask another this many seconds later (a
        workload of polls for as long as the run lasts).

    Attributes
    ----------
    elected, exited, joined, left:
        ``(time, id)`` for each leader elected / exited and member joined / left callback.
    replies, letters:
        Messages received from the leader, and (as leader) to it as ``(identity, payload)``.
    results:
        ``rfvId -> vote`` for each poll result received; ``requests``: polls this member was asked.
    """

    def __init__(
        self,
        group: str = "TheGroup",
        instance: str = "g1",
        min_size: int = 2,
        ask_leader_every: float | None = None,
        ballot: bool | None = True,
        leave_at: float | None = None,
        vote_after: float | None = None,
        vote_every: float | None = None,
    ) -> None:
        self.group_type, self.instance, self.min_size = group, instance, min_size
        self.ask_leader_every = ask_leader_every
        self.ballot = ballot
        self.leave_at = leave_at
        self.vote_after = vote_after
        self.vote_every = vote_every
        self.asked: list[str] = []
        self.group: Group | None = None
        self.elected: list[tuple[float, bytes]] = []
        self.exited: list[tuple[float, bytes]] = []
        self.joined: list[tuple[float, bytes]] = []
        self.left: list[tuple[float, bytes]] = []
        self.replies: list[bytes] = []
        self.letters: list[tuple[bytes, bytes]] = []
        self.messages: list[Any] = []
        self.requests: list[tuple[str, bytes]] = []
        self.results: dict[str, str] = {}

    def handleActivate(self) -> None:
        self.group = self.joinGroup(self.group_type, self.instance, self.min_size)
        if self.ask_leader_every:
            self.after(self.ask_leader_every, self._ask_leader)
        if self.leave_at is not None:
            self.after(max(0.0, self.leave_at - self.clock()), self._leave)
        if self.vote_after is not None:
            self.after(self.vote_after, self._ask_vote)

    def _ask_vote(self) -> None:
        group = self.group
        if group is None:
            return
        rfv = group.requestVote(b"proposal") if group.hasLeader() else None
        if rfv is None:
            self.after(1.0, self._ask_vote)
        else:
            self.asked.append(rfv)
            if self.vote_every is not None:
                self.after(self.vote_every, self._ask_vote)

    def _ask_leader(self) -> None:
        group = self.group
        if group is None:
            return
        if group.hasLeader() and not group.isLeader():
            group.sendToLeader(f"from {self.instance_name}@{self.node_name}".encode())
        self.after(self.ask_leader_every or 1.0, self._ask_leader)

    def _leave(self) -> None:
        if self.group is not None:
            self.leaveGroup(self.group)
            self.group = None

    def handleLeaderElected(self, group: Group, leaderId: bytes) -> None:
        self.elected.append((self.clock(), leaderId))

    def handleLeaderExited(self, group: Group, leaderId: bytes) -> None:
        self.exited.append((self.clock(), leaderId))

    def handleMemberJoined(self, group: Group, memberId: bytes) -> None:
        self.joined.append((self.clock(), memberId))

    def handleMemberLeft(self, group: Group, memberId: bytes) -> None:
        self.left.append((self.clock(), memberId))

    def handleGroupMessage(self, group: Group) -> None:
        self.messages.append(group.recv_pyobj())

    def handleMessageToLeader(self, group: Group) -> None:
        letter = group.recv()
        self.letters.append((group.identity or b"", letter))
        group.sendToMember(b"re: " + letter)

    def handleMessageFromLeader(self, group: Group) -> None:
        self.replies.append(group.recv())

    def handleVoteRequest(self, group: Group, rfvId: str) -> None:
        self.requests.append((rfvId, group.recv()))
        if self.ballot is not None:
            group.sendVote(rfvId, self.ballot)

    def handleActionVoteRequest(self, group: Group, rfvId: str, when: float) -> None:
        self.handleVoteRequest(group, rfvId)

    def handleVoteResult(self, group: Group, rfvId: str, vote: str) -> None:
        self.results[rfvId] = vote
