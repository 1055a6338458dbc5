"""Loading RIAPS models and deployments: the supported subset, its defaults, and errors naming file and line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from riaps_sim.apps import AppError, BuildError, RiapsApp
from riaps_sim.apps.deployment import actor_arguments, component_arguments, load_deployment, parse_deployment
from riaps_sim.apps.model import load_model, parse_model

APPS = Path(__file__).parent / "apps"

BEACON = """\
// two-component heartbeat app
app Beacon {
    message Ping;
    message Status;
    message Ask;  message Reply;
    group Crew with leader using Status heartbeat = 500, peerTimeout = 3000;
    group Loose using Ping;
    /* a block
       comment */
    component Emitter(label, rate=2.0, on=true, note="n") {
        timer tick 500;
        timer backoff;
        timer slow 2 sec;
        pub ping : Ping;
        ans info : (Ask, Reply) timed;
    }
    component Watcher() {
        sub ping : Ping;
        qry info : (Ask, Reply);
    }
    actor Node(tag, rate=1.5) {
        local Ask, Reply;
        {
            em : Emitter(label=tag, rate=rate);
            wa : Watcher;
        }
    }
}
"""


def test_model_subset_with_riaps_defaults() -> None:
    """Messages, groups (kind, params), formals with typed defaults, timers in ms, ports, indices and locals are read."""
    model = parse_model(BEACON, "beacon.riaps")
    assert model.name == "Beacon" and model.messages == ("Ping", "Status", "Ask", "Reply")
    crew, loose = model.groups
    assert (crew.kind, crew.message, dict(crew.params)) == ("leader", "Status", {"heartbeat": 500, "peerTimeout": 3000})
    assert loose.kind == "default"
    emitter = model.components["Emitter"]
    assert [(f.name, f.default, f.has_default) for f in emitter.formals] == [
        ("label", None, False),
        ("rate", 2.0, True),
        ("on", True, True),
        ("note", "n", True),
    ]
    ports = {p.name: p for p in emitter.ports}
    assert (ports["tick"].period_ms, ports["backoff"].period_ms, ports["slow"].period_ms) == (500, 0, 2000)
    assert [p.index for p in emitter.ports] == [1, 2, 3, None, 4]  # input ports numbered, pub not
    assert ports["info"].message_key == "Ask#Reply" and ports["info"].timed
    assert model.components["Watcher"].formals == ()
    node = model.actors["Node"]
    assert node.locals == {"Ask", "Reply"}
    assert [(a.name, a.param) for a in node.instances[0].actuals] == [("label", "tag"), ("rate", "rate")]


UNSUPPORTED = [
    ("device", "    device Gpio() { pub p : Ping; }\n", "device"),
    ("C++ component", "    component Fast() in cpp { pub p : Ping; }\n", "in cpp"),
    ("component scheduler", "    component Ordered() scheduler priority; { sub s : Ping; }\n", "scheduler"),
    ("inside port", "    component Inner() { inside wire; }\n", "inside port"),
    ("deadline", "    component Late() { sub s : Ping within 20 msec; }\n", "within"),
    ("real-time actor", "    component C() { pub p : Ping; }\n    real-time actor RT() { { c : C; } }\n", "real-time"),
    ("internal messages", "    component C() { pub p : Ping; }\n    actor A() { internal Ping; { c : C; } }\n", "internal"),
    ("resource limits", "    component C() { pub p : Ping; }\n    actor A() { uses { cpu 10 %; } { c : C; } }\n", "uses"),
    ("actor scheduler", "    component C() { pub p : Ping; }\n    actor A() { scheduler rr; { c : C; } }\n", "scheduler"),
    ("legacy struct", "    struct S { }\n", "struct"),
    ("legacy typed message", "    message Typed : S;\n", "message with a struct type"),
    ("legacy group block", "    group g { uses leader; }\n", "group block"),
]


@pytest.mark.parametrize("name, body, construct", UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_constructs_name_file_line_and_construct(tmp_path: Path, name: str, body: str, construct: str) -> None:
    """Each construct outside the subset is an AppError naming the file, the line it is on and the construct."""
    path = tmp_path / "bad.riaps"
    path.write_text("app Bad {\n    message Ping;\n" + body + "}\n", encoding="utf-8")
    with pytest.raises(AppError) as raised:
        load_model(path)
    error = raised.value
    lines = path.read_text().splitlines()
    assert error.path == str(path) and construct in error.construct
    assert construct.split()[0].rstrip(":") in lines[error.line - 1], f"line {error.line} is {lines[error.line - 1]!r}"
    assert str(error).startswith(f"{path}:{error.line}: ")


def test_cpp_library_in_the_folder_is_refused(tmp_path: Path) -> None:
    """A lib<type>.so next to the model makes RIAPS run the component as C++: refused at the component's line."""
    (tmp_path / "app.riaps").write_text("app A {\n message M;\n component Fast() { pub p : M; }\n actor X() { { f : Fast; } }\n}\n")
    (tmp_path / "libfast.so").write_bytes(b"")
    with pytest.raises(AppError, match=r"app\.riaps:3: component Fast: .*libfast\.so"):
        load_model(tmp_path / "app.riaps")


def test_legacy_imports_and_several_apps_are_refused() -> None:
    """The Xtext-era 'import' and a second app in one file are named with their line."""
    with pytest.raises(AppError, match=r"m\.riaps:1: import"):
        parse_model("import x;\napp A {}", "m.riaps")
    two = "app A { message M; component C() { pub p : M; } actor X() { { c : C; } } }\napp B { }"
    with pytest.raises(AppError, match=r"m\.riaps:2: app: several apps"):
        parse_model(two, "m.riaps")


@pytest.mark.parametrize(
    "source, message",
    [
        ("app A { message M; component C() { pub p : N; } actor X() { { c : C; } } }", "message type 'N' is not declared"),
        ("app A { message M; component C() { pub p : M; } actor X() { { c : D; } } }", "component 'D' is not declared"),
        ("app A { message M; component C(a) { pub p : M; } actor X() { { c : C(a=q); } } }", "'q' is not a formal of actor X"),
        ("app A { message M; component C() { pub p : M; sub p : M; } actor X() { { c : C; } } }", "port 'p' is declared twice"),
        (
            "app A { message M; group G with leader using M speed = 3; component C() { pub p : M; } actor X() { { c : C; } } }",
            "unknown parameter 'speed'",
        ),
        ("app A { message M; component C() { timer t 1.5; } actor X() { { c : C; } } }", "expected"),
        ("app A { message M; component C() { pub p : M } actor X() { { c : C; } } }", "expected ';'"),
    ],
)
def test_model_mistakes_are_named(source: str, message: str) -> None:
    """References, duplicates and syntax errors are AppErrors with the file and line."""
    with pytest.raises(AppError, match=message) as raised:
        parse_model(source, "m.riaps")
    assert str(raised.value).startswith("m.riaps:1: ")


DEPL = """\
app Beacon {
    host all { network any; }
    on (10.0.0.5) Node(tag='alpha', rate=3);
    on (10.0.0.6, bbb-79a4.local) Node(tag=beta);   // a bare word is a string
    on all Node(tag=1);
}
"""


def test_deployment_placements_and_riaps_argument_conversions(caplog: pytest.LogCaptureFixture) -> None:
    """on (hosts)/on all are read; actor arguments convert as RIAPS converts them, oddities included."""
    model = parse_model(BEACON, "beacon.riaps")
    depl = parse_deployment(DEPL, "b.depl")
    assert [p.hosts for p in depl.placements] == [("10.0.0.5",), ("10.0.0.6", "bbb-79a4.local"), None]
    assert depl.named_hosts() == ["10.0.0.5", "10.0.0.6", "bbb-79a4.local"]
    node = model.actors["Node"]
    values = [actor_arguments(node, p, depl) for p in depl.placements]
    assert values == [{"tag": "alpha", "rate": 3.0}, {"tag": "beta", "rate": 1.5}, {"tag": 1, "rate": 1.5}]
    assert isinstance(values[0]["rate"], float)  # converted to the default's type
    falsy = parse_deployment("app Beacon { on all Node(tag=False); }", "f.depl")
    with caplog.at_level(logging.WARNING, "riaps_sim.apps"):
        assert actor_arguments(node, falsy.placements[0], falsy)["tag"] is True  # RIAPS's bug, reproduced
    assert "'False' becomes True" in caplog.text
    args = component_arguments(model.components["Emitter"], node.instances[0], values[0], model.path)
    assert args == {"label": "alpha", "rate": 3.0, "on": True, "note": "n"}


@pytest.mark.parametrize(
    "source, error, message",
    [
        ("app Beacon { on all Node; }", BuildError, "required parameter missing"),
        ("app Beacon { on all Node(tag=1, speed=2); }", BuildError, r"\['speed'\] are not formals"),
        ("app Beacon { on all Node(tag=1, rate=fast); }", BuildError, "'fast' is not a float"),
        ("app Beacon { /* no */ on all Node(tag=1); }", AppError, "only // comments"),
        ("app Beacon { }", AppError, "no 'on' clause"),
        ("app Beacon { on () Node(tag=1); }", AppError, "host list is empty"),
    ],
)
def test_deployment_mistakes_are_named(source: str, error: type, message: str) -> None:
    """A bad deployment or argument is named with the file and line."""
    model = parse_model(BEACON, "beacon.riaps")

    def load() -> None:
        depl = parse_deployment(source, "x.depl")
        for placement in depl.placements:
            actor_arguments(model.actors["Node"], placement, depl)

    with pytest.raises(error, match=message) as raised:
        load()
    assert str(raised.value).startswith("x.depl:1: ")


def test_app_folder_becomes_nodes_and_groups() -> None:
    """The test app's folder: one node per deployed host, parts named Actor.instance, group types from the model."""
    app = RiapsApp.load(APPS / "voting")
    scenario = app.scenario(duration=10, seed=2)
    assert scenario.node_names() == ["n1", "n2", "n3", "n4"]
    assert list(scenario.nodes[0].components) == ["Station.sensor", "Station.voter"]
    recipe = scenario.nodes[2].components["Station.sensor"][1]["recipe"]
    assert dict(recipe.arguments) == {"label": "more", "spread": 2.5}
    (council,) = scenario.group_types
    assert (council.name, council.kind, council.message) == ("Council", "leader", "Ballot")


def test_on_all_needs_hosts_and_host_names_become_node_names(tmp_path: Path) -> None:
    """'on all' deploys on every host of the run, which the caller names or counts; addresses become identifiers."""
    app = RiapsApp.load(APPS / "voting", APPS / "on_all.depl")
    with pytest.raises(ValueError, match="only deploys 'on all'"):
        app.nodes()
    assert [n.name for n in app.nodes(hosts=3)] == ["h1", "h2", "h3"]
    assert [n.name for n in app.nodes(hosts=["10.0.0.5", "bbb-1.local"])] == ["h10_0_0_5", "bbb_1_local"]


def test_missing_module_and_wrong_app_are_named(tmp_path: Path) -> None:
    """A component without its module, or a deployment of another app, is an AppError naming the file."""
    (tmp_path / "a.riaps").write_text("app A {\n message M;\n component C() { pub p : M; }\n actor X() { { c : C; } }\n}\n")
    (tmp_path / "a.depl").write_text("app A { on (n1) X; }\n")
    with pytest.raises(AppError, match=r"a\.riaps:3: component C: no module C\.py"):
        RiapsApp.load(tmp_path)
    (tmp_path / "a.depl").write_text("app B { on (n1) X; }\n")
    with pytest.raises(AppError, match=r"a\.depl:1: app B: no model"):
        RiapsApp.load(tmp_path)
    (tmp_path / "a.depl").write_text("app A {\n on (n1) Y;\n}\n")
    with pytest.raises(AppError, match=r"a\.depl:2: actor Y: not an actor"):
        RiapsApp.load(tmp_path)


def test_loader_reads_files(tmp_path: Path) -> None:
    """load_model/load_deployment name a missing file."""
    with pytest.raises(AppError, match="cannot read it"):
        load_model(tmp_path / "none.riaps")
    with pytest.raises(AppError, match="cannot read it"):
        load_deployment(tmp_path / "none.depl")
