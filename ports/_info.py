"""``PortScope`` and ``PortInfo``: what a port reports about itself once set up.

Re-exported from :mod:`ports`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

__all__ = ["PortScope", "PortInfo"]


class PortScope(IntEnum):
    """Where a port's endpoint can be reached. Group ports are always ``GLOBAL``."""

    GLOBAL = 0
    LOCAL = 1
    INTERNAL = 2

    def scope(self) -> str:
        """The scope's name as the reference spells it: ``'global'``, ``'local'`` or ``'internal'``."""
        return self.name.lower()


class PortInfo(NamedTuple):
    """The description a port returns from ``setupSocket`` and ``getInfo``.

    ``portNum`` is the bound port for bind ports, ``-1`` for connect ports, ``None`` for an
    answer port that is not bound yet.
    """

    portKind: str
    portScope: PortScope
    portName: str
    msgType: str
    portHost: str
    portNum: int | None
