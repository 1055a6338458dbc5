"""Accounting records: what the network and each simulated socket report from ``statistics()``.

Every data message copy a socket puts on a connection is *sent*; it ends *delivered* (taken by
``recv_multipart``), *dropped* with a named cause, or is still *in flight* (on the wire, held by a
partition, waiting for its connection to come up, or queued in the receiving socket). So at any
moment ``sent == delivered + sum(dropped.values()) + in_flight``, and ``balanced`` checks it
against counts taken from the live queues, not derived from the other three.

Re-exported from :mod:`riaps_sim.net`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["DROP_CAUSES", "NetworkStatistics", "SocketStatistics", "freeze"]

#: Why a message copy can be dropped, with what each cause means.
DROP_CAUSES: Mapping[str, str] = MappingProxyType(
    {
        "hwm": "the connection's queue was at its high-water mark (PUB drops, ROUTER drops)",
        "slow_joiner": "a PUB sent before the subscriber's connection and subscriptions were up",
        "filtered": "a SUB received a message no longer matching its subscriptions",
        "partition": "a partition in drop mode stood between sender and receiver",
        "loss": "a link lost it (message loss rate)",
        "crash": "the receiving host crashed, or the sending host crashed before it left",
        "unroutable": "a ROUTER had no peer with the message's identity",
        "closed": "the receiving socket was closed or disconnected, or discarded it unread on close",
        "linger": "it was still waiting for its connection when the sender closed (LINGER expired)",
        "oversize": "a frame exceeded the receiving socket's MAXMSGSIZE; the receiver closed the connection",
    }
)


def freeze(counts: Mapping[str, int]) -> Mapping[str, int]:
    """A read-only copy of *counts* with keys in a stable (sorted) order."""
    return MappingProxyType({k: counts[k] for k in sorted(counts)})


@dataclass(frozen=True, slots=True)
class NetworkStatistics:
    """What the network did with every data message copy since it was made.

    Attributes
    ----------
    sent:
        Copies put on connections: one per recipient of a PUB fan-out, one per DEALER or ROUTER
        send, plus every extra copy a duplicating link made (also counted in ``duplicated``).
    delivered:
        Copies taken by the receiving application (``recv_multipart``).
    dropped:
        Copies lost, by cause (see ``DROP_CAUSES``).
    in_flight:
        Copies not yet delivered nor dropped; ``held`` and ``queued`` are parts of it.
    held:
        Copies held by a partition in hold mode, released in order on heal.
    queued:
        Copies waiting in a receiving socket for the application to read them.
    duplicated:
        Extra copies made by duplicating links.
    """

    sent: int = 0
    delivered: int = 0
    dropped: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    in_flight: int = 0
    held: int = 0
    queued: int = 0
    duplicated: int = 0

    @property
    def dropped_total(self) -> int:
        """All dropped copies, whatever the cause."""
        return sum(self.dropped.values())

    @property
    def balanced(self) -> bool:
        """Whether ``sent == delivered + dropped_total + in_flight`` (conservation of messages)."""
        return self.sent == self.delivered + self.dropped_total + self.in_flight


@dataclass(frozen=True, slots=True)
class SocketStatistics:
    """What one simulated socket did since it was made.

    ``sent`` and ``received`` count ``send_multipart`` and ``recv_multipart`` calls that succeeded;
    ``dropped`` counts this socket's outgoing copies dropped before they left it (HWM, slow
    joiner, unroutable, linger), by cause; ``filtered`` counts PUB copies not sent because the
    peer had not subscribed to them; ``queued`` is how many messages wait to be received now;
    ``connections`` how many peers it can exchange messages with now.
    """

    sent: int = 0
    received: int = 0
    dropped: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    filtered: int = 0
    queued: int = 0
    connections: int = 0
