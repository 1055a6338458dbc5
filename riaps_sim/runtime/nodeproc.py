"""The body of a real node process: a ``Node`` on a ``RealDriver`` loop, its discovery and faults.

A node process is started by ``riaps_sim.runtime.supervisor`` as ``python -m
riaps_sim.runtime.nodeproc FD``, a fresh interpreter that never re-runs the user's ``__main__``.
*FD* is its end of a control connection (``multiprocessing.connection.Connection`` over a Unix
socket pair) on which it receives, in order:

1. its ``NodeLaunch`` (shipped with cloudpickle, so components defined in a notebook or a script
   arrive with their code);
2. ``Start(t0)``, when every node of the run has booted and said ``Ready``: the node starts its
   components at wall-clock *t0*, the run's time 0, as every simulated node starts at 0; its
   clock, and so its trace, counts seconds from *t0*;
3. faults, as the parent resolves them (a ``@leader`` fault is resolved when it falls due).

On the same connection the node reports to its parent (``Observed``): its members' role changes
and the first event of each kind a triggered fault waits for (``riaps_sim.runtime.reports``).

The connection closing means the parent is gone: the node stops, and a node in a network
namespace removes its namespace and the run's hub (nobody else is left to). ``riaps-sim node``
runs ``run_node`` in its own process instead, with no parent and no control connection: its
clock keeps epoch seconds, and it prints who leads whenever that changes.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import select
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..faults import ClockSkew, Fault
from ..trace import Kind, TraceEvent
from .launch import NodeLaunch, Observed, Ready, Start
from .rejections import RejectionLog
from .reports import Reporter
from .storage import FileStorage
from .tracefiles import StreamingTrace

__all__ = ["NodeProcess", "run_node", "main"]

log = logging.getLogger("riaps_sim.runtime")


class NodeProcess:
    """One node's parts in a real process, built from its ``NodeLaunch``; ``run`` runs the loop.

    The parts: a ZeroMQ context (wrapped in the message-level fault layer when the run has such
    faults), a ``RealDriver`` on the node's clock, beacon discovery, the streaming trace, and the
    ``Node`` with its components.
    """

    def __init__(self, launch: NodeLaunch, t0: float | None, ready_at: float | None = None) -> None:
        import zmq

        from .node import Node
        from .real import RealDriver

        self.launch = launch
        self.t0 = t0
        self.orphaned = False  #: the parent went away while this node ran
        self.unsent = 0  #: reports dropped because the parent was not reading them
        self.context = zmq.Context()
        self.driver = RealDriver(clock_offset_s=launch.clock_offset_s, t0_s=t0, origin_s=0.0 if t0 is None else t0)
        self.trace = StreamingTrace(launch.trace_path, keep_heartbeats=launch.trace_all, writer=str(os.getpid()))
        self.rejections = RejectionLog(launch.plan.name, self._write_rejection, self.driver.clock)
        self.zap = self._authenticator()  # before any port exists: libzmq admits everyone without it
        self.discovery = self._discovery()
        self.layer, node_context = self._fault_layer()
        plan = launch.plan
        keys = launch.keys
        self.node = Node(
            plan.name,
            plan.host,
            node_context,
            self.driver,
            launch.group_types,
            self.discovery,
            self.trace,
            seed=launch.seed,
            incarnation=os.getpid(),
            keys=keys.curve if keys is not None else None,
            storage=FileStorage(Path(launch.trace_path).with_suffix(".state.json")),
            restarts=launch.restarts,
        )
        self.node.rejections = self.rejections
        for instance, (cls, kwargs) in plan.components.items():
            self.node.build(functools.partial(cls, **kwargs), instance)
        self.probe = self._probe(ready_at) if launch.measure_loop else None

    def _probe(self, ready_at: float | None) -> Any:
        """The loop probe of a run that measures its loops: told by the member and the driver, written as ``loop`` rows."""
        from .probe import LoopProbe

        launched = self.launch.launched_at
        boot_s = ready_at - launched if ready_at is not None and launched is not None else None
        node = self.node
        probe = LoopProbe(lambda data: node.record(Kind.LOOP, None, None, data=data), boot_s=boot_s)
        node.probe = probe
        self.driver.probe = probe
        return probe

    def _write_tallies(self) -> None:
        """Write the heartbeat counts now and again in ``tally_every_s``: a SIGKILL loses at most that much."""
        self.trace.write_tallies()
        self.driver.call_later(self.launch.tally_every_s, self._write_tallies)

    def _flush_probe(self) -> None:
        from .probe import FLUSH_EVERY_S

        if self.probe is not None:
            self.probe.flush()
            self.driver.call_later(FLUSH_EVERY_S, self._flush_probe)

    def _authenticator(self) -> Any:
        """The ZAP handler admitting only the application's keys, served by this node's loop (no thread)."""
        keys = self.launch.keys
        if keys is None:
            return None
        import ports

        zap = ports.ZapHandler(self.context, keys.allowed, on_refused=self._record_refusal)

        def answer() -> None:
            zap.handle()  # every request waiting; it returns how many

        self.driver.watch(zap.socket, answer)
        return zap

    def _record_refusal(self, refusal: Any) -> None:
        self.rejections.record(Kind.HANDSHAKE_REFUSED, refusal.peer or None, f"{refusal.port}: {refusal.reason}")

    def _record_rejection(self, rejection: Any) -> None:
        address = rejection.sender.rpartition(":")[0]  # one source per host: a flood's UDP source ports vary
        self.rejections.record(Kind.BEACON_REJECTED, address or rejection.sender, f"{rejection.reason} (from {rejection.sender})")

    def _write_rejection(
        self, kind: str, peer: str | None, detail: str, component: str | None, group: str | None, data: dict[str, Any] | None
    ) -> None:
        """A rejection's row, stamped with the node's clock (the ``Node`` may not exist yet)."""
        driver = self.driver
        self.trace.record(driver.clock(), driver.true_time(), self.launch.plan.name, component, group, kind, peer=peer, detail=detail, data=data)

    def _flush_rejections(self) -> None:
        self.rejections.flush()
        self.driver.call_later(self.rejections.throttle.window_s, self._flush_rejections)

    def _discovery(self) -> Any:
        """Beacon discovery; with keys, beacons are signed and checked (on the wall clock: a skewed node's
        clock must not make its beacons look forged)."""
        from ..discovery import BeaconDiscovery

        plan, beacon, keys = self.launch.plan, self.launch.beacon, self.launch.keys
        destinations = beacon.destinations
        if destinations is None and plan.host.startswith("127."):
            destinations = (("127.255.255.255", beacon.port),)
        secure: dict[str, Any] = {} if keys is None else {"secret": keys.beacon_secret, "clock": time.time, "on_rejected": self._record_rejection}
        return BeaconDiscovery(self.launch.app, plan.name, plan.host, port=beacon.port, destinations=destinations, **secure)

    def _fault_layer(self) -> tuple[Any, Any]:
        faults = self.launch.faults
        if faults is None or not faults.message_layer:
            return None, self.context
        from .faultlayer import FaultContext, LinkFaults
        from .node import node_random

        name = self.launch.plan.name
        layer = LinkFaults(name, faults.addresses, node_random(self.launch.seed, f"{name}/faults"), on_drop=self._record_drop, profile=faults.profile)
        return layer, FaultContext(self.context, layer, source_host=self.launch.plan.host)

    def _record_drop(self, cause: str, peer: str) -> None:
        self.node.record(Kind.DROP, None, None, peer=peer, detail=cause)

    # -- faults ------------------------------------------------------------------------------------------

    def apply(self, fault: Fault) -> None:
        """Apply a fault this node takes part in: its clock, or what it receives."""
        if isinstance(fault, ClockSkew):
            if fault.node == self.launch.plan.name:
                self.driver.set_clock(fault.offset_s, fault.rate)
        elif self.layer is not None:
            self.layer.apply(fault)

    def _schedule_faults(self) -> None:
        faults = self.launch.faults
        if faults is None or self.t0 is None:
            return
        for fault in faults.faults:
            if fault.at is not None:  # triggered faults come resolved from the parent, on the control connection
                self.driver.call_at(self.t0 + fault.at, functools.partial(self.apply, fault))

    def listen(self, control: Connection) -> None:
        """Report roles and triggers to the parent on *control*, apply the faults it sends; stop when it is gone."""

        def take() -> None:
            try:
                while control.poll():
                    message = control.recv()
                    if isinstance(message, Fault):
                        self.apply(message)
            except (EOFError, OSError):
                log.warning("node %s: the run's parent is gone; stopping", self.launch.plan.name)
                self.orphaned = True
                self.driver.unwatch(control.fileno())
                self.driver.stop()

        def send(report: Observed) -> None:
            if self.orphaned:
                return
            if not select.select([], [control.fileno()], [], 0)[1]:  # the parent is not reading: never block the loop
                self.unsent += 1
                if self.unsent == 1:
                    log.warning("node %s: the parent reads no reports; dropping them rather than waiting", self.launch.plan.name)
                return
            try:
                control.send(report)
            except (OSError, ValueError):
                self.orphaned = True

        Reporter(send, self.launch.report_first).attach(self.trace)
        self.driver.watch(control.fileno(), take)

    def announce_leaders(self, out: Any = None) -> None:
        """Print a line whenever a group's leader changes, as this node's components are told (``riaps-sim node``)."""
        name = self.launch.plan.name

        def say(event: TraceEvent) -> None:
            if event.component is None:
                return
            what = "elected" if event.kind == Kind.LEADER_ELECTED else "exited"
            print(
                f"[{name} {time.strftime('%H:%M:%S')}] {event.group}: leader {what}: {_member_text(event.peer)}", file=out or sys.stdout, flush=True
            )

        self.trace.watch(Kind.LEADER_ELECTED, say)
        self.trace.watch(Kind.LEADER_EXITED, say)

    # -- the loop ------------------------------------------------------------------------------------------

    def _beacon(self) -> None:
        self.discovery.tick(time.time())
        self.driver.call_later(self.discovery.interval, self._beacon)

    def run(self) -> None:
        """Run until the duration is over, SIGTERM or SIGINT; always close everything."""
        driver, node = self.driver, self.node
        signal.signal(signal.SIGTERM, lambda *_: driver.stop())
        signal.signal(signal.SIGINT, lambda *_: driver.stop())
        driver.watch(self.discovery.fileno(), lambda: self.discovery.receive(time.time()))
        self._schedule_faults()
        self._beacon()
        if not self.launch.trace_all:
            driver.call_later(self.launch.tally_every_s, self._write_tallies)
        self._flush_rejections()
        if self.probe is not None:
            self._flush_probe()
        duration_s = self.launch.duration_s
        start = None if self.t0 is None else self.t0 + self.launch.plan.start_s
        if start is not None and start > time.time():
            driver.call_at(start, node.start)
            duration_s += self.t0 - time.time()  # type: ignore[operator]
        else:
            node.start()
        try:
            driver.run(duration_s=duration_s)
        except Exception as exc:
            node.record(Kind.ERROR, None, None, detail=f"loop crashed: {type(exc).__name__}: {exc}")
            raise
        finally:
            self.close()

    def close(self) -> None:
        self.node.stop()
        if self.probe is not None:
            self.probe.flush()
        self.discovery.close()
        if self.zap is not None:
            self.zap.close()
        self.rejections.flush(final=True)
        self.trace.close()
        close_context(self.context)
        if self.orphaned and self.launch.netns_cleanup:
            from .netns import release_namespaces

            release_namespaces(self.launch.netns_cleanup)


def _member_text(peer: str | None) -> str:
    """A member id (hex) as a person reads it: the address its first four bytes hold, and the id."""
    if not peer or len(peer) < 8:
        return peer or "?"
    try:
        address = ".".join(str(b) for b in bytes.fromhex(peer[:8]))
    except ValueError:
        return peer
    return f"{address} (member {peer})"


def close_context(context: Any, timeout_s: float = 1.0) -> None:
    """Close the context's sockets (linger 0) and terminate it, waiting at most *timeout_s* seconds.

    libzmq's ``zmq_ctx_term`` can hang although every socket is closed with linger 0 (seen here in
    about one node stop of fifteen; zeromq/libzmq#2586). The node is ending anyway, so the context is
    terminated in a daemon thread and the node does not wait for it beyond *timeout_s*. (This thread
    belongs to the process's exit, not to the node's loop, which has ended.)
    """
    closer = threading.Thread(target=context.destroy, kwargs={"linger": 0}, name="zmq-term", daemon=True)
    closer.start()
    closer.join(timeout_s)
    if closer.is_alive():
        log.debug("zmq context termination still blocked after %g s; exiting without it", timeout_s)


def _logging(name: str) -> None:
    logging.basicConfig(level=logging.WARNING, format=f"%(levelname)s {name} %(name)s: %(message)s")


def run_node(launch: NodeLaunch, control: Connection | None = None) -> None:
    """Run one node as *launch* says, in this process.

    With *control* (a node started by a ``RealRun``), the node boots, says ``Ready``, waits for
    ``Start`` and then listens for faults; without it (``riaps-sim node``), it starts at once.
    """
    if launch.netns is not None:
        from .netns import enter_namespace

        enter_namespace(launch.netns)
    _logging(launch.plan.name)
    faults = launch.faults
    t0 = faults.t0 if faults is not None else None
    ready_at = None
    if control is not None and faults is not None and t0 is None:
        ready_at = time.time()
        control.send(Ready(os.getpid()))
        start = control.recv()
        if not isinstance(start, Start):
            raise RuntimeError(f"node {launch.plan.name}: expected Start from the parent, got {start!r}")
        t0 = start.t0
        launch = dataclasses.replace(launch, faults=dataclasses.replace(faults, t0=t0))
    process = NodeProcess(launch, t0, ready_at)
    if control is not None:
        process.listen(control)
    else:
        process.announce_leaders()
    process.run()


def _continue_when_orphaned() -> None:
    """Have the kernel send SIGCONT to this process when its parent dies (Linux ``PR_SET_PDEATHSIG``).

    A node paused by a ``Pause`` fault (SIGSTOP) would otherwise never see its control connection
    close and would stay stopped, holding its namespace; resumed, it stops and cleans up like the
    others. SIGCONT does nothing to a running process, so a parent thread ending early is harmless.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGCONT), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        log.debug("prctl(PR_SET_PDEATHSIG) unavailable; a paused node outlives a killed parent")


def main(argv: list[str] | None = None) -> int:
    """``python -m riaps_sim.runtime.nodeproc FD``: receive a ``NodeLaunch`` on descriptor *FD* and run it."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m riaps_sim.runtime.nodeproc CONTROL_FD (started by riaps_sim's RealRun)", file=sys.stderr)
        return 2
    control = Connection(int(args[0]))
    _continue_when_orphaned()
    try:
        launch = control.recv()
    except EOFError:
        return 1  # the parent went away before sending anything
    if not isinstance(launch, NodeLaunch):
        print(f"riaps_sim node process: expected a NodeLaunch, got {type(launch).__name__}", file=sys.stderr)
        return 2
    try:
        run_node(launch, control)
    except (EOFError, OSError):
        _logging(launch.plan.name)
        log.warning("node %s: the run's parent went away before the start", launch.plan.name)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
