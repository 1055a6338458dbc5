"""The bounds of a check: how far the environment may go, printed with every result."""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["Bounds"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounds:
    """How far :func:`riaps_sim.check.check` explores. A step that would cross a bound is not taken
    (and counted), so the result is exhaustive *within* these bounds and says so.

    Parameters
    ----------
    max_depth : int
        Steps from the initial state (breadth-first, so every state within it is seen).
    max_term : int
        No member's term goes above this.
    max_in_flight : int
        Messages in flight to one member at once (a publish puts one copy per recipient in
        flight). A copy beyond it is dropped, as a ZeroMQ PUB socket drops at its high-water mark:
        so loss happens at the bound without counting as a fault.
    max_faults : int
        Drops, duplicates, crashes and partitions in all.
    max_drops, max_duplicates, max_crashes, max_partitions : int
        Each kind of fault, within *max_faults*. A crash is followed (later, in any order) by
        its member's restart with its durable state. Partitions default to 0: in this
        asynchronous model they add no behaviour (any message may already stay in flight for
        ever, or be dropped), only states; see docs/howto/check.md.
    max_polls : int
        Polls started by members (each asked by any member that knows a leader).
    max_timer_skew_ms : int or None
        How far out of order timers may fire: a timer may fire while another armed timer is due up
        to this many milliseconds before it. None (the default): any armed timer may fire next, in
        any order (the over-approximation of every timing, docs/howto/check.md); 0: timers fire in
        the order they fall due (synchronised clocks, exact timers).
    """

    max_depth: int = 8
    max_term: int = 2
    max_in_flight: int = 1
    max_faults: int = 1
    max_drops: int = 1
    max_duplicates: int = 1
    max_crashes: int = 1
    max_partitions: int = 0
    max_polls: int = 1
    max_timer_skew_ms: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name == "max_timer_skew_ms":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"check bound {f.name} must be an int >= 0, got {value!r}")
        if self.max_depth < 1 or self.max_term < 1 or self.max_in_flight < 1:
            raise ValueError(
                f"check bounds max_depth, max_term and max_in_flight must be >= 1, got {self.max_depth}, {self.max_term}, {self.max_in_flight}"
            )

    def __str__(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))
