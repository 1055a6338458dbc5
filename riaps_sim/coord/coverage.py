"""Which cases of a protocol's table a run took: a search's measure of what it exercised.

A table row is a list of guarded cases (:mod:`.election`); a run that never takes a case never
tests it, whatever it found. ``TableCoverage`` is handed to the machines of a run (their
``coverage`` attribute, ``None`` by default, so a run that does not ask pays one test per input);
each machine tells it the case it chose for each input. ``CaseId`` names one case of one table
by value, so coverage travels between processes and adds up over a search (``explore`` prints it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from .election import Case, Role, Table

__all__ = ["CaseId", "TableCoverage", "table_cases"]


@dataclass(frozen=True, order=True, slots=True)
class CaseId:
    """Case *index* of row ``(role, key)`` of *protocol*'s table; *text* shows it (guard, action, target)."""

    protocol: str
    role: str
    key: str
    index: int
    text: str

    def __str__(self) -> str:
        return f"{self.protocol} {self.role} {self.key} #{self.index}: {self.text}"


def table_cases(machine: Any) -> list[CaseId]:
    """Every case of the table of *machine* (a machine class: its ``name`` and ``TABLE``), in table order."""
    return [
        CaseId(machine.name, role.name, key, index, str(case)) for (role, key), row in machine.TABLE.items() for index, case in enumerate(row.cases)
    ]


class TableCoverage:
    """How often the machines of a run took each case of their tables."""

    def __init__(self) -> None:
        self._taken: Counter[tuple[str, Role, str, Case]] = Counter()
        self._tables: dict[str, Table] = {}

    def __repr__(self) -> str:
        return f"<TableCoverage {len(self._taken)} cases taken>"

    def took(self, protocol: str, table: Table, role: Role, key: str, case: Case) -> None:
        """A machine of *protocol* (whose table is *table*) in *role* took *case* for an input of *key*."""
        self._taken[(protocol, role, key, case)] += 1
        if protocol not in self._tables:
            self._tables[protocol] = table

    def taken(self) -> Counter[CaseId]:
        """Each case taken, by ``CaseId``, with how often."""
        out: Counter[CaseId] = Counter()
        for (protocol, role, key, case), count in self._taken.items():
            row = self._tables[protocol].get((role, key))
            if row is not None and case in row.cases:
                out[CaseId(protocol, role.name, key, row.cases.index(case), str(case))] += count
        return out
