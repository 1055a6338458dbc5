"""The real world: one OS process per node, real ZeroMQ, UDP beacon discovery, the real clock.

``RealRun`` starts a process per node (``multiprocessing`` with *spawn*, so each is a fresh
interpreter), and each process runs ``node_main``: a ``Node`` on a ``RealDriver`` loop with its
components. Every process streams its trace to a JSON-lines file as it goes, so a node killed with
SIGKILL leaves its trace up to the moment it died. The parent records the faults it applies
(kills, restarts) and merges all traces into one. A node process that dies on its own is
reported, never waited on forever.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import GroupType
from ..trace import Kind, Trace, TraceEvent

__all__ = ["NodePlan", "RealRun", "node_main", "StreamingTrace"]

log = logging.getLogger("riaps_sim.runtime")


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
        self._out = Path(path).open("a", encoding="utf-8", buffering=1)

    def append(self, event: TraceEvent) -> None:
        super().append(event)
        self._out.write(json.dumps(event._asdict(), separators=(",", ":")) + "\n")

    def record(self, time: float, true_time: float | None, node: str, component: str | None, group: str | None, kind: str, **fields: Any) -> None:
        super().record(time, true_time, node, component, group, kind, **fields)
        self._out.write(json.dumps(self[-1]._asdict(), separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._out.close()


def node_main(plan: NodePlan, group_types: Mapping[str, GroupType], app: str, seed: int, beacon_port: int, duration_s: float, trace_path: str, clock_offset_s: float = 0.0) -> None:
    """Run one node until *duration_s* seconds pass or SIGTERM arrives (the body of a node process)."""
    import zmq

    from ..discovery import BeaconDiscovery
    from .node import Node
    from .real import RealDriver

    logging.basicConfig(level=logging.WARNING, format=f"%(levelname)s {plan.name} %(name)s: %(message)s")
    context = zmq.Context()
    driver = RealDriver(clock_offset_s=clock_offset_s)
    discovery = BeaconDiscovery(app, plan.name, plan.host, port=beacon_port, destinations=[("127.255.255.255", beacon_port)] if plan.host.startswith("127.") else None)
    trace = StreamingTrace(trace_path)
    node = Node(plan.name, plan.host, context, driver, group_types, discovery, trace, seed=seed, incarnation=os.getpid())
    for instance, (cls, kwargs) in plan.components.items():
        node.add(cls(**kwargs), instance)
    signal.signal(signal.SIGTERM, lambda *_: driver.stop())
    signal.signal(signal.SIGINT, lambda *_: driver.stop())
    driver.watch(discovery.fileno(), lambda: discovery.receive(driver.clock()))

    def beacon() -> None:
        discovery.tick(driver.clock())
        driver.call_later(discovery.interval, beacon)

    beacon()
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
        context.destroy(linger=0)


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
    """

    def __init__(self, group_types: Mapping[str, GroupType] | list[GroupType], out_dir: str | Path, seed: int = 0, beacon_port: int | None = None) -> None:
        if not isinstance(group_types, Mapping):
            group_types = {g.name: g for g in group_types}
        self.group_types = dict(group_types)
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.seed = seed
        run_id = uuid.uuid4()
        self.app = f"riaps-sim-{run_id.hex[:12]}"
        self.beacon_port = beacon_port or 40000 + run_id.int % 20000
        self.plans: dict[str, NodePlan] = {}
        self.processes: dict[str, Any] = {}
        self.faults = StreamingTrace(self.out_dir / "faults.jsonl")
        self._context = multiprocessing.get_context("spawn")
        self._reported: set[int] = set()

    def __repr__(self) -> str:
        alive = [n for n, p in self.processes.items() if p.is_alive()]
        return f"<RealRun {self.app} nodes={list(self.plans)} alive={alive}>"

    def add_node(self, plan: NodePlan) -> None:
        if plan.name in self.plans:
            raise ValueError(f"the run already has a node named {plan.name!r}")
        self.plans[plan.name] = plan

    def start(self, duration_s: float, names: list[str] | None = None) -> None:
        """Start the node processes (all, or *names*), each to run for at most *duration_s* seconds."""
        for name in names or list(self.plans):
            self._spawn(name, duration_s)

    def _spawn(self, name: str, duration_s: float) -> None:
        plan = self.plans[name]
        process = self._context.Process(
            target=node_main,
            args=(plan, self.group_types, self.app, self.seed, self.beacon_port, duration_s, str(self.out_dir / f"{name}.jsonl")),
            name=f"riaps-sim-node-{name}",
            daemon=True,
        )
        process.start()
        self.processes[name] = process

    def kill(self, name: str) -> None:
        """SIGKILL the node's process, as a crash."""
        process = self.processes[name]
        self.faults.record(time.time(), None, "network", None, None, Kind.FAULT, detail=f"crash {name}")
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
        process.join(5)
        self._reported.add(process.pid)

    def restart(self, name: str, duration_s: float) -> None:
        """Start a fresh process for a killed node."""
        self.faults.record(time.time(), None, "network", None, None, Kind.FAULT, detail=f"restart {name}")
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

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask every node to stop (SIGTERM), then kill what is still running after *timeout_s*."""
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + timeout_s
        for process in self.processes.values():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1)
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
