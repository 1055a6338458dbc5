"""Load a component module of an application: one private copy per node and actor, through the shim.

RIAPS runs each actor in its own process, so module globals and class attributes are per actor:
two actors never share them, even on one host, and applications rely on that. A simulation runs every node in one process, so each (node, actor)
gets its own copy of each component module, executed from the app folder's ``<Type>.py`` with the
``riaps`` shim installed (``riaps_sim.apps.shim``), then virtualised for its node
(``riaps_sim.apps.virtual``). Instances of one type in one actor share their copy, as in RIAPS. A
restarted node (a new ``Node``) loads fresh copies, as a restarted RIAPS actor would.

A copy is registered in ``sys.modules`` under a flat private name
(``_riaps_app__<App>__<node>__<actor>__<Type>__<n>``) so that pickle finds the classes it defines
within the process, and removed from it when its node is garbage-collected (a sweep of thousands of
runs in one process does not accumulate copies; the copy holds its node's clock only weakly). Other modules that component modules import from the app folder are ordinary
modules, loaded once per process and shared.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import sys
import traceback
import types
import weakref
from pathlib import Path
from typing import Any

from .errors import AppError
from .shim import installed
from .virtual import virtualize

__all__ = ["component_class"]

log = logging.getLogger("riaps_sim.apps")

_copies: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], types.ModuleType]] = weakref.WeakKeyDictionary()
_serial = itertools.count(1)


def component_class(app_dir: str, app: str, actor: str, type_name: str, node: Any) -> type:
    """The class *type_name* from ``<app_dir>/<type_name>.py``, in *node*'s copy for *actor*.

    *node* supplies ``name``, ``clock()`` and ``random``. Raises ``AppError`` naming the file if
    it is missing, fails to import, or lacks a ``RiapsComponent`` subclass of that name.
    """
    from .component import RiapsComponent

    copies = _copies.setdefault(node, {})
    module = copies.get((actor, type_name))
    path = Path(app_dir) / f"{type_name}.py"
    if module is None:
        name = f"_riaps_app__{app}__{node.name}__{actor}__{type_name}__{next(_serial)}"
        module = _load(path, app_dir, name)
        weakref.finalize(node, sys.modules.pop, name, None)
        rebound = virtualize(module, _weak_clock(node), node.random, f"{type_name} on node {node.name}")
        log.debug("%s: %s's copy of %s uses the node's %s", node.name, actor, path.name, ", ".join(rebound) or "nothing")
        copies[(actor, type_name)] = module
    cls = getattr(module, type_name, None)
    if not (isinstance(cls, type) and issubclass(cls, RiapsComponent)):
        raise AppError(
            path,
            None,
            f"component {type_name}",
            f"the module defines no class {type_name} derived from riaps.run.comp.Component (module, class and component type share one name in RIAPS)",
        )
    return cls


def _weak_clock(node: Any) -> Any:
    method = weakref.WeakMethod(node.clock)

    def clock() -> float:
        bound = method()
        if bound is None:
            raise RuntimeError("the node of this component module copy is gone; its clock cannot be read")
        return float(bound())

    return clock


def _load(path: Path, app_dir: str, name: str) -> types.ModuleType:
    if not path.is_file():
        raise AppError(path, None, f"component {path.stem}", f"no module {path.name} in the app folder {app_dir}")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with installed(str(Path(app_dir).resolve())):
            spec.loader.exec_module(module)
    except AppError:
        del sys.modules[name]
        raise
    except Exception as exc:
        del sys.modules[name]
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
        line = frames[-1].lineno if frames else None
        raise AppError(path, line, f"import {path.stem}", f"{type(exc).__name__}: {exc}") from exc
    return module
