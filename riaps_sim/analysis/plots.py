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

__all__ = [
    "role_timeline",
    "role_spans",
    "sequence_chart",
    "latency_histogram",
    "topology",
    "distributions",
    "state_diagram",
    "ROLE_COLOURS",
    "SPLIT_BRAIN_COLOUR",
    "DIFFERS_COLOUR",
]

ROLE_COLOURS = {
    "not in group": "#f4f4f4",
    "follower": "#c9d3df",
    "precandidate": "#f7d9a8",
    "candidate": "#f2a541",
    "leader": "#2e8b57",
    "down": "#404040",
}
SPLIT_BRAIN_COLOUR = "#e0115f"


def _axes(ax: Any, size: tuple[float, float]) -> tuple[Any, Any]:
    """*ax*'s figure and *ax*, or a new figure that pyplot does not hold.

    A figure we make is returned, not left open in pyplot: in Jupyter it shows once, as the cell's
    value, instead of once by the inline backend and once more as the returned object. Save it
    with ``figure.savefig``; inside an ``ax`` of your own, pyplot shows it as usual.
    """
    from matplotlib.figure import Figure

    if ax is not None:
        return ax.figure, ax
    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.add_subplot()


def _natural(name: str) -> tuple[Any, ...]:
    """Sort key that puts n2 before n10."""
    import re

    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _relative(trace: Trace) -> float:
    return 0.0 if any(e.true_time is not None for e in trace) else min((e.when for e in trace), default=0.0)


def role_spans(trace: Trace, origin: float, end: float) -> dict[str, list[tuple[float, float, str]]]:
    """Each node's ``(start, stop, role)`` spans from 0 to *end* seconds after *origin*.

    A node is ``not in group`` until one of its components joins a group and after it leaves;
    ``down`` from a crash to its restart (fresh components then join again).
    """
    events = trace.sorted()
    nodes = sorted((n for n in events.nodes() if n != "network"), key=_natural)
    changes: dict[str, list[tuple[float, str]]] = {n: [(0.0, "not in group")] for n in nodes}
    for e in events:
        at = e.when - origin
        if e.kind == Kind.STATE and e.node in changes:
            changes[e.node].append((at, e.detail or "follower"))
        elif e.kind == Kind.GROUP_JOINED and e.node in changes:
            changes[e.node].append((at, "follower"))
        elif e.kind == Kind.GROUP_LEFT and e.node in changes:
            changes[e.node].append((at, "not in group"))
        elif e.kind == Kind.FAULT:
            verb, _, node = (e.detail or "").partition(" ")
            if verb in ("crash", "restart") and node in changes:
                changes[node].append((at, "down" if verb == "crash" else "not in group"))
    spans: dict[str, list[tuple[float, float, str]]] = {}
    for node, marks in changes.items():
        marks.sort(key=lambda m: m[0])  # stable: same-time changes keep their order
        spans[node] = [(start, stop, role) for (start, role), (stop, _) in zip(marks, marks[1:] + [(end, "")]) if stop > start]
    return spans


def role_timeline(trace: Trace, ax: Any = None, title: str | None = None, until: float | None = None, origin: float | None = None) -> Any:
    """One row per node showing its role over time, with split brain and every fault drawn.

    Roles: not in group, follower, candidate, leader, down (crashed). Spans with more than one
    leader are shaded and marked "split brain" along the top. Partitions are shaded from their
    start to the heal, the smaller side's rows hatched; crashes and restarts are marked on their
    node's row; clock skew, loss, duplication and delay are thin strips along the rows of the
    nodes they touch, from their time on. Every fault is labelled in a lane above the rows.
    Times are seconds from *origin* (default: 0 in simulation, the first event in the real world);
    *until* ends the axis.
    """
    from .faultmarks import fault_marks

    t0 = _relative(trace) if origin is None else origin
    end = (max((e.when for e in trace), default=t0) if until is None else t0 + until) - t0
    spans = role_spans(trace, t0, end)
    nodes = list(spans)
    figure, ax = _axes(ax, (10, 0.5 * max(3, len(nodes)) + 2.0))
    rows = {n: i for i, n in enumerate(reversed(nodes))}
    for node, node_spans in spans.items():
        for start, stop, role in node_spans:
            ax.broken_barh(
                [(start, stop - start)],
                (rows[node] - 0.35, 0.7),
                facecolor=ROLE_COLOURS.get(role, "#999999"),
                edgecolor="#d0d0d0" if role == "not in group" else "none",
                linewidth=0.6,
            )
    marks = fault_marks(trace, t0)
    _draw_partitions(ax, marks, end, rows)
    strips = _draw_fault_strips(ax, marks, end, rows)
    _draw_node_faults(ax, marks, rows)
    brains = _split_brain(trace, t0, end)
    top = len(nodes) - 0.4
    for start, stop in brains:
        ax.axvspan(start, stop, ymax=1.0, color=SPLIT_BRAIN_COLOUR, alpha=0.10, linewidth=0)
        ax.plot([start, stop], [top + 0.08, top + 0.08], color=SPLIT_BRAIN_COLOUR, linewidth=4, solid_capstyle="butt")
    lanes = _label_lane(
        ax, [(m.at, m.label, m.kind) for m in marks] + [(start, "split brain", "split brain") for start, _ in brains], end, top + 0.25
    )
    ax.set_yticks(range(len(nodes)), list(reversed(nodes)))
    ax.set_xlim(0, end)
    ax.set_ylim(-0.6, top + 0.3 + 0.42 * lanes)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("node")
    ax.set_title(title or "roles over time")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(
        handles=_timeline_legend(bool(brains), {m.kind for m in marks}, strips),
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
        fontsize=8,
    )
    return figure


def _timeline_legend(split_brain: bool, kinds: set[str], strips: set[str]) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from .faultmarks import FAULT_COLOURS

    handles: list[Any] = [Patch(facecolor=c, edgecolor="#d0d0d0" if r == "not in group" else c, label=r) for r, c in ROLE_COLOURS.items()]
    if split_brain:
        handles.append(Patch(facecolor=SPLIT_BRAIN_COLOUR, alpha=0.35, label="split brain (2+ leaders)"))
    if "partition" in kinds:
        handles.append(Patch(facecolor="none", edgecolor=FAULT_COLOURS["partition"], hatch="//", label="partitioned"))
    if "crash" in kinds:
        handles.append(Line2D([], [], color=FAULT_COLOURS["crash"], marker="X", linestyle="none", label="crash"))
    if "restart" in kinds:
        handles.append(Line2D([], [], color=FAULT_COLOURS["restart"], marker="^", linestyle="none", label="restart"))
    for kind in sorted(strips):
        handles.append(Patch(facecolor=FAULT_COLOURS[kind], label={"clock": "clock skew"}.get(kind, kind)))
    return handles


def _split_brain(trace: Trace, origin: float, end: float) -> list[tuple[float, float]]:
    """Intervals (relative to *origin*) in which some group had more than one live leader."""
    from .metrics import split_brain_intervals

    groups = sorted({e.group for e in trace.select(kind=Kind.GROUP_JOINED) if e.group is not None})
    spans = sorted((i.start - origin, i.end - origin) for g in groups for i in split_brain_intervals(trace, g, end=origin + end) if i.end > i.start)
    merged: list[tuple[float, float]] = []
    for start, stop in spans:  # adjacent intervals (the leaders' sides changed at a heal) are one split brain
        if merged and start <= merged[-1][1] + 1e-9:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def _draw_partitions(ax: Any, marks: Sequence[Any], end: float, rows: Mapping[str, int]) -> None:
    from .faultmarks import FAULT_COLOURS

    start: Any = None
    for mark in marks:
        if mark.kind == "partition":
            if start is not None:
                _shade_partition(ax, start, mark.at, rows, FAULT_COLOURS["partition"])
            start = mark
        elif mark.kind == "heal" and start is not None:
            _shade_partition(ax, start, mark.at, rows, FAULT_COLOURS["partition"])
            start = None
    if start is not None:
        _shade_partition(ax, start, end, rows, FAULT_COLOURS["partition"])


def _shade_partition(ax: Any, mark: Any, stop: float, rows: Mapping[str, int], colour: str) -> None:
    from matplotlib.patches import Rectangle

    sides = parse_sides(mark.detail)
    smallest = min(sides, key=len) if len(sides) > 1 else sides[0]
    for node in smallest:
        if node in rows:
            ax.add_patch(Rectangle((mark.at, rows[node] - 0.45), stop - mark.at, 0.9, fill=False, hatch="//", edgecolor=colour, linewidth=0))
    ax.axvspan(mark.at, stop, color=colour, alpha=0.07, linewidth=0)


def _draw_fault_strips(ax: Any, marks: Sequence[Any], end: float, rows: Mapping[str, int]) -> set[str]:
    """Clock, loss, duplicate and delay faults as thin strips under the bars of the nodes they touch."""
    from .faultmarks import FAULT_COLOURS, STRIP_KINDS

    drawn: set[str] = set()
    for mark in marks:
        if mark.kind not in STRIP_KINDS:
            continue
        level = STRIP_KINDS.index(mark.kind)
        touched = [rows[n] for n in mark.nodes if n in rows]
        stop = min(end, mark.at + mark.duration) if mark.duration is not None else end
        for row in touched:
            ax.broken_barh([(mark.at, stop - mark.at)], (row - 0.45 + 0.075 * level, 0.07), facecolor=FAULT_COLOURS[mark.kind])
        if len(touched) > 1:
            ax.plot([mark.at, mark.at], [min(touched), max(touched)], color=FAULT_COLOURS[mark.kind], linestyle=":", linewidth=1)
        drawn.add(mark.kind)
    return drawn


def _draw_node_faults(ax: Any, marks: Sequence[Any], rows: Mapping[str, int]) -> None:
    from .faultmarks import FAULT_COLOURS

    for mark in marks:
        if mark.kind in ("crash", "restart") and mark.nodes[0] in rows:
            row = rows[mark.nodes[0]]
            ax.plot([mark.at, mark.at], [row - 0.45, row + 0.45], color=FAULT_COLOURS[mark.kind], linewidth=1.2)
            ax.plot(
                mark.at,
                row + 0.45,
                marker="X" if mark.kind == "crash" else "^",
                color=FAULT_COLOURS[mark.kind],
                markersize=7,
                markeredgecolor="white",
                markeredgewidth=0.6,
                clip_on=False,
            )


def _label_lane(ax: Any, labels: Sequence[tuple[float, str, str]], end: float, base: float) -> int:
    """Write *labels* ``(time, text, kind)`` above the rows, stacked so they do not overlap; return the lanes used."""
    from .faultmarks import FAULT_COLOURS

    figure = ax.figure
    axes_inches = max(ax.get_position().width * figure.get_figwidth(), 1.0)
    per_char = 7.5 * 0.6 / 72 * max(end, 1e-9) / axes_inches  # data units per character at 7.5 pt
    lane_ends: list[float] = []
    for at, text, kind in sorted(labels):
        width = (len(text) + 2) * per_char
        lane = next((i for i, stop in enumerate(lane_ends) if stop <= at), len(lane_ends))
        if lane == len(lane_ends):
            lane_ends.append(0.0)
        lane_ends[lane] = at + width
        colour = SPLIT_BRAIN_COLOUR if kind == "split brain" else FAULT_COLOURS.get(kind, FAULT_COLOURS["other"])
        ax.annotate(
            text,
            (at, base + 0.42 * lane),
            fontsize=7.5,
            color="#222222",
            va="bottom",
            ha="left",
            bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": colour, "linewidth": 0.8},
        )
        ax.plot([at, at], [base - 0.2, base + 0.42 * lane], color=colour, linewidth=0.6)
    return len(lane_ends)


def sequence_chart(trace: Trace, since: float, until: float, kinds: Iterable[str] | None = None, ax: Any = None) -> Any:
    """A message sequence chart for ``[since, until]`` seconds: one lifeline per node, one arrow per delivery.

    Arrows join a send and its deliveries by message id (known in simulation); sends without a
    known delivery are dots; a message a node delivers to itself (a member hears its own
    publications, B26) is a small loop to the right of its lifeline. The legend names each
    command (``tic`` heartbeat, ``ldr`` leader heartbeat...). A node's lifeline is drawn thick and
    green while it leads. *kinds* limits the commands shown (e.g. ``["req", "vot", "ldr"]``).
    The time axis counts from *since*, in milliseconds for windows under two seconds.
    """
    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    from .codes import meaning

    figure, ax = _axes(ax, (10, 5.5))
    t0 = _relative(trace)
    window = trace.select(since=t0 + since, until=t0 + until).sorted()
    wanted = set(kinds) if kinds is not None else None
    nodes = sorted((n for n in trace.nodes() if n != "network"), key=_natural)
    x = {n: i for i, n in enumerate(nodes)}
    scale, unit = (1000.0, "ms") if until - since < 2.0 else (1.0, "s")

    def y(when: float) -> float:
        return (when - t0 - since) * scale

    span = (until - since) * scale
    _draw_lifelines(ax, trace, t0, since, until, x, scale)
    colours = colormaps["tab10"]
    palette: dict[str, Any] = {}
    sends: dict[str, Any] = {}  # msg id -> its latest send so far (real ids are digests that repeated messages share)
    for e in window.select(kind=[Kind.SEND, Kind.DELIVER]):
        if e.kind == Kind.SEND and e.msg_id is not None:
            sends[e.msg_id] = e
        kind = e.detail or "?"
        if wanted is not None and kind not in wanted:
            continue
        colour = palette.setdefault(kind, colours(len(palette) % 10))
        source = sends.get(e.msg_id) if e.kind == Kind.DELIVER and e.msg_id is not None else None
        if source is not None and e.node in x and source.node in x:
            if source.node == e.node:  # to itself: a loop, so it does not vanish into the lifeline
                ax.annotate(
                    "",
                    xy=(x[e.node] + 0.02, y(e.when) + 0.012 * span),
                    xytext=(x[e.node] + 0.02, y(source.when)),
                    arrowprops={
                        "arrowstyle": "->",
                        "color": colour,
                        "linewidth": 0.8,
                        "connectionstyle": "arc,angleA=0,angleB=0,armA=14,armB=14,rad=3",
                    },
                )
            else:
                ax.annotate(
                    "",
                    xy=(x[e.node], y(e.when)),
                    xytext=(x[source.node], y(source.when)),
                    arrowprops={"arrowstyle": "->", "color": colour, "linewidth": 0.8},
                )
        elif e.kind == Kind.SEND and e.node in x:
            ax.plot(x[e.node], y(e.when), "o", color=colour, markersize=3)
    ax.set_xticks(range(len(nodes)), nodes)
    ax.set_xlim(-0.6, len(nodes) - 0.4)
    ax.set_ylim(span * 1.02, -span * 0.02)
    ax.set_ylabel(f"time since {_seconds(since)} s ({unit})")
    ax.set_xlabel("node")
    ax.set_title(f"messages from {_seconds(since)} s to {_seconds(until)} s")
    ax.spines[["top", "right"]].set_visible(False)
    handles = [Line2D([], [], color=c, label=f"{k}  {meaning(k)}") for k, c in palette.items()]
    handles.append(Line2D([], [], color=ROLE_COLOURS["leader"], linewidth=4, label="leader's lifeline"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8, title="message codes")
    return figure


def _seconds(t: float) -> str:
    """Seconds to the millisecond, without trailing zeros: ``20``, ``21.2``, ``8.005``."""
    return f"{t:.3f}".rstrip("0").rstrip(".")


def _draw_lifelines(ax: Any, trace: Trace, t0: float, since: float, until: float, x: Mapping[str, int], scale: float) -> None:
    """Thin grey lifelines, thick green while the node leads within the window."""
    for i in x.values():
        ax.axvline(i, color="#999999", linewidth=0.8, zorder=0)
    for node, node_spans in role_spans(trace, t0, until).items():
        for start, stop, role in node_spans:
            lo, hi = max(start, since), min(stop, until)
            if role == "leader" and hi > lo and node in x:
                ax.plot(
                    [x[node], x[node]],
                    [(lo - since) * scale, (hi - since) * scale],
                    color=ROLE_COLOURS["leader"],
                    linewidth=4,
                    alpha=0.5,
                    solid_capstyle="butt",
                    zorder=0,
                )


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


DIFFERS_COLOUR = "#c2185b"


def state_diagram(table: Mapping[Any, Any], ax: Any = None, title: str = "role transitions", compare: Mapping[Any, Any] | None = None) -> Any:
    """Draw a protocol's transition table: roles as nodes, each case that changes the role as an arrow.

    *table* maps ``(role, input key)`` to a row of cases (see ``riaps_sim.coord.election``); an
    arrow is labelled with the input key and, for a guarded case, its guard in brackets. Cases that
    leave the role as it is (membership, messages, polls, drops) are not drawn; the caption counts
    the rows that only keep it. With *compare* (the other protocol's table), the rows that differ
    from it (``riaps_sim.coord.election.differences``) are highlighted: their arrows and labels in
    colour, and those that keep the role listed beside the diagram.
    """
    from matplotlib.lines import Line2D

    figure, ax = _axes(ax, (9, 6.5))
    layout = {"FOLLOWER": (0.0, 0.0), "PRECANDIDATE": (0.0, 2.2), "CANDIDATE": (2.0, 2.2), "LEADER": (2.0, 0.0)}
    roles = {role.name for role, _ in table}
    place = {name: at for name, at in layout.items() if name in roles}
    if "PRECANDIDATE" not in roles:
        place["CANDIDATE"] = (1.0, 2.2)
    differing: set[tuple[str, str]] = set()
    if compare is not None:
        from ..coord.election import differences

        differing = {(role.name, key) for role, key, mine, _ in differences(dict(table), dict(compare)) if mine is not None}
    edges: dict[tuple[str, str], list[tuple[str, str]]] = {}  # (source, target) -> (label, input key)
    kept: list[tuple[str, str]] = []
    for (role, key), row in table.items():
        moves = [c for c in row.cases if c.target != role]
        if not moves:
            kept.append((role.name, key))
        for case in moves:
            label = f"{key} [{case.guard.__name__}]" if case.guard is not None else key
            edges.setdefault((role.name, case.target.name), []).append((label, key))
    for name, (x, y) in place.items():
        ax.annotate(
            name.lower(),
            (x, y),
            ha="center",
            va="center",
            fontsize=11,
            bbox={"boxstyle": "round,pad=0.5", "facecolor": ROLE_COLOURS[name.lower()], "edgecolor": "#333333"},
        )
    for (source, target), labels in sorted(edges.items()):
        (x0, y0), (x1, y1) = place[source], place[target]
        changed = any((source, key) in differing for _, key in labels)
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "color": DIFFERS_COLOUR if changed else "#333333",
                "linewidth": 1.6 if changed else 1.0,
                "shrinkA": 28,
                "shrinkB": 28,
                "connectionstyle": "arc3,rad=0.18",
            },
        )
        along = 0.65 if target == "LEADER" else 0.4  # two arrows between a pair, or from one role, label apart
        mx, my = x0 + along * (x1 - x0), y0 + along * (y1 - y0)
        nx_, ny_ = (y1 - y0), -(x1 - x0)  # the side the arc bends to
        norm = max((nx_**2 + ny_**2) ** 0.5, 1e-9)
        cx, cy = mx + 0.12 * nx_ / norm, my + 0.12 * ny_ / norm
        side = "left" if nx_ / norm > 0.3 else "right" if nx_ / norm < -0.3 else "center"  # labels grow away from the arrow
        ordered = sorted(labels)
        for i, (label, key) in enumerate(ordered):
            hot = (source, key) in differing
            ax.annotate(
                label,
                (cx, cy + 0.075 * ((len(ordered) - 1) / 2 - i) + (0.0 if side != "center" else 0.06 * (len(ordered) + 1) * (1 if ny_ > 0 else -1))),
                ha=side,
                va="center",
                fontsize=7,
                color=DIFFERS_COLOUR if hot else "#222222",
                fontweight="bold" if hot else "normal",
            )
    ax.set_xlim(-1.3, 3.3)
    ax.set_ylim(-0.9, 2.6)
    ax.set_axis_off()
    ax.set_title(title)
    caption = f"{len(kept)} (role, input) rows keep the role and are not drawn"
    kept_differing = sorted(k for k in kept if k in differing)
    if kept_differing:
        by_role: dict[str, list[str]] = {}
        for role_name, key in kept_differing:
            by_role.setdefault(role_name.lower(), []).append(key)
        caption += f"; of those, {len(kept_differing)} differ:\n" + "\n".join(f"{r}: {', '.join(keys)}" for r, keys in by_role.items())
    ax.text(1.0, -0.75, caption, ha="center", va="top", fontsize=7.5, color=DIFFERS_COLOUR if kept_differing else "#555555", wrap=True)
    if compare is not None:
        ax.legend(
            handles=[Line2D([], [], color=DIFFERS_COLOUR, linewidth=1.6, label="differs from the other protocol")],
            loc="upper left",
            frameon=False,
            fontsize=8,
        )
    return figure
