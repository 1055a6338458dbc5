"""``planted-double-vote``: ``fixed`` with one bug planted on purpose, to test the explorer.

A member grants its vote to every candidate that asks in a term, not only to the first one. Two
candidates of one term can then both win: two leaders in one term. ``riaps-sim explore`` must find
it (the test suite checks that it does, and that the failing schedule shrinks to a few faults);
a checker that stays silent here would be silent about real bugs too. Never use it for anything else.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from .election import Row, Table
from .fixed import FixedProtocol
from .fixed_table import FIXED_TABLE, free_to_vote

__all__ = ["DoubleVoteProtocol", "PLANTED_TABLE"]


class DoubleVoteProtocol(FixedProtocol):
    """``fixed``, except that a member votes for every candidate of a term (the planted bug)."""

    name: ClassVar[str] = "planted-double-vote"
    TABLE: ClassVar[Table]  # PLANTED_TABLE, below


def any_candidate(m: Any, event: Any) -> bool:
    """The planted bug: every candidate that asks gets the vote (no one-vote-per-term check)."""
    return True


#: ``FIXED_TABLE`` with the one-vote-per-term guard replaced by :func:`any_candidate`.
PLANTED_TABLE: Table = {
    key: Row(tuple(replace(c, guard=any_candidate) if c.guard is free_to_vote else c for c in r.cases)) for key, r in FIXED_TABLE.items()
}
DoubleVoteProtocol.TABLE = PLANTED_TABLE
