"""riaps-sim: study RIAPS group coordination in simulation, then run the same code on real ZeroMQ.

The names most users need are here; the rest live in their modules (``riaps_sim.faults``,
``riaps_sim.analysis``, ``riaps_sim.net``, ``riaps_sim.runtime``...). Importing this package does
not import matplotlib: plots import it when they draw.
"""

from .component import Component
from .coord.group import Group
from .coord.timing import Timing
from .model import GroupType
from .runner import RunResult, run_scenario
from .scenario import NodeSpec, Scenario, ScenarioError, load_scenario
from .sweep import SweepResult, sweep
from .trace import Kind, Trace


def _installed_version() -> str:
    """The version in the installed package's metadata (``pyproject.toml`` holds the one number)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("riaps-sim")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"


__version__ = _installed_version()
__all__ = [
    "Component",
    "Group",
    "GroupType",
    "Kind",
    "NodeSpec",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SweepResult",
    "Timing",
    "Trace",
    "__version__",
    "load_scenario",
    "run_scenario",
    "sweep",
]
