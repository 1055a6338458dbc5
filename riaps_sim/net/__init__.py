"""The simulated world: a SimPy network model whose sockets keep ZeroMQ's semantics.

A ``Network`` holds hosts (each with an IPv4 address, a ``SimContext``, a clock and a seeded
generator) on a graph (``Topology``; a networkx graph describes one to copy) whose edges carry
latency, bandwidth, loss and duplication. A
host's context is the drop-in for ``zmq.Context`` that the ``ports`` package takes: its sockets
bind, connect, filter, route, drop at the high-water mark and miss what was sent before their
connection was up, as ZeroMQ's do. Faults (partitions, crashes, link changes, clock skew) are
scheduled and undone on the network; every message is accounted for in ``statistics()``.

Examples
--------
>>> import zmq
>>> from riaps_sim.net import Network
>>> net = Network(seed=7)
>>> a, b = net.add_host("a"), net.add_host("b")
>>> router = a.context.socket(zmq.ROUTER); router.bind("tcp://10.0.0.1:5000")
>>> dealer = b.context.socket(zmq.DEALER); dealer.connect("tcp://10.0.0.1:5000")
>>> dealer.send_multipart([b"ping"])  # queued until the connection is up
>>> net.run(until=0.01)
>>> router.recv_multipart()[1:]
[b'ping']
>>> net.statistics().balanced
True
"""

from .context import SimContext
from .faults import Cut, NetworkFault
from .host import Crashed, Host
from .latency import Constant, Empirical, Latency, LogNormal, TruncatedNormal, Uniform, as_latency
from .links import Link, Route
from .network import Network
from .poller import Poller
from .sockets import SimSocket
from .stats import DROP_CAUSES, NetworkStatistics, SocketStatistics
from .topology import Topology
from .wire import NetworkEvent

__all__ = [
    "Constant",
    "Crashed",
    "DROP_CAUSES",
    "Empirical",
    "NetworkFault",
    "Host",
    "Latency",
    "Link",
    "LogNormal",
    "Network",
    "NetworkEvent",
    "NetworkStatistics",
    "Cut",
    "Poller",
    "Route",
    "SimContext",
    "SimSocket",
    "SocketStatistics",
    "Topology",
    "TruncatedNormal",
    "Uniform",
    "as_latency",
]
