"""Figures are legible (labelled axes, legend, node names) and show what the trace holds."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from riaps_sim import load_scenario, run_scenario
from riaps_sim.analysis.plots import distributions, latency_histogram, sequence_chart, topology
from riaps_sim.trace import Kind


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
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"tic  heartbeat", "ldr  leader heartbeat", "leader's lifeline"}
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
    from riaps_sim.coord import FIXED_TABLE, RIAPS_TABLE

    riaps_figure, fixed_figure = state_diagram(RIAPS_TABLE), state_diagram(FIXED_TABLE)
    labels = [t.get_text() for t in fixed_figure.axes[0].texts]
    assert {"follower", "candidate", "leader"} <= set(labels)
    assert any("TimerFired[leader]" in label for label in labels)
    assert not any("TimerFired[leader]" in t.get_text() for t in riaps_figure.axes[0].texts)
    plt.close(riaps_figure)
    plt.close(fixed_figure)


# -- what the figures tell -------------------------------------------------------------------------------


def _every_fault_scenario():
    import dataclasses

    import networkx as nx

    from riaps_sim import Scenario
    from riaps_sim.examples import Groupie
    from riaps_sim.faults import ClockSkew, Crash, Delay, Duplicate, Heal, Loss, Partition, Pause, Restart

    mesh = nx.complete_graph([f"n{i}" for i in range(5)])  # link faults name two nodes joined by a link
    nx.set_edge_attributes(mesh, 0.001, "latency")
    faults = [
        ClockSkew(at=5, node="n2", offset_s=0.5),
        Loss(at=8, a="n1", b="n3", rate=0.3),
        Duplicate(at=9, a="n0", b="n4", rate=0.2),
        Delay(at=10, a="n0", b="n1", latency_s=0.05),
        Crash(at=20, node="n1"),
        Restart(at=30, node="n1"),
        Partition(at=35, sides=[["n3", "n4"]]),
        Heal(at=45),
        Pause(at=50, node="n0", duration_s=3),
    ]
    return dataclasses.replace(Scenario.group_of(5, Groupie, faults=faults, duration=60, seed=1, name="every fault"), topology=mesh)


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_role_timeline_draws_every_fault_kind_and_labels_it() -> None:
    """Clock skew, loss, duplicate, delay, pause, crash, restart and partition each get a legend entry and a readable label."""
    figure = run_scenario(_every_fault_scenario()).plot()
    ax = figure.axes[0]
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert legend >= {"clock skew", "loss", "duplicate", "delay", "pause", "crash", "restart", "partitioned", "not in group"}
    labels = {t.get_text() for t in ax.texts}
    assert labels >= {
        "clock n2 +0.5 s",
        "loss n1\u2194n3 30%",
        "duplicate n0\u2194n4 20%",
        "delay n0\u2194n1 50 ms",
        "crash n1",
        "restart n1",
        "partition",
        "heal",
        "pause n0 3 s",
    }
    for text in ax.texts:  # dark text on a white box: legible on any bar
        assert text.get_color() == "#222222" and text.get_bbox_patch().get_facecolor()[:3] == (1.0, 1.0, 1.0)


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_role_timeline_marks_split_brain(result) -> None:
    """The reference protocol keeps two leaders after the partition (B6, B12); the figure says so where it happens."""
    from riaps_sim.analysis import split_brain_intervals

    (first, *_) = split_brain_intervals(result.trace, end=60.0)
    ax = result.plot().axes[0]
    marks = [t for t in ax.texts if t.get_text() == "split brain"]
    assert marks and abs(marks[0].xy[0] - first.start) < 1e-9
    assert "split brain (2+ leaders)" in {t.get_text() for t in ax.get_legend().get_texts()}


def test_a_node_is_not_in_the_group_until_it_joins() -> None:
    """Before its component joins, after it leaves, and after a restart until it joins again, a node is not in the group."""
    from riaps_sim.analysis.plots import role_spans
    from riaps_sim.trace import Trace

    trace = Trace()
    trace.record(0.0, 0.0, "n0", "c", "G.g", Kind.GROUP_JOINED)
    trace.record(5.0, 5.0, "n1", "c", "G.g", Kind.GROUP_JOINED)
    trace.record(7.0, 7.0, "n1", None, "G.g", Kind.STATE, detail="leader", term=1)
    trace.record(8.0, 8.0, "network", None, None, Kind.FAULT, detail="crash n1")
    trace.record(9.0, 9.0, "network", None, None, Kind.FAULT, detail="restart n1")
    trace.record(9.5, 9.5, "n1", "c", "G.g", Kind.GROUP_JOINED)
    trace.record(11.0, 11.0, "n0", "c", "G.g", Kind.GROUP_LEFT)
    spans = role_spans(trace, 0.0, 12.0)
    assert spans["n0"] == [(0.0, 11.0, "follower"), (11.0, 12.0, "not in group")]
    assert spans["n1"] == [
        (0.0, 5.0, "not in group"),
        (5.0, 7.0, "follower"),
        (7.0, 8.0, "leader"),
        (8.0, 9.0, "down"),
        (9.0, 9.5, "not in group"),
        (9.5, 12.0, "follower"),
    ]


def test_sequence_chart_legend_leader_self_messages_and_relative_time(result) -> None:
    """Codes are named in the legend, the leader's lifeline is marked, a member's own tic is a loop, time counts from the window."""
    trace = result.trace
    figure = sequence_chart(trace, 10.0, 10.9, kinds=["tic", "ldr"])
    ax = figure.axes[0]
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert legend == {"tic  heartbeat", "ldr  leader heartbeat", "leader's lifeline"}
    assert ax.get_ylabel() == "time since 10 s (ms)" and ax.get_ylim()[1] < 0 < 900 < ax.get_ylim()[0]
    loops = [a for a in ax.texts if a.xy[0] == a.xyann[0]]  # an arrow that starts and ends on one lifeline
    own = [e for e in trace.select(kind=Kind.DELIVER, since=10.0, until=10.9) if e.peer == e.node and e.detail in ("tic", "ldr")]
    assert len(own) > 0 and len(loops) == len(own)
    thick = [line for line in ax.lines if line.get_linewidth() == 4]
    assert len(thick) == 1  # n3 leads throughout 10-10.9 s in this run
    plt.close(figure)


def test_state_diagram_highlights_the_rows_that_differ() -> None:
    """With the other table to compare, inputs whose rows differ are drawn in the highlight colour; others are not."""
    from matplotlib.colors import to_hex

    from riaps_sim.analysis.plots import DIFFERS_COLOUR, state_diagram
    from riaps_sim.coord import FIXED_TABLE, RIAPS_TABLE, differences

    changed = {key for _, key, _, fixed_row in differences(RIAPS_TABLE, FIXED_TABLE) if fixed_row is not None}
    ax = state_diagram(FIXED_TABLE, compare=RIAPS_TABLE).axes[0]
    coloured = {t.get_text() for t in ax.texts if to_hex(t.get_color()) == DIFFERS_COLOUR}
    plain = {t.get_text() for t in ax.texts if to_hex(t.get_color()) == "#222222"}
    assert "AnswerPortFailed" in plain
    assert {t.split(" [")[0] for t in coloured if "\n" not in t and ";" not in t} <= changed
    assert "TimerFired[leader] [quorum_lost]" in coloured  # the guard is on the arrow
    assert not {t.get_text() for t in state_diagram(FIXED_TABLE).axes[0].texts if to_hex(t.get_color()) == DIFFERS_COLOUR}


@pytest.mark.slow
def test_result_plot_displays_once_in_jupyter(tmp_path) -> None:
    """``result.plot()`` as the README writes it: one image in the cell's outputs, not two."""
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "%matplotlib inline\nfrom riaps_sim import load_scenario, run_scenario\n"
                "result = run_scenario(load_scenario('default'), until=10)\nresult.plot()"
            )
        ]
    )
    NotebookClient(book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    images = [o for o in book.cells[0].outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1


def test_fault_marks_read_every_wording_of_the_trace() -> None:
    """Each fault wording becomes a typed mark with the nodes it touches; an unknown wording is kept as is."""
    from riaps_sim.analysis.faultmarks import fault_marks
    from riaps_sim.trace import Trace

    trace = Trace()
    for at, detail in [
        (1, "clock n2 offset=-0.25 rate=1.001"),
        (2, "link n0->n4 duplication=0.5"),
        (3, "link n0<->n1 latency=Constant(delay=0.002)"),
        (4, "partition n1,n2 | n0 (drop, one-way)"),
        (5, "skipped crash @leader: no leader"),
        (6, "link n1<->n3 delay+0.05"),
        (7, "pause n2 for 1.5 s"),
    ]:
        trace.record(at + 10.0, None, "network", None, None, Kind.FAULT, detail=detail)
    marks = fault_marks(trace, origin=10.0)
    assert [(m.at, m.kind, m.nodes, m.label) for m in marks] == [
        (1.0, "clock", ("n2",), "clock n2 -0.25 s x1.001"),
        (2.0, "duplicate", ("n0", "n4"), "duplicate n0\u2192n4 50%"),
        (3.0, "delay", ("n0", "n1"), "delay n0\u2194n1 2 ms"),
        (4.0, "partition", ("n0", "n1", "n2"), "partition"),
        (5.0, "other", (), "skipped crash @leader: no leader"),
        (6.0, "delay", ("n1", "n3"), "delay n1\u2194n3 50 ms"),
        (7.0, "pause", ("n2",), "pause n2 1.5 s"),
    ]
    assert marks[-1].duration == 1.5 and marks[0].duration is None
