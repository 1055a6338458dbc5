"""Which coordination machine a group type's ``protocol`` names: a registered one, or a user's own.

A protocol is a registered name (:data:`riaps_sim.coord.protocol.PROTOCOLS`: ``riaps``, ``fixed``
and the planted variants) or ``module:Class``, a user's own subclass of
:class:`~riaps_sim.coord.machine.GroupMachine` with a ``TABLE`` (a variant of a protocol, run,
swept, explored and checked the way the planted ones are). The import happens here, above the
protocol code, which never imports anything by name.
"""

from __future__ import annotations

import importlib

from .coord.machine import GroupMachine
from .coord.protocol import PROTOCOLS

__all__ = ["protocol_class"]


def protocol_class(protocol: str) -> type[GroupMachine]:
    """The machine class *protocol* names: a key of :data:`PROTOCOLS`, or ``module:Class``, a user's
    own subclass of :class:`~riaps_sim.coord.machine.GroupMachine` with a ``TABLE`` (a variant of a
    protocol, checked the way the planted ones are), imported from ``sys.path``.

    Raises
    ------
    ValueError
        For an unknown name, a module or class that cannot be imported, or a class that is no
        coordination machine; the message says which.
    """
    known = PROTOCOLS.get(protocol) if isinstance(protocol, str) else None
    if known is not None:
        return known
    if not isinstance(protocol, str) or protocol.count(":") != 1:
        raise ValueError(f"unknown coordination protocol {protocol!r}; choose one of {sorted(PROTOCOLS)}, or give your own as 'module:Class'")
    module_name, _, class_name = protocol.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except ImportError as exc:
        raise ValueError(f"protocol {protocol!r}: cannot import module {module_name!r} ({exc}); is it on the path (the working directory)?") from None
    except AttributeError:
        raise ValueError(f"protocol {protocol!r}: module {module_name!r} has no {class_name!r}") from None
    if not (isinstance(found, type) and issubclass(found, GroupMachine) and isinstance(getattr(found, "TABLE", None), dict)):
        raise ValueError(f"protocol {protocol!r}: {class_name} is not a coordination machine (a GroupMachine subclass with a TABLE)")
    return found
