"""``RiapsComponent``: the toolkit's ``Component`` as ``riaps.run.comp.Component`` presents it to RIAPS code.

An unmodified RIAPS component subclasses this (through the import shim), calls
``super().__init__()`` first, and then finds what RIAPS's base class gives it: ``self.logger`` (an
spdlog-like logger), ``self.owner``, ``self.coord`` and ``self.thread = None``, the identity
methods (``getName``, ``getTypeName``, ``getActorName``, ``getAppName``, ``getLocalID``,
``getActorID``, ``getUUID``), and, once constructed, one attribute per port of its model
(``self.<port>``), set by its part (``riaps_sim.apps.part``). Groups are the toolkit's
(``joinGroup``, ``leaveGroup``, the ten callbacks), so the same component runs in both worlds.

The part builds the instance while it is being hosted by a node (``building``), which is how the
constructor finds its owner, as RIAPS's ``Component.__init__`` finds it through ``OWNER``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
from collections.abc import Iterator
from typing import Any

from ..component import Component
from .errors import BuildError

__all__ = ["RiapsComponent", "RiapsLogger", "building"]

_building: list[Any] = []  # the part whose instance is being constructed (a stack, for safety)


@contextlib.contextmanager
def building(part: Any) -> Iterator[None]:
    """While the body runs, a ``RiapsComponent`` constructed belongs to *part*."""
    _building.append(part)
    try:
        yield
    finally:
        _building.pop()


_LEVELS = {
    "trace": "DEBUG",
    "debug": "DEBUG",
    "info": "INFO",
    "warn": "WARNING",
    "warning": "WARNING",
    "err": "ERROR",
    "error": "ERROR",
    "critical": "CRITICAL",
    "off": "CRITICAL",
}


class RiapsLogger:
    """What RIAPS apps call on ``self.logger`` (spdlog's API), over a standard ``logging.Logger``.

    Messages are usually preformatted; ``%``-style arguments are accepted too.
    """

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(f"riaps_sim.app.{name}")

    def __repr__(self) -> str:
        return f"<RiapsLogger {self._logger.name}>"

    def debug(self, msg: Any, *args: Any) -> None:
        self._logger.debug(msg, *args)

    def info(self, msg: Any, *args: Any) -> None:
        self._logger.info(msg, *args)

    def warning(self, msg: Any, *args: Any) -> None:
        self._logger.warning(msg, *args)

    warn = warning

    def error(self, msg: Any, *args: Any) -> None:
        self._logger.error(msg, *args)

    def critical(self, msg: Any, *args: Any) -> None:
        self._logger.critical(msg, *args)

    def exception(self, msg: Any, *args: Any) -> None:
        self._logger.exception(msg, *args)

    def flush(self) -> None:
        pass

    def set_level(self, level: Any) -> None:
        """Accepts spdlog levels: names (``"info"``, ``"err"``...) or ints 0-6 (trace ... off)."""
        names = ["trace", "debug", "info", "warn", "err", "critical", "off"]
        key = names[level] if isinstance(level, int) and 0 <= level < len(names) else str(getattr(level, "name", level)).lower()
        if key in _LEVELS:
            self._logger.setLevel(_LEVELS[key])

    def set_pattern(self, pattern: str) -> None:
        pass


class RiapsComponent(Component):
    """Base class of unmodified RIAPS components (``riaps.run.comp.Component``)."""

    GROUP_PRIORITY_MAX = 0
    GROUP_PRIORITY_MIN = 256

    def __init__(self) -> None:
        if not _building:
            raise BuildError(
                "<component>",
                None,
                type(self).__name__,
                "a RIAPS component is built by its actor; load the application with Scenario.from_riaps_app instead of calling the class",
            )
        part = _building[-1]
        self.owner = part
        self.coord = None
        self.thread = None
        self._riaps_part = part
        self._attach(part.services, part.instance_name)
        self.logger = RiapsLogger(f"{part.actor}.{part.instance}")  # type: ignore[assignment]

    # -- names the toolkit's Component offers read-only, which RIAPS code may assign (pitfall 12) ------------

    @property
    def random(self) -> Any:
        """The node's generator, unless the component assigned ``self.random`` itself."""
        return self.__dict__["random"] if "random" in self.__dict__ else Component.random.fget(self)  # type: ignore[attr-defined]

    @random.setter
    def random(self, value: Any) -> None:
        self.__dict__["random"] = value

    @property
    def node_name(self) -> str:
        return str(self.__dict__["node_name"]) if "node_name" in self.__dict__ else str(Component.node_name.fget(self))  # type: ignore[attr-defined]

    @node_name.setter
    def node_name(self, value: Any) -> None:
        self.__dict__["node_name"] = value

    # -- identity: RIAPS's Component getters (names, ids, the actor's UUID) ---------------------------

    def getName(self) -> str:
        """The instance name in its actor (e.g. ``filter``)."""
        return str(self._riaps_part.instance)

    def getTypeName(self) -> str:
        return type(self).__name__

    def getActorName(self) -> str:
        return str(self._riaps_part.actor)

    def getAppName(self) -> str:
        return str(self._riaps_part.app)

    def getLocalID(self) -> int:
        return id(self)

    def getActorID(self) -> bytes:
        """8 bytes: the node's IPv4 address and the process id, as RIAPS lays them out."""
        host = getattr(self._services, "host", "127.0.0.1")
        return ipaddress.IPv4Address(host).packed + (os.getpid() & 0xFFFFFFFF).to_bytes(4, "big")

    def getUUID(self) -> str:
        """The node's name (RIAPS: one UUID per node, from the deployment manager)."""
        return str(self._node("getUUID").name)

    # -- lifecycle callbacks RIAPS defines (defaults do nothing) ---------------------------------------

    def handlePassivate(self) -> None:
        pass

    def handleDeadline(self, funcName: str) -> None:
        pass

    def handleNICStateChange(self, state: str) -> None:
        pass

    def handlePeerStateChange(self, state: str, uuid: str) -> None:
        pass

    def handleCPULimit(self) -> None:
        pass

    def handleMemLimit(self) -> None:
        pass

    def handleSpcLimit(self) -> None:
        pass

    def handleNetLimit(self) -> None:
        pass
