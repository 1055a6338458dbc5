"""``RiapsApp``: an application folder (model, deployment, component modules) turned into a scenario.

``RiapsApp.load(app_dir, depl=None)`` reads the folder's model (the ``.riaps`` file whose app the
deployment deploys) and deployment (the folder's only ``.depl`` file unless named), and checks
every component module exists. ``scenario(...)`` places the actors on nodes:

- one node per RIAPS host. Hosts are the names the deployment's ``on (...)`` clauses use, or
  *hosts* (a count or a list of names) when it deploys ``on all``; a host name that is not an
  identifier (``10.0.0.5``, ``bbb-1.local``) becomes one (``h10_0_0_5``, ``bbb_1_local``);
- each (host, actor) is one RIAPS actor process; here its instances run on the host's node as
  parts named ``<Actor>.<instance>``. An actor placed twice on one host runs once (RIAPS skips the
  repeat with a message; so does this, with a warning);
- the group types come from the model's ``group`` declarations, their timing parameters included.

The scenario's nodes carry ``RiapsPart`` components with picklable recipes, so the same scenario
runs in simulation and as real node processes, which load the modules themselves.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..coord.timing import Timing
from ..faults import Fault, FaultSchedule
from ..model import GroupType
from ..scenario import NodeSpec, Scenario
from .deployment import Deployment, actor_arguments, check_deployment, component_arguments, load_deployment
from .errors import AppError
from .model import AppModel, load_model
from .part import InstanceRecipe, RiapsPart

__all__ = ["RiapsApp", "node_name_of"]

log = logging.getLogger("riaps_sim.apps")


def node_name_of(host: str) -> str:
    """The node name for a RIAPS host name or address: itself if an identifier, else made one."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", host)
    return name if name.isidentifier() else f"h{name}"


@dataclass(frozen=True)
class RiapsApp:
    """A loaded application: its folder, model and deployment."""

    folder: Path
    model: AppModel
    deployment: Deployment

    @classmethod
    def load(cls, app_dir: str | Path, depl: str | Path | None = None) -> RiapsApp:
        """Read *app_dir*'s model and deployment (*depl*, or the folder's only ``.depl``).

        Raises ``AppError`` naming the file (and line) of whatever is missing, unsupported or wrong.
        """
        folder = Path(app_dir).resolve()
        if not folder.is_dir():
            raise AppError(folder, None, "app folder", "not a folder")
        depl_path = Path(depl) if depl is not None else _only(folder, "*.depl", "deployment (.depl) file", "--depl / depl=")
        deployment = load_deployment(depl_path)
        models = sorted(folder.glob("*.riaps"))
        if not models:
            raise AppError(folder, None, "app folder", "no model (.riaps) file")
        loaded = [load_model(path) for path in models]
        matching = [m for m in loaded if m.name == deployment.app]
        if not matching:
            raise AppError(depl_path, 1, f"app {deployment.app}", f"no model in {folder} defines it (models define {[m.name for m in loaded]})")
        model = matching[0]
        check_deployment(deployment, model)
        for component in model.components.values():
            if not (folder / f"{component.name}.py").is_file():
                raise AppError(model.path, component.line, f"component {component.name}", f"no module {component.name}.py in {folder}")
        return cls(folder, model, deployment)

    def group_types(self, protocol: str = "riaps") -> tuple[GroupType, ...]:
        """The model's groups as ``GroupType`` objects (a group's timing parameters are checked here)."""
        types = []
        for group in self.model.groups:
            try:
                types.append(
                    GroupType(
                        name=group.name,
                        kind=group.kind,
                        message=group.message,
                        timed=group.timed,
                        timing=Timing.from_model(dict(group.params)),
                        protocol=protocol,
                    )
                )
            except ValueError as exc:
                raise AppError(self.model.path, group.line, f"group {group.name}", str(exc)) from None
        return tuple(types)

    def hosts(self, hosts: int | Sequence[str] | None = None) -> list[str]:
        """The RIAPS hosts of the run: *hosts* (a count gives ``h1``..), else those the deployment names."""
        if isinstance(hosts, int):
            if hosts < 1:
                raise ValueError(f"hosts must be >= 1, got {hosts}")
            names = [f"h{i}" for i in range(1, hosts + 1)]
        elif hosts is not None:
            names = list(hosts)
        else:
            names = self.deployment.named_hosts()
        named = self.deployment.named_hosts()
        missing = [h for h in named if h not in names]
        if missing:
            raise ValueError(f"the deployment {self.deployment.path} places actors on {missing}, which are not among the hosts {names}")
        if not names:
            raise ValueError(
                f"the deployment {self.deployment.path} only deploys 'on all' hosts; say how many hosts the run has (hosts=3, or --hosts 3)"
            )
        return names

    def nodes(self, hosts: int | Sequence[str] | None = None) -> tuple[NodeSpec, ...]:
        """One node per host, running the parts of the actors the deployment places there."""
        parts: dict[str, dict[str, tuple[type, dict[str, Any]]]] = {}
        placed: set[tuple[str, str]] = set()
        for host in self.hosts(hosts):
            parts[host] = {}
        for placement in self.deployment.placements:
            actor = self.model.actors[placement.actor]
            values = actor_arguments(actor, placement, self.deployment)
            for host in placement.hosts or list(parts):
                if (host, actor.name) in placed:
                    log.warning(
                        "%s:%s: actor %s is already deployed on %s; skipped, as RIAPS skips a repeated actor",
                        self.deployment.path,
                        placement.line,
                        actor.name,
                        host,
                    )
                    continue
                placed.add((host, actor.name))
                for instance in actor.instances:
                    component = self.model.components[instance.component]
                    recipe = InstanceRecipe(
                        app_dir=str(self.folder),
                        app=self.model.name,
                        actor=actor.name,
                        instance=instance.name,
                        component=component,
                        arguments=component_arguments(component, instance, values, self.model.path),
                        local_messages=actor.locals,
                    )
                    parts[host][f"{actor.name}.{instance.name}"] = (RiapsPart, {"recipe": recipe})
        names = {host: node_name_of(host) for host in parts}
        clashes = sorted({n for n in names.values() if list(names.values()).count(n) > 1})
        if clashes:
            raise ValueError(f"hosts {sorted(parts)} give clashing node names {clashes}; rename the hosts")
        return tuple(NodeSpec(names[host], components) for host, components in parts.items())

    def scenario(
        self,
        *,
        hosts: int | Sequence[str] | None = None,
        faults: Sequence[Fault] = (),
        duration: float = 60.0,
        seed: int = 0,
        topology: Any = None,
        name: str | None = None,
        protocol: str = "riaps",
        description: str = "",
    ) -> Scenario:
        """A scenario running this application: its nodes and groups, plus *faults*, *topology*, *duration* (s), *seed*."""
        return Scenario(
            name or self.model.name,
            self.group_types(protocol),
            self.nodes(hosts),
            FaultSchedule(faults),
            duration,
            seed,
            description or f"RIAPS app {self.model.name} from {self.folder.name}/ deployed by {Path(self.deployment.path).name}",
            topology,
        )


def _only(folder: Path, pattern: str, what: str, option: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise AppError(folder, None, "app folder", f"expected one {what}, found {[p.name for p in found] or 'none'}; name it with {option}")
    return found[0]
