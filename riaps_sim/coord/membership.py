"""Group membership as one member sees it: who was heard, and when (node clock, seconds)."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["Membership"]


class Membership:
    """The peers a member has heard a ``tic`` from, with the time each was last heard.

    As in the reference, a member hears its own heartbeats (its sub port is connected to its own
    pub), so the view includes the member itself once its first ``tic`` has looped back (B26).
    Peers are kept in first-heard order, so every iteration (and hence every command list and
    trace) is deterministic.

    Examples
    --------
    >>> m = Membership()
    >>> m.heard(b"a" * 16, now=1.0), m.heard(b"a" * 16, now=2.0)
    (True, False)
    >>> m.expire(now=5.5, timeout_s=3.0)
    [b'aaaaaaaaaaaaaaaa']
    >>> len(m)
    0
    """

    __slots__ = ("_last_heard", "_oldest")

    def __init__(self) -> None:
        self._last_heard: dict[bytes, float] = {}
        self._oldest = float("inf")  # a lower bound of every last-heard time, so expire() can skip the scan

    def heard(self, member: bytes, now: float) -> bool:
        """Record a ``tic`` from *member* at *now* (s); True if the member is new."""
        new = member not in self._last_heard
        self._last_heard[member] = now
        if now < self._oldest:
            self._oldest = now
        return new

    def remove(self, member: bytes) -> bool:
        """Forget *member* (it left); True if it was known."""
        return self._last_heard.pop(member, None) is not None

    def expire(self, now: float, timeout_s: float) -> list[bytes]:
        """Forget and return the members silent for more than *timeout_s* seconds at *now*."""
        if not now - self._oldest > timeout_s:  # nobody was heard before the bound: nobody is silent that long
            return []
        gone = [m for m, last in self._last_heard.items() if now - last > timeout_s]
        for member in gone:
            del self._last_heard[member]
        self._oldest = min(self._last_heard.values(), default=float("inf"))
        return gone

    def copy(self) -> Membership:
        """An independent copy (a model checker's snapshot)."""
        twin = Membership()
        twin._last_heard = dict(self._last_heard)
        twin._oldest = self._oldest
        return twin

    def heard_since(self, since: float) -> int:
        """How many members were heard at or after *since* (s)."""
        return sum(1 for last in self._last_heard.values() if last >= since)

    def last_heard(self, member: bytes) -> float | None:
        """When *member* was last heard (s), or None if unknown."""
        return self._last_heard.get(member)

    def members(self) -> tuple[bytes, ...]:
        """The known members, in first-heard order."""
        return tuple(self._last_heard)

    def __contains__(self, member: object) -> bool:
        return member in self._last_heard

    def __len__(self) -> int:
        return len(self._last_heard)

    def __iter__(self) -> Iterator[bytes]:
        return iter(tuple(self._last_heard))

    def __repr__(self) -> str:
        return f"<Membership {len(self)} peers>"
