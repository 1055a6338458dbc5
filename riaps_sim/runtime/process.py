"""The real world: one OS process per node, real ZeroMQ, UDP beacon discovery, the real clock.

``RealRun`` is the face of a real run. It composes small parts, each with one job:

- ``supervisor.NodeSupervisor``: node processes (fresh interpreters, fed by value), ready, kill, stop;
- ``realfaults.RealFaultPlan``: which fault the parent, a node's fault layer or the firewall applies;
- ``tracefiles.TraceFiles``: the nodes' trace files read incrementally, for ``trace()``;
- ``reports.LeaderTracker`` and ``Triggers``: who leads and which triggered fault falls due, from
  what the nodes report on their control connections (never from the trace files);
- ``status.RunStatus``: progress lines for a person waiting on the run;
- ``netns.NamespaceNet`` and ``Firewall``: one network namespace per node (``isolation="netns"``).

A node process runs ``riaps_sim.runtime.nodeproc``. ``RealRun.run(duration_s, schedule)``
applies a ``FaultSchedule`` the way the simulation does, time 0 being the moment the nodes start
their components, together, once every node process has booted. Every trace time counts seconds
from that time 0, as in simulation: the nodes' clocks read it, and the parent records its own
rows on it. Every fault is recorded once, by the parent, as a ``fault`` event in
``faults.jsonl``, worded as the simulation words it (``partition n0 | n1,n2 (hold)``, ``heal``,
``crash n1``). A fault that names ``"@leader"`` (``LEADER``) is resolved when it falls due, from
the roles the nodes have reported, and sent to the node processes then.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..faults import LEADER, Crash, Fault, FaultSchedule, Pause, Restart, Roles, Unresolved, resolve
from ..model import GroupType
from ..trace import Kind, Trace
from .agenda import Agenda
from .launch import BeaconSettings, NodeFaults, NodeLaunch, NodePlan, Observed, Start
from .linkfaults import LinkProfile
from .realfaults import RealFaultPlan, complete_sides
from .reports import LeaderTracker, Triggers
from .shipping import ByValue
from .simfaults import refusal_text
from .status import RunStatus
from .supervisor import NodeHandle, NodeSupervisor, sigterm_as_exit
from .tracefiles import StreamingTrace, TraceFiles, up_to

__all__ = ["NodePlan", "NodeFaults", "RealRun", "StreamingTrace", "fault_text", "LEADER", "ISOLATIONS"]

log = logging.getLogger("riaps_sim.runtime")

ISOLATIONS = ("loopback", "netns")
GENERATE: Any = object()  # RealRun(keys=...) default: fresh key material for the run
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
        The application's key material (``riaps_sim.security.AppKeys``); by default fresh material
        is made for this run. ``None`` turns security off (CURVE, the ZAP allow-list and signed
        beacons): anyone who can reach the nodes can talk to them, and ``recv_pyobj`` unpickles
        what they send. Say so only on purpose.
    trace_all:
        Write a trace row for every heartbeat send and delivery; by default they are counted.
    measure_loop:
        Have every node write ``loop`` rows: how long each received message took to handle, how
        late each timer ran, how long the process took to boot (``riaps_sim.runtime.probe``).
    network:
        The network between the nodes (``linkfaults.LinkProfile``: latency distribution, loss,
        reordering), applied by every node's message layer to what it receives from the others.
    progress:
        Called with a line of text as ``run`` goes on: who leads when it changes, each fault as it
        is applied, and every few seconds how the run stands (``riaps_sim.runtime.status``).
    """

    def __init__(
        self,
        group_types: Mapping[str, GroupType] | list[GroupType],
        out_dir: str | Path,
        seed: int = 0,
        beacon_port: int | None = None,
        isolation: str = "loopback",
        keys: Any = GENERATE,
        trace_all: bool = False,
        measure_loop: bool = False,
        network: LinkProfile | None = None,
        progress: Callable[[str], None] | None = None,
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
        if keys is GENERATE:
            from ..security import AppKeys

            keys = AppKeys.generate()
        elif keys is None:
            log.warning("real run without security: CURVE, the allow-list and signed beacons are off")
        self.keys = keys
        self.trace_all = trace_all
        self.measure_loop = measure_loop
        self.progress = progress
        self.network = network
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
        self.t0: float | None = None  #: the run's time 0 (wall clock), once ``run`` or ``start`` has started the nodes
        self.interrupted = False  #: ``run`` was cut short by Ctrl-C
        self._plan: RealFaultPlan | None = None
        self._triggers = Triggers(())
        self._status: RunStatus | None = None
        self._agenda = Agenda()
        self._firewall: Any = None
        self._end: float | None = None
        self._spawned: dict[str, int] = {}  # processes started per node (the next one's restart count)
        self._crashed: list[str] = []  # nodes down, the most recent crash last (for @crashed)

    def __repr__(self) -> str:
        security = "insecure" if self.keys is None else "curve"
        return f"<RealRun {self.app} {self.isolation} {security} nodes={list(self.plans)} alive={self.supervisor.alive()}>"

    @property
    def secure(self) -> bool:
        """Whether the nodes authenticate each other (CURVE with the allow-list, signed beacons)."""
        return self.keys is not None

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
        """What node *name*'s next process is given (each launch is one process: a restart counts)."""
        restarts = self._spawned.get(name, 0)
        self._spawned[name] = restarts + 1
        return NodeLaunch(
            plan=self.plans[name],
            group_types=self.group_types,
            app=self.app,
            seed=self.seed,
            duration_s=duration_s,
            trace_path=str(self.out_dir / f"{name}.jsonl"),
            beacon=BeaconSettings(self.beacon_port, ((self.net.broadcast, self.beacon_port),) if self.net is not None else None),
            faults=faults,
            netns=self.net.namespace(name) if self.net is not None else None,
            keys=self.keys,
            trace_all=self.trace_all,
            restarts=restarts,
            measure_loop=self.measure_loop,
            launched_at=time.time(),
            report_first=self._triggers.kinds(),
            netns_cleanup=self.net.owned_by(name) if self.net is not None else (),
        )

    def _spawn(self, name: str, duration_s: float, faults: NodeFaults) -> None:
        """Start a process for *name* (its roles reported before are forgotten: a fresh process has none)."""
        self.leaders.forget(name)
        self.supervisor.spawn(self._launch(name, duration_s, faults))

    def now(self) -> float:
        """Seconds since the run's time 0 (the wall clock until the nodes have been started)."""
        return time.time() - (self.t0 or 0.0)

    def start(self, duration_s: float, names: list[str] | None = None) -> None:
        """Start the node processes (all, or *names*), each to run for at most *duration_s* seconds.

        The first call waits until every node has booted and sets the run's time 0 then, as
        ``run`` does; nodes started by a later call join the run at once, on the same time axis.
        """
        if self.isolation == "netns":
            raise RuntimeError(
                "isolation='netns' needs run(duration_s, schedule), which makes and removes the namespaces; start() runs on loopback only"
            )
        names = names or list(self.plans)
        for name in names:
            self._spawn(name, duration_s, NodeFaults(self.t0))
        if self.t0 is None:
            self._begin(names)

    def _begin(self, names: list[str]) -> None:
        """Wait for *names* to boot, then set time 0 and tell them."""
        self.supervisor.await_ready(names)
        self.t0 = time.time() + _START_MARGIN_S
        self.supervisor.broadcast(Start(self.t0))

    def kill(self, name: str) -> None:
        """SIGKILL the node's process, as a crash."""
        self._record_fault(f"crash {name}")
        self.supervisor.kill(name)
        self.leaders.forget(name)

    def restart(self, name: str, duration_s: float) -> None:
        """Start a fresh process for a killed node (of a run already started)."""
        if self.t0 is None:
            raise RuntimeError("restart() restarts a node of a started run: start() or run() first")
        self._record_fault(f"restart {name}")
        self._spawn(name, duration_s, NodeFaults(self.t0))

    def dead(self) -> list[str]:
        """Nodes whose process ended on its own (each reported once, with a log line)."""
        out = []
        for death in self.supervisor.deaths():
            log.error("node %s (pid %s) died with exit code %s", death.node, death.pid, death.exitcode)
            out.append(death.node)
        return out

    def wait_until(self, predicate: Callable[[Trace], bool], timeout_s: float, poll_s: float = 0.2) -> bool:
        """Wait until *predicate* holds of the merged trace so far, or *timeout_s* seconds pass.

        Meanwhile the nodes' reports are taken in, so ``current_leader()`` stays current.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self.trace()):
                return True
            dead = self.dead()
            if dead:
                raise RuntimeError(f"node process(es) {dead} died; see their log lines above")
            self._take_reports(min(poll_s, max(0.0, deadline - time.monotonic())))
        return predicate(self.trace())

    # -- a whole run with a fault schedule --------------------------------------------------------------

    def run(self, duration_s: float, schedule: FaultSchedule | None = None) -> Trace:
        """Run every node for *duration_s* seconds while applying *schedule*; return the merged trace.

        Blocks until the run is over. Time 0 of the schedule, and of the trace, is when the nodes
        start their components, together, once every node process has booted (as in simulation,
        where every node starts at 0). The trace ends at *duration_s*: what the nodes record as
        they are stopped afterwards (their ``group_left``) is not part of the run, as a simulated
        run has no shutdown. At the end every node gets SIGTERM, then SIGKILL if it has not stopped
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
        schedule = schedule if isinstance(schedule, FaultSchedule) else FaultSchedule(schedule or ())
        names = list(self.plans)
        schedule.check_nodes(names)
        for fault in schedule:
            if fault.at is not None and fault.at > duration_s:
                log.warning("fault %s at %g s comes after the run's end (%g s); it will not be applied", fault.describe(), fault.at, duration_s)
        with sigterm_as_exit(), contextlib.ExitStack() as cleanup:
            cleanup.callback(self._destroy_net)  # last: after the nodes have stopped
            cleanup.callback(self.stop)
            plan = self._prepare(schedule)
            self._triggers = Triggers(schedule)
            hosts = {n: p.host for n, p in self.plans.items()}
            if self.progress is not None:
                self._status = RunStatus(self.progress, len(names), duration_s)
            try:
                for name in names:
                    self._spawn(name, duration_s + _STOP_GRACE_S, plan.for_node(name, None, hosts))
                self._begin(names)
                assert self.t0 is not None
                self._end = self.t0 + duration_s
                self._follow(schedule, duration_s)
            except KeyboardInterrupt:
                self.interrupted = True
                log.info("interrupted: stopping the node processes")
        end = min(duration_s, self.now()) if self.t0 is not None else duration_s
        return up_to(self.trace(), end)  # what comes after the end is the nodes being stopped

    def _follow(self, schedule: FaultSchedule, duration_s: float) -> None:
        """Apply the faults as they fall due, end pauses, and watch for deaths until the run's end.

        A triggered fault falls due *delay* seconds after the first trace event of its kind, as
        stamped by the node that recorded it (the nodes report it) or by the parent (a fault, a death).
        Between two turns the parent waits for the nodes' reports, not longer than the next due time.
        """
        assert self.t0 is not None and self._end is not None
        agenda = self._agenda
        for fault in schedule:
            if fault.at is not None and fault.at <= duration_s:
                agenda.add_fault(self.t0 + fault.at, fault)
        while True:
            now = time.time()
            for fault in agenda.due_faults(now):
                self._apply(fault)
            for name in agenda.due_resumes(now):
                self.supervisor.resume(name)
            self._report_deaths()
            if self._status is not None:
                self._status.update(now - self.t0, self.current_leader(), len(self.supervisor.alive()))
            if now >= self._end:
                break
            self._take_reports(max(0.0, min(0.25, agenda.next_at(self._end) - now)))
        for name in agenda.paused():
            self.supervisor.resume(name)
        self._report_deaths()

    def _take_reports(self, timeout_s: float = 0.0) -> None:
        """Take in what the nodes reported, waiting up to *timeout_s* seconds for the first."""
        for _, message in self.supervisor.receive(timeout_s):
            if isinstance(message, Observed):
                self._observe(message.event)

    def _observe(self, event: Any) -> None:
        """A trace event the parent learnt of: a role for the tracker, a trigger for waiting faults."""
        self.leaders.feed(event)
        if self._triggers and self.t0 is not None:
            for when, fault in self._triggers.seen(event):
                self._agenda.add_fault(self.t0 + when, fault)

    def _prepare(self, schedule: FaultSchedule) -> RealFaultPlan:
        """Split the schedule; in netns mode, make the namespaces and move the nodes there."""
        names = list(self.plans)
        if self.isolation != "netns":
            plan = RealFaultPlan(schedule, names, profile=self.network)
        else:
            from .netns import Firewall, open_net

            plan = RealFaultPlan(schedule, names, Firewall.HANDLES, profile=self.network)
            self.net, self._firewall = open_net(names, self.run_id, plan.needs_firewall)
            self.plans = {n: dataclasses.replace(p, host=self.net.addresses[n]) for n, p in self.plans.items()}
        plan.check_addresses({n: p.host for n, p in self.plans.items()})
        self._plan = plan
        return plan

    def _destroy_net(self) -> None:
        if self.net is not None:
            self.net.destroy()
            self.net = None

    def _apply(self, fault: Fault) -> None:
        """Apply *fault* now: resolve its roles, record it, and carry out the parent's part (or refuse it)."""
        assert self._plan is not None and self._end is not None and self.t0 is not None
        try:
            resolved = complete_sides(resolve(fault, self.roles()), list(self.plans))
        except Unresolved as exc:
            self._refuse(fault, str(exc))
            return
        if isinstance(resolved, Restart) and self.supervisor.is_alive(resolved.node):
            self._refuse(resolved, "it is running")
            return
        if isinstance(resolved, (Crash, Pause)) and not self.supervisor.is_alive(resolved.node):
            self._refuse(resolved, "it is down")
            return
        self._record_fault(fault_text(resolved, list(self.plans)))
        if isinstance(resolved, Crash):
            self._crashed.append(resolved.node)
            self.supervisor.kill(resolved.node)
            self.leaders.forget(resolved.node)
        elif isinstance(resolved, Restart):
            if resolved.node in self._crashed:
                self._crashed.remove(resolved.node)
            hosts = {n: p.host for n, p in self.plans.items()}
            remaining = max(0.0, self._end - time.time()) + _STOP_GRACE_S
            self._spawn(resolved.node, remaining, self._plan.for_node(resolved.node, self.t0, hosts))
        elif isinstance(resolved, Pause):
            self.supervisor.pause(resolved.node)
            self._agenda.add_resume(time.time() + resolved.duration_s, resolved.node)
        elif self._firewall is not None and self._plan.is_firewalls(resolved):
            self._firewall.apply(resolved)
        elif self._plan.is_parents(fault):  # the nodes could not know it in advance: send it, resolved
            self._plan.send_later(resolved)
            self.supervisor.broadcast(resolved)

    def _refuse(self, fault: Fault, reason: str) -> None:
        log.warning("fault %s at %s not applied: %s", fault.describe(), fault.when, reason)
        self._record_fault(refusal_text(fault, reason))

    def roles(self) -> Roles:
        """Who leads, who is live and who crashed last, as the nodes have reported and the processes tell."""
        self._take_reports()
        live = [n for n in self.plans if self.supervisor.is_alive(n)]
        return Roles(
            leader=self.leaders.leader(set(live)),
            live=live,
            crashed=self._crashed[-1] if self._crashed else None,
            seed=self.seed,
            nodes=list(self.plans),
        )

    def current_leader(self) -> str | None:
        """The node whose member leads now as the nodes report (the highest term wins), or ``None``."""
        return self.roles().leader

    def _report_deaths(self) -> None:
        for death in self.supervisor.deaths():
            log.error("node %s (pid %s) died on its own with exit code %s", death.node, death.pid, death.exitcode)
            self._record(death.node, Kind.ERROR, f"process died: exit code {death.exitcode}")

    def _record_fault(self, detail: str) -> None:
        self._record("network", Kind.FAULT, detail)
        if self._status is not None:
            self._status.fault(self.now(), detail)

    def _record(self, node: str, kind: str, detail: str) -> None:
        """A row of the parent's own (a fault, a death), on the run's time axis; it may trigger faults too."""
        self.faults.record(self.now(), None, node, None, None, kind, detail=detail)
        self._observe(self.faults[-1])

    # -- the end -------------------------------------------------------------------------------------------

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask every node to stop (SIGTERM), then kill what is still running after *timeout_s*."""
        for name in self._agenda.paused():  # a stopped process would not hear SIGTERM
            self.supervisor.resume(name)
        self.supervisor.stop(timeout_s)
        self.faults.close()

    def trace(self) -> Trace:
        """Every node's trace so far and the faults, merged in time order (a torn last line is skipped).

        After ``run`` this includes what the nodes recorded as they were stopped; ``run`` itself
        returns the trace up to the run's end.
        """
        return self.files.trace()

    def __enter__(self) -> RealRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def fault_text(fault: Fault, nodes: list[str]) -> str:
    """The trace's wording of *fault*, the simulation's (see ``Fault.describe``)."""
    return fault.describe(nodes)
