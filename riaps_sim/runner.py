"""Run a scenario in simulation or on real ZeroMQ, and get back the same kind of result."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .analysis.checks import Report, check_run
from .analysis.summary import Summary, summarize, warning_lines
from .faults import FaultSchedule
from .scenario import Scenario
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
    start: float = 0.0  #: the run's time 0 on the trace's clock (0.0 in both worlds: real traces count from the run's start too)
    network: Any = None  #: simulation: the ``Network`` the run went over; ``None`` in the real world
    interrupted: bool = False  #: the run was cut short (Ctrl-C); the trace covers what happened until then
    components: dict[str, dict[str, Any]] | None = None  #: simulation: every node's component instances at the end, by node and name
    secure: bool | None = None  #: real world: whether peers were authenticated (``None`` in simulation)

    @property
    def topology(self) -> Any:
        """The simulated network's graph (an undirected networkx copy), or ``None`` in the real world.

        Made when asked for, so a run that does not look at it never imports networkx.
        """
        return None if self.network is None else self.network.graph.to_undirected()

    def forget_simulation(self) -> None:
        """Let go of the simulated world (``network`` and ``components`` become ``None``) so its memory
        can be freed; the trace, the summary and the plots need none of it."""
        self.network = None
        self.components = None

    def security_lines(self) -> list[str]:
        """What the summary says of security: on or off, and how many peers were turned away."""
        if self.secure is None:
            return []
        from .runtime.rejections import rejections_in

        refused = rejections_in(self.trace.select(kind=Kind.HANDSHAKE_REFUSED))  # count rows stand for many
        rejected = rejections_in(self.trace.select(kind=Kind.BEACON_REJECTED))
        if not self.secure:
            return [
                "  INSECURE: no authentication (--insecure): any host that reaches the nodes could join, forge beacons and have its pickles loaded"
            ]
        return [f"  security: CURVE with the application's allow-list, signed beacons; {refused} handshake(s) refused, {rejected} beacon(s) rejected"]

    def warning_lines(self) -> list[str]:
        """The protocols' warnings (``warning`` events), each text once, with how many members traced it."""
        return warning_lines(self.trace)

    def summary(self, liveness: bool = True) -> Summary:
        """The run's headline facts, its security, warnings, checks and, last, its verdict.

        *liveness* false leaves the liveness checks out of the verdict (they are still listed).
        """
        summary = summarize(
            self.trace,
            title=f"{self.scenario.name} ({self.mode}, seed {self.seed})",
            start=self.start,
            end=self.start + self.until,
            group_types=self.scenario.group_types,
            liveness=liveness,
        )
        summary.notes = self.security_lines()
        return summary

    def check(self) -> Report:
        """Safety and liveness of this run (``riaps_sim.analysis.checks``); liveness from the last fault on."""
        return check_run(self.trace, self.scenario.group_types, end=self.start + self.until)

    def plot(self, **kwargs: Any) -> Any:
        """The role timeline of every node, faults drawn (see ``riaps_sim.analysis.plots.role_timeline``).

        Returns the figure; in Jupyter it shows once, as the cell's value (a figure the plot makes
        itself is not left open in pyplot, so the inline backend does not draw it a second time).
        """
        from .analysis.plots import role_timeline

        kwargs.setdefault("until", self.until)
        kwargs.setdefault("origin", self.start)
        kwargs.setdefault("title", f"{self.scenario.name} ({self.mode}, seed {self.seed})")
        return role_timeline(self.trace, **kwargs)

    def __repr__(self) -> str:
        return (
            f"<RunResult {self.scenario.name!r} ({self.mode}, seed {self.seed}): {self.until:g} s, "
            f"{len(self.trace)} trace events, {self.wall_s:.2f} s wall>"
        )

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
        figure.savefig(paths[2], dpi=dpi)  # the figure is not pyplot's: nothing to close, and pyplot is never imported
        return paths

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


def run_scenario(
    scenario: Scenario,
    mode: str = "sim",
    seed: int | None = None,
    until: float | None = None,
    out: str | Path | None = None,
    isolation: str = "loopback",
    trace_all: bool | None = None,
    keys: Any = None,
    insecure: bool = False,
    calibration: Any = None,
    progress: Any = None,
    coverage: Any = None,
) -> RunResult:
    """Run *scenario* in *mode* (``"sim"`` or ``"real"``) to *until* seconds (default: its duration).

    In simulation, *calibration* (a ``riaps_sim.calibration.Calibration``; default: the
    scenario's) sets the links' latency, each node's processing cost per message and its timers'
    lateness as measured on a real system. The real world ignores it: it has the timing it has.

    *trace_all* (default: the scenario's) keeps a trace row for every heartbeat send and delivery,
    in both worlds, instead of counting them per pair (see ``riaps_sim.trace``).

    In the real world, *isolation* is ``"loopback"`` (processes on 127.0.0.x, faults in a
    message-level layer) or ``"netns"`` (one network namespace per node on a bridge, partitions by
    firewall rules; needs root).

    Real runs are authenticated: CURVE on every port with a ZAP allow-list and signed discovery
    beacons, with *keys* (an ``AppKeys``, or a folder made by ``riaps-sim keys new``; default: the
    scenario's, else fresh material for the run). *insecure* turns that off, and the summary says so.
    *progress* (real world) is called with a line of text as the run goes on (who leads, faults).
    *coverage* (simulation; a ``riaps_sim.coord.coverage.TableCoverage``) is told each table case
    the machines take.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    seed = scenario.seed if seed is None else seed
    until = scenario.duration if until is None else until
    if not until > 0:
        raise ValueError(f"until must be > 0 seconds, got {until!r}")
    trace_all = scenario.trace_all if trace_all is None else trace_all
    if mode == "sim":
        return run_sim(scenario, seed, until, out, trace_all=trace_all, calibration=calibration, coverage=coverage)
    return run_real(scenario, seed, until, out, isolation=isolation, keys=keys, insecure=insecure, trace_all=trace_all, progress=progress)


def run_sim(
    scenario: Scenario, seed: int, until: float, out: str | Path | None = None, trace_all: bool = False, calibration: Any = None, coverage: Any = None
) -> RunResult:
    """Run *scenario* in the SimPy network model (*trace_all*: a trace row for every heartbeat; *calibration*: see ``run_scenario``)."""
    from .runtime.sim import Simulation

    started = time.perf_counter()
    from .net import Network

    profile = scenario.network
    calibration = scenario.calibration if calibration is None else calibration
    if calibration is not None and scenario.topology is not None and calibration.shapes_network:
        raise ValueError(f"scenario {scenario.name!r} has a topology of its own: a calibration's link latencies apply to the default LAN only")
    hosts = [(spec.name, spec.address) for spec in scenario.nodes]
    network = None
    if scenario.topology is not None:
        network = Network(seed=seed, graph=scenario.topology)
    elif calibration is not None and calibration.shapes_network:
        network = calibration.build_network(seed, hosts, profile)
    elif profile is not None:
        network = profile.build(seed, hosts)
    delay = {"discovery_delay_s": profile.discovery_delay_s} if profile is not None else {}
    loops = {}
    if calibration is not None:
        loops = {name: model for name, _ in hosts if (model := calibration.loop_model(name)) is not None}
    sim = Simulation(scenario.group_types, seed=seed, network=network, trace_all=trace_all, loop_models=loops, **delay)
    sim.coverage = coverage
    for spec in scenario.nodes:
        sim.add_node(
            spec.name, {i: _factory(cls, kwargs) for i, (cls, kwargs) in spec.components.items()}, address=spec.address, start_at=spec.start_s or None
        )
    sim.schedule_faults(scenario.faults)
    sim.run(until=until)
    return RunResult(scenario, "sim", seed, until, sim.trace, time.perf_counter() - started, network=sim.network, components=sim.components())


def _factory(cls: type, kwargs: Any) -> Any:
    return lambda: cls(**kwargs)


def app_keys(keys: Any = None, insecure: bool = False) -> Any:
    """The key material of a real run: ``None`` if *insecure*, loaded from a folder (``riaps-sim keys new``),
    the ``AppKeys`` given, or fresh material for this run when *keys* is ``None``."""
    from .security import AppKeys

    if insecure:
        if keys is not None:
            raise ValueError("give either keys or insecure=True, not both")
        return None
    if keys is None:
        return AppKeys.generate()
    if isinstance(keys, AppKeys):
        return keys
    return AppKeys.load(keys)


def check_real(scenario: Scenario) -> None:
    """Refuse a scenario that asks the real world for what it cannot do, naming each field and why.

    Real runs apply a ``NetworkProfile``'s latency, loss and reordering; they cannot lay out a
    topology's links or slow discovery down to a chosen delay.
    """
    from .netprofile import NetworkProfile

    problems = []
    if scenario.topology is not None:
        problems.append(
            "topology: a graph of links with their own latency and loss exists in simulation only (use network=NetworkProfile(...) for one LAN)"
        )
    profile = scenario.network
    default_delay = NetworkProfile().discovery_delay_s
    if profile is not None and profile.discovery_delay_s != default_delay:
        problems.append(
            f"network.discovery_delay_s={profile.discovery_delay_s:g}: real discovery takes what its beacons take "
            f"(leave it at the default {default_delay:g} to run in both worlds)"
        )
    if problems:
        raise ValueError(f"scenario {scenario.name!r} cannot run on real ZeroMQ as written; " + "; ".join(problems))


def run_real(
    scenario: Scenario,
    seed: int,
    until: float,
    out: str | Path | None = None,
    isolation: str = "loopback",
    keys: Any = None,
    insecure: bool = False,
    trace_all: bool = False,
    measure_loop: bool = False,
    progress: Any = None,
) -> RunResult:
    """Run *scenario* as one OS process per node on real ZeroMQ, on loopback or in network namespaces.

    The nodes' trace files go to ``OUT/nodes``; without *out* they go to a temporary folder that is
    removed once the trace is read. Ctrl-C ends the run early with the trace so far
    (``RunResult.interrupted``). *measure_loop* has every node write ``loop`` rows to the trace
    (handler service times, timer lateness, boot time), as ``riaps_sim.calibration`` needs.

    The scenario's ``NetworkProfile`` is applied by every node's message layer (latency drawn per
    message, loss, reordering), so a loss study stays one in the real world. What the real world
    cannot honour (a topology, a discovery delay) is refused before anything starts, with a
    ``ValueError`` saying what and why, never dropped in silence. A calibration describes the real
    system and is not needed here. *progress* is called with a line of text as the run goes on.
    """
    from .runtime.linkfaults import LinkProfile
    from .runtime.process import NodePlan, RealRun

    check_real(scenario)
    profile = scenario.network
    link = LinkProfile(profile.latency, profile.loss, profile.reorder) if profile is not None else None

    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        scratch = None if out is not None else stack.enter_context(tempfile.TemporaryDirectory(prefix="riaps-sim-"))
        out_dir = Path(out) / "nodes" if out is not None else Path(str(scratch))
        material = app_keys(keys if keys is not None else scenario.keys, insecure or scenario.insecure)
        run = RealRun(
            list(scenario.group_types),
            out_dir,
            seed=seed,
            isolation=isolation,
            keys=material,
            trace_all=trace_all,
            measure_loop=measure_loop,
            network=link,
            progress=progress,
        )
        for i, spec in enumerate(scenario.nodes):
            run.add_node(NodePlan(spec.name, spec.address or f"127.0.0.{i + 1}", dict(spec.components), start_s=spec.start_s))
        trace = run.run(until, FaultSchedule(scenario.faults))
    if run.interrupted:
        until = max(0.0, min(until, time.time() - run.t0)) if run.t0 is not None else 0.0
    return RunResult(scenario, "real", seed, until, trace, time.perf_counter() - started, interrupted=run.interrupted, secure=run.secure)
