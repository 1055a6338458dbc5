"""A member's side of a poll, told once and in time: what ``fixed`` promises its component.

The shared poll actions (:mod:`.actions`) tell a component every ``ann`` that arrives, and a
requester whose request or result is lost waits for ever. A protocol built on
:class:`PollsEndOnce` tells each poll's result once (a duplicated ``ann`` is dropped), only for a
poll this member knows (it asked for it or was asked to vote in it), and ends a poll its component
asked for at the poll's own deadline at the latest: no result by then is ``timeout``, told by the
member itself. A result that arrives after that is dropped as a second one.
"""

from __future__ import annotations

from typing import Any

from .actions import SharedActions
from .events import PollAnnounce, PollSpec
from .requests import TimerFired

__all__ = ["PollsEndOnce", "TOLD_MEMORY"]

#: How many told poll results a member remembers, to tell each one once (a duplicated ``ann``).
TOLD_MEMORY = 1024


class PollsEndOnce(SharedActions):
    """Shared actions, with each poll ending once for this member, by its deadline if it asked."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.awaiting: dict[str, float] = {}  # polls our component asked for and has no result of: id -> deadline (s)
        self._told: dict[str, None] = {}  # the last TOLD_MEMORY polls whose result our component was told

    def _on_poll_announce(self, event: PollAnnounce, now: float) -> None:
        """Tell a result once, and only for a poll this member knows (asked to vote in it, or requested it)."""
        if event.rfv_id in self._told:
            self._drop("second result of a poll (its result was told)", rfv_id=event.rfv_id)
            return
        if event.rfv_id not in self.known_polls:
            self._drop("announcement of a poll this member was not asked", rfv_id=event.rfv_id)
            return
        self._tell(event.rfv_id, event.result, now)
        self._leader_seen(now)

    def _poll_asked(self, spec: PollSpec, now: float) -> None:
        """Our component asked: it will be told a result by the poll's deadline at the latest."""
        self.awaiting[spec.rfv_id] = now + (spec.timeout_s if spec.timeout_s > 0 else self._consensus_timeout_s)
        self._rearm_poll_timer(now)

    def _next_poll_due(self) -> float | None:
        """The earliest deadline of a poll decided here or awaited here."""
        due = super()._next_poll_due()
        if self.awaiting:
            first = min(self.awaiting.values())
            due = first if due is None else min(due, first)
        return due

    def _on_poll_timer(self, event: TimerFired, now: float) -> None:
        """Decide the polls open here that are due, and end those our component waits for past their deadline."""
        for rfv_id, deadline in list(self.awaiting.items()):
            if deadline <= now:
                self._emit(self._trace("vote_expired", rfv_id=rfv_id, cause="no result by the requester's deadline"))
                self._tell(rfv_id, "timeout", now)
        self._check_polls(now)

    def _tell(self, rfv_id: str, result: str, now: float) -> None:
        """Our component hears the poll's result: the poll is over for this member."""
        self.known_polls.discard(rfv_id)
        if self.awaiting.pop(rfv_id, None) is not None:
            self._rearm_poll_timer(now)
        self._told[rfv_id] = None
        if len(self._told) > TOLD_MEMORY:
            del self._told[next(iter(self._told))]
        self._notify("handleVoteResult", rfv_id, result)
