"""`riaps-sim node`: each node of a scenario started on its own, as on separate hosts, finds the others."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from riaps_sim.analysis import first_leader_time
from riaps_sim.trace import Trace

SCENARIO = """
[scenario]
name = "three hosts"
duration = 8
seed = 3

[[group]]
name = "TheGroup"

[[node]]
name = "a"
address = "127.0.0.21"
components = {{ member = {{ class = "riaps_sim.examples:Groupie" }} }}

[[node]]
name = "b"
address = "127.0.0.22"
components = {{ member = {{ class = "riaps_sim.examples:Groupie" }} }}

[[node]]
name = "c"
address = "127.0.0.23"
components = {{ member = {{ class = "riaps_sim.examples:Groupie" }} }}
"""


PY_SCENARIO = """
from riaps_sim import Component, GroupType, Scenario
from riaps_sim.scenario import NodeSpec

class Inline(Component):
    \"\"\"A class defined in the scenario file itself: each host loads the same file.\"\"\"

    def handleActivate(self):
        self.group = self.joinGroup("TheGroup", "g1")

nodes = tuple(NodeSpec(name, {"member": (Inline, {})}, address) for name, address in [("a", "127.0.0.21"), ("b", "127.0.0.22"), ("c", "127.0.0.23")])
scenario = Scenario("three hosts", (GroupType(name="TheGroup"),), nodes, duration=8, seed=3)
"""


@pytest.mark.slow
@pytest.mark.parametrize("form", ["toml", "py"])
def test_three_node_commands_elect_a_leader(tmp_path: Path, form: str) -> None:
    """Three `riaps-sim node` processes of one scenario file (TOML, or Python with an inline class)
    discover each other by signed beacons and elect a leader."""
    scenario = tmp_path / f"hosts.{form}"
    scenario.write_text(SCENARIO.format() if form == "toml" else PY_SCENARIO)
    port = str(random.Random().randrange(40000, 47000))
    keys = tmp_path / "keys"
    made = subprocess.run([sys.executable, "-m", "riaps_sim.cli", "keys", "new", str(keys)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    commands = [
        [
            sys.executable,
            "-m",
            "riaps_sim.cli",
            "node",
            str(scenario),
            "--name",
            name,
            "--beacon-port",
            port,
            "--out",
            str(tmp_path / "out"),
            "--keys",
            str(keys),
            "--check",
        ]
        for name in "abc"
    ]
    processes = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in commands]
    outputs = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    assert "node a of 'three hosts' on 127.0.0.21" in outputs[0][0]
    assert all("TheGroup.g1: leader elected: 127.0.0.2" in out for out, _ in outputs), "a node did not say who leads"
    for out, _ in outputs:  # each node judges its own trace: one verdict, liveness left out (one node cannot see the group)
        assert out.count("verdict: ") == 1 and "verdict: OK: safety 0, liveness left out" in out, out
    trace = Trace.merge(Trace.from_jsonl(tmp_path / "out" / f"{name}.jsonl") for name in "abc")
    assert first_leader_time(trace) is not None
    assert {e.node for e in trace.select(kind="group_joined")} == {"a", "b", "c"}
    assert not trace.select(kind=["handshake_refused", "beacon_rejected"]), "peers with the same keys were turned away"


def test_node_command_refuses_to_run_without_keys(tmp_path: Path) -> None:
    """Across hosts, security needs shared key material: without --keys (or --insecure) the node says how to make it."""
    scenario = tmp_path / "hosts.toml"
    scenario.write_text(SCENARIO.format())
    result = subprocess.run([sys.executable, "-m", "riaps_sim.cli", "node", str(scenario), "--name", "a"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "riaps-sim keys new DIR" in result.stderr and "--keys DIR" in result.stderr


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_node_command_names_an_unknown_node(tmp_path: Path) -> None:
    """Asking for a node the scenario lacks is an error naming the nodes it has."""
    scenario = tmp_path / "hosts.toml"
    scenario.write_text(SCENARIO.format())
    result = subprocess.run([sys.executable, "-m", "riaps_sim.cli", "node", str(scenario), "--name", "z"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "has no node 'z'; its nodes are ['a', 'b', 'c']" in result.stderr


def test_node_command_refuses_what_a_lone_node_cannot_apply(tmp_path: Path) -> None:
    """Faults and a network profile need a run around the nodes: the node command says so instead of ignoring them."""
    scenario = tmp_path / "hosts.toml"
    scenario.write_text(SCENARIO.format() + '\n[[fault]]\nkind = "crash"\nat = 2.0\nnode = "b"\n[network]\nloss = 0.1\n')
    result = subprocess.run(
        [sys.executable, "-m", "riaps_sim.cli", "node", str(scenario), "--name", "a", "--insecure"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "cannot apply the scenario's 1 fault(s) and a network profile" in result.stderr, result.stderr
