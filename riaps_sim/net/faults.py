"""Faults a network can suffer, each applied now or at a virtual time, and each undoable.

- ``partition(*groups, one_way=False, mode="hold")``: no traffic between hosts of different
  groups (only from the first group to the second when *one_way*). In ``hold`` mode (the
  default, what TCP does under a firewall DROP) messages wait and are released in order on heal;
  in ``drop`` mode they are dropped with cause ``"partition"``. Connection set-up cannot cross it.
- ``crash(host)`` / ``restart(host)``: sockets gone, messages to it lost, its processes stopped;
  peers stay half-open until the restart resets them.
- ``set_link(a, b, latency=, bandwidth=)``, ``set_loss(a, b, rate)``, ``set_duplication(a, b, rate)``:
  change the graph edge between nodes *a* and *b* (both directions unless *one_way*).
- ``set_clock(host, offset=, rate=)``: the host's clock reads ``offset + rate * true time``.

Every call returns a ``NetworkFault`` whose ``undo(at=None)`` reverses it; ``heal()`` undoes partitions.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from .latency import as_latency
from .links import Link, check_bandwidth, check_rate

if TYPE_CHECKING:
    from .host import Host
    from .network import Network

__all__ = ["NetworkFault", "FaultNote", "Cut", "FaultsMixin"]

_UNSET: Any = object()
MODES = ("hold", "drop")


class Cut:
    """Which hosts cannot reach which: a host's group index, and the direction and mode."""

    __slots__ = ("groups", "one_way", "mode", "_side")

    def __init__(self, groups: list[list[Host]], one_way: bool, mode: str) -> None:
        self.groups = tuple(tuple(group) for group in groups)
        self.one_way = one_way
        self.mode = mode
        self._side = {host: index for index, group in enumerate(groups) for host in group}

    def blocks(self, source: Host, target: Host) -> bool:
        """Whether this partition stops traffic from *source* to *target*."""
        a = self._side.get(source)
        if a is None:
            return False
        b = self._side.get(target)
        if b is None or a == b:
            return False
        return not self.one_way or (a == 0 and b == 1)

    def __repr__(self) -> str:
        names = " | ".join(",".join(str(h.name) for h in group) for group in self.groups)
        return f"<Cut {names}{' one-way' if self.one_way else ''} {self.mode}>"


class FaultNote(NamedTuple):
    """What the network tells its listeners when a fault is applied or undone (``NetworkEvent.detail``).

    Plain values (it compares equal across runs): the fault's *kind* and *description*, the
    *hosts* it is about, a partition's *sides* (host names), *mode* and *one_way*, and whether
    this is the fault's *undoing*.
    """

    kind: str
    description: str
    hosts: tuple[Hashable, ...]
    undone: bool
    sides: tuple[tuple[str, ...], ...] = ()
    mode: str = ""
    one_way: bool = False

    @classmethod
    def of(cls, fault: NetworkFault, undone: bool) -> FaultNote:
        part = fault.partition
        if part is None:
            return cls(fault.kind, fault.description, fault.hosts, undone)
        sides = tuple(tuple(str(h.name) for h in group) for group in part.groups)
        return cls(fault.kind, fault.description, fault.hosts, undone, sides, part.mode, part.one_way)

    @property
    def effect(self) -> str:
        """What happened, as a kind: a crash undone is a ``restart``, a partition undone a ``heal``..."""
        if not self.undone:
            return self.kind
        return {"crash": "restart", "restart": "crash", "partition": "heal"}.get(self.kind, "undo " + self.kind)

    def describe(self) -> str:
        """The trace's wording: ``crash n1``, ``restart n1``, ``partition a,b | c (hold)``, ``heal``..."""
        effect = self.effect
        if effect in ("crash", "restart"):
            return f"{effect} {self.hosts[0]}"
        if effect == "partition":
            sides = " | ".join(",".join(side) for side in self.sides)
            return f"partition {sides} ({self.mode}{', one-way' if self.one_way else ''})"
        if effect == "heal":
            return "heal"
        return ("undo " if self.undone else "") + self.description


class NetworkFault:
    """A fault on a network: applied now or at ``at`` seconds; ``undo()`` reverses it.

    ``kind`` is one of ``partition``, ``crash``, ``restart``, ``clock``, ``link``, ``impair``;
    ``hosts`` names the hosts it is about (the crashed host, a link's ends...), ``partition`` the
    cut of a partition; ``description`` says what exactly, as the event log records it. Listeners
    get a ``FaultNote`` when it is applied and when it is undone.
    """

    def __init__(
        self,
        network: Network,
        kind: str,
        description: str,
        apply: Callable[[], Callable[[], None]],
        hosts: tuple[Hashable, ...] = (),
        partition: Cut | None = None,
    ) -> None:
        self.network = network
        self.kind = kind
        self.description = description
        self.hosts = hosts
        self.partition = partition
        self._apply = apply
        self._reverse: Callable[[], None] | None = None
        self.applied_at: float | None = None
        self.undone_at: float | None = None

    def __repr__(self) -> str:
        if self.undone_at is not None:
            state = f"undone at {self.undone_at:g} s"
        elif self.applied_at is not None:
            state = f"applied at {self.applied_at:g} s"
        else:
            state = "scheduled"
        return f"<NetworkFault {self.description} {state}>"

    def fire(self) -> None:
        """Apply the fault now (its scheduled time has come); nothing if it was already applied."""
        if self.applied_at is not None:
            return
        self.applied_at = self.network.now
        self._reverse = self._apply()
        self.network.report_fault(FaultNote.of(self, undone=False))

    def undo(self, at: float | None = None) -> NetworkFault:
        """Reverse the fault now, or at virtual time *at* (seconds); nothing if not applied by then."""
        self.network.schedule(at, self._undo_now)
        return self

    def _undo_now(self) -> None:
        if self._reverse is None or self.undone_at is not None:
            return
        self.undone_at = self.network.now
        self._reverse()
        self.network.report_fault(FaultNote.of(self, undone=True))


class FaultsMixin:
    """The fault methods of ``Network``; they use its hosts, links, wire and clock."""

    if TYPE_CHECKING:
        env: Any
        wire: Any
        seed: Any

        @property
        def now(self) -> float: ...
        @property
        def hosts(self) -> list[Host]: ...

        def host(self, name: Hashable) -> Host: ...
        def hosts_named(self, names: Any) -> list[Host]: ...
        def link(self, a: Hashable, b: Hashable) -> Any: ...
        def _reweigh(self, a: Hashable, b: Hashable) -> None: ...
        def report_fault(self, note: FaultNote) -> None: ...
        def _set_impairment(self, source: Hashable, target: Hashable, link: Any) -> None: ...
        def impairment(self, source: Hashable, target: Hashable) -> Any: ...

    def _init_faults(self) -> None:
        self.faults: list[NetworkFault] = []

    def schedule(self, at: float | None, action: Callable[[], None]) -> None:
        """Call *action* at virtual time *at* (seconds), or now if *at* is ``None`` or now."""
        now = self.env.now
        if at is None or at == now:
            action()
        elif at < now:
            raise ValueError(f"cannot schedule a fault at {at!r} s: the simulation is already at {now!r} s")
        else:
            self.wire.call_later(at - now, action)

    def _fault(
        self,
        kind: str,
        description: str,
        apply: Callable[[], Callable[[], None]],
        at: float | None,
        hosts: tuple[Hashable, ...] = (),
        partition: Cut | None = None,
    ) -> NetworkFault:
        fault = NetworkFault(self, kind, description, apply, hosts, partition)  # type: ignore[arg-type]
        self.faults.append(fault)
        self.schedule(at, fault.fire)
        return fault

    # -- partitions ----------------------------------------------------------------------------------

    def partition(self, *groups: Hashable | Iterable[Hashable], one_way: bool = False, mode: str = "hold", at: float | None = None) -> NetworkFault:
        """Cut traffic between *groups* of host names (one group: it against every other host).

        *one_way* cuts only traffic from the first group to the second. *mode* is ``"hold"``
        (messages wait and are released on heal, as TCP under a firewall DROP) or ``"drop"``.
        """
        if mode not in MODES:
            raise ValueError(f"partition mode must be 'hold' or 'drop', got {mode!r}")
        if not groups:
            raise ValueError("partition needs at least one group of host names")
        hosts = [self.hosts_named(group) for group in groups]
        seen: set[int] = set()
        for group in hosts:
            for host in group:
                if id(host) in seen:
                    raise ValueError(f"host {host.name!r} is in two partition groups; each host belongs to one side")
                seen.add(id(host))
        if len(hosts) == 1:
            hosts.append([h for h in self.hosts if id(h) not in seen])
        if one_way and len(hosts) != 2:
            raise ValueError(f"a one-way partition needs exactly two groups, got {len(hosts)}")
        part = Cut(hosts, one_way, mode)

        def apply() -> Callable[[], None]:
            self.wire.partitions.append(part)

            def heal() -> None:
                if part in self.wire.partitions:
                    self.wire.partitions.remove(part)
                self.wire.release()

            return heal

        return self._fault("partition", f"partition {part!r}", apply, at, partition=part)

    def heal(self, fault: NetworkFault | None = None, at: float | None = None) -> None:
        """Undo partition *fault*, or every partition when ``None``, now or at *at* seconds."""
        if fault is not None:
            fault.undo(at)
            return
        for f in list(self.faults):
            if f.kind == "partition":
                f.undo(at)

    # -- hosts ---------------------------------------------------------------------------------------

    def crash(self, host: Hashable, at: float | None = None) -> NetworkFault:
        """Crash *host*: its sockets vanish, messages to it are lost, its processes stop. Undo restarts it."""
        target = self.host(host)

        def apply() -> Callable[[], None]:
            if target.alive:
                target.power_off()
            return lambda: target.power_on() if not target.alive else None

        return self._fault("crash", f"crash {target.name}", apply, at, hosts=(target.name,))

    def restart(self, host: Hashable, at: float | None = None) -> NetworkFault:
        """Restart a crashed *host* with a fresh context (its old sockets stay dead)."""
        target = self.host(host)

        def apply() -> Callable[[], None]:
            if not target.alive:
                target.power_on()
            return lambda: target.power_off() if target.alive else None

        return self._fault("restart", f"restart {target.name}", apply, at, hosts=(target.name,))

    def set_clock(self, host: Hashable, offset: float | None = None, rate: float | None = None, at: float | None = None) -> NetworkFault:
        """Set *host*'s clock to ``offset + rate * true time`` (seconds); unset parts stay as they are."""
        target = self.host(host)
        if rate is not None and not rate > 0:
            raise ValueError(f"clock rate must be > 0 (1.0 is a perfect clock), got {rate!r}")

        def apply() -> Callable[[], None]:
            before = (target.offset, target.rate)
            if offset is not None:
                target.offset = float(offset)
            if rate is not None:
                target.rate = float(rate)

            def undo() -> None:
                target.offset, target.rate = before

            return undo

        return self._fault("clock", f"clock {target.name} offset={offset} rate={rate}", apply, at, hosts=(target.name,))

    # -- links ---------------------------------------------------------------------------------------

    def set_link(
        self, a: Hashable, b: Hashable, *, latency: Any = _UNSET, bandwidth: Any = _UNSET, one_way: bool = False, at: float | None = None
    ) -> NetworkFault:
        """Change the latency (seconds or ``Latency``) and/or bandwidth (bits/s, None) of edge *a*–*b*."""
        changes: dict[str, Any] = {}
        if latency is not _UNSET:
            changes["latency"] = as_latency(latency)
        if bandwidth is not _UNSET:
            changes["bandwidth"] = check_bandwidth(bandwidth)
        if not changes:
            raise ValueError("set_link needs latency= and/or bandwidth=")
        return self._change_link(a, b, changes, one_way, at)

    def set_loss(self, a: Hashable, b: Hashable, rate: float, one_way: bool = False, at: float | None = None) -> NetworkFault:
        """Lose each message crossing edge *a*–*b* with probability *rate*."""
        return self._change_link(a, b, {"loss": check_rate("loss rate", rate)}, one_way, at)

    def set_duplication(self, a: Hashable, b: Hashable, rate: float, one_way: bool = False, at: float | None = None) -> NetworkFault:
        """Duplicate each message crossing edge *a*–*b* with probability *rate*."""
        return self._change_link(a, b, {"duplication": check_rate("duplication rate", rate)}, one_way, at)

    def _change_link(self, a: Hashable, b: Hashable, changes: dict[str, Any], one_way: bool, at: float | None) -> NetworkFault:
        links = [self.link(a, b)] if one_way else [self.link(a, b), self.link(b, a)]
        text = " ".join(f"{k}={v!r}" for k, v in changes.items())

        def apply() -> Callable[[], None]:
            before = [{k: getattr(link, k) for k in changes} for link in links]
            for link in links:
                for k, v in changes.items():
                    setattr(link, k, v)
                self._reweigh(link.source, link.target)

            def undo() -> None:
                for link, old in zip(links, before):
                    for k, v in old.items():
                        setattr(link, k, v)
                    self._reweigh(link.source, link.target)

            return undo

        return self._fault("link", f"link {a}{'->' if one_way else '<->'}{b} {text}", apply, at, hosts=(a, b))

    def impair(
        self,
        a: Hashable,
        b: Hashable,
        *,
        loss: float | None = None,
        duplication: float | None = None,
        extra_delay: float | None = None,
        one_way: bool = False,
        at: float | None = None,
    ) -> NetworkFault:
        """Impair every message from host *a* to host *b* (and back unless *one_way*), whatever route it takes.

        *loss* and *duplication* are probabilities, *extra_delay* seconds added to the route's
        latency. Unlike ``set_link``, this needs no edge between *a* and *b*: on a switched LAN it
        acts on the path through the switch, as a faulty NIC or a tc rule on one host would.
        Unset parts stay as they are; ``undo()`` restores what was there.
        """
        changes: dict[str, Any] = {}
        if loss is not None:
            changes["loss"] = check_rate("loss rate", loss)
        if duplication is not None:
            changes["duplication"] = check_rate("duplication rate", duplication)
        if extra_delay is not None:
            if not extra_delay >= 0:
                raise ValueError(f"extra_delay must be >= 0 seconds, got {extra_delay!r}")
            changes["latency"] = as_latency(float(extra_delay))
        if not changes:
            raise ValueError("impair needs loss=, duplication= and/or extra_delay=")
        ends = [(self.host(a).name, self.host(b).name)]
        if not one_way:
            ends.append((ends[0][1], ends[0][0]))
        text = " ".join(f"{k}={v!r}" for k, v in changes.items())

        def apply() -> Callable[[], None]:
            before = []
            for source, target in ends:
                current = self.impairment(source, target)
                before.append(None if current is None else {k: getattr(current, k) for k in ("loss", "duplication", "latency")})
                link = current if current is not None else Link(source, target, f"{self.seed}/impair", 0.0)
                for k, v in changes.items():
                    setattr(link, k, v)
                self._set_impairment(source, target, link)

            def undo() -> None:
                for (source, target), old in zip(ends, before):
                    if old is None:
                        self._set_impairment(source, target, None)
                        continue
                    link = self.impairment(source, target)
                    for k, v in old.items():
                        setattr(link, k, v)
                    self._set_impairment(source, target, link)

            return undo

        return self._fault("impair", f"impair {a}{'->' if one_way else '<->'}{b} {text}", apply, at, hosts=(a, b))
