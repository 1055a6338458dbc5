"""Run a scenario in simulation or on real ZeroMQ, and get back the same kind of result."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .analysis.summary import Summary, summarize
from .faults import Fault, FaultSchedule, apply_to_network, resolve_leader
from .scenario import LEADER, Scenario
from .trace import Kind, Trace

__all__ = ["RunResult", "run_scenario", "run_sim", "run_real", "MODES"]

log = logging.getLogger("riaps_sim")

MODES = ("sim", "real")

_MAX_PNG_PIXELS = 4000  # the height of roles.png, at most: a 200-node timeline would be 12,000 pixels (50 MB) at 110 dpi


@dataclass
class RunResult:
    """A finished run: its trace and how it was made. ``summary()`` and ``plot()`` read the trace."""

    scenario: Scenario
    mode: str
    seed: int
    until: float
    trace: Trace
    wall_s: float
    start: float = 0.0  #: the run's time 0 on the trace's clock (the wall clock in the real world)
    topology: Any = None  #: the simulated network's graph (networkx), or ``None`` in the real world

    def summary(self) -> Summary:
        return summarize(self.trace, title=f"{self.scenario.name} ({self.mode}, seed {self.seed})", start=self.start, end=self.start + self.until)

    def plot(self, **kwargs: Any) -> Any:
        """The role timeline of every node, faults shaded (see ``riaps_sim.analysis.plots.role_timeline``)."""
        from .analysis.plots import role_timeline

        kwargs.setdefault("until", self.until)
        kwargs.setdefault("origin", self.start)
        kwargs.setdefault("title", f"{self.scenario.name} ({self.mode}, seed {self.seed})")
        return role_timeline(self.trace, **kwargs)

    def save(self, out_dir: str | Path, summary: Summary | None = None) -> list[Path]:
        """Write ``trace.jsonl``, ``summary.txt`` and ``roles.png`` to *out_dir*; return the paths.

        Pass the *summary* if already computed, so it is not computed again.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "trace.jsonl", out / "summary.txt", out / "roles.png"]
        self.trace.to_jsonl(paths[0])
        paths[1].write_text(str(self.summary() if summary is None else summary) + "\n", encoding="utf-8")
        figure = self.plot()
        # The figure lays itself out (constrained; "tight" would render it twice), one row per node:
        # past ~36 nodes the resolution drops so that the image stays 4,000 pixels tall at most.
        dpi = min(110.0, _MAX_PNG_PIXELS / figure.get_figheight())
        figure.savefig(paths[2], dpi=dpi)
        import matplotlib.pyplot as plt

        plt.close(figure)
        return paths

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


def run_scenario(
    scenario: Scenario, mode: str = "sim", seed: int | None = None, until: float | None = None, out: str | Path | None = None,
    isolation: str = "loopback", trace_all: bool | None = None,
) -> RunResult:
    """Run *scenario* in *mode* (``"sim"`` or ``"real"``) to *until* seconds (default: its duration).

    *trace_all* (default: the scenario's) keeps a trace row for every heartbeat in simulation
    instead of counting them; the real world always keeps every row.

    In the real world, *isolation* is ``"loopback"`` (processes on 127.0.0.x, faults in a
    message-level layer) or ``"netns"`` (one network namespace per node on a bridge, partitions by
    firewall rules; needs root).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    seed = scenario.seed if seed is None else seed
    until = scenario.duration if until is None else until
    if not until > 0:
        raise ValueError(f"until must be > 0 seconds, got {until!r}")
    if mode == "sim":
        return run_sim(scenario, seed, until, out, trace_all=scenario.trace_all if trace_all is None else trace_all)
    return run_real(scenario, seed, until, out, isolation=isolation)


def run_sim(scenario: Scenario, seed: int, until: float, out: str | Path | None = None, trace_all: bool = False) -> RunResult:
    """Run *scenario* in the SimPy network model (*trace_all*: a trace row for every heartbeat)."""
    from .runtime.sim import Simulation

    started = time.perf_counter()
    from .net import Network

    network = Network(seed=seed, graph=scenario.topology) if scenario.topology is not None else None
    sim = Simulation(scenario.group_types, seed=seed, network=network, trace_all=trace_all)
    for spec in scenario.nodes:
        sim.add_node(spec.name, {i: _factory(cls, kwargs) for i, (cls, kwargs) in spec.components.items()}, address=spec.address)
    for fault in scenario.faults:
        if LEADER in fault.nodes():
            sim.env.timeout(fault.at).callbacks.append(lambda _e, f=fault: _apply_resolved(sim, f))
        else:
            apply_to_network([fault], sim.network)
    sim.run(until=until)
    return RunResult(scenario, "sim", seed, until, sim.trace, time.perf_counter() - started, topology=sim.network.graph.to_undirected())


def _factory(cls: type, kwargs: Any) -> Any:
    return lambda: cls(**kwargs)


def _apply_resolved(sim: Any, fault: Fault) -> None:
    leader = current_leader(sim)
    if leader is None:
        log.warning("fault %s at %.3f s skipped: no node leads", fault.describe(), sim.now)
        sim.trace.record(sim.now, sim.now, "network", None, None, Kind.FAULT, detail=f"skipped {fault.describe()}: no leader")
        return
    apply_to_network([resolve_leader(fault, leader)], sim.network, start=sim.now - fault.at)


def current_leader(sim: Any) -> str | None:
    """The node that leads now (the highest term wins if several think they do), or ``None``."""
    leading = [(m.machine.term, name) for name, node in sim.nodes.items() for m in node.members if m.machine.is_leader]
    return max(leading)[1] if leading else None


def run_real(scenario: Scenario, seed: int, until: float, out: str | Path | None = None, isolation: str = "loopback") -> RunResult:
    """Run *scenario* as one OS process per node on real ZeroMQ, on loopback or in network namespaces."""
    from .runtime.process import NodePlan, RealRun

    started = time.perf_counter()
    out_dir = Path(out) / "nodes" if out is not None else Path(tempfile.mkdtemp(prefix="riaps-sim-"))
    run = RealRun(list(scenario.group_types), out_dir, seed=seed, isolation=isolation)
    for i, spec in enumerate(scenario.nodes):
        run.add_node(NodePlan(spec.name, spec.address or f"127.0.0.{i + 1}", dict(spec.components)))
    trace = run.run(until, FaultSchedule(scenario.faults))
    return RunResult(scenario, "real", seed, until, trace, time.perf_counter() - started, start=run._t0 or 0.0)
