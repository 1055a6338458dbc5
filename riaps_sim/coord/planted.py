"""``planted-double-vote``: ``fixed`` with one bug planted on purpose, to test the explorer.

A member grants its vote to every candidate that asks in a term, not only to the first one. Two
candidates of one term can then both win: two leaders in one term. ``riaps-sim explore`` must find
it (the test suite checks that it does, and that the failing schedule shrinks to a few faults);
a checker that stays silent here would be silent about real bugs too. Never use it for anything else.
"""

from __future__ import annotations

from typing import ClassVar

from .events import RequestVote
from .fixed import FixedProtocol

__all__ = ["DoubleVoteProtocol"]


class DoubleVoteProtocol(FixedProtocol):
    """``fixed``, except that a member votes for every candidate of a term (the planted bug)."""

    name: ClassVar[str] = "planted-double-vote"

    def _vote_by_term(self, event: RequestVote, now: float) -> None:
        if event.term < self.term:
            self._drop("vote request for a lower term", peer=event.candidate)
            return
        if event.term > self.term:
            self.term, self.voted_for = event.term, None
            if self.leader is not None:
                self._notify("handleLeaderExited", self.leader)
                self.leader = None
                self._disconnect()
        self._publish(event.reply(granted=True, voter=self.member_id))  # the bug: no one-vote-per-term check
        self.voted_for = event.candidate
        self._arm_leader_deadline(now)
