"""The ``riaps`` import shim: RIAPS's module names, answered by this toolkit, for an application only.

An unmodified component module starts with ``from riaps.run.comp import Component`` (and perhaps
``from riaps.run.dc import Poll``, ``from riaps.run.exc import PortError``). ``installed()`` makes
those imports resolve here, and only while the application's modules are being loaded:

- it puts a meta-path finder (``RiapsShimFinder``) first on ``sys.meta_path`` that answers
  ``riaps`` and the ``riaps.*`` names of ``SHIM_MODULES``, and refuses the other ``riaps.*`` names
  with an ``ImportError`` that says what is offered (so a real RIAPS module is never mixed in);
- it sets aside any ``riaps`` modules already imported (a real RIAPS installation the user
  imported), so the application sees the shim;
- on leaving, it removes the finder and the shim modules and puts the set-aside modules back, so
  ``import riaps`` in the user's own code afterwards finds the real RIAPS (or nothing), never the
  shim. The application keeps the shim objects it imported.

The shim offers:

================== ===============================================================================
``riaps.run.comp`` ``Component`` (``riaps_sim.apps.component.RiapsComponent``)
``riaps.run.dc``   ``Poll`` (``MAJORITY``, ``CONSENSUS``, ``VALUE``, ``ACTION``), ``Group``
``riaps.run.exc``  ``PortError``, ``OperationError``, ``SetupError``, ``BuildError``, ``StateError``
``riaps.run.port`` ``PortInfo``, ``PortScope``
================== ===============================================================================
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["RiapsShimFinder", "installed", "SHIM_MODULES"]


class Poll:
    """``riaps.run.dc.Poll``: the kinds and subjects of polls, with the values the reference compares."""

    MAJORITY = "majority"
    CONSENSUS = "consensus"
    VALUE = "value"
    ACTION = "action"


class StateError(Exception):
    """``riaps.run.exc.StateError``."""


def _comp(module: types.ModuleType) -> None:
    from .component import RiapsComponent

    module.Component = RiapsComponent  # type: ignore[attr-defined]


def _dc(module: types.ModuleType) -> None:
    from ..coord.group import Group

    module.Poll = Poll  # type: ignore[attr-defined]
    module.Group = Group  # type: ignore[attr-defined]


def _exc(module: types.ModuleType) -> None:
    import ports

    from .errors import BuildError

    for name, value in (
        ("PortError", ports.PortError),
        ("OperationError", ports.OperationError),
        ("SetupError", ports.SetupError),
        ("BuildError", BuildError),
        ("StateError", StateError),
    ):
        setattr(module, name, value)


def _port(module: types.ModuleType) -> None:
    import ports

    module.PortInfo = ports.PortInfo  # type: ignore[attr-defined]
    module.PortScope = ports.PortScope  # type: ignore[attr-defined]


def _package(module: types.ModuleType) -> None:
    module.__path__ = []


#: The module names the shim answers, and how each is filled.
SHIM_MODULES: dict[str, Callable[[types.ModuleType], None]] = {
    "riaps": _package,
    "riaps.run": _package,
    "riaps.run.comp": _comp,
    "riaps.run.dc": _dc,
    "riaps.run.exc": _exc,
    "riaps.run.port": _port,
}
_SHIM_ORIGIN = "riaps-sim shim"


class _ShimLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        module.__doc__ = f"{module.__name__} as riaps-sim offers it to RIAPS applications (riaps_sim.apps.shim)."
        SHIM_MODULES[module.__name__](module)


class RiapsShimFinder(importlib.abc.MetaPathFinder):
    """Answers ``riaps`` and ``riaps.*`` imports with the shim's modules; refuses other ``riaps.*`` names."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None) -> Any:
        if fullname != "riaps" and not fullname.startswith("riaps."):
            return None
        if fullname not in SHIM_MODULES:
            offered = ", ".join(n for n in SHIM_MODULES if n.count(".") == 2)
            raise ModuleNotFoundError(
                f"riaps-sim runs RIAPS components with its own riaps modules and does not offer {fullname!r} "
                f"(offered: {offered}); device interfaces, FSM components and the RIAPS platform are outside what it runs",
                name=fullname,
            )
        return importlib.machinery.ModuleSpec(fullname, _ShimLoader(), origin=_SHIM_ORIGIN, is_package=fullname in ("riaps", "riaps.run"))


def _is_shim(module: Any) -> bool:
    spec = getattr(module, "__spec__", None)
    return spec is not None and spec.origin == _SHIM_ORIGIN


@contextlib.contextmanager
def installed(app_dir: str | None = None) -> Iterator[None]:
    """Within the body, ``riaps.*`` imports get the shim and *app_dir* is first on ``sys.path``.

    Everything is put back on leaving, exceptions included: see the module docstring.
    """
    set_aside = {name: sys.modules.pop(name) for name in list(sys.modules) if name == "riaps" or name.startswith("riaps.")}
    finder = RiapsShimFinder()
    sys.meta_path.insert(0, finder)
    if app_dir is not None:
        sys.path.insert(0, app_dir)
    try:
        yield
    finally:
        if app_dir is not None and app_dir in sys.path:
            sys.path.remove(app_dir)
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        for name in [n for n, m in sys.modules.items() if (n == "riaps" or n.startswith("riaps.")) and _is_shim(m)]:
            del sys.modules[name]
        sys.modules.update(set_aside)
