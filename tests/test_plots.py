"""Figures are legible (labelled axes, legend, node names) and show what the trace holds."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from riaps_sim import load_scenario, run_scenario  # noqa: E402
from riaps_sim.analysis.plots import distributions, latency_histogram, sequence_chart, topology  # noqa: E402
from riaps_sim.trace import Kind  # noqa: E402


@pytest.fixture(scope="module")
def result():
    return run_scenario(load_scenario("default"), trace_all=True)  # the charts draw every heartbeat


def test_role_timeline_names_nodes_and_shades_the_partition(result) -> None:
    """The timeline has one labelled row per node, a time axis, a legend of roles, and the partition."""
    figure = result.plot()
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][::-1] == ["n0", "n1", "n2", "n3", "n4"]  # top to bottom
    assert ax.get_xlabel() == "time (s)" and ax.get_xlim() == (0.0, 60.0)
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"follower", "candidate", "leader", "partitioned"}
    assert any(a.get_text() == "partition" for a in ax.texts)
    plt.close(figure)


def test_sequence_chart_draws_one_arrow_per_delivery(result) -> None:
    """Each delivery in the window with a known send becomes an arrow, coloured by command."""
    trace = result.trace
    window = trace.select(kind=Kind.DELIVER, since=10.0, until=10.9)
    sent = {e.msg_id for e in trace.select(kind=Kind.SEND)}
    paired = [e for e in window if e.msg_id in sent and e.detail in ("tic", "ldr")]
    figure = sequence_chart(trace, 10.0, 10.9, kinds=["tic", "ldr"])
    ax = figure.axes[0]
    assert len(ax.texts) == len(paired) > 0  # annotations are the arrows
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"tic", "ldr"}
    plt.close(figure)


def test_every_simulated_delivery_pairs_with_its_send(result) -> None:
    """In simulation a message's send and its deliveries share one id (all copies of a publish too)."""
    sends = {e.msg_id: e for e in result.trace.select(kind=Kind.SEND)}
    delivers = result.trace.select(kind=Kind.DELIVER)
    assert len(delivers) > 100
    for e in delivers:
        assert e.msg_id in sends and sends[e.msg_id].node == e.peer and sends[e.msg_id].detail == e.detail


def test_latency_histogram_topology_and_distributions(result) -> None:
    """The other figures label their axes and legends."""
    figure = latency_histogram(result.trace, kinds=["tic"])
    assert figure.axes[0].get_xlabel() == "latency (ms)" and "tic (n=" in figure.axes[0].get_legend().get_texts()[0].get_text()
    figure2 = topology(result.topology, partition=[["n0"], ["n1", "n2", "n3", "n4"]])
    assert [t.get_text() for t in figure2.axes[0].get_legend().get_texts()] == ["side 1", "side 2"]
    figure3 = distributions({"failover": [1.0, 1.5, 2.0]})
    assert figure3.axes[0].get_ylabel() == "time (s)"
    for f in (figure, figure2, figure3):
        plt.close(f)


def test_state_diagram_draws_the_role_changes_of_a_table() -> None:
    """Each (source, target) role change of the table is one arrow; the fixed leader's extra exits appear."""
    from riaps_sim.analysis.plots import state_diagram
    from riaps_sim.coord.election import FIXED_TABLE, RIAPS_TABLE

    riaps_figure, fixed_figure = state_diagram(RIAPS_TABLE), state_diagram(FIXED_TABLE)
    labels = [t.get_text() for t in fixed_figure.axes[0].texts]
    assert {"follower", "candidate", "leader"} <= set(labels)
    assert any("TimerFired[leader]" in label for label in labels)
    assert not any("TimerFired[leader]" in t.get_text() for t in riaps_figure.axes[0].texts)
    plt.close(riaps_figure)
    plt.close(fixed_figure)
