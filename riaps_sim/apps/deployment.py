"""The RIAPS deployment language (``.depl``), and how actor arguments reach component constructors.

Grammar (what riaps-sim reads of RIAPS's deployment language)::

    app Name {
        host all { network any; }                 // firewall rules: read and ignored
        on all Actor(a=1, b='x'), Other;          // every host
        on (h1, 10.0.0.2) Actor(a=2);             // the listed hosts
    }

A host is a name or an address (``[\\w.-]+``). A bare word as an argument value is a string, as in
RIAPS. The same actor on the same host twice is skipped with a warning (RIAPS: "repeated").

Arguments then follow RIAPS's conversions (§2.3), its oddities included, so that an application
sees the values it would see on RIAPS: every deployment value becomes text; an actor formal with a
default converts it to the default's type; one without infers the type (``'1'`` is the int 1 and
``'False'`` is **True**, a RIAPS bug that is reproduced and logged); a bool default cannot be set
from a deployment. Component arguments take the instance's actual, or the actor formal it names,
else the component formal's default. A missing value is a ``BuildError``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import AppError, BuildError
from .lexer import Cursor, literal_value, tokenize
from .model import ActorDecl, AppModel, ComponentDecl, InstanceDecl

__all__ = ["Deployment", "Placement", "load_deployment", "parse_deployment", "actor_arguments", "component_arguments"]

log = logging.getLogger("riaps_sim.apps")


@dataclass(frozen=True, slots=True)
class Placement:
    """One actor of an ``on`` clause: the hosts (``None`` for ``all``), the actor and its arguments."""

    hosts: tuple[str, ...] | None
    actor: str
    arguments: tuple[tuple[str, Any], ...]
    line: int


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment file: the app it deploys and its placements, in file order."""

    app: str
    path: str
    placements: tuple[Placement, ...]

    def named_hosts(self) -> list[str]:
        """The hosts the ``on (...)`` clauses name, in order of first mention."""
        seen: dict[str, None] = {}
        for placement in self.placements:
            for host in placement.hosts or ():
                seen[host] = None
        return list(seen)


def load_deployment(path: str | Path) -> Deployment:
    """Read the deployment file at *path*; raise ``AppError`` naming the file and line of anything wrong."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AppError(path, None, "deployment file", f"cannot read it: {exc.strerror}") from None
    return parse_deployment(source, path)


def parse_deployment(source: str, path: str | Path = "<deployment>") -> Deployment:
    """Parse deployment *source* (named *path* in errors)."""
    c = Cursor(tokenize(source, path, "depl"), path)
    c.expect("app", "deployment")
    app = c.identifier("deployment app").text
    c.expect("{", f"deployment of {app}")
    while c.at("host"):
        _host_clause(c)
    placements: list[Placement] = []
    while c.at("on"):
        placements.extend(_on_clause(c))
    if c.at("host"):
        raise c.error("host", "host clauses come before all 'on' clauses")
    c.expect("}", f"deployment of {app}")
    if not placements:
        raise AppError(path, c.token.line, f"deployment of {app}", "no 'on' clause: nothing is deployed")
    if c.token.kind != "end":
        raise c.error("deployment", f"unexpected {c.describe()} after the app's closing brace; one app per deployment file")
    return Deployment(app, str(path), tuple(placements))


def _host_clause(c: Cursor) -> None:
    c.take()
    c.take()  # 'all' or a host
    c.expect("{", "host")
    c.expect("network", "host")
    while not c.at(";"):
        if c.token.kind == "end":
            raise c.error("host network", "expected ';'")
        c.take()
    c.expect(";", "host network")
    c.expect("}", "host")


_HOST = re.compile(r"[\w.-]+")


def _on_clause(c: Cursor) -> list[Placement]:
    line = c.take().line
    hosts: tuple[str, ...] | None
    if c.accept("all"):
        hosts = None
    else:
        c.expect("(", "on")
        names: list[str] = []
        while not c.at(")"):
            if names:
                c.expect(",", "on (hosts)")
            token = c.take()
            if token.kind != "word" or not _HOST.fullmatch(token.text):
                raise c.error("on (hosts)", f"expected a host name or address, found {token.text!r}", token.line)
            names.append(token.text)
        c.expect(")", "on (hosts)")
        if not names:
            raise c.error("on ()", "the host list is empty", line)
        hosts = tuple(names)
    placements = [_actor_ref(c, hosts, line)]
    while c.accept(","):
        placements.append(_actor_ref(c, hosts, line))
    c.expect(";", "on")
    return placements


def _actor_ref(c: Cursor, hosts: tuple[str, ...] | None, line: int) -> Placement:
    actor = c.identifier("on ... actor")
    arguments: list[tuple[str, Any]] = []
    where = f"actor {actor.text}"
    if c.accept("("):
        while not c.at(")"):
            if arguments:
                c.expect(",", where)
            name = c.identifier(where)
            c.expect("=", f"{where} argument {name.text}")
            value = c.take()
            if value.kind not in ("word", "string"):
                raise c.error(f"{where} argument {name.text}", f"expected a value, found {value.text!r}", value.line)
            arguments.append((name.text, literal_value(value)))
        c.expect(")", where)
    return Placement(hosts, actor.text, tuple(arguments), actor.line)


# -- arguments, as RIAPS converts them -----------------------------------------------------------------


def _riaps_text(value: Any) -> str:
    """What the RIAPS controller puts on the actor's command line for *value*."""
    return str(value)


_INT_TEXT = re.compile(r"^-?\d+$")


def actor_arguments(actor: ActorDecl, placement: Placement, deployment: Deployment) -> dict[str, Any]:
    """The values of *actor*'s formals for *placement*, converted as the RIAPS actor converts them."""
    given = dict(placement.arguments)
    unknown = sorted(set(given) - {f.name for f in actor.formals})
    if unknown:
        raise BuildError(
            deployment.path,
            placement.line,
            f"actor {actor.name}",
            f"argument(s) {unknown} are not formals of the actor (its formals: {[f.name for f in actor.formals] or 'none'}); "
            "RIAPS would ignore all its arguments",
        )
    values: dict[str, Any] = {}
    for formal in actor.formals:
        where = f"actor {actor.name} argument {formal.name}"
        if formal.name not in given:
            if not formal.has_default:
                raise BuildError(deployment.path, placement.line, where, "required parameter missing (no default in the model)")
            values[formal.name] = formal.default
            continue
        text = _riaps_text(given[formal.name])
        if formal.has_default:
            if isinstance(formal.default, bool):
                raise BuildError(deployment.path, placement.line, where, "a bool parameter with a default cannot be set from a deployment in RIAPS")
            try:
                values[formal.name] = type(formal.default)(text)
            except ValueError:
                raise BuildError(
                    deployment.path, placement.line, where, f"{text!r} is not a {type(formal.default).__name__} like its default"
                ) from None
        else:
            values[formal.name] = _infer(text, where)
    return values


def _infer(text: str, where: str) -> Any:
    if text in ("True", "False"):
        if text == "False":
            log.warning("%s: 'False' becomes True, as in RIAPS (its type inference treats any bool text as True)", where)
        return True
    if _INT_TEXT.match(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def component_arguments(component: ComponentDecl, instance: InstanceDecl, actor_values: Mapping[str, Any], path: str) -> dict[str, Any]:
    """The keyword arguments of *instance*'s constructor: its actuals (literal or actor formal), else defaults."""
    actuals = {a.name: a for a in instance.actuals}
    arguments: dict[str, Any] = {}
    for formal in component.formals:
        actual = actuals.get(formal.name)
        if actual is not None:
            arguments[formal.name] = actor_values[actual.param] if actual.param is not None else actual.value
        elif formal.has_default and formal.default is not None:
            arguments[formal.name] = formal.default
        else:
            raise BuildError(
                path, instance.line, f"instance {instance.name} argument {formal.name}", "has no defined value (no actual and no default)"
            )
    return arguments


def check_deployment(deployment: Deployment, model: AppModel) -> None:
    """Raise ``AppError`` unless *deployment* deploys *model*'s app and names only its actors."""
    if deployment.app != model.name:
        raise AppError(deployment.path, 1, f"app {deployment.app}", f"the model {model.path} defines app {model.name!r}, not {deployment.app!r}")
    for placement in deployment.placements:
        if placement.actor not in model.actors:
            raise AppError(
                deployment.path, placement.line, f"actor {placement.actor}", f"not an actor of app {model.name} (its actors: {sorted(model.actors)})"
            )
