"""Probe components for tests: they publish to the group and record what they hear, in both worlds."""

from __future__ import annotations

from riaps_sim import Component


class Probe(Component):
    """Publishes ``(node, seq, clock)`` to the group every 0.1 s and records each message heard.

    The ``heard`` events (``Component.record``) carry the sender, its sequence number, the sender's
    clock when it sent and this node's clock when it heard: enough to see from the trace alone
    which deliveries stop, come twice or late, and whose clock moved.
    """

    timers = {"beat": 0.1}

    def handleActivate(self):
        self.group = self.joinGroup("TheGroup", "g1")
        self.seq = 0

    def on_beat(self):
        self.seq += 1
        self.group.send_pyobj((self.node_name, self.seq, self.clock()))

    def handleGroupMessage(self, group):
        sender, seq, sent = group.recv_pyobj()
        self.record("heard", sender=sender, seq=seq, sent=sent, now=self.clock())


class FastProbe(Probe):
    """A probe that publishes every 10 ms."""

    timers = {"beat": 0.01}
