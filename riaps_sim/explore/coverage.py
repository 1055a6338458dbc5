"""What a search exercised: the protocol table cases its runs took, summed over the search.

Every case of a table is a guard and an action someone wrote for a reason; a case no run took was
never tested, whatever the search found. ``explore`` asks each run for the cases its machines took
(``riaps_sim.coord.coverage``) and prints, per protocol, how many of the table's cases the search
took and which it never did, so a user sees where to aim the next search.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..coord.coverage import CaseId, table_cases
from ..protocols import protocol_class

__all__ = ["Coverage", "coverage_of"]

#: How many never-taken cases a summary names (per protocol); the rest are counted.
SHOWN = 8


@dataclass(frozen=True)
class Coverage:
    """Of *protocol*'s table: every case (*cases*), and those a search took (*taken*)."""

    protocol: str
    cases: tuple[CaseId, ...]
    taken: frozenset[CaseId]

    @property
    def never(self) -> list[CaseId]:
        """The cases no run took, in table order."""
        return [c for c in self.cases if c not in self.taken]

    def lines(self) -> list[str]:
        """A line of counts, then the cases never taken (the first ``SHOWN``)."""
        never = self.never
        out = [f"  table coverage ({self.protocol}): {len(self.cases) - len(never)} of {len(self.cases)} cases taken"]
        out += [f"    never: {c.role} {c.key} #{c.index}: {c.text}" for c in never[:SHOWN]]
        if len(never) > SHOWN:
            out.append(f"    ... {len(never) - SHOWN} more never taken")
        return out


def coverage_of(protocols: Iterable[str], taken: Iterable[CaseId]) -> list[Coverage]:
    """The ``Coverage`` of each of *protocols* (registered names) by the cases in *taken*."""
    seen = frozenset(taken)
    out = []
    for name in dict.fromkeys(protocols):
        machine = protocol_class(name)  # a user's module:Class reports under its class's name
        cases = tuple(table_cases(machine))
        out.append(Coverage(machine.name, cases, frozenset(c for c in seen if c.protocol == machine.name)))
    return out
