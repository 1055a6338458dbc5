"""``Topology``: the nodes and directed links a ``Network`` routes over, and its least-latency paths.

A small graph of its own rather than a networkx ``DiGraph``: importing networkx costs a simulation
about 11 MB and a tenth of a second, for two shortest-path searches. The searches follow the
ones networkx documents (``bidirectional_dijkstra`` for one pair, Dijkstra with predecessor lists
for every target of one source), including how they break ties between paths of equal length, so
a network routes exactly as it did on networkx. ``to_networkx`` gives a networkx copy for drawing
and analysis (networkx is imported then).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterator
from heapq import heappop, heappush
from typing import Any

from .links import Link

__all__ = ["Topology"]


class _Edge:
    """One directed edge: its ``Link`` and the weight searches use (the link's mean latency when last set)."""

    __slots__ = ("link", "weight")

    def __init__(self, link: Link, weight: float) -> None:
        self.link = link
        self.weight = weight


class Topology:
    """Nodes (with attributes: ``address`` for a host, ``switch=True`` for a switch) and directed edges.

    Nodes and each node's successors and predecessors keep the order they were added in, as a
    networkx ``DiGraph`` does; the searches depend on that order only to break ties.
    """

    def __init__(self) -> None:
        self._nodes: dict[Hashable, dict[str, Any]] = {}
        self._succ: dict[Hashable, dict[Hashable, _Edge]] = {}
        self._pred: dict[Hashable, dict[Hashable, _Edge]] = {}
        self._edges: dict[tuple[Hashable, Hashable], _Edge] = {}  # in the order they were added

    def __contains__(self, node: object) -> bool:
        return node in self._nodes

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def add_node(self, node: Hashable, **attributes: Any) -> None:
        """Add *node* with *attributes*; an existing node keeps its place and gets the attributes."""
        if node in self._nodes:
            self._nodes[node].update(attributes)
            return
        self._nodes[node] = dict(attributes)
        self._succ[node] = {}
        self._pred[node] = {}

    def add_edge(self, source: Hashable, target: Hashable, link: Link, weight: float) -> None:
        """Add (or replace, in its place) the edge from *source* to *target*; both nodes must exist."""
        for node in (source, target):
            if node not in self._nodes:
                raise KeyError(f"no node {node!r} in the topology; add it first")
        edge = self._succ[source].get(target)
        if edge is None:
            edge = _Edge(link, weight)
            self._succ[source][target] = edge
            self._pred[target][source] = edge
            self._edges[(source, target)] = edge
        else:
            edge.link, edge.weight = link, weight

    def link(self, source: Hashable, target: Hashable) -> Link:
        """The link from *source* to *target*; ``KeyError`` if there is none."""
        return self._succ[source][target].link

    def set_weight(self, source: Hashable, target: Hashable, weight: float) -> None:
        """Set the search weight of the edge from *source* to *target* (``KeyError`` if there is none)."""
        self._succ[source][target].weight = weight

    def shortest_path(self, source: Hashable, target: Hashable) -> list[Hashable] | None:
        """The least-weight node path from *source* to *target*, or ``None`` if there is none.

        Searches from both ends at once, one step each in turn, and stops when a node is settled
        from both sides (networkx's ``bidirectional_dijkstra``, whose path it returns on ties).
        """
        if source == target:
            return [source]
        order = itertools.count()
        neighbours = (self._succ, self._pred)
        settled: tuple[dict[Hashable, float], dict[Hashable, float]] = ({}, {})
        seen: tuple[dict[Hashable, float], dict[Hashable, float]] = ({source: 0}, {target: 0})
        previous: tuple[dict[Hashable, Hashable | None], dict[Hashable, Hashable | None]] = ({source: None}, {target: None})
        fringes: tuple[list[tuple[float, int, Hashable]], list[tuple[float, int, Hashable]]] = ([], [])
        heappush(fringes[0], (0, next(order), source))
        heappush(fringes[1], (0, next(order), target))
        best: float | None = None
        meeting: Hashable = None
        side = 1
        while fringes[0] and fringes[1]:
            side = 1 - side
            distance, _, node = heappop(fringes[side])
            if node in settled[side]:
                continue
            settled[side][node] = distance
            if node in settled[1 - side]:
                return self._walk(previous[0], meeting)[::-1] + self._walk(previous[1], previous[1][meeting])
            for other, edge in neighbours[side][node].items():
                length = distance + edge.weight
                if other in settled[side]:
                    if length < settled[side][other]:
                        raise ValueError(f"negative link weight near {node!r} and {other!r}: latencies must not be negative")
                elif other not in seen[side] or length < seen[side][other]:
                    seen[side][other] = length
                    heappush(fringes[side], (length, next(order), other))
                    previous[side][other] = node
                    if other in seen[1 - side]:
                        through = length + seen[1 - side][other]
                        if best is None or best > through:
                            best, meeting = through, other
        return None

    @staticmethod
    def _walk(previous: dict[Hashable, Hashable | None], node: Hashable | None) -> list[Hashable]:
        """The nodes from *node* back to the search's start, following *previous*."""
        walked = []
        while node is not None:
            walked.append(node)
            node = previous[node]
        return walked

    def predecessors(self, source: Hashable) -> dict[Hashable, list[Hashable]]:
        """For every node reachable from *source*, its predecessors on least-weight paths (first found first).

        One Dijkstra search from *source* (networkx's ``dijkstra_predecessor_and_distance``);
        *source* maps to ``[]``. Following each node's first predecessor back to *source* gives a
        least-weight path, the one networkx would give.
        """
        order = itertools.count()
        settled: dict[Hashable, float] = {}
        seen: dict[Hashable, float] = {source: 0}
        previous: dict[Hashable, list[Hashable]] = {source: []}
        fringe: list[tuple[float, int, Hashable]] = [(0, next(order), source)]
        succ = self._succ
        while fringe:
            distance, _, node = heappop(fringe)
            if node in settled:
                continue
            settled[node] = distance
            for other, edge in succ[node].items():
                length = distance + edge.weight
                if other in settled:
                    if length < settled[other]:
                        raise ValueError(f"negative link weight near {node!r} and {other!r}: latencies must not be negative")
                    if length == settled[other]:
                        previous[other].append(node)
                elif other not in seen or length < seen[other]:
                    seen[other] = length
                    heappush(fringe, (length, next(order), other))
                    previous[other] = [node]
                elif length == seen[other]:
                    previous[other].append(node)
        return previous

    def to_networkx(self) -> Any:
        """A networkx ``DiGraph`` copy: node attributes, and edges with ``link`` and ``weight``, added in
        the order they were here (so its searches break ties as this topology's do)."""
        import networkx as nx

        graph = nx.DiGraph()
        for node, attributes in self._nodes.items():
            graph.add_node(node, **attributes)
        for (source, target), edge in self._edges.items():  # in order, so every node's neighbours keep theirs
            graph.add_edge(source, target, link=edge.link, weight=edge.weight)
        return graph
