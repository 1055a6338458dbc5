"""``Component``: the base class of user components, with the RIAPS callback names.

A component is plain event-driven code: the runtime calls its handlers on a timer, a group event
or a message, one at a time, and each handler returns quickly. The same class runs in simulation
and on real ZeroMQ because it only reaches the world through what its node gives it: ``clock()``,
``random``, ``logger``, timers and groups. It must never read the wall clock, sleep, use the global
``random`` or start threads (``python -m riaps_sim.rules`` checks a file for that).

Example
-------
::

    class Greeter(Component):
        timers = {"clock": 5.0}                    # on_clock() every 5 s

        def handleActivate(self):
            self.group = self.joinGroup("TheGroup", "g1")

        def on_clock(self):
            self.group.send_pyobj(f"hello at {self.clock():.1f}")

        def handleGroupMessage(self, group):
            self.logger.info("got %s", group.recv_pyobj())
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ports import OperationError

if TYPE_CHECKING:
    from .coord.group import Group

__all__ = ["Component", "ComponentServices"]


class ComponentServices(Protocol):
    """What a node offers the components it hosts."""

    name: str
    random: Any

    def clock(self) -> float: ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> object: ...

    def cancel(self, handle: object) -> None: ...

    def join_group(self, component: Component, group_type: str, instance: str, min_size: int) -> Group: ...

    def leave_group(self, component: Component, group: Group) -> bool: ...

    def record_app(self, component: Component, kind: str, fields: Mapping[str, Any]) -> None: ...


class Component:
    """Base class of components. Override the handlers you need; all default to doing nothing.

    Class attribute ``timers`` maps a timer name to its period in seconds; the runtime calls
    ``on_<name>()`` every period, starting one period after activation.
    """

    timers: ClassVar[Mapping[str, float]] = {}

    _services: ComponentServices | None = None
    #: The instance name the runtime gave this component (``"<node>.<class>"`` unless set).
    instance_name: str = ""
    logger: logging.Logger = logging.getLogger("riaps_sim.component")

    def _attach(self, services: ComponentServices, name: str) -> None:
        """Called by the runtime before ``handleActivate``."""
        self._services = services
        self.instance_name = name
        self.logger = logging.getLogger(f"riaps_sim.component.{services.name}.{name}")
        self._groups: dict[str, Group] = {}

    def _node(self, what: str) -> ComponentServices:
        if self._services is None:
            raise OperationError(
                f"{type(self).__name__}.{what} needs the component to run on a node; call it from "
                "handleActivate or a later handler, not from __init__"
            )
        return self._services

    # -- what the node gives ----------------------------------------------------------------------------

    def clock(self) -> float:
        """The node's clock, in seconds (virtual and possibly skewed in simulation, the real clock otherwise)."""
        return self._node("clock").clock()

    @property
    def random(self) -> Any:
        """The node's random generator (``random.Random`` API), seeded from the scenario seed."""
        return self._node("random").random

    @property
    def node_name(self) -> str:
        return self._node("node_name").name

    def record(self, kind: str, **fields: Any) -> None:
        """Put an application event in the trace: *kind* names it, *fields* say the rest (JSON values).

        It is an ``app`` event with ``detail`` = *kind* and ``data`` = *fields*, stamped with the
        node's clock, in both worlds; faults can be triggered by it (``after="app"``) and
        ``Trace.select(kind="app")`` finds it::

            self.record("reading", volts=229.7, phase="A")
        """
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"record(kind, ...): kind must be a non-empty string, got {kind!r}")
        self._node("record").record_app(self, kind, fields)

    def after(self, delay_s: float, callback: Callable[[], None]) -> object:
        """Call *callback* once, *delay_s* seconds from now on the node's clock; returns a handle for ``cancel``."""
        return self._node("after").call_later(delay_s, callback)

    def cancel(self, handle: object) -> None:
        """Cancel a call scheduled with ``after`` (no-op if it already ran)."""
        self._node("cancel").cancel(handle)

    # -- groups ---------------------------------------------------------------------------------------

    GROUP_PRIORITY_MAX = 0
    GROUP_PRIORITY_MIN = 256

    def joinGroup(self, groupType: str, instName: str, groupMinSize: int = 2, groupPriority: int = GROUP_PRIORITY_MIN) -> Group:
        """Join instance *instName* of group type *groupType*; return its ``Group``.

        Joining the same instance again returns the same ``Group``. Never blocks (the reference
        stalls about 1 s here, B23); membership and leader callbacks follow as the group forms.
        *groupPriority* is accepted for code written for RIAPS and has no effect: a node runs its
        handlers one at a time in the order their events arrive.
        Raises ``ValueError`` for an instance name that is not an identifier or ``groupMinSize < 2``,
        and ``riaps_sim.model.UnknownGroupType`` (a ``ValueError``) for a group type the scenario
        does not define, naming the component and the types defined (the reference fails later and
        obscurely, B20). Raised in a handler, that error is traced, and the run's verdict counts it
        as a handler error and a failed join.
        """
        node = self._node("joinGroup")
        if not isinstance(instName, str) or not instName.isidentifier():
            raise ValueError(f"group instance name must be an identifier, got {instName!r}")
        if not isinstance(groupMinSize, int) or groupMinSize < 2:
            raise ValueError(f"groupMinSize must be an int >= 2, got {groupMinSize!r}")
        key = f"{groupType}.{instName}"
        if key not in self._groups:
            self._groups[key] = node.join_group(self, groupType, instName, groupMinSize)
        return self._groups[key]

    def leaveGroup(self, group: Group) -> bool:
        """Leave *group*: peers are told at once (``mlt``); no callback for it reaches this component afterwards."""
        node = self._node("leaveGroup")
        name = group.getGroupName()
        if self._groups.get(name) is not group:
            raise ValueError(f"{type(self).__name__} is not a member of group {name!r} through this handle")
        del self._groups[name]
        return node.leave_group(self, group)

    # -- handlers (RIAPS names) -----------------------------------------------------------------------

    def handleActivate(self) -> None:
        """The component starts: join groups here."""

    def handleDeactivate(self) -> None:
        """The node stops the component."""

    def handleGroupMessage(self, group: Group) -> None:
        """A group message arrived; read it with ``group.recv()`` / ``recv_pyobj()``."""

    def handleMessageToLeader(self, group: Group) -> None:
        """(Leader) a member wrote; read with ``group.recv*()``, the sender is ``group.identity``."""

    def handleMessageFromLeader(self, group: Group) -> None:
        """The leader wrote to this member; read with ``group.recv*()``."""

    def handleVoteRequest(self, group: Group, rfvId: str) -> None:
        """A poll on a value opened; read the topic with ``group.recv*()``, answer with ``group.sendVote``."""

    def handleActionVoteRequest(self, group: Group, rfvId: str, when: float) -> None:
        """A poll on an action to carry out at *when* (requester's clock, seconds) opened."""

    def handleVoteResult(self, group: Group, rfvId: str, vote: str) -> None:
        """A poll ended: *vote* is ``'yes'``, ``'no'`` or ``'timeout'``."""

    def handleMemberJoined(self, group: Group, memberId: bytes) -> None:
        """A member (this one included) was first heard from."""

    def handleMemberLeft(self, group: Group, memberId: bytes) -> None:
        """A member left or fell silent."""

    def handleLeaderElected(self, group: Group, leaderId: bytes) -> None:
        """A leader was adopted, or the leader changed."""

    def handleLeaderExited(self, group: Group, leaderId: bytes) -> None:
        """The leader this member followed is gone."""
