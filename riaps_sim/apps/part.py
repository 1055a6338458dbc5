"""``RiapsPart``: one instance of a RIAPS component on a node, with its timer and message ports.

A part is what a node hosts for each component instance of a deployed actor, as a RIAPS actor
process holds one Part per component instance it runs. Its recipe (``InstanceRecipe``) is plain data, so it
travels to a real node process by pickle; everything else is built there:

1. when the node hosts the part (``_attach``): load the node's copy of the component's module
   through the shim (``riaps_sim.apps.loader``), construct the instance with its arguments, and set
   one port object per model port as ``instance.<port>``: ``TimerPort`` for timers, the
   ``ports`` package's ``PubPort``, ``SubPort``, ``ReqPort``, ``RepPort``, ``CltPort``, ``SrvPort``,
   ``QryPort``, ``AnsPort`` for the others, over the node's context (real or simulated);
2. on activation: create the sockets, register the providers (pub, rep, srv, ans) with discovery
   and watch for the providers the consumers (sub, req, clt, qry) need, keyed by message type and
   kind (``riaps_sim.discovery.message_port_key``): a pub of ``M`` reaches every sub of ``M`` in the
   app, the part's own included; then start the timers and call ``handleActivate``;
3. while running: when a socket is readable, drain it into its port's inbox, then call
   ``on_<port>()`` once per message (the handler reads it with ``recv*``), one handler at a time, in
   RIAPS's batch order (sub, srv, req, rep, qry, ans, timer; declaration order within a kind). A
   handler that leaves its message unread does not spin as in RIAPS: the message is dropped,
   logged and traced (``drop``, cause ``unread``);
4. on stop: ``handleDeactivate``, then timers stop, providers unregister and sockets close.

A constructor that raises is logged and traced as an ``error``, and the part stays empty, as RIAPS
skips such an instance. Every handler runs under the node's guard (an exception is logged and
traced, and the part carries on). Sends and deliveries on message ports are traced as ``send`` /
``deliver`` events whose ``detail`` is ``"<kind> <port>"``; timer ticks as ``timer`` events whose
``detail`` is ``on_<timer>``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ports

from ..component import Component
from ..discovery import PROVIDER_OF, Endpoint, message_port_key
from ..trace import Kind
from .component import building
from .loader import component_class
from .model import ComponentDecl, PortDecl
from .timers import TimerPort

__all__ = ["InstanceRecipe", "RiapsPart", "PORT_CLASSES"]

log = logging.getLogger("riaps_sim.apps")

PORT_CLASSES: dict[str, type[ports.AppPort]] = {
    "pub": ports.PubPort,
    "sub": ports.SubPort,
    "req": ports.ReqPort,
    "rep": ports.RepPort,
    "clt": ports.CltPort,
    "srv": ports.SrvPort,
    "qry": ports.QryPort,
    "ans": ports.AnsPort,
}
_PROVIDERS = ("pub", "rep", "srv", "ans")
_DISPATCH_ORDER = ("sub", "srv", "req", "rep", "qry", "ans", "timer")


@dataclass(frozen=True, repr=False)
class InstanceRecipe:
    """What it takes to build one component instance of an actor on a node: plain, picklable data.

    ``arguments`` are the constructor's keyword arguments, already converted as RIAPS converts
    them; ``local_messages`` are the messages the actor declares ``local``.
    """

    app_dir: str
    app: str
    actor: str
    instance: str
    component: ComponentDecl
    arguments: Mapping[str, Any] = field(default_factory=dict)
    local_messages: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"<InstanceRecipe {self.actor}.{self.instance}: {self.component.name}({args}) of {self.app}>"


class RiapsPart(Component):
    """The node's handle on one RIAPS component instance (see the module docstring)."""

    def __init__(self, recipe: InstanceRecipe) -> None:
        self.recipe = recipe
        self.app = recipe.app
        self.actor = recipe.actor
        self.instance = recipe.instance
        self.component: Any = None
        self._app_ports: dict[str, ports.AppPort] = {}
        self._timers: dict[str, TimerPort] = {}
        self._order: list[Any] = []
        self._endpoints: list[Endpoint] = []
        self._watches: list[tuple[str, Any]] = []
        self._active = False
        self._pumping = False

    def __repr__(self) -> str:
        return f"<RiapsPart {self.actor}.{self.instance}: {self.recipe.component.name} ports={[p.name for p in self.recipe.component.ports]}>"

    @property
    def services(self) -> Any:
        """The node hosting this part."""
        return self._node("services")

    # -- building ------------------------------------------------------------------------------------

    def _attach(self, services: Any, name: str) -> None:
        super()._attach(services, name)
        recipe = self.recipe
        cls = component_class(recipe.app_dir, recipe.app, recipe.actor, recipe.component.name, services)
        try:
            with building(self):
                instance = cls(**recipe.arguments)
        except Exception as exc:
            log.error(
                "node %s: %s(%s) raised in its constructor; the instance is skipped, as RIAPS skips it:\n%s",
                services.name,
                cls.__name__,
                dict(recipe.arguments),
                traceback.format_exc(),
            )
            # The node's wording for a component that cannot be built, so the run's checks count it as such.
            services.record(
                Kind.ERROR, name, None, detail=f"could not build component {name!r}: {cls.__name__}.__init__ raised {type(exc).__name__}: {exc}"
            )
            return
        for decl in recipe.component.ports:
            port = self._make_port(decl)
            setattr(instance, decl.name, port)
        self.component = instance
        self._order = sorted(
            [*(p for p in self._app_ports.values() if p.portKind in _DISPATCH_ORDER), *self._timers.values()],
            key=lambda p: (_DISPATCH_ORDER.index("timer" if isinstance(p, TimerPort) else p.portKind), p.index or 0),
        )

    def _make_port(self, decl: PortDecl) -> Any:
        if decl.kind == "timer":
            timer = TimerPort(decl.name, decl.period_ms or 0, self.services, self._on_tick, index=decl.index)
            self._timers[decl.name] = timer
            return timer
        scope = "local" if set(decl.messages()) & self.recipe.local_messages else "global"
        spec: dict[str, Any] = {"timed": decl.timed, "scope": scope, "index": decl.index}
        if decl.kind in ("pub", "sub"):
            spec["type"] = decl.message
        else:
            spec.update(req_type=decl.request, rep_type=decl.reply)
        port = PORT_CLASSES[decl.kind](self.services.part, decl.name, spec)
        port.set_observer(self._on_sent)
        self._app_ports[decl.name] = port
        return port

    # -- life cycle --------------------------------------------------------------------------------------

    def handleActivate(self) -> None:
        if self.component is None:
            return
        node = self.services
        for port in self._app_ports.values():
            port.setupSocket(self)
            key = self._key(port)
            if port.portKind in _PROVIDERS:
                endpoint = Endpoint(key, node.host, port.getInfo().portNum, node.name)  # type: ignore[union-attr,arg-type]
                node.discovery_register(endpoint)
                self._endpoints.append(endpoint)
            else:
                watcher = self._connector(port)
                node.discovery_watch(key, watcher)
                self._watches.append((key, watcher))
            if port.portKind != "pub":
                node.driver.watch(port.getSocket(), self._reader(port))
        self._active = True
        for timer in self._timers.values():
            timer.activate()
        node.run_handler(self.component, "handleActivate")
        self._pump()

    def handleDeactivate(self) -> None:
        if self.component is None or not self._active:
            return
        node = self.services
        node.run_handler(self.component, "handleDeactivate")
        self._active = False
        for timer in self._timers.values():
            timer.deactivate()
        for key, watcher in self._watches:
            node.discovery_unwatch(key, watcher)
        for endpoint in self._endpoints:
            node.discovery_unregister(endpoint)
        self._watches.clear()
        self._endpoints.clear()
        for port in self._app_ports.values():
            socket = port.getSocket()
            if socket is not None:
                node.driver.unwatch(socket)
                port.closeSocket()

    def _key(self, port: ports.AppPort) -> str:
        local = self.services.host if port.portScope == ports.PortScope.LOCAL else None
        provider = port.portKind if port.portKind in _PROVIDERS else PROVIDER_OF[port.portKind]
        return message_port_key(provider, port.msgType, local)

    def _connector(self, port: ports.AppPort) -> Any:
        def connect(endpoint: Endpoint, present: bool) -> None:
            # As in RIAPS, departed providers are never disconnected (see ConnPort.update).
            if present and port.getSocket() is not None:
                port.update(endpoint.host, endpoint.port)

        return connect

    def _reader(self, port: ports.AppPort) -> Any:
        def read() -> None:
            try:
                port.fetch()
            except ports.PortError as error:  # a malformed message: counted by the port, traced here
                self.services.record(Kind.DROP, self.instance_name, None, peer=port.name, detail="malformed")
                log.warning("%s: %s", self, error)
            self._pump()

        return read

    # -- dispatch ------------------------------------------------------------------------------------------

    def _on_tick(self, timer: TimerPort) -> None:
        self._pump()

    def _pump(self) -> None:
        """Call ``on_<port>`` once per waiting message, port by port in RIAPS's order, until none is left."""
        if self._pumping or not self._active:
            return
        self._pumping = True
        try:
            progress = True
            while progress and self._active and self.services.running:
                progress = False
                for port in self._order:
                    if self._active and port.ready():
                        self._deliver(port)
                        progress = True
        finally:
            self._pumping = False

    def _deliver(self, port: Any) -> None:
        node = self.services
        handler = f"on_{port.name}"
        if isinstance(port, TimerPort):
            node.record(Kind.TIMER, self.instance_name, None, detail=handler)
        else:
            node.record(Kind.DELIVER, self.instance_name, None, detail=f"{port.portKind} {port.name}")
        before = port.waiting()
        node.run_handler(self.component, handler)
        if port.waiting() >= before and port.discard():
            self._unread(port, handler)

    def _unread(self, port: Any, handler: str) -> None:
        log.warning("%s: %s did not read its message; RIAPS would call it again forever; the message is dropped", self, handler)
        self.services.record(Kind.DROP, self.instance_name, None, peer=port.name, detail="unread")

    def _on_sent(self, port: ports.AppPort, frames: list[bytes]) -> None:
        self.services.record(Kind.SEND, self.instance_name, None, detail=f"{port.portKind} {port.name}", size=len(frames[-2 if port.isTimed else -1]))
        if port.portKind in ("rep", "srv"):
            self._pump()  # a reply frees the port for the next request
