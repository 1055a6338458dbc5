"""An unmodified RIAPS application (tests/apps/voting) runs in simulation and on real ZeroMQ.

The app is written in the RIAPS idiom: its modules import ``riaps.run.comp``, call ``time.time()``
and the module-level ``random`` functions, and use a timer, pub/sub, req/rep and a group with a
leader and votes.
"""

from __future__ import annotations

import importlib
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from riaps_sim import Scenario, run_scenario
from riaps_sim.apps import AppError, RiapsComponent
from riaps_sim.faults import LEADER, ClockSkew, Crash
from riaps_sim.runtime.sim import Simulation
from riaps_sim.trace import Kind, Trace

VOTING = Path(__file__).parent / "apps" / "voting"
ROOT = Path(__file__).resolve().parents[1]


def simulate(scenario: Scenario, until: float, faults: list = ()) -> Simulation:
    """The scenario in a Simulation kept at hand, so a test can look at the components."""
    sim = Simulation(scenario.group_types, seed=scenario.seed)
    for spec in scenario.nodes:
        sim.add_node(spec.name, {name: (lambda c=cls, k=kwargs: c(**k)) for name, (cls, kwargs) in spec.components.items()})
    sim.schedule_faults(list(faults))
    sim.run(until=until)
    return sim


def component(sim: Simulation, node: str, part: str) -> RiapsComponent:
    return sim.nodes[node].components[part].component  # type: ignore[attr-defined]


def app_events(trace) -> Counter:
    """The application's events: its ports' sends and deliveries, timer ticks, and what its components were told.

    (The group protocol's own messages are left out: how many of them become trace rows is each world's business.)
    """
    return Counter(
        (e.kind, e.detail)
        for e in trace
        if e.component and e.component.startswith("Station.") and (e.group is None or e.kind not in (Kind.SEND, Kind.DELIVER))
    )


def test_app_runs_in_simulation_on_the_node_clock_and_generator() -> None:
    """Handlers' time.time() is the node's (skewed) clock; module-level random leaves the global generator alone."""
    scenario = Scenario.from_riaps_app(VOTING, duration=12, seed=4)
    state = random.getstate()
    sim = simulate(scenario, 12, [ClockSkew(at=0, node="n2", offset_s=1000.0)])
    assert random.getstate() == state, "the app drew from the process's global generator"
    sensor = component(sim, "n1", "Station.sensor")
    assert isinstance(sensor, RiapsComponent) and type(sensor).__module__.startswith("_riaps_app__Voting__n1__")
    assert len(sensor.sent) == 11  # one reading a second, the first one second after activation
    for label, stamped, tick, _value, _pad in sensor.sent:
        assert label == "one" and stamped == tick  # time.time() in on_clock == the tick's time: virtual
    assert [round(s[1], 6) for s in sensor.sent] == [float(t) for t in range(1, 12)]
    skewed = component(sim, "n2", "Station.sensor")
    assert all(s[1] > 1000 for s in skewed.sent)
    voter = component(sim, "n3", "Station.voter")
    assert {r[1][0] for r in voter.readings} == {"one", "two", "more"}  # every pub of Reading reaches every sub
    assert sensor.answers and all(a[1] > 0 for a in sensor.answers)  # req/rep round trips
    leaders = {node: component(sim, node, "Station.voter").leaders for node in sim.nodes}
    assert all(leaders.values()) and len({ls[-1][1] for ls in leaders.values()}) == 1
    assert any(component(sim, n, "Station.voter").results for n in sim.nodes)  # the leader's polls ended
    events = app_events(sim.trace)
    for kind in [
        (Kind.TIMER, "on_clock"),
        (Kind.SEND, "pub reading"),
        (Kind.DELIVER, "sub reading"),
        (Kind.SEND, "req ask"),
        (Kind.DELIVER, "rep answer"),
        (Kind.DELIVER, "req ask"),
        (Kind.CALLBACK, "handleVoteRequest"),
    ]:
        assert events[kind] > 0, kind
    assert not sim.trace.select(kind=Kind.ERROR)


def test_same_seed_same_app_state_different_seed_different() -> None:
    """Two runs from one seed give the same trace and the same random draws; another seed gives others."""
    scenario = Scenario.from_riaps_app(VOTING, duration=8, seed=9)
    one, two = simulate(scenario, 8), simulate(scenario, 8)
    other = simulate(scenario.with_seed(10), 8)
    assert list(one.trace) == list(two.trace)
    offsets = [component(s, "n1", "Station.sensor").offset for s in (one, two, other)]
    assert offsets[0] == offsets[1] != offsets[2]


@pytest.mark.slow
def test_fresh_processes_from_one_seed_write_identical_traces(tmp_path: Path) -> None:
    """riaps-sim run APP_DIR twice, in fresh interpreters with different hash seeds: byte-identical traces."""
    traces = []
    for run, hash_seed in (("a", "1"), ("b", "2")):
        out = tmp_path / run
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-m", "riaps_sim.cli", "run", str(VOTING), "--until", "10", "--seed", "5", "--out", str(out)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        traces.append((out / "trace.jsonl").read_text())
    assert traces[0] == traces[1]
    kinds = {e.kind for e in Trace.from_jsonl(tmp_path / "a" / "trace.jsonl")}
    assert {"timer", "send", "deliver", "leader_elected", "vote_announced"} <= kinds


def test_leader_crash_in_simulation_gives_a_new_leader() -> None:
    """The app's group elects again when its leader's node crashes."""
    result = run_scenario(Scenario.from_riaps_app(VOTING, duration=20, seed=2, faults=[Crash(at=8, node=LEADER)]), mode="sim")
    crash = next(e for e in result.trace if e.kind == Kind.FAULT and (e.detail or "").startswith("crash"))
    crashed = crash.detail.split()[1]
    later = [e for e in result.trace.select(kind=Kind.LEADER_ELECTED) if e.when > crash.when]
    assert later and all(e.node != crashed for e in later)
    assert len({e.peer for e in later}) == 1


def _write_app(folder: Path, module: str) -> Path:
    folder.mkdir()
    (folder / "a.riaps").write_text("app A {\n message M;\n component C() { timer t 1000; pub p : M; }\n actor X() { { c : C; } }\n}\n")
    (folder / "a.depl").write_text("app A { on (n1) X; }\n")
    (folder / "C.py").write_text(module)
    return folder


def test_sleep_in_a_handler_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    """time.sleep in a handler raises BlockingCallError naming the remedy; the node traces it and carries on."""
    app = _write_app(
        tmp_path / "sleepy",
        (
            "from riaps.run.comp import Component\nimport time\n\n"
            "class C(Component):\n    def __init__(self):\n        super().__init__()\n        self.ticks = 0\n\n"
            "    def on_t(self):\n        self.t.recv_pyobj()\n        self.ticks += 1\n        time.sleep(0.5)\n"
        ),
    )
    sim = simulate(Scenario.from_riaps_app(app, duration=3), 3.5)
    errors = [e.detail for e in sim.trace.select(kind=Kind.ERROR)]
    assert len(errors) == 3 and all("time.sleep(0.5)" in e and "sporadic timer" in e for e in errors)
    assert component(sim, "n1", "X.c").ticks == 3


def test_unoffered_riaps_module_is_named(tmp_path: Path) -> None:
    """An import of a riaps module the shim does not offer fails naming the module file, line and what is offered."""
    app = _write_app(tmp_path / "fsm", "from riaps.run.comp import Component\nfrom riaps.run.fsm import FSM\n\nclass C(Component):\n    pass\n")
    with pytest.raises(AppError, match=r"C\.py:2: import C: ModuleNotFoundError: .*'riaps\.run\.fsm'.*offered: riaps\.run\.comp"):
        simulate(Scenario.from_riaps_app(app, duration=1), 1)


def test_the_shim_never_shadows_a_real_riaps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A riaps package of the user's, imported or not, is what the user's own imports get before and after the app loads."""
    real = tmp_path / "site" / "riaps" / "run"
    real.mkdir(parents=True)
    (real.parent / "__init__.py").write_text("")
    (real / "__init__.py").write_text("")
    (real / "comp.py").write_text("class Component:\n    REAL = True\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    saved = {n: m for n, m in sys.modules.items() if n == "riaps" or n.startswith("riaps.")}
    try:
        for imported_first in (True, False):
            for name in [n for n in sys.modules if n == "riaps" or n.startswith("riaps.")]:
                del sys.modules[name]
            mine = importlib.import_module("riaps.run.comp") if imported_first else None
            sim = simulate(Scenario.from_riaps_app(VOTING, duration=1, seed=1), 1)
            assert isinstance(component(sim, "n1", "Station.sensor"), RiapsComponent)  # the app got the shim
            after = importlib.import_module("riaps.run.comp")
            assert after.Component.REAL is True and after.__file__ == str(real / "comp.py")
            if imported_first:
                assert after is mine
    finally:
        for name in [n for n in sys.modules if n == "riaps" or n.startswith("riaps.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_a_failing_constructor_skips_the_instance(tmp_path: Path) -> None:
    """As in RIAPS, an instance whose constructor raises is logged, traced and skipped; the node runs on."""
    app = _write_app(
        tmp_path / "broken",
        "from riaps.run.comp import Component\n\nclass C(Component):\n    def __init__(self):\n        raise RuntimeError('no sensor')\n",
    )
    sim = simulate(Scenario.from_riaps_app(app, duration=2), 2)
    (error,) = sim.trace.select(kind=Kind.ERROR)
    assert error.detail == "could not build component 'X.c': C.__init__ raised RuntimeError: no sensor"
    assert not [e for e in sim.trace.select(kind=Kind.TIMER) if e.component]  # no timer of the skipped instance ticks


@pytest.mark.slow
def test_real_zeromq_runs_the_same_app_with_the_same_events_and_fails_over(tmp_path: Path) -> None:
    """As node processes on loopback, the app shows the simulation's kinds of events, and a leader crash gives a new leader."""
    scenario = Scenario.from_riaps_app(VOTING, duration=14, seed=2, faults=[Crash(at=7, node=LEADER)])
    real = run_scenario(scenario, mode="real", out=tmp_path)
    sim = run_scenario(scenario, mode="sim")

    def kinds(trace) -> set:  # a poll's result is a draw of the voters: its kind counts, not its value
        return {(kind, None if kind == Kind.VOTE_ANNOUNCED else detail) for kind, detail in app_events(trace)}

    sim_kinds = {k for k in kinds(sim.trace) if k[0] not in (Kind.MEMBER_LEFT, Kind.LEADER_EXITED)}
    real_kinds = kinds(real.trace)
    assert sim_kinds - real_kinds == set(), sim_kinds - real_kinds
    assert not [e for e in real.trace.select(kind=Kind.ERROR) if e.component]
    crash = next(e for e in real.trace if e.kind == Kind.FAULT and (e.detail or "").startswith("crash"))
    crashed = crash.detail.split()[1]
    later = [e for e in real.trace.select(kind=Kind.LEADER_ELECTED) if e.time > crash.time]
    assert later and all(e.node != crashed for e in later)


def test_local_messages_stay_on_their_host_and_global_ones_reach_all(tmp_path: Path) -> None:
    """A message an actor declares local matches only ports on the same host; a global one matches every host."""
    app = tmp_path / "scopes"
    app.mkdir()
    (app / "s.riaps").write_text(
        "app S {\n message Near; message Far;\n"
        " component C() { timer t 1000; pub near : Near; sub hear_near : Near; pub far : Far; sub hear_far : Far; }\n"
        " actor X() { local Near; { c : C; } }\n}\n"
    )
    (app / "s.depl").write_text("app S { on all X; }\n")
    (app / "C.py").write_text(
        "from riaps.run.comp import Component\n\nclass C(Component):\n"
        "    def __init__(self):\n        super().__init__()\n        self.seen_near, self.seen_far = set(), set()\n"
        "    def on_t(self):\n        self.t.recv_pyobj()\n        self.near.send_pyobj(self.getUUID())\n        self.far.send_pyobj(self.getUUID())\n"
        "    def on_hear_near(self):\n        self.seen_near.add(self.hear_near.recv_pyobj())\n"
        "    def on_hear_far(self):\n        self.seen_far.add(self.hear_far.recv_pyobj())\n"
    )
    sim = simulate(Scenario.from_riaps_app(app, hosts=3, duration=4), 4)
    for node in ("h1", "h2", "h3"):
        c = component(sim, node, "X.c")
        assert c.seen_near == {node} and c.seen_far == {"h1", "h2", "h3"}


@pytest.mark.slow
def test_cli_runs_an_app_folder_with_another_deployment_and_hosts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """riaps-sim run APP_DIR --depl FILE --hosts N runs it; --depl with a scenario file is refused."""
    from riaps_sim.cli import main

    out = tmp_path / "out"
    status = main(["run", str(VOTING), "--depl", str(VOTING.parent / "on_all.depl"), "--hosts", "3", "--until", "6", "--out", str(out)])
    assert status == 0
    nodes = {e.node for e in Trace.from_jsonl(out / "trace.jsonl")}
    assert {"h1", "h2", "h3"} <= nodes
    assert main(["run", "default", "--depl", "x.depl"]) == 2
    assert "--depl and --hosts go with a RIAPS application folder" in capsys.readouterr().err


def test_components_may_assign_the_names_riaps_apps_assign(tmp_path: Path) -> None:
    """RIAPS apps set self.name, self.thread, self.group, even self.random and self.node_name: the part still runs them."""
    app = _write_app(
        tmp_path / "names",
        (
            "from riaps.run.comp import Component\nimport random\n\nclass C(Component):\n"
            "    def __init__(self):\n        super().__init__()\n        self.name, self.thread, self.random, self.node_name = 'me', 'mine', 4, 'n'\n"
            "        self.ticks = []\n"
            "    def on_t(self):\n        self.ticks.append((self.t.recv_pyobj(), self.getName(), self.getActorName(), self.getUUID(), random.random()))\n"
        ),
    )
    sim = simulate(Scenario.from_riaps_app(app, duration=3, seed=3), 2.5)
    c = component(sim, "n1", "X.c")
    assert (c.name, c.thread, c.random, c.node_name) == ("me", "mine", 4, "n")
    assert [t[:4] for t in c.ticks] == [(1.0, "c", "X", "n1"), (2.0, "c", "X", "n1")]
    assert not sim.trace.select(kind=Kind.ERROR)
