"""What a real run's parent has to do, and when: faults falling due and paused nodes to resume.

Two heaps on the wall clock, kept apart from ``RealRun`` so its loop reads as what it does: take
what is due, apply it, wait until the next thing is due (or a node reports). Ties keep the order
the entries were added in, so faults due at the same time apply in schedule order, as in simulation.
"""

from __future__ import annotations

import heapq
import itertools

from ..faults import Fault

__all__ = ["Agenda"]


class Agenda:
    """Faults due at wall-clock times, and paused nodes with the time each resumes."""

    def __init__(self) -> None:
        self._faults: list[tuple[float, int, Fault]] = []
        self._resumes: list[tuple[float, int, str]] = []
        self._order = itertools.count()

    def __repr__(self) -> str:
        return f"<Agenda faults={len(self._faults)} paused={len(self._resumes)}>"

    def add_fault(self, at: float, fault: Fault) -> None:
        """*fault* falls due at wall-clock time *at*."""
        heapq.heappush(self._faults, (at, next(self._order), fault))

    def add_resume(self, at: float, node: str) -> None:
        """Paused *node* resumes at wall-clock time *at*."""
        heapq.heappush(self._resumes, (at, next(self._order), node))

    def due_faults(self, now: float) -> list[Fault]:
        """The faults due by *now*, in order, taken off the agenda."""
        out = []
        while self._faults and self._faults[0][0] <= now:
            out.append(heapq.heappop(self._faults)[2])
        return out

    def due_resumes(self, now: float) -> list[str]:
        """The nodes to resume by *now*, taken off the agenda."""
        out = []
        while self._resumes and self._resumes[0][0] <= now:
            out.append(heapq.heappop(self._resumes)[2])
        return out

    def paused(self) -> list[str]:
        """Every node still waiting to resume, taken off the agenda (the run ends: resume them all)."""
        out = [node for _, _, node in sorted(self._resumes)]
        self._resumes.clear()
        return out

    def next_at(self, limit: float) -> float:
        """The wall-clock time of the next entry, or *limit* if that comes first."""
        times = [limit] + [h[0][0] for h in (self._faults, self._resumes) if h]
        return min(times)
