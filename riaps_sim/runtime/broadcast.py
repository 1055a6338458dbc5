"""``BroadcastMachine``: the machine of a ``default`` group, which only carries group messages.

A default (leaderless) group has no heartbeats, membership, election or polls, as in RIAPS
(B14: ``groupSize()`` stays 0). It needs no table: members publish and receive ``msg``.
"""

from __future__ import annotations

from ..coord import commands as cmd
from ..coord.events import GroupMessage, Input
from ..coord.requests import Join, Leave, Post
from ..coord.wire import Code

__all__ = ["BroadcastMachine"]


class BroadcastMachine:
    """Group messages only: ``Post`` publishes, ``GroupMessage`` notifies, the rest is dropped."""

    leader: bytes | None = None
    group_size = 0

    def __repr__(self) -> str:
        return "<BroadcastMachine default group>"

    def handle(self, event: Input, now: float) -> list[cmd.Command]:
        if isinstance(event, (Join, Leave)):
            return []
        if isinstance(event, Post):
            return [cmd.Publish(cmd=Code.MSG, payload=event.payload), cmd.Result(value=True)]
        if isinstance(event, GroupMessage):
            return [cmd.Notify(callback="handleGroupMessage", args=(event.payload,))]
        return [cmd.TraceEvent(kind="drop", role="FOLLOWER", term=0, cause=f"{type(event).__name__} in a default group")]
