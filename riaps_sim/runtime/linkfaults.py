"""What a node's message layer does to messages from each peer: the faults in force and the run's network.

``LinkFaults`` holds, for one receiving node, the partitions, loss, duplication and delay in force
and the run's ``LinkProfile`` (a scenario's ``NetworkProfile``: a latency distribution, loss and
reordering, in force on every message from another node all run long), and compiles them into one
``PeerFate`` per sending node. The sockets of ``riaps_sim.runtime.faultlayer`` consult it for each
message they receive. No sockets here: this is the decision, the layer is the mechanism.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..faults import Delay, Duplicate, Fault, Heal, Loss, Partition
from ..net.latency import Latency, as_latency

__all__ = ["LinkFaults", "LinkProfile", "PeerFate", "full_sides"]


@dataclass(frozen=True, slots=True)
class LinkProfile:
    """The network between any two nodes of a real run: one-way *latency* (seconds or a distribution
    from ``riaps_sim.net``), *loss* probability, and whether messages may be *reordered*.

    The real counterpart of a scenario's ``NetworkProfile``, applied by every node's fault layer.
    """

    latency: Latency | float = 0.0
    loss: float = 0.0
    reorder: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "latency", as_latency(self.latency))
        _rate("profile loss", self.loss)

    @property
    def drawn_latency(self) -> Latency | None:
        """The latency to draw for each message, or ``None`` if it is always 0."""
        latency = self.latency
        assert isinstance(latency, Latency)  # made one in __post_init__
        return None if latency.constant and latency.mean == 0 else latency

    @property
    def empty(self) -> bool:
        """Whether it changes nothing (no latency, no loss)."""
        return not self.loss and self.drawn_latency is None


@dataclass(frozen=True, slots=True)
class PeerFate:
    """What happens to messages from one peer: *block* ``"hold"``/``"drop"``/``None``, loss and
    duplication probabilities, an added *delay_s* in seconds, and a *latency* distribution drawn
    for each message (the run's profile), whose draws may *reorder* messages."""

    node: str
    block: str | None = None
    loss: float = 0.0
    duplicate: float = 0.0
    delay_s: float = 0.0
    latency: Latency | None = None
    reorder: bool = False


@dataclass(frozen=True, slots=True)
class _Cut:
    """One partition, seen by name: each node's side index; one-way cuts only side 0 -> side 1."""

    side_of: Mapping[str, int]
    one_way: bool
    mode: str

    def blocks(self, source: str, target: str) -> bool:
        a = self.side_of.get(source)
        b = self.side_of.get(target)
        if a is None or b is None or a == b:
            return False
        return not self.one_way or (a == 0 and b == 1)


def full_sides(sides: Sequence[Iterable[str]], nodes: Iterable[str]) -> list[list[str]]:
    """The partition's sides with a lone side completed by every other node (as the simulation does)."""
    out = [list(side) for side in sides]
    if len(out) == 1:
        named = set(out[0])
        out.append([n for n in nodes if n not in named])
    return out


class LinkFaults:
    """The faults in force on messages arriving at one node, by sending node.

    Parameters
    ----------
    node:
        This node's name.
    addresses:
        Every node's IP address by name (this node's included); a message's ``Peer-Address`` is
        looked up here. Messages from unknown addresses are never faulted.
    rng:
        The generator of loss and duplication draws (seed it from the node's seed for repeatable
        draws; the protocol's own generator is left alone).
    on_drop:
        Called as ``on_drop(cause, peer_node)`` for each message dropped (``"partition"``, ``"loss"``,
        ``"hwm"``).
    profile:
        The run's ``LinkProfile``, in force on messages from every other node all along.
    """

    def __init__(
        self,
        node: str,
        addresses: Mapping[str, str],
        rng: random.Random | None = None,
        on_drop: Callable[[str, str], None] | None = None,
        profile: LinkProfile | None = None,
    ) -> None:
        names = list(addresses.values())
        if len(set(names)) != len(names):
            dup = sorted({a for a in names if names.count(a) > 1})
            raise ValueError(f"nodes share address(es) {dup}; message-level faults need one address per node (127.0.0.x on loopback)")
        self.node = node
        self.addresses = dict(addresses)
        self.rng = rng if rng is not None else random.Random(0)
        self.on_drop = on_drop
        self.active = False
        self.fates: dict[str, PeerFate] = {}
        self.dropped: Counter[str] = Counter()
        self.duplicated = 0
        self._by_address = {address: name for name, address in addresses.items()}
        self._cuts: list[_Cut] = []
        self._loss: dict[str, float] = {}
        self._duplicate: dict[str, float] = {}
        self._delay: dict[str, float] = {}
        self.profile = profile if profile is not None and not profile.empty else None
        self._compile()

    def __repr__(self) -> str:
        return f"<LinkFaults {self.node} fates={ {f.node: f for f in self.fates.values()} } dropped={dict(self.dropped)}>"

    # -- changing the faults --------------------------------------------------------------------

    def partition(self, sides: Sequence[Iterable[str]], one_way: bool = False, mode: str = "hold") -> None:
        """Cut traffic between *sides* (node names; a lone side is cut from every other node)."""
        if mode not in ("hold", "drop"):
            raise ValueError(f"partition mode must be 'hold' or 'drop', got {mode!r}")
        groups = full_sides(sides, self.addresses)
        if one_way and len(groups) != 2:
            raise ValueError(f"a one-way partition needs exactly two sides, got {len(groups)}")
        self._cuts.append(_Cut({n: i for i, side in enumerate(groups) for n in side}, one_way, mode))
        self._compile()

    def heal(self) -> None:
        """End every partition: held messages become deliverable, in order."""
        self._cuts.clear()
        self._compile()

    def set_loss(self, peer: str, rate: float) -> None:
        """Lose each message from *peer* with probability *rate* (0 ends it)."""
        self._set(self._loss, peer, _rate("loss", rate))

    def set_duplicate(self, peer: str, rate: float) -> None:
        """Deliver each message from *peer* twice with probability *rate* (0 ends it)."""
        self._set(self._duplicate, peer, _rate("duplication", rate))

    def set_delay(self, peer: str, delay_s: float) -> None:
        """Hold each message from *peer* *delay_s* seconds before delivering it (0 ends it)."""
        if not delay_s >= 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay_s!r}")
        self._set(self._delay, peer, float(delay_s))

    def apply(self, fault: Fault) -> bool:
        """Apply the receive-side part of a schedule *fault*; return whether it changed anything here.

        ``Partition`` and ``Heal`` concern every node; ``Loss``, ``Duplicate`` and ``Delay`` concern
        their *b* node (and their *a* node unless one-way). Other faults are not this layer's.
        """
        if isinstance(fault, Partition):
            self.partition(fault.sides, one_way=fault.one_way, mode=fault.mode)
            return True
        if isinstance(fault, Heal):
            self.heal()
            return True
        if isinstance(fault, (Loss, Duplicate, Delay)):
            peers = [fault.a] if fault.b == self.node else []
            if fault.a == self.node and not fault.one_way:
                peers.append(fault.b)
            for peer in peers:
                if isinstance(fault, Loss):
                    self.set_loss(peer, fault.rate)
                elif isinstance(fault, Duplicate):
                    self.set_duplicate(peer, fault.rate)
                else:
                    self.set_delay(peer, fault.latency_s)
            return bool(peers)
        return False

    def _set(self, table: dict[str, float], peer: str, value: float) -> None:
        if peer not in self.addresses:
            raise ValueError(f"unknown node {peer!r}; nodes are {sorted(self.addresses)}")
        if value:
            table[peer] = value
        else:
            table.pop(peer, None)
        self._compile()

    def _compile(self) -> None:
        """Recompute each peer's fate (by address) from the faults in force."""
        fates: dict[str, PeerFate] = {}
        profile = self.profile
        for name, address in self.addresses.items():
            if name == self.node:
                continue
            block = next((cut.mode for cut in self._cuts if cut.blocks(name, self.node)), None)
            loss = self._loss.get(name, 0.0)
            latency, reorder = None, False
            if profile is not None:
                loss = 1.0 - (1.0 - loss) * (1.0 - profile.loss)  # the profile's loss and a fault's, independently
                latency, reorder = profile.drawn_latency, profile.reorder
            fate = PeerFate(name, block, loss, self._duplicate.get(name, 0.0), self._delay.get(name, 0.0), latency, reorder)
            if fate != PeerFate(name):
                fates[address] = fate
        self.fates = fates
        self.active = bool(fates)

    # -- used by the sockets ----------------------------------------------------------------------

    def node_of(self, address: str | None) -> str | None:
        """The node name of a peer address, or ``None`` if unknown."""
        return self._by_address.get(address) if address is not None else None

    def drop(self, cause: str, peer: str) -> None:
        self.dropped[cause] += 1
        if self.on_drop is not None:
            self.on_drop(cause, peer)


def _rate(what: str, rate: float) -> float:
    if not 0 <= rate <= 1:
        raise ValueError(f"{what} rate must be between 0 and 1, got {rate!r}")
    return float(rate)
