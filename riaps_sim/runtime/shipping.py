"""Shipping user objects to other processes: by reference when importable, by value otherwise.

A user defines component classes wherever they work: a notebook cell, a script's ``__main__``, a
``.py`` scenario file (run with ``runpy``, so its module is gone once it has run), or a proper module.
A spawned node process or a sweep worker is a fresh interpreter, where only the last kind can be
found by name; plain ``pickle`` refuses the others (``Can't pickle <class '__main__.Member'>``).

``ByValue`` wraps an object so that any pickler, including ``multiprocessing``'s and any
``concurrent.futures`` executor's, carries it as a cloudpickle payload: classes and functions that
are not importable by name travel with their code, everything importable travels by name as usual.
Wrapping checks the object at once, so a thing that cannot be shipped at all (a lock, an open
socket or file in a component's arguments) is a ``ShippingError`` in the parent, before any process
starts, naming what failed and what to do.
"""

from __future__ import annotations

import pickle
from typing import Any, Generic, TypeVar

import cloudpickle

__all__ = ["ByValue", "ShippingError"]

T = TypeVar("T")

_ADVICE = (
    "define component classes at the top level of a module, a script, a scenario file or a notebook cell, "
    "and keep objects that cannot cross a process boundary (locks, sockets, open files, generators) out of "
    "their arguments"
)


class ShippingError(ValueError):
    """An object that cannot be sent to another process; the message says which and what to do."""


def _unship(payload: bytes) -> Any:
    return cloudpickle.loads(payload)


class ByValue(Generic[T]):
    """*obj*, pickled once with cloudpickle; any pickler ships it as those bytes.

    Unpickled on the other side it is the object itself, not a ``ByValue``: a task function gets
    what it was written for. In the process that made it, ``get()`` gives a copy.

    >>> import pickle
    >>> double = ByValue(lambda x: 2 * x)          # a lambda does not pickle by name
    >>> pickle.loads(pickle.dumps(double))(21)     # unpickled, it is the function itself
    42
    >>> double.get()(4)                             # here, a copy of it
    8
    """

    __slots__ = ("_payload", "_what")

    def __init__(self, obj: T, what: str = "object") -> None:
        try:
            self._payload = cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise ShippingError(f"{what} cannot be sent to other processes: {type(exc).__name__}: {exc}; {_ADVICE}") from exc
        self._what = what

    def get(self) -> T:
        """The object, rebuilt from its payload (a fresh copy each call)."""
        obj: T = _unship(self._payload)
        return obj

    @property
    def size(self) -> int:
        """The payload's size in bytes."""
        return len(self._payload)

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (_unship, (self._payload,))

    def __repr__(self) -> str:
        return f"<ByValue {self._what} {len(self._payload)} bytes>"
