"""Run unmodified RIAPS applications: model, deployment and component modules, in both worlds.

Point ``Scenario.from_riaps_app(app_dir)`` (or ``riaps-sim run APP_DIR``) at a RIAPS application
folder, and its component modules, which ``from riaps.run.comp import Component``, run unmodified
in the simulated network, reproducibly from the seed, and as real ZeroMQ node processes.

Modules, one job each:

- ``lexer``, ``model``, ``deployment``: the ``.riaps`` and ``.depl`` languages (the subset group
  applications use; everything else is an ``AppError`` naming file, line and construct);
- ``shim``: the ``riaps`` import shim, installed only while the app's modules load;
- ``virtual``: the node's clock and generator behind the modules' ``time``, ``random``, ``datetime``;
- ``loader``: one copy of each component module per node and actor;
- ``component``: ``RiapsComponent``, the shim's ``riaps.run.comp.Component``;
- ``timers``: RIAPS timer ports; the message ports are in the ``ports`` package;
- ``part``: one component instance on a node, its ports, discovery and handler dispatch;
- ``app``: the folder turned into a scenario.
"""

from .app import RiapsApp, node_name_of
from .component import RiapsComponent
from .errors import AppError, BuildError
from .part import InstanceRecipe, RiapsPart
from .virtual import BlockingCallError

__all__ = ["AppError", "BlockingCallError", "BuildError", "InstanceRecipe", "RiapsApp", "RiapsComponent", "RiapsPart", "node_name_of"]
