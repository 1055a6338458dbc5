"""Network namespaces for real runs (root only): one per node, on a bridge, with firewall faults.

``NamespaceNet`` makes a hub namespace holding a Linux bridge, and one namespace per node joined to
it by a veth pair, with addresses ``10.A.B.n/24`` (``A.B`` derived from the run id). Nothing is
created in the machine's own namespace: the bridge, the veths and every firewall rule live inside
the run's namespaces, so deleting them removes everything. Node processes enter their namespace
with ``enter_namespace`` (``setns``) before they open a socket.

Faults at the OS level (``Firewall``): a partition is ``iptables -j DROP`` on the receiving side
(TCP then retransmits, so messages are held and arrive late after the heal: the ``"hold"``
semantics); a ``"drop"`` partition also answers TCP with resets (``REJECT --reject-with
tcp-reset``), so connections break and what ZeroMQ had queued on them is lost. ``Loss`` is
``-m statistic --mode random --probability p -j DROP``: packets are lost, and TCP resends them, so
over TCP loss shows as delay (beacons, over UDP, are really lost). A one-way partition drops only
what the first side sends to the second, but TCP needs acknowledgements back, so its streams stall
both ways once their windows fill.

Names: ``rsim-<pid>-<run id>-n<i>`` for node *i* and ``rsim-<pid>-<run id>-hub``, *pid* being the
process that made them. Clean-up: ``destroy`` (also run by ``atexit``, and by ``RealRun`` on SIGTERM
and on errors) kills what still runs in the namespaces and deletes them. If the parent is killed
outright (SIGKILL), its node processes see their control connection close, stop, and each removes
its own namespace and the hub (``release_namespaces``; a paused node is resumed by the kernel for
it, see ``nodeproc``); the firewall chains live inside the namespaces and go with them.
``cleanup_stale`` removes whatever is still left of a run whose creating process is gone.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Mapping, Sequence

from ..faults import Fault, Heal, Loss, Partition
from .linkfaults import full_sides

__all__ = [
    "PREFIX",
    "NamespaceNet",
    "Firewall",
    "NamespaceError",
    "NetnsUnavailable",
    "unavailable_reason",
    "release_namespaces",
    "open_net",
    "cleanup_stale",
    "enter_namespace",
    "list_namespaces",
    "firewall_rules",
]

log = logging.getLogger("riaps_sim.runtime")

PREFIX = "rsim"
CHAIN = "RSIM"
_CLONE_NEWNET = 0x40000000


class NamespaceError(RuntimeError):
    """A namespace command failed; the message names the command and what it said."""


def _ip(*args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], input=stdin, capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise NamespaceError(f"`ip {' '.join(args)}` failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
    return result


class NetnsUnavailable(ValueError):
    """Namespace isolation cannot run on this machine: the message says what is missing and how to get it."""


def unavailable_reason(firewall: bool = False) -> str | None:
    """Why namespaces cannot be used here (not root, no ``ip``, not permitted; with *firewall*, no
    ``iptables``), or ``None`` if they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (run as root, or use isolation='loopback')"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is missing: install it (apt-get install -y iproute2), or use isolation='loopback'"
    if firewall and shutil.which("iptables-restore") is None:
        return (
            "partition and loss faults in namespaces are firewall rules, and `iptables` is not installed: "
            "install it (apt-get install -y iptables), or use isolation='loopback', where each node's message layer applies them"
        )
    probe = f"{PREFIX}-{os.getpid()}-probe{uuid.uuid4().hex[:6]}"
    result = _ip("netns", "add", probe, check=False)
    if result.returncode != 0:
        return f"`ip netns add` is not permitted here: {result.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def list_namespaces(prefix: str = PREFIX) -> list[str]:
    """Names of the namespaces whose name starts with ``<prefix>-``."""
    result = _ip("netns", "list", check=False)
    names = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    return [n for n in names if n.startswith(prefix + "-")]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_inside(namespace: str) -> None:
    """SIGKILL what still runs in *namespace* (node processes of a run that is over)."""
    result = _ip("netns", "pids", namespace, check=False)
    for word in result.stdout.split():
        try:
            os.kill(int(word), 9)
        except (ValueError, ProcessLookupError, PermissionError):
            continue


def _delete(namespace: str) -> None:
    _kill_inside(namespace)
    _ip("netns", "del", namespace, check=False)


def release_namespaces(names: Iterable[str]) -> None:
    """Delete the named namespaces without killing what runs in them (a node process cleaning up after its parent).

    A namespace a process still runs in lives on, unnamed, until that process ends.
    """
    for name in names:
        _ip("netns", "del", name, check=False)


def cleanup_stale(prefix: str = PREFIX) -> list[str]:
    """Delete namespaces named ``<prefix>-<pid>-...`` whose creating process *pid* is gone; return their names.

    Namespaces of live processes (runs going on now) are left alone.
    """
    removed = []
    for name in list_namespaces(prefix):
        parts = name.split("-")
        try:
            pid = int(parts[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            _delete(name)
            removed.append(name)
    if removed:
        log.warning("removed %d stale namespace(s) of crashed runs: %s", len(removed), removed)
    return removed


def enter_namespace(name: str) -> None:
    """Move the calling thread into network namespace *name* (``/run/netns/<name>``); call before any socket."""
    path = f"/run/netns/{name}"
    fd = os.open(path, os.O_RDONLY)
    try:
        setns = getattr(os, "setns", None)
        if setns is not None:
            setns(fd, _CLONE_NEWNET)
            return
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns({path}) failed: {os.strerror(error)}")
    finally:
        os.close(fd)


class NamespaceNet:
    """One namespace per node on a bridge in a hub namespace, with ``10.A.B.n/24`` addresses.

    Parameters
    ----------
    nodes:
        Node names, in order; node *i* gets address ``10.A.B.(i + 1)``.
    run_id:
        Distinguishes this run's names and picks ``A.B``; random by default.
    firewall:
        Prepare an empty ``RSIM`` chain on each node's INPUT for ``Firewall`` (needs ``iptables``).
    """

    def __init__(self, nodes: Sequence[str], run_id: str | None = None, firewall: bool = False) -> None:
        if not nodes:
            raise ValueError("a namespace network needs at least one node")
        if len(nodes) > 250:
            raise ValueError(f"a /24 holds at most 250 nodes, got {len(nodes)}")
        self.run_id = run_id or uuid.uuid4().hex[:6]
        digest = int(uuid.uuid5(uuid.NAMESPACE_OID, self.run_id).hex[:8], 16)
        self.subnet = f"10.{200 + digest % 50}.{(digest >> 8) % 256}"
        self.broadcast = f"{self.subnet}.255"
        self.nodes = list(nodes)
        self.addresses = {name: f"{self.subnet}.{i + 1}" for i, name in enumerate(self.nodes)}
        base = f"{PREFIX}-{os.getpid()}-{self.run_id}"
        self.hub = f"{base}-hub"
        self.namespaces = {name: f"{base}-n{i}" for i, name in enumerate(self.nodes)}
        self.with_firewall = firewall
        self.created: list[str] = []

    def __repr__(self) -> str:
        return f"<NamespaceNet {self.subnet}.0/24 nodes={self.nodes} created={len(self.created)}>"

    def create(self) -> NamespaceNet:
        """Make the hub, the bridge and every node's namespace; on failure, undo what was made and raise."""
        reason = unavailable_reason(firewall=self.with_firewall)
        if reason is not None:
            raise NetnsUnavailable(f"isolation='netns' is not possible: {reason}")
        atexit.register(self.destroy)
        try:
            self._add(self.hub)
            _ip("-n", self.hub, "link", "set", "lo", "up")
            _ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.hub, "link", "set", "br0", "up")
            for i, name in enumerate(self.nodes):
                namespace = self.namespaces[name]
                self._add(namespace)
                _ip("-n", self.hub, "link", "add", f"v{i}", "type", "veth", "peer", "name", "eth0", "netns", namespace)
                _ip("-n", self.hub, "link", "set", f"v{i}", "master", "br0", "up")
                _ip("-n", namespace, "addr", "add", f"{self.addresses[name]}/24", "brd", "+", "dev", "eth0")
                _ip("-n", namespace, "link", "set", "eth0", "up")
                _ip("-n", namespace, "link", "set", "lo", "up")
                if self.with_firewall:
                    self._restore(
                        namespace,
                        f"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:{CHAIN} - [0:0]\n-A INPUT -j {CHAIN}\nCOMMIT\n",
                        noflush=False,
                    )
        except BaseException:
            self.destroy()
            raise
        return self

    def _add(self, namespace: str) -> None:
        _ip("netns", "add", namespace)
        self.created.append(namespace)

    def destroy(self) -> None:
        """Kill what runs in the namespaces and delete them (the bridge, veths and rules go with them)."""
        for namespace in reversed(self.created):
            _delete(namespace)
        self.created.clear()
        atexit.unregister(self.destroy)

    def namespace(self, node: str) -> str:
        return self.namespaces[node]

    def owned_by(self, node: str) -> tuple[str, ...]:
        """What *node*'s process removes if the run's parent dies: its namespace and the hub."""
        return (self.namespaces[node], self.hub)

    def set_rules(self, node: str, rules: Iterable[str]) -> None:
        """Replace the ``RSIM`` chain of *node*'s namespace with *rules* (``iptables -A RSIM`` arguments)."""
        body = "".join(f"-A {CHAIN} {rule}\n" for rule in rules)
        self._restore(self.namespaces[node], f"*filter\n:{CHAIN} - [0:0]\n{body}COMMIT\n", noflush=True)

    def rules(self, node: str) -> list[str]:
        """The ``RSIM`` chain of *node*'s namespace as ``iptables -S`` prints it (for tests and logs)."""
        result = _ip("netns", "exec", self.namespaces[node], "iptables", "-w", "-S", CHAIN)
        return [line for line in result.stdout.splitlines() if line.startswith("-A")]

    @staticmethod
    def _restore(namespace: str, text: str, noflush: bool) -> None:
        _ip("netns", "exec", namespace, "iptables-restore", "-w", *(["--noflush"] if noflush else []), stdin=text)

    def __enter__(self) -> NamespaceNet:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.destroy()


def firewall_rules(node: str, addresses: Mapping[str, str], cuts: Sequence[Partition], loss: Mapping[tuple[str, str], float]) -> list[str]:
    """The ``RSIM`` rules of *node*: what it must refuse from each peer, given the partitions and loss in force.

    *loss* maps ``(sender, receiver)`` to a probability.
    """
    names = list(addresses)
    rules: list[str] = []
    for peer, address in addresses.items():
        if peer == node:
            continue
        mode = None
        for cut in cuts:
            sides = full_sides(cut.sides, names)
            side = {n: i for i, s in enumerate(sides) for n in s}
            a, b = side.get(peer), side.get(node)
            if a is not None and b is not None and a != b and (not cut.one_way or (a, b) == (0, 1)):
                mode = cut.mode
                break
        if mode == "drop":
            rules.append(f"-s {address}/32 -p tcp -j REJECT --reject-with tcp-reset")
        if mode is not None:
            rules.append(f"-s {address}/32 -j DROP")
        elif loss.get((peer, node)):
            # data segments only: a pure ACK (no payload, under 65 bytes) passes, so losing what *peer*
            # sends to *node* does not also starve the TCP flows that *node* sends to *peer*
            rules.append(f"-s {address}/32 -m length --length 65:65535 -m statistic --mode random --probability {loss[(peer, node)]:.6f} -j DROP")
    return rules


class Firewall:
    """Applies ``Partition``, ``Heal`` and ``Loss`` faults as firewall rules in a ``NamespaceNet``."""

    HANDLES = (Partition, Heal, Loss)

    def __init__(self, net: NamespaceNet) -> None:
        self.net = net
        self.cuts: list[Partition] = []
        self.loss: dict[tuple[str, str], float] = {}
        self._current: dict[str, list[str]] = {name: [] for name in net.nodes}

    def apply(self, fault: Fault) -> None:
        """Change the rules for *fault* (one of ``HANDLES``) in every namespace whose rules change."""
        if isinstance(fault, Partition):
            self.cuts.append(fault)
        elif isinstance(fault, Heal):
            self.cuts.clear()
        elif isinstance(fault, Loss):
            for pair in [(fault.a, fault.b)] + ([] if fault.one_way else [(fault.b, fault.a)]):
                if fault.rate:
                    self.loss[pair] = fault.rate
                else:
                    self.loss.pop(pair, None)
        else:
            raise TypeError(f"the firewall applies Partition, Heal and Loss, not {fault!r}")
        for node in self.net.nodes:
            rules = firewall_rules(node, self.net.addresses, self.cuts, self.loss)
            if rules != self._current[node]:
                self.net.set_rules(node, rules)
                self._current[node] = rules


def open_net(nodes: Sequence[str], run_id: str, firewall: bool) -> tuple[NamespaceNet, Firewall | None]:
    """A run's namespaces, made after checking that they can be (``NetnsUnavailable`` says what is
    missing) and removing what runs of dead processes left; with *firewall*, its ``Firewall`` too."""
    reason = unavailable_reason(firewall=firewall)
    if reason is not None:
        raise NetnsUnavailable(f"isolation='netns' is not possible: {reason}")
    cleanup_stale()
    net = NamespaceNet(nodes, run_id, firewall=firewall).create()
    return net, Firewall(net) if firewall else None
