"""``Node``: the components of one host process, their groups and timers, on a driver.

The node is the same in both worlds. It gives components their clock, random generator, timers
and groups; runs every handler inside a guard (an exception is logged with its traceback and
traced, and the node carries on); and records every fact in the trace, stamped with the node's
clock and, in simulation, the true time.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import json
import logging
import random as random_module
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import ports

from ..component import Component
from ..coord.coverage import TableCoverage
from ..coord.group import Group
from ..discovery import Directory, Endpoint, Watcher
from ..model import JOIN_STALL_S, LEAVE_STALL_S, GroupType, UnknownGroupType
from ..trace import Kind, Trace
from .driver import Driver
from .member import GroupMember
from .rejections import RejectionLog
from .storage import MemoryStorage

__all__ = ["Node", "node_random"]

log = logging.getLogger("riaps_sim.runtime")


def node_random(seed: int, node: str) -> random_module.Random:
    """The node's random generator: seeded from the scenario *seed* and the node's name, stably across processes."""
    digest = hashlib.blake2b(f"{seed}/{node}".encode(), digest_size=8).digest()
    return random_module.Random(int.from_bytes(digest, "big"))


class Node:
    """One node: a host address, a driver, discovery, components and their group memberships.

    Parameters
    ----------
    name:
        The node's name, unique in the run.
    host:
        Its IPv4 address; group ports bind there.
    context:
        The zmq-like context its ports use (real or simulated).
    driver:
        The loop it runs on (see ``riaps_sim.runtime.driver``).
    group_types:
        The application's group types, by name.
    discovery:
        The node's directory of group pub endpoints; the runtime feeds it from the world's discovery.
    trace:
        Where the node records events.
    seed:
        The scenario seed; the node's generator derives from it and the node name.
    incarnation:
        Distinguishes restarts of a node in member ids (the process id in the real world).
    storage:
        What outlives a crash of the node (``riaps_sim.runtime.storage``); by default in memory.
    restarts:
        How many times the node was restarted: each incarnation draws from its own random stream.
    """

    def __init__(
        self,
        name: str,
        host: str,
        context: Any,
        driver: Driver,
        group_types: Mapping[str, GroupType],
        discovery: Any,
        trace: Trace,
        seed: int = 0,
        incarnation: int = 0,
        keys: ports.CurveKeys | None = None,
        storage: MemoryStorage | None = None,
        restarts: int = 0,
        coverage: TableCoverage | None = None,
    ) -> None:
        self.name = name
        self.host = host
        self.driver = driver
        self.group_types = dict(group_types)
        self.discovery = discovery
        self.trace = trace
        # each incarnation draws its own numbers (poll ids never repeat after a restart); the first keeps the plain stream
        self.random = node_random(seed, name if restarts == 0 else f"{name}#{restarts}")
        self.storage = storage if storage is not None else MemoryStorage()
        self.coverage = coverage  #: told each table case its members' machines take (a search's coverage), or None
        self.part = ports.Part(context, host=host, clock=driver.clock, keys=keys, name=name)
        self.components: dict[str, Component] = {}
        self.members: list[GroupMember] = []
        self._timers: dict[tuple[str, str], Any] = {}
        self._stalls: dict[int, _Stall] = {}  # by id(component): a component held by a blocking call (B23)
        self._id_prefix = ipaddress.IPv4Address(host).packed + (incarnation & 0xFFFFFFFF).to_bytes(4, "big")
        self._ids = itertools.count(1)
        self.running = False
        #: told of each message a member handled (``handled(seconds) -> stop reading?``): a real node's
        #: ``LoopProbe`` measuring its loop, or a simulated node's driver charging a processing cost
        self.probe: Any = None
        #: where refused handshakes go, bounded per source (a real node's ``RejectionLog``); ``None``: the trace, row by row
        self.rejections: RejectionLog | None = None

    def __repr__(self) -> str:
        return f"<Node {self.name} {self.host} components={list(self.components)} groups={len(self.members)}>"

    def clock(self) -> float:
        return self.driver.clock()

    def new_member_id(self) -> bytes:
        """A 16-byte member id: IPv4 address, incarnation, counter (the reference's layout, unique across restarts)."""
        return self._id_prefix + next(self._ids).to_bytes(8, "big")

    # -- life cycle -----------------------------------------------------------------------------------

    def build(self, factory: Callable[[], Component], name: str) -> Component | None:
        """Build a component with *factory* and host it as *name*; a failure is logged and traced, not raised.

        The node runs on without it, and the run's checks report it (``components_built``).
        """
        try:
            component = factory()
        except Exception as exc:
            log.error("node %s: could not build component %r:\n%s", self.name, name, traceback.format_exc())
            self.record(Kind.ERROR, name, None, detail=f"could not build component {name!r}: {type(exc).__name__}: {exc}")
            return None
        return self.add(component, name)

    def add(self, component: Component, name: str | None = None) -> Component:
        """Host *component* under *name* (default: its class name); it starts with the node."""
        name = name or type(component).__name__
        if name in self.components:
            raise ValueError(f"node {self.name!r} already has a component named {name!r}")
        component._attach(self, name)
        self.components[name] = component
        return component

    def start(self) -> None:
        """Arm the components' periodic timers and call their ``handleActivate``."""
        self.running = True
        self.record(Kind.TIMER, None, None, detail="node started")
        for name, component in self.components.items():
            for timer, period in type(component).timers.items():
                if not period > 0:
                    raise ValueError(f"{type(component).__name__}.timers[{timer!r}] must be a period > 0 seconds, got {period!r}")
                self._arm_periodic(name, component, timer, float(period))
            self.run_handler(component, "handleActivate")

    def stop(self) -> None:
        """Leave every group, cancel timers, call ``handleDeactivate``."""
        if not self.running:
            return
        for member in list(self.members):
            member.leave()
        self.members.clear()
        self._cancel_timers()
        self._stalls.clear()  # the node stops: a held component is let go to deactivate
        for component in self.components.values():
            self.run_handler(component, "handleDeactivate")
        self.running = False

    def crash(self) -> None:
        """Die at once: no farewell, sockets gone, timers gone (used by fault injection)."""
        for member in self.members:
            member.abandon()
        self.members.clear()
        self._cancel_timers()
        self._stalls.clear()  # what a held component had waiting dies with it
        self.running = False

    def _cancel_timers(self) -> None:
        for handle in self._timers.values():
            self.driver.cancel(handle)
        self._timers.clear()

    def _arm_periodic(self, name: str, component: Component, timer: str, period: float) -> None:
        def fire() -> None:
            if not self.running:
                return
            self._timers[(name, timer)] = self.driver.call_later(period, fire)
            self.run_handler(component, f"on_{timer}")

        self._timers[(name, timer)] = self.driver.call_later(period, fire)

    # -- services for components ---------------------------------------------------------------------

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Any:
        def guarded() -> None:
            if self.running:
                self._guard(callback, getattr(callback, "__qualname__", repr(callback)), None)

        return self.driver.call_later(delay_s, guarded)

    def cancel(self, handle: Any) -> None:
        self.driver.cancel(handle)

    def join_group(self, component: Component, group_type: str, instance: str, min_size: int) -> Group:
        try:
            gtype = self.group_types[group_type]
        except KeyError:
            raise UnknownGroupType(component.instance_name, group_type, sorted(self.group_types)) from None
        member = GroupMember(self, component, gtype, instance, min_size)
        self.members.append(member)
        if gtype.blocking_join_leave:
            self.stall(component, JOIN_STALL_S, "joinGroup")
        return member.group

    def leave_group(self, component: Component, group: Group) -> bool:
        for member in self.members:
            if member.group is group:
                member.leave()
                self.members.remove(member)
                if member.group_type.blocking_join_leave:
                    self.stall(component, LEAVE_STALL_S, "leaveGroup")
                return True
        return False

    # -- discovery glue -----------------------------------------------------------------------------

    def discovery_register(self, endpoint: Endpoint) -> None:
        self.discovery.register(endpoint)

    def discovery_unregister(self, endpoint: Endpoint) -> None:
        self.discovery.unregister(endpoint)

    def discovery_watch(self, key: str, watcher: Watcher) -> None:
        self.directory().watch(key, watcher)

    def discovery_unwatch(self, key: str, watcher: Watcher) -> None:
        self.directory().unwatch(key, watcher)

    def directory(self) -> Directory:
        return self.discovery if isinstance(self.discovery, Directory) else self.discovery.directory

    # -- handlers and the trace -----------------------------------------------------------------------

    def stall(self, component: Component, seconds: float, why: str) -> None:
        """Hold *component* for *seconds*, as a blocking call in its thread would (the reference's B23).

        Its handlers called meanwhile wait and run in order when the stall ends; the rest of the
        node (other components, the group protocols) runs on.
        """
        stall = self._stalls.get(id(component))
        until = self.clock() + seconds
        if stall is None:
            stall = self._stalls[id(component)] = _Stall(until)
            self.driver.call_later(seconds, lambda: self._unstall(component, stall))
        elif until > stall.until:
            stall.until = until
        self.record(Kind.TIMER, component.instance_name, None, detail=f"{why} holds the component {seconds:g} s (blocking_join_leave, B23)")

    def _unstall(self, component: Component, stall: _Stall) -> None:
        if not self.running or self._stalls.get(id(component)) is not stall:  # the node died or stopped meanwhile
            return
        if self.clock() < stall.until:  # held again meanwhile
            self.driver.call_later(stall.until - self.clock(), lambda: self._unstall(component, stall))
            return
        del self._stalls[id(component)]
        while stall.waiting and id(component) not in self._stalls:
            handler, args = stall.waiting.popleft()
            self.run_handler(component, handler, *args)
        if stall.waiting:  # a handler stalled it again: the rest waits for that stall too
            self._stalls[id(component)].waiting.extendleft(reversed(stall.waiting))

    def run_handler(self, component: Component, handler: str, *args: Any) -> None:
        """Call ``component.<handler>(*args)``; an exception is logged and traced, never raised.

        A stalled component's handler waits for the stall to end (``stall``).
        """
        stall = self._stalls.get(id(component)) if self._stalls else None
        if stall is not None:
            stall.waiting.append((handler, args))
            return
        method = getattr(component, handler, None)
        if method is None:
            log.warning("%s has no handler %s", type(component).__name__, handler)
            return
        self._guard(lambda: method(*args), handler, component)

    def _guard(self, call: Callable[[], Any], what: str, component: Component | None) -> None:
        try:
            call()
        except UnknownGroupType as exc:  # the scenario's mistake, said in full by the message: no traceback
            log.error("node %s: %s: %s", self.name, what, exc)
            name = component.instance_name if component is not None else None
            self.record(Kind.ERROR, name, None, detail=f"{what} raised {type(exc).__name__}: {exc}", data=exc.trace_data())
        except Exception as exc:  # a user's handler failing must not stop the node
            log.error("node %s: %s raised:\n%s", self.name, what, traceback.format_exc())
            name = component.instance_name if component is not None else None
            self.record(Kind.ERROR, name, None, detail=f"{what} raised {type(exc).__name__}: {exc}")

    def record_message(
        self,
        kind: str,
        component: str | None,
        group: str | None,
        command: str,
        peer: str | None,
        msg_id: int | str | None,
        size: int | None,
        at: float | None = None,
    ) -> None:
        """Record a ``send`` or ``deliver`` of *command*, as ``record`` does (the trace may count heartbeats instead).

        *at* is the node-clock time to stamp (default: now), e.g. read just before a send that takes real time.
        """
        driver = self.driver
        self.trace.record_message(
            driver.clock() if at is None else at, driver.true_time(), self.name, component, group, kind, command, peer, msg_id, size
        )

    def record_app(self, component: Component, kind: str, fields: Mapping[str, Any]) -> None:
        """A component's own event (``Component.record``); its fields must be JSON values (real traces are JSON)."""
        try:
            json.dumps(fields)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"record({kind!r}, ...): fields must be JSON values (numbers, strings, lists, dicts): {exc}") from None
        self.record(Kind.APP, component.instance_name, None, detail=kind, data=dict(fields))

    def record(self, kind: str, component: str | None, group: str | None, **fields: Any) -> None:
        """Append an event stamped with this node's clock (and true time in simulation)."""
        self.trace.record(self.driver.clock(), self.driver.true_time(), self.name, component, group, kind, **fields)


class _Stall:
    """Until when a component is held, and the handler calls waiting for it."""

    __slots__ = ("until", "waiting")

    def __init__(self, until: float) -> None:
        self.until = until
        self.waiting: deque[tuple[str, tuple[Any, ...]]] = deque()
