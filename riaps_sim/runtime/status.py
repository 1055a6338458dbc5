"""Progress lines of a real run, for the person waiting on it: who leads, faults as they apply, a heartbeat.

A real run lasts as long as its scenario, in real time; without a word for a minute a user cannot
tell a working run from a hung one. ``RunStatus`` turns what the parent learns (the leader the
nodes report, the faults it applies, the processes alive) into short lines with the run's time,
and hands each to *say* (the command line prints them to stderr).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["RunStatus", "EVERY_S"]

EVERY_S = 5.0
"""Seconds between two status lines when nothing else was said."""


class RunStatus:
    """Says who leads when it changes, each fault applied, and every *every_s* seconds how the run stands."""

    def __init__(self, say: Callable[[str], None], nodes: int, duration_s: float, every_s: float = EVERY_S) -> None:
        self.say = say
        self.nodes = nodes
        self.duration_s = duration_s
        self.every_s = every_s
        self._leader: str | None = None
        self._last_said = 0.0

    def __repr__(self) -> str:
        return f"<RunStatus leader={self._leader} last={self._last_said:.1f} s>"

    def _line(self, now_s: float, text: str) -> None:
        self.say(f"[{now_s:6.1f} s] {text}")
        self._last_said = now_s

    def fault(self, now_s: float, text: str) -> None:
        """A fault was applied (or refused) at *now_s*: *text* is the trace's wording."""
        self._line(now_s, f"fault: {text}")

    def update(self, now_s: float, leader: str | None, alive: int) -> None:
        """The run at *now_s*: say the leader if it changed, else a status line if none was said for a while."""
        if leader != self._leader:
            was = self._leader or "nobody"
            self._leader = leader
            self._line(now_s, f"leader: {leader or 'nobody'} (was {was}); {alive}/{self.nodes} nodes up")
        elif now_s - self._last_said >= self.every_s:
            self._line(now_s, f"running, {self.duration_s - now_s:.0f} s to go; leader {leader or 'nobody'}; {alive}/{self.nodes} nodes up")
