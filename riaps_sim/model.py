"""Group types: what a RIAPS model declares about a group (``group G with leader using Msg ...``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .coord.timing import Timing

if TYPE_CHECKING:
    from .coord.machine import GroupMachine

__all__ = ["GroupType", "UnknownGroupType", "GROUP_KINDS", "JOIN_STALL_S", "LEAVE_STALL_S"]

GROUP_KINDS = ("default", "leader", "consensus")

#: The reference's ``joinGroup`` stall: 0.1 s steps waiting for the group thread's sockets, then
#: ``sleep(groupDiscoDelay // 1000)`` = 1 s (B23 in docs/glossary.md).
JOIN_STALL_S = 1.1
#: The reference's ``leaveGroup`` stall: it joins the group thread, which sleeps 1.0 s at exit.
LEAVE_STALL_S = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupType:
    """A group type of the application model.

    Parameters
    ----------
    name:
        The group type's name, e.g. ``"TheGroup"``.
    kind:
        ``"default"`` (a leaderless broadcast group), ``"leader"`` or ``"consensus"`` (coordinated:
        heartbeats, membership, election, polls; the two behave alike, as in RIAPS).
    message:
        The message type name; it only labels the ports and the discovery key.
    timed:
        Whether messages carry a send timestamp frame.
    timing:
        Heartbeat, election and poll timing (ms, validated on construction).
    protocol:
        The coordination protocol: ``"riaps"`` (the reference's semantics) or ``"fixed"``.
    blocking_join_leave:
        Reproduce the reference's stalls (B23): ``joinGroup`` holds the component for
        :data:`JOIN_STALL_S` and ``leaveGroup`` for :data:`LEAVE_STALL_S`. The component's handlers
        (timers, every group's callbacks) wait and then run in order; the group's protocol runs on,
        as the reference's group thread does. Off by default: ours never block.
    """

    name: str
    kind: str = "leader"
    message: str = "Msg"
    timed: bool = False
    timing: Timing = field(default_factory=Timing)
    protocol: str = "riaps"
    blocking_join_leave: bool = False

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"group type name must be an identifier, got {self.name!r}")
        if self.kind not in GROUP_KINDS:
            raise ValueError(f"group type {self.name!r}: kind must be one of {GROUP_KINDS}, got {self.kind!r}")
        from .protocols import protocol_class

        try:
            protocol_class(self.protocol)
        except ValueError as exc:
            raise ValueError(f"group type {self.name!r}: {exc}") from None
        if not isinstance(self.blocking_join_leave, bool):
            raise ValueError(f"group type {self.name!r}: blocking_join_leave must be true or false, got {self.blocking_join_leave!r}")
        if not isinstance(self.timing, Timing):
            raise ValueError(f"group type {self.name!r}: timing must be a Timing, got {self.timing!r}")

    def machine_class(self) -> type[GroupMachine]:
        """The coordination machine ``protocol`` names (a registered protocol or a user's ``module:Class``)."""
        from .protocols import protocol_class

        return protocol_class(self.protocol)

    @property
    def coordinated(self) -> bool:
        """Whether members run membership and election (every kind but ``default``)."""
        return self.kind != "default"

    def spec(self) -> dict[str, Any]:
        """The ``groupSpec`` its ports are built with."""
        return {"message": self.message, "timed": self.timed, "kind": self.kind}

    def group_name(self, instance: str) -> str:
        """``"<type>.<instance>"``, as ``Group.getGroupName`` returns it."""
        return f"{self.name}.{instance}"

    def discovery_key(self, instance: str) -> str:
        """The discovery key of the group's pubs: ``"<Msg>@<type>.<instance>"``."""
        return f"{self.message}@{self.name}.{instance}"


class UnknownGroupType(ValueError):
    """``joinGroup`` named a group type the scenario (the application model) does not define.

    A user's mistake in the scenario, not a bug of the component's: the runtime logs it in one line,
    without a traceback, and traces it as an ``error`` row whose ``data`` (``trace_data``) names the
    group type, so the checks count a join that failed (``joins_succeeded``).
    """

    def __init__(self, component: str, group_type: str, defined: list[str]) -> None:
        self.component, self.group_type, self.defined = component, group_type, list(defined)
        listed = ", ".join(self.defined) if self.defined else "no group types"
        super().__init__(
            f"component {component!r} joins group type {group_type!r}, which the scenario does not define; it defines {listed} (a misspelt group type?)"
        )

    def trace_data(self) -> dict[str, Any]:
        """The fields of the ``error`` row: ``unknown_group_type`` and ``defined``."""
        return {"unknown_group_type": self.group_type, "defined": self.defined}
