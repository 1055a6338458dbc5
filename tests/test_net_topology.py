"""Topology: latency distributions, hosts and addresses, user graphs, per-direction links, least-latency routing."""

from __future__ import annotations

import random

import networkx as nx
import pytest
import zmq

from riaps_sim.net import Constant, Empirical, LogNormal, Network, TruncatedNormal, Uniform, as_latency


def approx(t: float) -> object:
    return pytest.approx(t, abs=1e-12)


# -- latency distributions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "latency, mean, low, high",
    [
        (Constant(0.002), 0.002, 0.002, 0.002),
        (Uniform(0.001, 0.003), 0.002, 0.001, 0.003),
        (TruncatedNormal(0.002, 0.0005, low=0.001, high=0.003), 0.002, 0.001, 0.003),
        (LogNormal(0.002, 0.5, shift=0.0005), 0.0005 + 0.002 * 1.1331484530668263, 0.0005, float("inf")),
        (Empirical([0.001, 0.002, 0.003]), 0.002, 0.001, 0.003),
    ],
)
def test_latency_samples_stay_in_range_and_average_near_the_mean(latency, mean, low, high) -> None:
    """Each distribution draws non-negative delays within its bounds whose average approaches its mean."""
    rng = random.Random(5)
    draws = [latency.sample(rng) for _ in range(4000)]
    assert latency.mean == pytest.approx(mean)
    assert all(low <= d <= high for d in draws)
    assert sum(draws) / len(draws) == pytest.approx(mean, rel=0.08)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Constant(-1), "Constant delay must be a finite number of seconds >= 0"),
        (lambda: Uniform(0.003, 0.001), "low <= high"),
        (lambda: TruncatedNormal(0.001, 0.1, low=0.002), "low <= mu <= high"),
        (lambda: LogNormal(0, 0.5), "median must be > 0"),
        (lambda: Empirical([]), "at least one sample"),
        (lambda: as_latency("1ms"), "a number of seconds or a Latency"),
    ],
)
def test_bad_latencies_are_named(make, message: str) -> None:
    """Invalid parameters raise with the value and what is expected."""
    with pytest.raises((ValueError, TypeError), match=message):
        make()


# -- hosts ------------------------------------------------------------------------------------------------


def test_hosts_get_addresses_clocks_and_their_own_generators() -> None:
    """Addresses run 10.0.0.1 ... 10.0.0.254, 10.0.1.1; generators depend on seed and name only."""
    net = Network(seed=11)
    hosts = [net.add_host(f"h{i}") for i in range(256)]
    assert [h.address for h in hosts[:2]] + [hosts[253].address, hosts[254].address] == ["10.0.0.1", "10.0.0.2", "10.0.0.254", "10.0.1.1"]
    other = Network(seed=11)
    other.add_host("zz")
    assert other.add_host("h5").random.random() == hosts[5].random.random()
    assert Network(seed=12).add_host("h5").random.random() != Network(seed=11).add_host("h5").random.random()
    with pytest.raises(ValueError, match="address 10.0.0.1 is taken by host 'h0'"):
        net.add_host("dup", address="10.0.0.1")
    with pytest.raises(ValueError, match="already has a node called 'h0'"):
        net.add_host("h0")
    with pytest.raises(ValueError, match="IPv4 text"):
        net.add_host("bad", address="ten")
    with pytest.raises(KeyError, match="no host 'nobody'"):
        net.host("nobody")


def test_part_wires_context_address_and_clock() -> None:
    """network.part gives a ports.Part on the host's context, address and clock."""
    net = Network()
    net.add_host("a", address="192.168.1.7")
    part = net.part("a", name="node-a")
    assert part.appContext is net.host("a").context and part.host == "192.168.1.7"
    net.set_clock("a", offset=2.0)
    assert part.clock() == 2.0 and part.name == "node-a"


# -- graphs and routing ---------------------------------------------------------------------------------


def two_switch_graph() -> nx.Graph:
    g = nx.Graph()
    g.add_node("s1", switch=True)
    g.add_node("s2", switch=True)
    g.add_node("a", address="10.1.0.1")
    g.add_node("b", address="10.2.0.1")
    g.add_edge("a", "s1", latency=0.001)
    g.add_edge("s1", "s2", latency=0.010)
    g.add_edge("s2", "b", latency=0.001)
    return g


def one_way_time(net: Network, src: str, dst: str) -> float:
    a, b = net.host(src), net.host(dst)
    router = b.context.socket(zmq.ROUTER)
    port = router.bind_to_random_port(f"tcp://{b.address}")
    dealer = a.context.socket(zmq.DEALER)
    dealer.connect(f"tcp://{b.address}:{port}")
    net.run(until=net.now + 1.0)
    start = net.now
    dealer.send_multipart([b"t"])
    net.run(until=router.readable_event())
    took = net.now - start
    dealer.close(0)
    router.close(0)
    return took


def test_user_graph_multi_hop_and_its_own_graph_untouched() -> None:
    """Switches forward; a message crosses three hops (12 ms); the caller's graph is not modified."""
    g = two_switch_graph()
    net = Network(graph=g)
    assert net.host("a").address == "10.1.0.1"
    assert one_way_time(net, "a", "b") == approx(0.012)
    assert net.route(net.host("a"), net.host("b")).nodes == ("a", "s1", "s2", "b")
    assert "link" not in g.edges["a", "s1"]


def test_routing_takes_the_least_latency_path_and_follows_changes() -> None:
    """A faster detour wins; slowing it down sends traffic back the direct way; undo restores the detour."""
    g = two_switch_graph()
    g.add_node("s3", switch=True)
    g.add_edge("s1", "s3", latency=0.002)
    g.add_edge("s3", "s2", latency=0.002)
    net = Network(graph=g)
    a, b = net.host("a"), net.host("b")
    assert net.route(a, b).nodes == ("a", "s1", "s3", "s2", "b")
    assert one_way_time(net, "a", "b") == approx(0.006)
    fault = net.set_link("s1", "s3", latency=0.05)
    assert net.route(a, b).nodes == ("a", "s1", "s2", "b")
    assert one_way_time(net, "a", "b") == approx(0.012)
    fault.undo()
    assert net.route(a, b).nodes == ("a", "s1", "s3", "s2", "b")


def test_directed_graph_gives_each_direction_its_own_latency() -> None:
    """On a DiGraph, a to b and b to a can differ."""
    g = nx.DiGraph()
    g.add_edge("a", "b", latency=0.002)
    g.add_edge("b", "a", latency=0.007)
    net = Network(graph=g)
    assert one_way_time(net, "a", "b") == approx(0.002)
    assert one_way_time(net, "b", "a") == approx(0.007)


def test_integer_node_graphs_and_unreachable_hosts() -> None:
    """networkx's own generators work (integer nodes route through hosts); a host with no path never connects."""
    net = Network(graph=nx.path_graph(4))
    assert one_way_time(net, 0, 3) == approx(0.0015)
    net.add_host("island", switch=None)
    assert net.route(net.host(0), net.host("island")) is None
    dealer = net.host("island").context.socket(zmq.DEALER)
    dealer.connect(f"tcp://{net.host(0).address}:5000")
    dealer.send_multipart([b"nowhere"])
    net.run(until=net.now + 1.0)
    stats = net.statistics()
    # the timing probe's message was dropped unread when its ROUTER closed; the island's waits forever
    assert (stats.sent, dict(stats.dropped), stats.in_flight, stats.balanced) == (2, {"closed": 1}, 1, True)


@pytest.mark.parametrize("seed", range(6))
def test_paths_are_the_ones_networkx_picks_among_equal_latencies(seed: int) -> None:
    """The network's own searches pick, among paths of equal latency, the path networkx's searches pick.

    Random meshes whose links take 1 or 2 ms, so many paths tie; both searches (one pair at a time,
    and one source to every target) and the copy ``Network.graph`` give back agree with networkx.
    """
    rng = random.Random(seed)
    g = nx.gnm_random_graph(14, 30, seed=seed)
    for u, v in g.edges:
        g.edges[u, v]["latency"] = rng.choice([0.001, 0.002])
    net = Network(graph=g)
    graph = nx.DiGraph()  # what the network held before it had a graph of its own, built in the same order
    graph.add_nodes_from(g.nodes)
    for u, v in g.edges:
        graph.add_edge(u, v, weight=g.edges[u, v]["latency"])
        graph.add_edge(v, u, weight=g.edges[u, v]["latency"])
    copy = net.graph
    assert list(copy.edges) == list(graph.edges) and all(list(copy.pred[n]) == list(graph.pred[n]) for n in graph)
    for source in g.nodes:
        pred, _distance = nx.dijkstra_predecessor_and_distance(graph, source, weight="weight")
        assert net.topology.predecessors(source) == pred
        for target in g.nodes:
            if nx.has_path(graph, source, target):
                assert net.topology.shortest_path(source, target) == nx.bidirectional_dijkstra(graph, source, target, weight="weight")[1]
            else:
                assert net.topology.shortest_path(source, target) is None


@pytest.mark.slow
def test_a_run_does_not_import_networkx() -> None:
    """A simulated network routes on its own graph: networkx (about 11 MB) is imported only to draw or copy one."""
    import subprocess
    import sys

    code = (
        "import sys, zmq\n"
        "from riaps_sim.net import Network\n"
        "net = Network(); a, b = net.add_host('a'), net.add_host('b')\n"
        "assert net.route(a, b).nodes == ('a', 'lan', 'b')\n"
        "print('networkx' in sys.modules)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_loopback_between_sockets_of_one_host() -> None:
    """Two sockets on one host talk over loopback in 25 µs; tcp://127.0.0.1 reaches the same host."""
    net = Network()
    net.add_host("a")
    assert one_way_time(net, "a", "a") == approx(25e-6)
    pub = net.host("a").context.socket(zmq.PUB)
    pub.bind("tcp://127.0.0.1:6000")
    sub = net.host("a").context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect("tcp://localhost:6000")
    net.run(until=net.now + 0.01)
    pub.send_multipart([b"local"])
    net.run(until=net.now + 0.01)
    assert sub.recv_multipart() == [b"local"]


def test_public_api_is_exactly_all() -> None:
    """riaps_sim.net exports what __all__ lists, and every public class it defines is listed."""
    import riaps_sim.net as net_package

    assert sorted(net_package.__all__) == sorted(set(net_package.__all__))
    for name in net_package.__all__:
        assert hasattr(net_package, name), name
    public = {n for n, v in vars(net_package).items() if isinstance(v, type) and not n.startswith("_")}
    assert public <= set(net_package.__all__)
