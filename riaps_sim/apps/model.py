"""The RIAPS model language (``.riaps``): the subset that group applications use, read into typed records.

Supported, with the defaults RIAPS gives where a value is left out::

    app Name {
        message M;                                   // names only: payloads are untyped
        group G [with leader|consensus] using M [timed] [heartbeat = 1000, ...];
        library L;                                   // a file shipped with the app: nothing to do
        component T(a, b=2, c="x") {                 // Python class T in T.py of the app folder
            timer t 500;  timer s;  timer u 2 sec;   // periodic (ms by default), sporadic (0 or none)
            pub p : M;  sub s : M;                   // optionally 'timed'
            req q : (Req, Rep);  rep ...;  clt ...;  srv ...;  qry ...;  ans ...;
        }
        actor A(x, y=1) {
            local M, ...;                            // these ports match only on the same host
            { inst : T(a=x, b=3); other : U; }
        }
    }

Everything else is an ``AppError`` naming the file, the line and the construct, with what to do:
``device`` components, C++ components (``in cpp`` or a ``lib<t>.so`` in the folder), ``inside``
ports, ``within`` deadlines, component and actor ``scheduler``, ``real-time`` actors, ``uses``
limits, ``internal`` messages, the legacy Xtext syntax (``struct``, ``message M : S``, ``import``,
``package``), and several apps in one file.

The sections may come in any order (RIAPS insists on message, group, library, component, actor);
references are checked after the whole app is read, as RIAPS resolves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import AppError
from .lexer import Cursor, literal_value, tokenize

__all__ = [
    "AppModel",
    "ComponentDecl",
    "PortDecl",
    "Formal",
    "ActorDecl",
    "InstanceDecl",
    "Actual",
    "GroupDecl",
    "load_model",
    "parse_model",
    "MESSAGE_PORTS",
    "PAIR_PORTS",
    "INPUT_PORTS",
]

#: Port kinds carrying one message type, and those carrying a (request, reply) pair.
MESSAGE_PORTS = ("pub", "sub")
PAIR_PORTS = ("req", "rep", "clt", "srv", "qry", "ans")
#: Port kinds with an ``on_<port>`` handler (RIAPS numbers them 1, 2, ... in declaration order).
INPUT_PORTS = ("sub", "req", "rep", "srv", "qry", "ans", "timer")
_TIME_UNITS_MS = {"msec": 1, "sec": 1000, "min": 60000}
_GROUP_PARAMS = ("heartbeat", "electionMin", "electionMax", "peerTimeout", "consensusTimeout")


@dataclass(frozen=True, slots=True)
class Formal:
    """A formal parameter; ``has_default`` tells a missing default from a default of ``None``."""

    name: str
    default: Any = None
    has_default: bool = False


@dataclass(frozen=True, slots=True)
class PortDecl:
    """A port of a component type: its kind, name, message type(s) or timer period (ms, 0 = sporadic)."""

    kind: str
    name: str
    line: int
    message: str | None = None
    request: str | None = None
    reply: str | None = None
    period_ms: int | None = None
    timed: bool = False
    index: int | None = None

    @property
    def message_key(self) -> str:
        """The message part of the discovery key: ``M`` or ``Req#Rep`` (empty for a timer)."""
        if self.kind in MESSAGE_PORTS:
            return self.message or ""
        if self.kind in PAIR_PORTS:
            return f"{self.request}#{self.reply}"
        return ""

    def messages(self) -> tuple[str, ...]:
        return tuple(m for m in (self.message, self.request, self.reply) if m)


@dataclass(frozen=True, slots=True)
class ComponentDecl:
    """A component type: formals and ports, in declaration order."""

    name: str
    line: int
    formals: tuple[Formal, ...] = ()
    ports: tuple[PortDecl, ...] = ()


@dataclass(frozen=True, slots=True)
class Actual:
    """An actual argument of an instance: a literal ``value``, or ``param``, the actor formal it names."""

    name: str
    value: Any = None
    param: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceDecl:
    """``name : Component(actuals);`` inside an actor."""

    name: str
    component: str
    line: int
    actuals: tuple[Actual, ...] = ()


@dataclass(frozen=True, slots=True)
class ActorDecl:
    """An actor type: formals, the messages it scopes ``local``, and its component instances."""

    name: str
    line: int
    formals: tuple[Formal, ...] = ()
    locals: frozenset[str] = frozenset()
    instances: tuple[InstanceDecl, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupDecl:
    """``group G [with leader|consensus] using M [timed] [params];`` (kind ``default`` without ``with``)."""

    name: str
    line: int
    message: str
    kind: str = "default"
    timed: bool = False
    params: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AppModel:
    """One application of a model file."""

    name: str
    path: str
    messages: tuple[str, ...]
    groups: tuple[GroupDecl, ...]
    components: Mapping[str, ComponentDecl]
    actors: Mapping[str, ActorDecl]


def load_model(path: str | Path) -> AppModel:
    """Read the model file at *path*; raise ``AppError`` naming the file and line of anything unsupported or wrong."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AppError(path, None, "model file", f"cannot read it: {exc.strerror}") from None
    model = parse_model(source, path)
    _check_cpp(model, path.parent)
    return model


def parse_model(source: str, path: str | Path = "<model>") -> AppModel:
    """Parse model *source* (named *path* in errors)."""
    cursor = Cursor(tokenize(source, path, "model"), path)
    if cursor.at("import", "package"):
        raise _legacy(cursor, cursor.token.text)
    apps: list[AppModel] = []
    while cursor.token.kind != "end":
        if not cursor.at("app"):
            raise cursor.error("model", f"expected 'app', found {cursor.describe()}")
        if apps:
            raise cursor.error("app", "several apps in one model file are not supported; put each app in its own folder")
        apps.append(_Parser(cursor).app())
    if not apps:
        raise AppError(path, 1, "model", "no 'app' in the file")
    return apps[0]


def _legacy(cursor: Cursor, construct: str) -> AppError:
    return cursor.error(construct, "the legacy (Xtext-era) model syntax is not supported; use the current RIAPS grammar (riaps-pycom 2)")


def _unsupported(cursor: Cursor, construct: str, why: str, line: int | None = None) -> AppError:
    return cursor.error(construct, f"not supported by riaps-sim: {why}", line)


class _Parser:
    def __init__(self, cursor: Cursor) -> None:
        self.c = cursor

    def app(self) -> AppModel:
        c = self.c
        c.expect("app", "app")
        name = c.identifier("app").text
        c.expect("{", f"app {name}")
        messages: list[tuple[str, int]] = []
        groups: list[GroupDecl] = []
        components: dict[str, ComponentDecl] = {}
        actors: dict[str, ActorDecl] = {}
        while not c.at("}"):
            token = c.token
            if c.at("message"):
                messages.append(self.message())
            elif c.at("group"):
                groups.append(self.group())
            elif c.at("library"):
                c.take()
                if c.token.kind not in ("word", "string"):
                    raise c.error("library", f"expected a file or folder name, found {c.describe()}")
                c.take()
                c.expect(";", "library")
            elif c.at("component"):
                component = self.component()
                if component.name in components:
                    raise c.error("component", f"component {component.name!r} is declared twice", component.line)
                components[component.name] = component
            elif c.at("device"):
                raise _unsupported(c, "device", "device components run in their own process next to hardware; model the device as a component")
            elif c.at("actor", "real-time"):
                actor = self.actor()
                if actor.name in actors:
                    raise c.error("actor", f"actor {actor.name!r} is declared twice", actor.line)
                actors[actor.name] = actor
            elif c.at("struct"):
                raise _legacy(c, "struct")
            elif c.at("wire", "wires"):
                raise _unsupported(c, token.text, "wires are not part of the RIAPS language any more")
            else:
                raise c.error(f"app {name}", f"expected message, group, library, component or actor, found {c.describe()}")
        c.expect("}", f"app {name}")
        model = AppModel(name, c.path, tuple(m for m, _ in messages), tuple(groups), components, actors)
        _check_references(model, dict(messages), c)
        return model

    def message(self) -> tuple[str, int]:
        c = self.c
        line = c.take().line
        name = c.identifier("message").text
        if c.at(":"):
            raise _legacy(c, "message with a struct type")
        c.expect(";", f"message {name}")
        return name, line

    def group(self) -> GroupDecl:
        c = self.c
        line = c.take().line
        name = c.identifier("group").text
        if c.at("{"):
            raise _legacy(c, "group block")
        kind = "default"
        if c.accept("with"):
            if not c.at("leader", "consensus"):
                raise c.error(f"group {name}", f"expected 'leader' or 'consensus' after 'with', found {c.describe()}")
            kind = c.take().text
        c.expect("using", f"group {name}")
        message = c.identifier(f"group {name}").text
        timed = c.accept("timed") is not None
        params: dict[str, int] = {}
        while not c.at(";"):
            if params:
                c.expect(",", f"group {name} parameters")
            param = c.identifier(f"group {name} parameter")
            if param.text not in _GROUP_PARAMS:
                raise c.error(f"group {name}", f"unknown parameter {param.text!r}; known: {', '.join(_GROUP_PARAMS)}", param.line)
            c.expect("=", f"group {name} parameter {param.text}")
            params[param.text] = c.integer(f"group {name} parameter {param.text}")
        c.expect(";", f"group {name}")
        return GroupDecl(name, line, message, kind, timed, params)

    def formals(self, where: str) -> tuple[Formal, ...]:
        c = self.c
        if not c.accept("("):
            return ()
        formals: list[Formal] = []
        while not c.at(")"):
            if formals:
                c.expect(",", where)
            name = c.identifier(where)
            if any(f.name == name.text for f in formals):
                raise c.error(where, f"formal {name.text!r} is declared twice", name.line)
            if c.accept("="):
                value = self.literal(where)
                formals.append(Formal(name.text, value, True))
            else:
                formals.append(Formal(name.text))
        c.expect(")", where)
        return tuple(formals)

    def literal(self, where: str) -> Any:
        c = self.c
        token = c.token
        if token.kind == "string" or (token.kind == "word" and (token.text[0].isdigit() or token.text[0] == "-" or token.text in ("true", "false"))):
            return literal_value(c.take())
        raise c.error(where, f"expected a string, number or true/false, found {c.describe()}")

    def component(self) -> ComponentDecl:
        c = self.c
        line = c.take().line
        name = c.identifier("component").text
        where = f"component {name}"
        formals = self.formals(where)
        if c.at("in"):
            c.take()
            language = c.take()
            if language.text not in ("python", "Python", "py"):
                raise _unsupported(
                    c, f"{where} in {language.text}", "only Python components run here (C++ components are outside the subset)", language.line
                )
        if c.at("scheduler"):
            raise _unsupported(c, f"{where} scheduler", "handlers run one at a time in the order their events arrive; drop the scheduler clause")
        c.expect("{", where)
        ports: list[PortDecl] = []
        index = 0
        while not c.at("}"):
            port = self.port(where)
            if any(p.name == port.name for p in ports):
                raise c.error(where, f"port {port.name!r} is declared twice", port.line)
            if port.kind in INPUT_PORTS:
                index += 1
                port = PortDecl(**{**_fields(port), "index": index})
            ports.append(port)
        c.expect("}", where)
        return ComponentDecl(name, line, formals, tuple(ports))

    def port(self, where: str) -> PortDecl:
        c = self.c
        token = c.token
        kind = token.text
        if c.at("inside"):
            raise _unsupported(
                c, "inside port", "inside ports connect a component to threads it starts itself, and components here never start threads"
            )
        if not c.at("timer", *MESSAGE_PORTS, *PAIR_PORTS):
            raise c.error(where, f"expected a port (timer, pub, sub, req, rep, clt, srv, qry, ans), found {c.describe()}")
        c.take()
        name = c.identifier(f"{kind} port").text
        port_where = f"{kind} {name}"
        if kind == "timer":
            period = 0
            if c.token.kind == "word" and c.token.text.lstrip("-").isdigit():
                period = c.integer(port_where)
                if c.at(*_TIME_UNITS_MS):
                    period *= _TIME_UNITS_MS[c.take().text]
            self.no_deadline(port_where)
            c.expect(";", port_where)
            if period < 0:
                raise c.error(port_where, f"timer period must be >= 0, got {period}", token.line)
            return PortDecl("timer", name, token.line, period_ms=period)
        c.expect(":", port_where)
        if kind in MESSAGE_PORTS:
            message = c.identifier(port_where).text
            timed = c.accept("timed") is not None
            self.no_deadline(port_where)
            c.expect(";", port_where)
            return PortDecl(kind, name, token.line, message=message, timed=timed)
        c.expect("(", port_where)
        request = c.identifier(f"{port_where} request type").text if not c.at(",") else None
        c.expect(",", port_where)
        reply = c.identifier(f"{port_where} reply type").text if not c.at(")") else None
        c.expect(")", port_where)
        if request is None or reply is None:
            raise c.error(port_where, "both the request and the reply message types are needed", token.line)
        timed = c.accept("timed") is not None
        self.no_deadline(port_where)
        c.expect(";", port_where)
        return PortDecl(kind, name, token.line, request=request, reply=reply, timed=timed)

    def no_deadline(self, where: str) -> None:
        if self.c.at("within"):
            raise _unsupported(self.c, f"{where} within", "handler deadlines are measured on the wall clock; drop the 'within' clause")

    def actor(self) -> ActorDecl:
        c = self.c
        if c.at("real-time"):
            raise _unsupported(c, "real-time actor", "OS real-time scheduling has no meaning in simulation; drop 'real-time'")
        line = c.take().line
        name = c.identifier("actor").text
        where = f"actor {name}"
        formals = self.formals(where)
        c.expect("{", where)
        local: set[str] = set()
        if c.accept("local"):
            local.update(self.names(f"{where} local"))
        if c.at("internal"):
            raise _unsupported(
                c, f"{where} internal", "internal scope (same actor on the same host only) is not modelled; use local or global messages"
            )
        if c.at("uses"):
            raise _unsupported(c, f"{where} uses", "resource limits (cpu, mem, space, net) are not modelled; drop the 'uses' block")
        if c.at("scheduler"):
            raise _unsupported(c, f"{where} scheduler", "OS scheduling policies have no meaning in simulation; drop the clause")
        c.expect("{", where)
        instances: list[InstanceDecl] = []
        while not c.at("}"):
            instance = self.instance(where)
            if any(i.name == instance.name for i in instances):
                raise c.error(where, f"instance {instance.name!r} is declared twice", instance.line)
            instances.append(instance)
        c.expect("}", where)
        c.expect("}", where)
        if not instances:
            raise c.error(where, "an actor needs at least one component instance", line)
        return ActorDecl(name, line, formals, frozenset(local), tuple(instances))

    def names(self, where: str) -> list[str]:
        c = self.c
        names = [c.identifier(where).text]
        while c.accept(","):
            names.append(c.identifier(where).text)
        c.expect(";", where)
        return names

    def instance(self, where: str) -> InstanceDecl:
        c = self.c
        name = c.identifier(f"{where} instance")
        c.expect(":", f"instance {name.text}")
        component = c.identifier(f"instance {name.text}").text
        actuals: list[Actual] = []
        iwhere = f"instance {name.text}"
        if c.accept("("):
            while not c.at(")"):
                if actuals:
                    c.expect(",", iwhere)
                arg = c.identifier(iwhere)
                if any(a.name == arg.text for a in actuals):
                    raise c.error(iwhere, f"argument {arg.text!r} is given twice", arg.line)
                c.expect("=", f"{iwhere} argument {arg.text}")
                token = c.token
                if token.kind == "word" and token.text.isidentifier() and token.text not in ("true", "false"):
                    actuals.append(Actual(arg.text, param=c.take().text))
                else:
                    actuals.append(Actual(arg.text, value=self.literal(f"{iwhere} argument {arg.text}")))
            c.expect(")", iwhere)
        c.expect(";", iwhere)
        return InstanceDecl(name.text, component, name.line, tuple(actuals))


def _fields(port: PortDecl) -> dict[str, Any]:
    return {f: getattr(port, f) for f in PortDecl.__slots__}


def _check_references(model: AppModel, messages: dict[str, int], c: Cursor) -> None:
    def known(message: str, line: int, where: str) -> None:
        if message not in messages:
            raise c.error(where, f"message type {message!r} is not declared (declare it with 'message {message};')", line)

    for group in model.groups:
        known(group.message, group.line, f"group {group.name}")
    for component in model.components.values():
        for port in component.ports:
            for message in port.messages():
                known(message, port.line, f"{port.kind} {port.name}")
    for actor in model.actors.values():
        for message in actor.locals:
            known(message, actor.line, f"actor {actor.name} local")
        formals = {f.name for f in actor.formals}
        for instance in actor.instances:
            if instance.component not in model.components:
                raise c.error(f"instance {instance.name}", f"component {instance.component!r} is not declared", instance.line)
            for actual in instance.actuals:
                if actual.param is not None and actual.param not in formals:
                    raise c.error(
                        f"instance {instance.name} argument {actual.name}",
                        f"{actual.param!r} is not a formal of actor {actor.name} (its formals: {sorted(formals) or 'none'}); quote it for a string",
                        instance.line,
                    )


def _check_cpp(model: AppModel, folder: Path) -> None:
    for component in model.components.values():
        library = folder / f"lib{component.name.lower()}.so"
        if library.exists():
            raise AppError(
                model.path,
                component.line,
                f"component {component.name}",
                f"not supported by riaps-sim: {library.name} makes RIAPS run it as a C++ component; only Python components run here",
            )
