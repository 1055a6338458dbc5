"""The real world: one OS process per node, real ZeroMQ, UDP beacon discovery, the real clock.

``RealRun`` is the face of a real run. It composes small parts, each with one job:

- ``supervisor.NodeSupervisor``: node processes (fresh interpreters, fed by value), ready, kill, stop;
- ``realfaults.RealFaultPlan``: which fault the parent, a node's fault layer or the firewall applies;
- ``tracefiles.TraceFiles`` and ``LeaderTracker``: the nodes' trace files read incrementally, who leads;
- ``netns.NamespaceNet`` and ``Firewall``: one network namespace per node (``isolation="netns"``).

A node process runs ``riaps_sim.runtime.nodeproc``. ``RealRun.run(duration_s, schedule)``
applies a ``FaultSchedule`` the way the simulation does, time 0 being the moment the nodes start
their components, together, once every node process has booted. Every fault is recorded once, by the
parent, as a ``fault`` event in ``faults.jsonl``, worded as the simulation words it
(``partition n0 | n1,n2 (hold)``, ``heal``, ``crash n1``). A fault that names ``"@leader"``
(``LEADER``) is resolved when it falls due, from the traces so far, and sent to the node processes then.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..faults import LEADER, Crash, Fault, FaultSchedule, Restart, resolve_leader
from ..model import GroupType
from ..trace import Kind, Trace
from .launch import BeaconSettings, NodeFaults, NodeLaunch, NodePlan, Start
from .realfaults import RealFaultPlan
from .shipping import ByValue
from .supervisor import NodeHandle, NodeSupervisor
from .tracefiles import LeaderTracker, StreamingTrace, TraceFiles

__all__ = ["NodePlan", "NodeFaults", "RealRun", "StreamingTrace", "fault_text", "LEADER", "ISOLATIONS"]

log = logging.getLogger("riaps_sim.runtime")

ISOLATIONS = ("loopback", "netns")
_STOP_GRACE_S = 30.0  # a node outlives its run's end by this much only if nobody stops it
_START_MARGIN_S = 0.05  # from the last node's "ready" to time 0, for the start message to arrive


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
    keys:
        The application's key material (``riaps_sim.security.AppKeys``), or ``None``.
    """

    def __init__(
        self,
        group_types: Mapping[str, GroupType] | list[GroupType],
        out_dir: str | Path,
        seed: int = 0,
        beacon_port: int | None = None,
        isolation: str = "loopback",
        keys: Any = None,
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
        self.keys = keys
        run_id = uuid.uuid4()
        self.run_id = run_id.hex[:6]
        self.app = f"riaps-sim-{run_id.hex[:12]}"
        self.beacon_port = beacon_port or 40000 + run_id.int % 20000
        self.plans: dict[str, NodePlan] = {}
        self.supervisor = NodeSupervisor()
        self.faults = StreamingTrace(self.out_dir / "faults.jsonl")
        self.files = TraceFiles(self.out_dir)
        self.leaders = LeaderTracker()
        self.net: Any = None  # the NamespaceNet of a netns run, while it runs
        self.t0: float | None = None  #: the run's time 0 (wall clock), once ``run`` has started the nodes
        self.interrupted = False  #: ``run`` was cut short by Ctrl-C
        self._plan: RealFaultPlan | None = None
        self._firewall: Any = None
        self._end: float | None = None

    def __repr__(self) -> str:
        return f"<RealRun {self.app} {self.isolation} nodes={list(self.plans)} alive={self.supervisor.alive()}>"

    @property
    def processes(self) -> dict[str, NodeHandle]:
        """The node processes by node name (``pid``, ``is_alive()``, ``exitcode``)."""
        return self.supervisor.handles

    def add_node(self, plan: NodePlan) -> None:
        """Add a node; its components must be able to travel to a fresh process (checked now)."""
        if plan.name in self.plans:
            raise ValueError(f"the run already has a node named {plan.name!r}")
        if plan.name.startswith("@"):
            raise ValueError(f"{plan.name!r}: names starting with '@' stand for roles in faults; name the node otherwise")
        for instance, (cls, kwargs) in plan.components.items():
            ByValue((cls, kwargs), what=f"node {plan.name!r}, component {instance!r} ({getattr(cls, '__qualname__', cls)!r} and its arguments)")
        self.plans[plan.name] = plan

    # -- processes ----------------------------------------------------------------------------------------

    def _launch(self, name: str, duration_s: float, faults: NodeFaults | None) -> NodeLaunch:
        return NodeLaunch(
            plan=self.plans[name], group_types=self.group_types, app=self.app, seed=self.seed,
            duration_s=duration_s, trace_path=str(self.out_dir / f"{name}.jsonl"),
            beacon=BeaconSettings(self.beacon_port, ((self.net.broadcast, self.beacon_port),) if self.net is not None else None),
            faults=faults, netns=self.net.namespace(name) if self.net is not None else None, keys=self.keys,
        )

    def start(self, duration_s: float, names: list[str] | None = None) -> None:
        """Start the node processes (all, or *names*) at once, each to run for at most *duration_s* seconds."""
        if self.isolation == "netns":
            raise RuntimeError("isolation='netns' needs run(duration_s, schedule), which makes and removes the namespaces; start() runs on loopback only")
        for name in names or list(self.plans):
            self.supervisor.spawn(self._launch(name, duration_s, None))

    def kill(self, name: str) -> None:
        """SIGKILL the node's process, as a crash."""
        self._record_fault(f"crash {name}")
        self.supervisor.kill(name)

    def restart(self, name: str, duration_s: float) -> None:
        """Start a fresh process for a killed node."""
        self._record_fault(f"restart {name}")
        self.supervisor.spawn(self._launch(name, duration_s, None))

    def dead(self) -> list[str]:
        """Nodes whose process ended on its own (each reported once, with a log line)."""
        out = []
        for death in self.supervisor.deaths():
            log.error("node %s (pid %s) died with exit code %s", death.node, death.pid, death.exitcode)
            out.append(death.node)
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
        node starts at 0). At the end every node gets SIGTERM, then SIGKILL if it has not stopped
        within 10 s. A node process that dies on its own is logged and recorded as an ``error``
        event (``process died: exit code N``). Ctrl-C ends the run early: the nodes are stopped and
        the trace so far is returned, with ``interrupted`` set. With ``isolation="netns"`` the
        namespaces are made first and removed afterwards, whatever happens.
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
            plan = self._prepare(schedule)
            hosts = {n: p.host for n, p in self.plans.items()}
            try:
                for name in names:
                    self.supervisor.spawn(self._launch(name, duration_s + _STOP_GRACE_S, plan.for_node(name, None, hosts)))
                self.supervisor.await_ready(names)
                self.t0 = time.time() + _START_MARGIN_S
                self.supervisor.broadcast(Start(self.t0))
                self._end = self.t0 + duration_s
                self._follow(deque(f for f in schedule if f.at <= duration_s))
            except KeyboardInterrupt:
                self.interrupted = True
                log.info("interrupted: stopping the node processes")
        return self.trace()

    def _follow(self, pending: deque[Fault]) -> None:
        """Apply the faults as they fall due and watch for deaths until the run's end."""
        assert self.t0 is not None and self._end is not None
        while True:
            now = time.time()
            while pending and self.t0 + pending[0].at <= now:
                self._apply(pending.popleft())
            self._report_deaths()
            if now >= self._end:
                break
            next_at = self.t0 + pending[0].at if pending else self._end
            time.sleep(max(0.0, min(0.05, next_at - now, self._end - now)))
        self._report_deaths()

    def _prepare(self, schedule: FaultSchedule) -> RealFaultPlan:
        """Split the schedule; in netns mode, make the namespaces and move the nodes there."""
        names = list(self.plans)
        firewall_kinds: tuple[type[Fault], ...] = ()
        if self.isolation == "netns":
            from .netns import Firewall, NamespaceNet, cleanup_stale, unavailable_reason

            reason = unavailable_reason()
            if reason is not None:
                raise RuntimeError(f"isolation='netns' is not possible: {reason}")
            cleanup_stale()
            firewall_kinds = Firewall.HANDLES
        plan = RealFaultPlan(schedule, names, firewall_kinds)
        if self.isolation == "netns":
            self.net = NamespaceNet(names, self.run_id, firewall=plan.needs_firewall)
            self.net.create()
            if plan.needs_firewall:
                self._firewall = Firewall(self.net)
            self.plans = {n: dataclasses.replace(p, host=self.net.addresses[n]) for n, p in self.plans.items()}
        plan.check_addresses({n: p.host for n, p in self.plans.items()})
        self._plan = plan
        return plan

    def _destroy_net(self) -> None:
        if self.net is not None:
            self.net.destroy()
            self.net = None

    def _apply(self, fault: Fault) -> None:
        """Apply *fault* now: resolve ``LEADER``, record it, and carry out the parent's part."""
        assert self._plan is not None and self._end is not None and self.t0 is not None
        resolved = self._resolve(fault)
        if resolved is None:
            log.warning("fault %s at %g s skipped: no node leads", fault.describe(), fault.at)
            self._record_fault(f"skipped {fault.describe()}: no leader")
            return
        self._record_fault(fault_text(resolved, list(self.plans)))
        if isinstance(resolved, Crash):
            self.supervisor.kill(resolved.node)
        elif isinstance(resolved, Restart):
            if self.supervisor.is_alive(resolved.node):
                log.warning("restart of %s at %g s skipped: its process still runs", resolved.node, fault.at)
                return
            hosts = {n: p.host for n, p in self.plans.items()}
            remaining = max(0.0, self._end - time.time()) + _STOP_GRACE_S
            self.supervisor.spawn(self._launch(resolved.node, remaining, self._plan.for_node(resolved.node, self.t0, hosts)))
        elif self._firewall is not None and self._plan.is_firewalls(resolved):
            self._firewall.apply(resolved)
        elif resolved is not fault:  # resolved now, so the nodes have not got it: send it
            self._plan.send_later(resolved)
            self.supervisor.broadcast(resolved)

    def _resolve(self, fault: Fault) -> Fault | None:
        """*fault* with ``LEADER`` replaced by the node that leads now (highest term), or ``None`` if none does."""
        if LEADER not in fault.nodes():
            return fault
        leader = self.current_leader()
        return None if leader is None else resolve_leader(fault, leader)

    def current_leader(self) -> str | None:
        """The node whose member leads now by the traces so far (the highest term wins), or ``None``."""
        self.leaders.feed(self.files.update())
        return self.leaders.leader(set(self.supervisor.alive()))

    def _report_deaths(self) -> None:
        for death in self.supervisor.deaths():
            log.error("node %s (pid %s) died on its own with exit code %s", death.node, death.pid, death.exitcode)
            self.faults.record(time.time(), None, death.node, None, None, Kind.ERROR, detail=f"process died: exit code {death.exitcode}")

    def _record_fault(self, detail: str) -> None:
        self.faults.record(time.time(), None, "network", None, None, Kind.FAULT, detail=detail)

    # -- the end -------------------------------------------------------------------------------------------

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask every node to stop (SIGTERM), then kill what is still running after *timeout_s*."""
        self.supervisor.stop(timeout_s)
        self.faults.close()

    def trace(self) -> Trace:
        """Every node's trace so far and the faults, merged in time order (a torn last line is skipped)."""
        trace = self.files.trace()
        return trace

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
