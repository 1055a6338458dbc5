"""The runtimes: the world-independent node core, and the simulated and real drivers it runs on."""

from .driver import Driver
from .member import GroupMember
from .node import Node, node_random

__all__ = ["Driver", "GroupMember", "Node", "node_random"]
