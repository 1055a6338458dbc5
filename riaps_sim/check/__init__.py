"""Exhaustive, bounded model checking of the coordination machines themselves (``riaps-sim check``).

The same ``coord`` classes that run in simulation and on ZeroMQ are driven here through their
inputs and commands (no SimPy, no sockets), under an environment that may deliver, drop,
duplicate or reorder any message, fire any armed timer, crash and restart a member, partition
the group and start polls. Every state within the bounds is explored breadth-first; the
protocol's promised properties must hold in all of them, and the sometimes properties must be
reached. docs/howto/check.md explains the model and its bounds.

>>> from riaps_sim.check import Bounds, check
>>> result = check("fixed", members=3, bounds=Bounds(max_depth=1))  # one step: nothing interesting
>>> result.violation is None, result.ok, result.unreached
(True, False, ['leader_elected', 'failover', 'poll_decided_yes'])
"""

from .bounds import Bounds
from .properties import ALWAYS, PROPERTIES, SOMETIMES, Kind, Property
from .search import CheckResult, Counterexample, check

__all__ = ["check", "CheckResult", "Counterexample", "Bounds", "Property", "Kind", "PROPERTIES", "ALWAYS", "SOMETIMES"]
