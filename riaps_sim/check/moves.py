"""The records of a check: member ids, the deterministic generator, the environment's moves and what a step observed."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeVar

from ..coord.commands import Notify, TraceEvent
from ..coord.events import Input

__all__ = ["Move", "Step", "Envelope", "Note", "StubRandom", "member_id", "host_of", "ANSWER_PORT"]

T = TypeVar("T")

#: The first port a member's ans port binds to; a restarted member's next incarnation takes the next one.
ANSWER_PORT = 7000


def member_id(slot: int, incarnation: int) -> bytes:
    """The 16-byte id of member *slot* (0-based) in its *incarnation*: IPv4 ``10.0.0.<slot+1>``,
    incarnation, counter 1 (the layout of ``Node.new_member_id``, so ``fixed``'s slots hold)."""
    return bytes((10, 0, 0, slot + 1)) + incarnation.to_bytes(4, "big") + (1).to_bytes(8, "big")


def host_of(slot: int) -> str:
    """The host of member *slot*."""
    return f"10.0.0.{slot + 1}"


class StubRandom:
    """The machines' ``RandomLike``: deterministic, so that a state's successors are a function of it.

    Every timeout drawn is the lowest value of its range (``randrange(a, b)`` is *a*,
    ``random()`` is 0.0): with timers free to fire in any order, what a duration still decides is
    how far the clock moves when it fires. Poll ids come from the world: it sets
    :attr:`next_poll_id` (``POLL0001``, ``POLL0002``...) before it hands a member ``AskVote``, so
    they are distinct by construction.
    """

    def __init__(self) -> None:
        self.next_poll_id = ""

    def random(self) -> float:
        return 0.0

    def randrange(self, start: int, stop: int) -> int:
        return start

    def choices(self, population: object, *, k: int = 1) -> list[T]:
        if len(self.next_poll_id) != k:
            raise AssertionError(f"the checker draws poll ids of {k} characters, it has {self.next_poll_id!r}")
        return list(self.next_poll_id)  # type: ignore[arg-type]


class Move(enum.Enum):
    """What the environment does in one step."""

    DELIVER = "deliver"
    DROP = "drop"
    DUPLICATE = "duplicate"
    TIMER = "timer"
    CRASH = "crash"
    RESTART = "restart"
    PARTITION = "partition"
    HEAL = "heal"
    ASK = "ask"
    VOTE = "vote"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message in flight: *event* (decoded, as the recipient's port would) from *src* to *dst*, *code* its 3 letters."""

    src: int
    dst: int
    code: str
    event: Input


@dataclass(frozen=True, slots=True)
class Step:
    """One move of the environment; *member* is who acts or receives."""

    move: Move
    member: int
    envelope: Envelope | None = None
    timer: str = ""
    rfv_id: str = ""
    vote: bool = False
    side: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Note:
    """What a member's machine told its component or its trace during a step (read by the properties)."""

    member: int
    incarnation: int
    what: Notify | TraceEvent
