"""``planted-double-vote``: ``fixed`` with one bug planted on purpose, to test the explorer.

A member grants its vote to every candidate that asks in a term, not only to the first one. Two
candidates of one term can then both win: two leaders in one term. ``riaps-sim explore`` must find
it (the test suite checks that it does, and that the failing schedule shrinks to a few faults);
a checker that stays silent here would be silent about real bugs too. Never use it for anything else.
"""

from __future__ import annotations

from typing import ClassVar

from .fixed import FixedProtocol

__all__ = ["DoubleVoteProtocol"]


class DoubleVoteProtocol(FixedProtocol):
    """``fixed``, except that a member votes for every candidate of a term (the planted bug)."""

    name: ClassVar[str] = "planted-double-vote"

    def _may_vote_for(self, candidate: bytes) -> bool:
        return True  # the bug: no one-vote-per-term check
