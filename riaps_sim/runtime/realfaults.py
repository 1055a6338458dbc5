"""Who applies which fault of a real run: the parent, a node's own fault layer, or the firewall.

A schedule is split once, before the nodes start (``RealFaultPlan``):

- ``Crash`` and ``Restart``: the parent, by SIGKILL and a fresh process;
- ``Partition``, ``Heal``, ``Loss``, ``Duplicate``, ``Delay``: every node's message-level fault
  layer, at its time, by the node's own timer (``riaps_sim.runtime.faultlayer``); in network
  namespaces, partitions and loss are the firewall's instead (``riaps_sim.runtime.netns``);
- ``ClockSkew``: the named node's driver clock;
- the run's ``LinkProfile`` (a scenario's ``NetworkProfile``): every node's message layer, all run long.

A fault that names a role (``@leader``, ``@followers``...) or falls due after a trace event
cannot be known in advance: the parent resolves it when it falls due and sends the resolved fault
to the nodes then. Every fault is recorded once, by the parent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..faults import ClockSkew, Delay, Duplicate, Fault, FaultSchedule, Heal, Loss, Partition, is_role
from .launch import NodeFaults
from .linkfaults import LinkProfile

__all__ = ["RealFaultPlan", "MESSAGE_FAULTS", "complete_sides"]

MESSAGE_FAULTS: tuple[type[Fault], ...] = (Partition, Heal, Loss, Duplicate, Delay)
"""The fault kinds a node's message-level fault layer applies to what it receives."""


@dataclass
class RealFaultPlan:
    """The split of one schedule between the parent, the nodes and the firewall.

    *firewall_kinds* are the kinds a namespace firewall applies (none on loopback).
    """

    schedule: FaultSchedule
    nodes: Sequence[str]
    firewall_kinds: tuple[type[Fault], ...] = ()
    sent: list[Fault] = field(default_factory=list)  #: faults resolved at run time and sent to the nodes
    profile: LinkProfile | None = None  #: the run's network, applied by every node's message layer

    @property
    def layer_kinds(self) -> tuple[type[Fault], ...]:
        return tuple(k for k in MESSAGE_FAULTS if k not in self.firewall_kinds)

    @property
    def message_layer(self) -> bool:
        """Whether the nodes need their message-level fault layer at all (faults of its kinds, or a profile)."""
        return (self.profile is not None and not self.profile.empty) or any(isinstance(f, self.layer_kinds) for f in self.schedule)

    @property
    def needs_firewall(self) -> bool:
        return any(isinstance(f, self.firewall_kinds) for f in self.schedule)

    def check_addresses(self, hosts: Mapping[str, str]) -> None:
        """The message layer tells senders apart by address: refuse nodes that share one."""
        if not self.message_layer:
            return
        values = list(hosts.values())
        shared = sorted({h for h in values if values.count(h) > 1})
        if shared:
            raise ValueError(f"nodes share address(es) {shared}; message-level faults tell nodes apart by address: give each node its own 127.0.0.x")

    def own_faults(self, node: str) -> list[Fault]:
        """The faults *node* applies itself at their times: known in advance, in its layer or on its clock."""
        layer = self.layer_kinds
        return [
            complete_sides(f, self.nodes)
            for f in self.schedule
            if f.at is not None and not any(is_role(n) for n in f.nodes()) and (isinstance(f, layer) or (isinstance(f, ClockSkew) and f.node == node))
        ]

    def for_node(self, node: str, t0: float | None, hosts: Mapping[str, str]) -> NodeFaults:
        """What a node process is given at its start (a restarted node also gets what was sent since)."""
        faults = sorted(self.own_faults(node) + self.sent, key=lambda f: f.at or 0.0)
        return NodeFaults(t0, tuple(faults), dict(hosts), self.message_layer, self.profile)

    def is_parents(self, fault: Fault) -> bool:
        """Whether the parent must apply (or resolve and send) *fault*: roles, triggers, crashes, restarts, pauses."""
        return fault.at is None or any(is_role(n) for n in fault.nodes()) or not isinstance(fault, (*self.layer_kinds, ClockSkew))

    def is_firewalls(self, fault: Fault) -> bool:
        return isinstance(fault, self.firewall_kinds)

    def send_later(self, fault: Fault) -> None:
        """Remember a fault resolved at run time, for nodes restarted after it."""
        self.sent.append(fault)


def complete_sides(fault: Fault, nodes: Sequence[str]) -> Fault:
    """A one-way partition given one side, with its second side (every other node) written out."""
    if isinstance(fault, Partition) and fault.one_way and len(fault.sides) == 1:
        return dataclasses.replace(fault, sides=fault.full_sides(nodes))
    return fault
