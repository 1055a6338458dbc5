"""Figures from a trace, with matplotlib (imported when a function draws, so importing riaps_sim stays light).

Every function takes the trace (or results) first, draws on *ax* if given or on a new figure,
labels its axes, names the nodes and adds a legend, and returns the figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..trace import Kind, Trace
from .metrics import message_latencies
from .replay import parse_sides

__all__ = ["role_timeline", "sequence_chart", "latency_histogram", "topology", "distributions", "state_diagram", "ROLE_COLOURS"]

ROLE_COLOURS = {"follower": "#c9d3df", "candidate": "#f2a541", "leader": "#2e8b57", "down": "#404040"}


def _axes(ax: Any, size: tuple[float, float]) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, ax
    figure, ax = plt.subplots(figsize=size, layout="constrained")
    return figure, ax


def _natural(name: str) -> tuple[Any, ...]:
    """Sort key that puts n2 before n10."""
    import re

    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _relative(trace: Trace) -> float:
    return 0.0 if any(e.true_time is not None for e in trace) else min((e.when for e in trace), default=0.0)


def role_timeline(trace: Trace, ax: Any = None, title: str | None = None, until: float | None = None, origin: float | None = None) -> Any:
    """One row per node showing its role over time (follower, candidate, leader, down); faults shaded.

    Partitions are shaded from their start to the heal and each side's nodes get a hatched band;
    crashes and restarts are marked with vertical lines. Times are seconds from *origin* (default:
    0 in simulation, the first event in the real world); *until* ends the axis.
    """
    figure, ax = _axes(ax, (10, 0.55 * max(3, len(trace.nodes())) + 1.4))
    t0 = _relative(trace) if origin is None else origin
    events = trace.sorted()
    nodes = sorted((n for n in events.nodes() if n != "network"), key=_natural)
    end = (max((e.when for e in events), default=t0) if until is None else t0 + until) - t0
    rows = {n: i for i, n in enumerate(reversed(nodes))}
    spans: dict[str, list[tuple[float, str]]] = {n: [(0.0, "follower")] for n in nodes}
    for e in events:
        if e.kind == Kind.STATE and e.node in spans:
            spans[e.node].append((e.when - t0, e.detail or "follower"))
        elif e.kind == Kind.FAULT and (e.detail or "").split(" ")[0] in ("crash", "restart"):
            verb, _, node = (e.detail or "").partition(" ")
            if node in spans:
                spans[node].append((e.when - t0, "down" if verb == "crash" else "follower"))
    for node, changes in spans.items():
        for (start, role), (stop, _) in zip(changes, changes[1:] + [(end, "")]):
            if stop > start:
                ax.broken_barh([(start, stop - start)], (rows[node] - 0.35, 0.7), color=ROLE_COLOURS.get(role, "#999999"))
    partition_start: tuple[float, str] | None = None
    for e in events.select(kind=Kind.FAULT):
        at, detail = e.when - t0, e.detail or ""
        if detail.startswith("partition"):
            partition_start = (at, detail)
        elif detail == "heal" and partition_start is not None:
            _shade_partition(ax, partition_start, at, rows)
            partition_start = None
        elif detail.split(" ")[0] in ("crash", "restart"):
            ax.axvline(at, color="#b22222", linestyle="--", linewidth=1)
            ax.annotate(detail, (at, len(nodes) - 0.45), fontsize=8, color="#b22222", rotation=90, va="top", ha="right")
    if partition_start is not None:
        _shade_partition(ax, partition_start, end, rows)
    ax.set_yticks(range(len(nodes)), list(reversed(nodes)))
    ax.set_xlim(0, end)
    ax.set_ylim(-0.6, len(nodes) - 0.4)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("node")
    ax.set_title(title or "roles over time")
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=r) for r, c in ROLE_COLOURS.items()]
    handles.append(Patch(facecolor="none", edgecolor="#6a5acd", hatch="//", label="partitioned"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return figure


def _shade_partition(ax: Any, start: tuple[float, str], stop: float, rows: Mapping[str, int]) -> None:
    at, detail = start
    sides = parse_sides(detail)
    smallest = min(sides, key=len) if len(sides) > 1 else sides[0]
    for node in smallest:
        if node in rows:
            ax.add_patch(_rect(at, rows[node] - 0.45, stop - at, 0.9))
    ax.axvspan(at, stop, color="#6a5acd", alpha=0.07)
    ax.annotate("partition", (at, -0.55), fontsize=8, color="#6a5acd", va="bottom")


def _rect(x: float, y: float, w: float, h: float) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, fill=False, hatch="//", edgecolor="#6a5acd", linewidth=0)


def sequence_chart(trace: Trace, since: float, until: float, kinds: Iterable[str] | None = None, ax: Any = None) -> Any:
    """A message sequence chart for ``[since, until]`` seconds: one lifeline per node, one arrow per delivery.

    Arrows join a send and its deliveries by message id (known in simulation); sends without a
    known delivery are dots. *kinds* limits the commands shown (e.g. ``["req", "vot", "ldr"]``).
    """
    import matplotlib.pyplot as plt

    figure, ax = _axes(ax, (10, 5))
    t0 = _relative(trace)
    window = trace.select(since=t0 + since, until=t0 + until).sorted()
    wanted = set(kinds) if kinds is not None else None
    nodes = sorted((n for n in trace.nodes() if n != "network"), key=_natural)
    x = {n: i for i, n in enumerate(nodes)}
    colours = plt.get_cmap("tab10")
    palette: dict[str, Any] = {}
    sends = {e.msg_id: e for e in window.select(kind=Kind.SEND) if e.msg_id is not None}
    for e in window.select(kind=[Kind.SEND, Kind.DELIVER]):
        kind = e.detail or "?"
        if wanted is not None and kind not in wanted:
            continue
        colour = palette.setdefault(kind, colours(len(palette) % 10))
        if e.kind == Kind.DELIVER and e.msg_id in sends and e.node in x and sends[e.msg_id].node in x:
            s = sends[e.msg_id]
            ax.annotate("", xy=(x[e.node], e.when - t0), xytext=(x[s.node], s.when - t0),
                        arrowprops={"arrowstyle": "->", "color": colour, "linewidth": 0.8})
        elif e.kind == Kind.SEND and e.node in x:
            ax.plot(x[e.node], e.when - t0, "o", color=colour, markersize=3)
    for node, i in x.items():
        ax.axvline(i, color="#888888", linewidth=0.8)
    ax.set_xticks(range(len(nodes)), nodes)
    ax.set_ylim(until, since)
    ax.set_ylabel("time (s)")
    ax.set_xlabel("node")
    ax.set_title(f"messages from {since:.3f} s to {until:.3f} s")
    from matplotlib.lines import Line2D

    ax.legend(handles=[Line2D([], [], color=c, label=k) for k, c in palette.items()], loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return figure


def latency_histogram(trace: Trace, kinds: Iterable[str] | None = None, ax: Any = None, bins: int = 30) -> Any:
    """Histogram of delivery latencies (ms) per command, from send/deliver pairs with message ids."""
    figure, ax = _axes(ax, (7, 4))
    latencies = message_latencies(trace)
    wanted = set(kinds) if kinds is not None else None
    drawn = False
    for kind, values in sorted(latencies.items()):
        if wanted is None or kind in wanted:
            ax.hist([v * 1000 for v in values], bins=bins, alpha=0.6, label=f"{kind} (n={len(values)})")
            drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "no send/deliver pairs with message ids in this trace", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("messages")
    ax.set_title("delivery latency by command")
    if drawn:
        ax.legend(frameon=False)
    return figure


def topology(graph: Any, partition: Sequence[Iterable[str]] | None = None, ax: Any = None, seed: int = 0) -> Any:
    """Draw a network graph (networkx), colouring nodes by partition side and labelling link latencies.

    Edges may carry ``latency`` (seconds, or a latency object) or ``weight`` (mean latency in
    seconds, as ``RunResult.topology`` has them); switches are drawn small and grey.
    """
    import networkx as nx

    figure, ax = _axes(ax, (6, 5))
    position = nx.spring_layout(graph, seed=seed)
    sides = [set(side) for side in partition or []]
    colours = ["#2e8b57", "#6a5acd", "#f2a541", "#b22222"]
    node_colour = [next((colours[i % 4] for i, s in enumerate(sides) if n in s), "#c9d3df") for n in graph.nodes]
    nx.draw_networkx(graph, position, ax=ax, node_color=node_colour, edgecolors="#333333", font_size=9)
    labels = {(u, v): _latency_label(d.get("latency", d.get("weight"))) for u, v, d in graph.edges(data=True) if "latency" in d or "weight" in d}
    if labels:
        nx.draw_networkx_edge_labels(graph, position, edge_labels=labels, ax=ax, font_size=7)
    if sides:
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=colours[i % 4], label=f"side {i + 1}") for i in range(len(sides))], frameon=False)
    ax.set_title("topology")
    ax.set_axis_off()
    return figure


def _latency_label(latency: Any) -> str:
    mean = getattr(latency, "mean", latency)
    mean = mean() if callable(mean) else mean
    return f"{float(mean) * 1000:g} ms" if isinstance(mean, (int, float)) else str(latency)


def distributions(samples: Mapping[str, Sequence[float]], ax: Any = None, unit: str = "s") -> Any:
    """Box plots of metric samples from a sweep (``{"first leader": [...], "failover": [...]}``), p50/p95 marked."""
    import statistics

    figure, ax = _axes(ax, (7, 4))
    names = [n for n, values in samples.items() if values]
    data = [list(samples[n]) for n in names]
    if data:
        ax.boxplot(data, tick_labels=names, whis=(5, 95), showfliers=True)
        for i, values in enumerate(data, 1):
            ax.annotate(f"p50 {statistics.median(values):.2f}", (i + 0.1, statistics.median(values)), fontsize=8)
    ax.set_ylabel(f"time ({unit})")
    ax.set_title(f"over {max((len(d) for d in data), default=0)} runs (whiskers: p5-p95)")
    return figure


def state_diagram(table: Mapping[Any, Any], ax: Any = None, title: str = "role transitions") -> Any:
    """Draw a protocol's transition table: roles as nodes, each input that changes the role as an arrow.

    *table* maps ``(role, input key)`` to a row with ``targets`` (see ``riaps_sim.coord.election``).
    Inputs that leave the role as it is (membership, messages, polls) are not drawn; the caption
    counts them.
    """
    figure, ax = _axes(ax, (8, 5.5))
    place = {"FOLLOWER": (0.0, 0.0), "CANDIDATE": (1.0, 1.2), "LEADER": (2.0, 0.0)}
    edges: dict[tuple[str, str], list[str]] = {}
    kept = 0
    for (role, key), row in table.items():
        for target in row.targets:
            if target == role:
                kept += 1
            else:
                edges.setdefault((role.name, target.name), []).append(key)
    for name, (x, y) in place.items():
        ax.annotate(name.lower(), (x, y), ha="center", va="center", fontsize=11,
                    bbox={"boxstyle": "round,pad=0.5", "facecolor": ROLE_COLOURS[name.lower()], "edgecolor": "#333333"})
    for (source, target), keys in sorted(edges.items()):
        (x0, y0), (x1, y1) = place[source], place[target]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": "#333333", "shrinkA": 28, "shrinkB": 28, "connectionstyle": "arc3,rad=0.18"})
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        nx_, ny_ = (y1 - y0), -(x1 - x0)  # the side the arc bends to
        norm = max((nx_ ** 2 + ny_ ** 2) ** 0.5, 1e-9)
        ax.annotate("\n".join(sorted(keys)), (mx + 0.22 * nx_ / norm, my + 0.22 * ny_ / norm), ha="center", va="center", fontsize=7.5)
    ax.set_xlim(-0.6, 2.6)
    ax.set_ylim(-0.7, 1.7)
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(1.0, -0.65, f"{kept} (role, input) rows keep the role and are not drawn", ha="center", fontsize=8, color="#555555")
    return figure
