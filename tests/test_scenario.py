"""Scenarios: definitions, files and their errors, running in simulation, the command line and sweeps."""

from __future__ import annotations

import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from riaps_sim.examples import Groupie
from riaps_sim.faults import Crash, Heal
from riaps_sim.runner import run_scenario
from riaps_sim.scenario import LEADER, Scenario, ScenarioError, load_scenario
from riaps_sim.sweep import parse_seeds, sweep
from riaps_sim.trace import Kind


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_default_scenario_partitions_the_leader_and_heals() -> None:
    """The default scenario: five members, the leader cut off at 20 s and healed at 40 s; the majority elects anew."""
    result = run_scenario(load_scenario("default"))
    summary = result.summary()
    assert summary.first_leader_s is not None and summary.first_leader_s < 5.0
    (partition, heal) = summary.faults
    assert partition[0] == 20.0 and partition[1].startswith("partition n") and heal == (40.0, "heal")
    (failover,) = summary.failovers
    assert failover.cause.startswith("partition") and failover.duration is not None and failover.duration < 5.0
    assert summary.split_brain and summary.split_brain[-1].end == 60.0  # the reference keeps two leaders (B6)
    # the two leaders never agree again, so only liveness fails: its one violation is the verdict's only count
    assert [v.invariant for v in summary.violations] == ["leader_after_faults"]
    assert summary.verdict is not None and (summary.verdict.safety, summary.verdict.liveness) == (0, 1) and not summary.verdict.ok
    assert "first leader agreed" in str(summary)


def test_same_seed_same_trace() -> None:
    """Running a scenario twice with one seed gives the same trace, event for event."""
    scenario = load_scenario("leader-crash")
    assert run_scenario(scenario, seed=4).trace == run_scenario(scenario, seed=4).trace
    assert run_scenario(scenario, seed=4).trace != run_scenario(scenario, seed=5).trace


def test_leader_crash_with_the_fixed_protocol_has_one_leader_at_the_end() -> None:
    """The symbolic @leader target crashes whoever leads; the survivors elect one new leader."""
    scenario = Scenario.group_of(5, Groupie, faults=[Crash(at=10, node=LEADER)], duration=30)
    summary = run_scenario(scenario).summary()
    assert summary.faults[0][1].startswith("crash n")
    (failover,) = summary.failovers
    assert failover.new_leader is not None and failover.duration < 5.0


def test_fault_without_a_leader_is_skipped_and_traced() -> None:
    """A fault aimed at @leader when nobody leads is skipped, and the trace says so."""
    scenario = Scenario.group_of(5, Groupie, faults=[Crash(at=0.5, node=LEADER)], duration=3)
    trace = run_scenario(scenario).trace
    assert [e.detail for e in trace.select(kind=Kind.FAULT)] == ["refused crash @leader: no node leads"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"duration": 0}, "duration must be > 0 seconds"),
        ({"faults": [Crash(at=5, node="n9")]}, r"names unknown node\(s\) \['n9'\]"),
        ({"faults": [Heal(at=99)]}, "faults after the end"),
    ],
)
def test_bad_scenarios_say_what_is_wrong(change: dict, message: str) -> None:
    """Impossible scenarios are refused with the field and the value."""
    base = dict(name="s", group_types=Scenario.group_of(1, Groupie).group_types, nodes=Scenario.group_of(2, Groupie).nodes, duration=30.0)
    with pytest.raises(ScenarioError, match=message):
        Scenario(**{**base, **change})


TOML = """
[scenario]
name = "toml partition"
duration = 30
seed = 2

[[group]]
name = "TheGroup"
protocol = "fixed"
timing = { heartbeat = 500, electionMin = 800, electionMax = 1200, peerTimeout = 1600, consensusTimeout = 1000 }

[[node]]
name = "n"
count = 5
components = { member = { class = "riaps_sim.examples:Groupie", args = { min_size = 5 } } }

[[fault]]
at = 10
kind = "partition"
sides = [["@leader"]]

[[fault]]
at = 20
kind = "heal"
"""


def test_toml_scenario_runs(tmp_path: Path) -> None:
    """A TOML scenario gives the same kind of scenario as Python; 'fixed' converges to one leader after the heal."""
    path = tmp_path / "s.toml"
    path.write_text(TOML)
    scenario = load_scenario(path)
    assert scenario.name == "toml partition" and scenario.node_names() == ["n0", "n1", "n2", "n3", "n4"]
    assert scenario.group_types[0].timing.heartbeat_ms == 500
    summary = run_scenario(scenario).summary()
    assert summary.failovers and summary.failovers[0].new_leader is not None
    assert summary.split_brain == [] or summary.split_brain[-1].end < 30.0
    assert summary.violations == []


@pytest.mark.parametrize(
    "edit, message",
    [
        (('kind = "heal"', 'kind = "explode"'), r"s.toml: fault\[1\].kind: expected one of .*got 'explode'"),
        (("riaps_sim.examples:Groupie", "riaps_sim.examples:Nobody"), r"node\[0\].components.member.class: cannot import"),
        (("heartbeat = 500", "heartbeat = 5000"), r"group\[0\]: group timing parameters incorrectly ordered"),
        (("at = 20", "when = 20"), r"fault\[1\]: unknown field\(s\) \['when'\]"),
        (("duration = 30", "duration = 30\nduration = 31"), r"s.toml: Cannot overwrite a value \(at line 5"),
    ],
)
def test_toml_errors_name_file_and_field(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    """A wrong TOML scenario is an error naming the file and the field (or line) and what was expected."""
    path = tmp_path / "s.toml"
    path.write_text(TOML.replace(*edit))
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


def test_python_scenario_file_and_its_errors(tmp_path: Path) -> None:
    """A Python scenario file defines `scenario`; an exception in it names the file and line."""
    good = tmp_path / "good.py"
    good.write_text(
        "from riaps_sim.scenario import Scenario\nfrom riaps_sim.examples import Groupie\nscenario = Scenario.group_of(3, Groupie, duration=10)\n"
    )
    assert load_scenario(good).node_names() == ["n0", "n1", "n2"]
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\ny = undefined_name\n")
    with pytest.raises(ScenarioError, match=r"bad.py:2: NameError"):
        load_scenario(bad)
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ScenarioError, match="expected a Scenario .* named 'scenario'"):
        load_scenario(empty)


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_cli_run_prints_summary_and_writes_files(tmp_path: Path) -> None:
    """`riaps-sim run default` prints the summary and writes the trace, summary and plot."""
    result = subprocess.run(
        [sys.executable, "-m", "riaps_sim.cli", "run", "default", "--out", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "first leader agreed" in result.stdout and "invariants: all hold" not in result.stdout
    assert result.stdout.count("verdict: ") == 1  # printed once, at the end of the summary
    assert "verdict: BAD: safety 0, liveness 1," in result.stdout  # the reference keeps two leaders after the heal (B6)
    assert {p.name for p in tmp_path.iterdir()} == {"trace.jsonl", "summary.txt", "roles.png"}
    assert (tmp_path / "roles.png").stat().st_size > 10_000


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_cli_reports_a_bad_scenario() -> None:
    """A scenario that does not exist is exit status 2 with a message naming it."""
    result = subprocess.run([sys.executable, "-m", "riaps_sim.cli", "run", "nope.toml"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "nope.toml: no such scenario file" in result.stderr


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_sweep_with_any_executor() -> None:
    """A sweep takes any concurrent.futures executor and reports the runs in seed order."""
    stream = io.StringIO()
    with ThreadPoolExecutor(max_workers=2) as pool:
        result = sweep("leader-crash", range(6), executor=pool, progress=stream)
    assert [r.seed for r in result.runs] == list(range(6))
    assert all(r.first_leader_s is not None and r.failover_s is not None for r in result.runs)
    assert "6/6 [" in stream.getvalue() and "failover_s" in str(result)  # the tqdm bar reached the end


def test_parse_seeds() -> None:
    """Seed ranges read as the CLI documents them; a bad one is named."""
    assert parse_seeds("1-3,7") == [1, 2, 3, 7]
    with pytest.raises(ValueError, match="bad seed range '5-2'"):
        parse_seeds("5-2")


def test_a_scenario_brings_its_own_topology() -> None:
    """A networkx line of switches with 10 ms links makes end-to-end latency the sum of the hops."""
    import networkx as nx

    line = nx.Graph()
    nx.add_path(line, ["n0", "s1", "s2", "n1"], latency=0.010)
    line.add_edge("s1", "n2", latency=0.010)
    for switch in ("s1", "s2"):
        line.nodes[switch]["switch"] = True
    scenario = Scenario.group_of(3, Groupie, duration=10)
    scenario = Scenario(scenario.name, scenario.group_types, scenario.nodes, duration=10, topology=line)
    result = run_scenario(scenario)
    trace = result.trace
    sends = {e.msg_id: e for e in trace.select(kind=Kind.SEND)}
    far = [e.when - sends[e.msg_id].when for e in trace.select(kind=Kind.DELIVER, node="n1") if e.peer == "n0" and e.msg_id in sends]
    assert far and min(far) == pytest.approx(0.030)
    assert result.summary().first_leader_s is not None
