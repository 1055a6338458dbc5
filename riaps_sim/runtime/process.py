"""The real world: one OS process per node, real ZeroMQ, UDP beacon discovery, the real clock.

``RealRun`` starts a process per node (``multiprocessing`` with *spawn*, so each is a fresh
interpreter), and each process runs ``node_main``: a ``Node`` on a ``RealDriver`` loop with its
components. Every process streams its trace to a JSON-lines file as it goes, so a node killed with
SIGKILL leaves its trace up to the moment it died. The parent records the faults it applies
(kills, restarts) and merges all traces into one. A node process that dies on its own is
reported, never waited on forever.

``RealRun.run(duration_s, schedule)`` applies a ``FaultSchedule`` the way the simulation does,
time 0 being the moment the processes are started (``t0``, wall clock):

- ``Crash`` and ``Restart``: the parent SIGKILLs the node's process / starts a fresh one;
- ``Partition``, ``Heal``, ``Loss``, ``Duplicate``, ``Delay``: each node process applies them to
  what it receives, in its message-level fault layer, at ``t0 + at`` by its own timer (with
  ``isolation="netns"``, partitions and loss are firewall rules instead; see ``netns``);
- ``ClockSkew``: the node's driver clock.

Every fault is recorded once, by the parent, as a ``fault`` event in ``faults.jsonl``, worded as
the simulation words it (``partition n0 | n1,n2 (hold)``, ``heal``, ``crash n1``). A fault that
names the node ``"@leader"`` (``LEADER``) is resolved when it falls due, from the traces so far, and
sent to the node processes then.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..faults import LEADER, ClockSkew, Crash, Delay, Duplicate, Fault, FaultSchedule, Heal, Loss, Partition, Restart, resolve_leader
from ..model import GroupType
from ..trace import Kind, Trace, TraceEvent

__all__ = ["NodePlan", "NodeFaults", "RealRun", "node_main", "StreamingTrace", "fault_text", "LEADER", "ISOLATIONS"]

log = logging.getLogger("riaps_sim.runtime")

ISOLATIONS = ("loopback", "netns")
_MESSAGE_FAULTS = (Partition, Heal, Loss, Duplicate, Delay)
_STOP_GRACE_S = 30.0  # a node process outlives its run by this much only if the parent is gone
_START_MARGIN_S = 0.05  # from the last node's "ready" to time 0, for the start message to arrive


@dataclass(frozen=True)
class NodePlan:
    """What one node process runs: its name, host address and components.

    ``components`` maps instance names to ``(component class, keyword arguments)``; the class
    must be importable by name (a top-level class of a module), since the process is spawned.
    """

    name: str
    host: str
    components: Mapping[str, tuple[type, Mapping[str, Any]]] = field(default_factory=dict)


class StreamingTrace(Trace):
    """A trace that also appends each event to a JSON-lines file as it is recorded."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        path = Path(path)
        torn = path.exists() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
        self._out = path.open("a", encoding="utf-8", buffering=1)
        if torn:  # the last writer was killed mid-line (a crash before a restart): start on a new line
            self._out.write("\n")

    def append(self, event: TraceEvent) -> None:
        super().append(event)
        self._out.write(json.dumps(event._asdict(), separators=(",", ":")) + "\n")

    def record(self, time: float, true_time: float | None, node: str, component: str | None, group: str | None, kind: str, **fields: Any) -> None:
        super().record(time, true_time, node, component, group, kind, **fields)
        self._out.write(json.dumps(self[-1]._asdict(), separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._out.close()


@dataclass(frozen=True)
class NodeFaults:
    """The faults a node process applies itself, and what it needs to apply them.

    ``faults`` are applied at wall-clock ``t0 + fault.at`` (at once, in order, if already past:
    a restarted node catches up). ``t0`` is ``None`` for the nodes started with the run: they learn
    it from the parent once every node has booted (see ``node_main``); ``addresses`` tells the senders of received messages apart;
    ``message_layer`` wraps the node's context in the fault layer (``riaps_sim.runtime.faultlayer``).
    """

    t0: float | None
    faults: tuple[Fault, ...] = ()
    addresses: Mapping[str, str] = field(default_factory=dict)
    message_layer: bool = False


def node_main(
    plan: NodePlan,
    group_types: Mapping[str, GroupType],
    app: str,
    seed: int,
    beacon_port: int,
    duration_s: float,
    trace_path: str,
    clock_offset_s: float = 0.0,
    *,
    faults: NodeFaults | None = None,
    control: Any = None,
    netns: str | None = None,
    beacon_destinations: list[tuple[str, int]] | None = None,
    ready: Any = None,
) -> None:
    """Run one node until *duration_s* seconds pass or SIGTERM arrives (the body of a node process).

    With *faults*, the node applies its receive-side faults and clock skews at their times, and
    those sent later on the *control* connection (a ``multiprocessing`` pipe end) when they come.
    With *netns*, it first enters that network namespace. With *ready* (a semaphore) and faults
    whose ``t0`` is ``None``, the node boots, releases *ready*, and waits for the run's time 0 on
    *control*: it starts its components then, so that, as in simulation, every node starts at 0
    (process start-up, about half a second, is not part of the run).
    """
    if netns is not None:
        from .netns import enter_namespace

        enter_namespace(netns)
    import zmq

    from ..discovery import BeaconDiscovery
    from .faultlayer import FaultContext, LinkFaults
    from .node import Node, node_random
    from .real import RealDriver

    logging.basicConfig(level=logging.WARNING, format=f"%(levelname)s {plan.name} %(name)s: %(message)s")
    if faults is not None and faults.t0 is None:
        ready.release()
        faults = dataclasses.replace(faults, t0=float(control.recv()))  # the common start time
    start_at = faults.t0 if faults is not None else None
    context = zmq.Context()
    driver = RealDriver(clock_offset_s=clock_offset_s, t0_s=faults.t0 if faults is not None else None)
    if beacon_destinations is None and plan.host.startswith("127."):
        beacon_destinations = [("127.255.255.255", beacon_port)]
    discovery = BeaconDiscovery(app, plan.name, plan.host, port=beacon_port, destinations=beacon_destinations)
    trace = StreamingTrace(trace_path)
    layer: LinkFaults | None = None
    node_context: Any = context
    if faults is not None and faults.message_layer:
        layer = LinkFaults(plan.name, faults.addresses, node_random(seed, f"{plan.name}/faults"), on_drop=lambda cause, peer: node.record(Kind.DROP, None, None, peer=peer, detail=cause))
        node_context = FaultContext(context, layer, source_host=plan.host)
    node = Node(plan.name, plan.host, node_context, driver, group_types, discovery, trace, seed=seed, incarnation=os.getpid())
    for instance, (cls, kwargs) in plan.components.items():
        node.add(cls(**kwargs), instance)
    signal.signal(signal.SIGTERM, lambda *_: driver.stop())
    signal.signal(signal.SIGINT, lambda *_: driver.stop())

    def hear_beacons() -> None:
        discovery.receive(driver.clock())

    driver.watch(discovery.fileno(), hear_beacons)

    def apply(fault: Fault) -> None:
        if isinstance(fault, ClockSkew):
            if fault.node == plan.name:
                driver.set_clock(fault.offset_s, fault.rate)
        elif layer is not None:
            layer.apply(fault)

    if start_at is not None and faults is not None:
        for fault in faults.faults:
            driver.call_at(start_at + fault.at, functools.partial(apply, fault))
    if control is not None:
        def take_control() -> None:
            try:
                while control.poll():
                    apply(control.recv())
            except (EOFError, OSError):  # the parent is gone: no more faults will come
                driver.unwatch(control.fileno())

        driver.watch(control.fileno(), take_control)

    def beacon() -> None:
        discovery.tick(driver.clock())
        driver.call_later(discovery.interval, beacon)

    beacon()
    if start_at is not None and start_at > time.time():
        driver.call_at(start_at, node.start)
        duration_s = start_at + duration_s - time.time()
    else:
        node.start()
    try:
        driver.run(duration_s=duration_s)
    except Exception as exc:
        node.record(Kind.ERROR, None, None, detail=f"loop crashed: {type(exc).__name__}: {exc}")
        raise
    finally:
        node.stop()
        discovery.close()
        trace.close()
        _close_context(context)


def _close_context(context: Any, timeout_s: float = 1.0) -> None:
    """Close the context's sockets (linger 0) and terminate it, waiting at most *timeout_s* seconds.

    libzmq's ``zmq_ctx_term`` can hang although every socket is closed with linger 0 (seen here in
    about one node stop of fifteen; zeromq/libzmq#2586). The node is ending anyway, so the context is
    terminated in a daemon thread and the node does not wait for it beyond *timeout_s*.
    """
    closer = threading.Thread(target=context.destroy, kwargs={"linger": 0}, name="zmq-term", daemon=True)
    closer.start()
    closer.join(timeout_s)
    if closer.is_alive():
        log.debug("zmq context termination still blocked after %g s; exiting without it", timeout_s)


class RealRun:
    """Node processes on this machine, started, faulted and stopped together.

    Parameters
    ----------
    group_types:
        The application's group types.
    out_dir:
        Where each node's trace file (``<node>.jsonl``) and the faults (``faults.jsonl``) go.
    seed:
        Seeds every node's generator (the real world itself is not reproducible).
    beacon_port:
        The UDP port of discovery beacons; by default a free-looking port chosen from the run id.
    isolation:
        ``"loopback"`` (default): every node on its own ``127.0.0.x`` address of this machine's
        loopback, faults in each node's message layer. ``"netns"`` (root only, for ``run``): every
        node in its own network namespace on a bridge with a ``10.x`` address, partitions and loss
        as firewall rules; node addresses of the plans are replaced.
    """

    def __init__(
        self,
        group_types: Mapping[str, GroupType] | list[GroupType],
        out_dir: str | Path,
        seed: int = 0,
        beacon_port: int | None = None,
        isolation: str = "loopback",
    ) -> None:
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")
        if not isinstance(group_types, Mapping):
            group_types = {g.name: g for g in group_types}
        self.group_types = dict(group_types)
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.seed = seed
        self.isolation = isolation
        run_id = uuid.uuid4()
        self.run_id = run_id.hex[:6]
        self.app = f"riaps-sim-{run_id.hex[:12]}"
        self.beacon_port = beacon_port or 40000 + run_id.int % 20000
        self.plans: dict[str, NodePlan] = {}
        self.processes: dict[str, Any] = {}
        self.faults = StreamingTrace(self.out_dir / "faults.jsonl")
        self.net: Any = None  # the NamespaceNet of a netns run, while it runs
        self._context = multiprocessing.get_context("spawn")
        self._reported: set[int] = set()
        self._t0: float | None = None
        self._running = False
        self._ready: Any = None
        self._end: float | None = None
        self._node_faults: dict[str, list[Fault]] = {}
        self._controls: dict[str, Any] = {}
        self._sent: list[Fault] = []
        self._layer = False
        self._firewall: Any = None

    def __repr__(self) -> str:
        alive = [n for n, p in self.processes.items() if p.is_alive()]
        return f"<RealRun {self.app} {self.isolation} nodes={list(self.plans)} alive={alive}>"

    def add_node(self, plan: NodePlan) -> None:
        if plan.name in self.plans:
            raise ValueError(f"the run already has a node named {plan.name!r}")
        if plan.name == LEADER:
            raise ValueError(f"{LEADER!r} stands for the current leader in faults; name the node otherwise")
        self.plans[plan.name] = plan

    def start(self, duration_s: float, names: list[str] | None = None) -> None:
        """Start the node processes (all, or *names*), each to run for at most *duration_s* seconds."""
        if self.isolation == "netns":
            raise RuntimeError("isolation='netns' needs run(duration_s, schedule), which makes and removes the namespaces; start() runs on loopback only")
        for name in names or list(self.plans):
            self._spawn(name, duration_s)

    def _spawn(self, name: str, duration_s: float) -> None:
        plan = self.plans[name]
        kwargs: dict[str, Any] = {}
        if self._running:
            kwargs["faults"] = NodeFaults(
                self._t0, tuple(sorted(self._node_faults.get(name, []) + self._sent, key=lambda f: f.at)),
                {n: p.host for n, p in self.plans.items()}, self._layer,
            )
            if self._t0 is None:
                kwargs["ready"] = self._ready
            reader, writer = self._context.Pipe(duplex=False)
            kwargs["control"] = reader
            previous = self._controls.pop(name, None)
            if previous is not None:
                previous.close()
            self._controls[name] = writer
        if self.net is not None:
            kwargs["netns"] = self.net.namespace(name)
            kwargs["beacon_destinations"] = [(self.net.broadcast, self.beacon_port)]
        process = self._context.Process(
            target=node_main,
            args=(plan, self.group_types, self.app, self.seed, self.beacon_port, duration_s, str(self.out_dir / f"{name}.jsonl")),
            kwargs=kwargs,
            name=f"riaps-sim-node-{name}",
            daemon=True,
        )
        process.start()
        if "control" in kwargs:
            kwargs["control"].close()  # the child holds its own copy
        self.processes[name] = process

    def kill(self, name: str) -> None:
        """SIGKILL the node's process, as a crash."""
        self._record_fault(f"crash {name}")
        self._kill(name)

    def _kill(self, name: str) -> None:
        process = self.processes[name]
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
        process.join(5)
        self._reported.add(process.pid)

    def restart(self, name: str, duration_s: float) -> None:
        """Start a fresh process for a killed node."""
        self._record_fault(f"restart {name}")
        self._spawn(name, duration_s)

    def dead(self) -> list[str]:
        """Nodes whose process ended on its own with an error (each reported once, with a log line)."""
        out = []
        for name, process in self.processes.items():
            if process.exitcode not in (None, 0) and process.pid not in self._reported:
                self._reported.add(process.pid)
                log.error("node %s (pid %s) died with exit code %s", name, process.pid, process.exitcode)
                out.append(name)
        return out

    def wait_until(self, predicate: Callable[[Trace], bool], timeout_s: float, poll_s: float = 0.2) -> bool:
        """Wait until *predicate* holds of the merged trace so far, or *timeout_s* seconds pass."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self.trace()):
                return True
            dead = self.dead()
            if dead:
                raise RuntimeError(f"node process(es) {dead} died; see their log lines above")
            time.sleep(poll_s)
        return predicate(self.trace())

    # -- a whole run with a fault schedule --------------------------------------------------------------

    def run(self, duration_s: float, schedule: FaultSchedule = FaultSchedule()) -> Trace:
        """Run every node for *duration_s* seconds while applying *schedule*; return the merged trace.

        Blocks until the run is over. Time 0 of the schedule is when the nodes start their
        components, together, once every node process has booted (as in simulation, where every
        node starts at 0). At the end every node gets SIGTERM, then SIGKILL if it has not stopped within 10 s.
        A node process that dies on its own is logged and recorded as an ``error`` event
        (``process died: exit code N``). With ``isolation="netns"`` the namespaces are made first
        and removed afterwards, whatever happens (errors, SIGTERM, Ctrl-C).
        """
        if not duration_s > 0:
            raise ValueError(f"duration_s must be > 0 seconds, got {duration_s!r}")
        if not self.plans:
            raise ValueError("the run has no nodes: add_node() first")
        if self.processes:
            raise RuntimeError("this RealRun has already started processes; make a new RealRun for each run")
        schedule = schedule if isinstance(schedule, FaultSchedule) else FaultSchedule(schedule)
        names = list(self.plans)
        schedule.check_nodes([*names, LEADER])
        for fault in schedule:
            if fault.at > duration_s:
                log.warning("fault %s at %g s comes after the run's end (%g s); it will not be applied", fault.describe(), fault.at, duration_s)
        with _sigterm_as_exit(), contextlib.ExitStack() as cleanup:
            cleanup.callback(self._destroy_net)  # last: after the nodes have stopped
            cleanup.callback(self.stop)
            self._prepare(schedule)
            self._running = True
            self._ready = self._context.Semaphore(0)
            for name in names:
                self._spawn(name, duration_s + _STOP_GRACE_S)
            self._await_boot(names)
            self._t0 = time.time() + _START_MARGIN_S
            for name in names:
                self._controls[name].send(self._t0)
            self._end = self._t0 + duration_s
            pending = deque(f for f in schedule if f.at <= duration_s)
            while True:
                now = time.time()
                while pending and self._t0 + pending[0].at <= now:
                    self._apply(pending.popleft())
                self._report_deaths()
                if now >= self._end:
                    break
                next_at = self._t0 + pending[0].at if pending else self._end
                time.sleep(max(0.0, min(0.05, next_at - now, self._end - now)))
            self._report_deaths()
        return self.trace()

    def _await_boot(self, names: list[str], timeout_s: float = 60.0) -> None:
        """Wait until every node process has booted and waits for the start; fail if one dies or hangs."""
        deadline = time.monotonic() + timeout_s
        for _ in names:
            while not self._ready.acquire(timeout=0.1):
                dead = [n for n in names if not self.processes[n].is_alive()]
                if dead:
                    raise RuntimeError(f"node process(es) {dead} died while starting; see their log lines above")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"node processes did not all start within {timeout_s:g} s")

    def _prepare(self, schedule: FaultSchedule) -> None:
        """Decide who applies which fault; in netns mode, make the namespaces and move the nodes there."""
        names = list(self.plans)
        firewall_faults: tuple[type, ...] = ()
        if self.isolation == "netns":
            from .netns import Firewall, NamespaceNet, cleanup_stale, unavailable_reason

            reason = unavailable_reason()
            if reason is not None:
                raise RuntimeError(f"isolation='netns' is not possible: {reason}")
            cleanup_stale()
            firewall_faults = Firewall.HANDLES
            needs_firewall = any(isinstance(f, firewall_faults) for f in schedule)
            self.net = NamespaceNet(names, self.run_id, firewall=needs_firewall)
            self.net.create()
            if needs_firewall:
                self._firewall = Firewall(self.net)
            self.plans = {n: dataclasses.replace(p, host=self.net.addresses[n]) for n, p in self.plans.items()}
        layer_faults = tuple(t for t in _MESSAGE_FAULTS if t not in firewall_faults)
        self._layer = any(isinstance(f, layer_faults) for f in schedule)
        if self._layer:
            hosts = [p.host for p in self.plans.values()]
            shared = sorted({h for h in hosts if hosts.count(h) > 1})
            if shared:
                raise ValueError(f"nodes share address(es) {shared}; message-level faults tell nodes apart by address: give each node its own 127.0.0.x")
        for name in names:
            self._node_faults[name] = [
                f for f in schedule
                if LEADER not in f.nodes()
                and (isinstance(f, layer_faults) or (isinstance(f, ClockSkew) and f.node == name))
            ]

    def _destroy_net(self) -> None:
        if self.net is not None:
            self.net.destroy()
            self.net = None

    def _apply(self, fault: Fault) -> None:
        """Apply *fault* now: resolve ``LEADER``, record it, and carry out the parent's part."""
        resolved = self._resolve(fault)
        if resolved is None:
            log.warning("fault %s at %g s skipped: no node leads", fault.describe(), fault.at)
            self._record_fault(f"skipped {fault.describe()}: no leader")
            return
        self._record_fault(fault_text(resolved, list(self.plans)))
        if isinstance(resolved, Crash):
            self._kill(resolved.node)
        elif isinstance(resolved, Restart):
            process = self.processes.get(resolved.node)
            if process is not None and process.is_alive():
                log.warning("restart of %s at %g s skipped: its process still runs", resolved.node, fault.at)
                return
            assert self._end is not None
            self._spawn(resolved.node, max(0.0, self._end - time.time()) + _STOP_GRACE_S)
        elif self._firewall is not None and isinstance(resolved, self._firewall.HANDLES):
            self._firewall.apply(resolved)
        elif resolved is not fault:  # resolved now, so the nodes have not got it: send it
            self._sent.append(resolved)
            for name, writer in self._controls.items():
                if self.processes[name].is_alive():
                    try:
                        writer.send(resolved)
                    except OSError:
                        pass

    def _resolve(self, fault: Fault) -> Fault | None:
        """*fault* with ``LEADER`` replaced by the node that leads now (highest term), or ``None`` if none does."""
        if LEADER not in fault.nodes():
            return fault
        leader = self.current_leader()
        return None if leader is None else resolve_leader(fault, leader)

    def current_leader(self) -> str | None:
        """The node whose member leads now by the traces so far (the highest term wins), or ``None``."""
        roles: dict[str, tuple[str, int, str]] = {}
        for event in self.trace().select(kind=Kind.STATE):
            if event.peer:
                roles[event.peer] = (event.detail or "", event.term or 0, event.node)
        alive = {n for n, p in self.processes.items() if p.is_alive()}
        leading = [(term, node) for role, term, node in roles.values() if role == "leader" and node in alive]
        return max(leading)[1] if leading else None

    def _report_deaths(self) -> None:
        for name, process in self.processes.items():
            if process.exitcode is not None and process.pid not in self._reported:
                self._reported.add(process.pid)
                log.error("node %s (pid %s) died on its own with exit code %s", name, process.pid, process.exitcode)
                self.faults.record(time.time(), None, name, None, None, Kind.ERROR, detail=f"process died: exit code {process.exitcode}")

    def _record_fault(self, detail: str) -> None:
        self.faults.record(time.time(), None, "network", None, None, Kind.FAULT, detail=detail)

    # -- the end -------------------------------------------------------------------------------------------

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask every node to stop (SIGTERM), then kill what is still running after *timeout_s*."""
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + timeout_s
        for name, process in self.processes.items():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("node %s (pid %s) did not stop within %g s of SIGTERM; killing it", name, process.pid, timeout_s)
                process.kill()
                process.join(1)
        for writer in self._controls.values():
            writer.close()
        self._controls.clear()
        self.faults.close()

    def trace(self) -> Trace:
        """Every node's trace so far and the faults, merged in time order (a torn last line is skipped)."""
        parts = []
        for path in sorted(self.out_dir.glob("*.jsonl")):
            events = []
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    events.append(TraceEvent(**json.loads(line)))
                except (ValueError, TypeError):
                    continue  # a line still being written
            parts.append(Trace(events))
        return Trace.merge(parts)

    def __enter__(self) -> RealRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def fault_text(fault: Fault, nodes: list[str]) -> str:
    """The trace's wording of *fault*, the simulation's (see ``Fault.describe``)."""
    return fault.describe(nodes)


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """While a run goes on in the main thread, SIGTERM raises ``SystemExit`` so clean-up runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
