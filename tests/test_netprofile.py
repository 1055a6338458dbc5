"""A scenario's network profile and node start times shape the run as stated, simulated or real."""

from __future__ import annotations

from pathlib import Path

import pytest
from probes import FastProbe

from riaps_sim import Scenario, run_scenario
from riaps_sim.model import GroupType
from riaps_sim.net.latency import Uniform
from riaps_sim.netprofile import NetworkProfile
from riaps_sim.scenario import NodeSpec, ScenarioError, load_scenario


def _heard(profile: NetworkProfile, duration: float = 3.0, mode: str = "sim") -> list[dict]:
    nodes = tuple(NodeSpec(f"n{i}", {"talker": (FastProbe, {})}) for i in range(2))
    scenario = Scenario("profile", (GroupType(name="TheGroup"),), nodes, duration=duration, seed=2, network=profile)
    heard = [e.data for e in run_scenario(scenario, mode=mode).trace.select(kind="app") if e.data["sender"] != e.node]
    return [{**d, "latency": d["now"] - d["sent"]} for d in heard]


def test_every_message_takes_one_draw_of_the_profiles_latency() -> None:
    heard = _heard(NetworkProfile(latency=Uniform(low=0.002, high=0.006)))
    latencies = [d["latency"] for d in heard]
    assert len(latencies) > 300
    assert min(latencies) >= 0.002 - 1e-9 and max(latencies) <= 0.006 + 1e-9
    assert 0.0035 < sum(latencies) / len(latencies) < 0.0045  # the mean of Uniform(2, 6) ms is 4 ms


def test_without_reordering_a_connection_delivers_in_order_and_with_it_messages_overtake() -> None:
    def overtaken(heard: list[dict]) -> int:
        last: dict[str, int] = {}
        count = 0
        for d in heard:
            count += d["seq"] < last.get(d["sender"], 0)
            last[d["sender"]] = max(d["seq"], last.get(d["sender"], 0))
        return count

    jitter = Uniform(low=0.001, high=0.05)  # wider than the 10 ms between messages
    assert overtaken(_heard(NetworkProfile(latency=jitter))) == 0
    assert overtaken(_heard(NetworkProfile(latency=jitter, reorder=True))) > 20


def test_the_profiles_loss_loses_that_share_of_messages() -> None:
    heard = _heard(NetworkProfile(loss=0.3), duration=5.0)
    sent = 2 * 5.0 / 0.01
    assert 0.6 < len(heard) / sent < 0.8


def test_a_node_starts_when_its_start_time_says() -> None:
    nodes = (NodeSpec("n0", {"talker": (FastProbe, {})}), NodeSpec("n1", {"talker": (FastProbe, {})}, start_s=2.5))
    trace = run_scenario(Scenario("late", (GroupType(name="TheGroup"),), nodes, duration=4.0)).trace
    joined = {e.node: e.when for e in trace.select(kind="group_joined")}
    assert joined["n0"] == pytest.approx(0.0) and joined["n1"] == pytest.approx(2.5)


def test_the_profile_in_toml(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[scenario]\nduration = 5\n[[group]]\nname = "TheGroup"\n'
        '[[node]]\nname = "n"\ncount = 2\nstart_s = 1.5\ncomponents = { m = { class = "riaps_sim.examples:Groupie" } }\n'
        '[network]\nlatency = { kind = "uniform", low = 0.001, high = 0.003 }\nloss = 0.01\nreorder = true\ndiscovery_delay_s = 0.2\n'
    )
    scenario = load_scenario(path)
    assert scenario.network == NetworkProfile(latency=Uniform(low=0.001, high=0.003), loss=0.01, reorder=True, discovery_delay_s=0.2)
    assert [n.start_s for n in scenario.nodes] == [1.5, 1.5]
    path.write_text(path.read_text().replace('kind = "uniform"', 'kind = "gaussian"'))
    with pytest.raises(ScenarioError, match=r"network.latency: latency kind must be one of"):
        load_scenario(path)


def test_a_profile_and_a_topology_do_not_mix() -> None:
    import networkx as nx

    base = Scenario.group_of(2, FastProbe)
    with pytest.raises(ScenarioError, match="either a topology or a network profile"):
        Scenario(base.name, base.group_types, base.nodes, topology=nx.Graph(), network=NetworkProfile())


@pytest.mark.slow
def test_the_real_world_applies_the_profile_too() -> None:
    """Latency drawn per message and loss, on real ZeroMQ: the same experiment as in simulation."""
    heard = _heard(NetworkProfile(latency=Uniform(low=0.02, high=0.04), loss=0.3), duration=4.0, mode="real")
    assert len(heard) > 100, "the probes hardly heard each other"
    assert min(d["latency"] for d in heard) >= 0.02, "a message came sooner than the profile's lowest latency"
    for sender in ("n0", "n1"):
        seqs = [d["seq"] for d in heard if d["sender"] == sender]
        share = len(seqs) / (max(seqs) - min(seqs) + 1)
        assert 0.55 < share < 0.85, f"{share:.2f} of {sender}'s messages arrived; the profile loses 0.3"


def test_what_the_real_world_cannot_honour_is_refused_before_it_starts() -> None:
    import networkx as nx

    base = Scenario.group_of(2, FastProbe)
    slow_discovery = Scenario(base.name, base.group_types, base.nodes, network=NetworkProfile(discovery_delay_s=0.5))
    with pytest.raises(ValueError, match=r"discovery_delay_s=0.5: real discovery"):
        run_scenario(slow_discovery, mode="real")
    graph = nx.Graph()
    graph.add_edge("n0", "n1", latency=0.01)
    with pytest.raises(ValueError, match=r"topology: .* simulation only"):
        run_scenario(Scenario(base.name, base.group_types, base.nodes, topology=graph), mode="real")
