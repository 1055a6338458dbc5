"""Calibrating: run a scenario for real a few times, measure, fit, and make a ``Calibration``.

``calibrate`` runs the scenario as real node processes (``run_real`` with every heartbeat traced
and the loops measured), gathers ``Measurements`` from the traces, and fits: the one-way latency
of all links together (and of each link with ``per_link``), the handler service time of all
nodes together (and of each node with ``per_node``), and the timers' lateness. On one machine's
loopback the links and nodes are alike, and pooling gives each fit more samples; across hosts,
ask for them one by one.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..scenario import Scenario
from .measure import Measurements
from .record import Calibration, LinkLatency, NodeCost
from .stats import Spread, fit

__all__ = ["calibrate", "from_measurements", "CalibrationRun", "MIN_SAMPLES"]

#: A link or node of its own needs at least this many samples; fewer fall back to the pooled fit.
MIN_SAMPLES = 30


@dataclass
class CalibrationRun:
    """What ``calibrate`` made: the *calibration*, the *measurements* behind it, and the real runs' *results*."""

    calibration: Calibration
    measurements: Measurements
    results: list[Any] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<CalibrationRun {len(self.results)} real run(s): {self.calibration!r}>"


def from_measurements(
    measurements: Measurements, *, kind: str = "empirical", per_link: bool = False, per_node: bool = False, source: str = ""
) -> Calibration:
    """A ``Calibration`` fitted (``kind``: ``empirical`` or ``lognormal``) to *measurements*.

    Raises ``ValueError`` if the measurements hold no latency at all (the run delivered nothing).
    """
    latencies = measurements.latencies()
    if not latencies:
        raise ValueError("no message was delivered in the measured runs: nothing to calibrate latency from")
    links = []
    if per_link:
        links = [LinkLatency(a, b, fit(v, kind)) for (a, b), v in sorted(measurements.links.items()) if len(v) >= MIN_SAMPLES]
    service = measurements.service()
    nodes = []
    if per_node:
        nodes = [NodeCost(n, fit(v, kind)) for n, v in sorted(measurements.service_s.items()) if len(v) >= MIN_SAMPLES]
    lateness = measurements.lateness()
    measured = {"latency": Spread.of(latencies)}
    for command, values in sorted(measurements.commands.items()):
        measured[f"latency.{command}"] = Spread.of(values)
    if service:
        measured["service"] = Spread.of(service)
    if lateness:
        measured["timer_lateness"] = Spread.of(lateness)
    if measurements.boots():
        measured["boot"] = Spread.of(measurements.boots())
    return Calibration(
        latency=fit(latencies, kind),
        links=tuple(links),
        processing=fit(service, kind) if service else None,
        nodes=tuple(nodes),
        timer_lateness=fit(lateness, kind) if lateness else None,
        measured=measured,
        source=source,
    )


def calibrate(
    scenario: Scenario,
    runs: int = 5,
    *,
    isolation: str = "loopback",
    seed: int | None = None,
    until: float | None = None,
    kind: str = "empirical",
    per_link: bool = False,
    per_node: bool = False,
    report: Callable[[str], None] | None = None,
) -> CalibrationRun:
    """Run *scenario* *runs* times for real (*isolation* ``loopback`` or ``netns``), measure, and fit a calibration.

    Run *i* uses seed ``seed + i`` (default: the scenario's seed) and lasts *until* seconds
    (default: the scenario's duration). *report* is told one line per finished run. Raises
    ``ValueError`` for fewer than one run or runs that delivered nothing.
    """
    from ..runner import run_real

    if not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a whole number >= 1, got {runs!r}")
    base = scenario.seed if seed is None else seed
    until = scenario.duration if until is None else until
    measurements = Measurements()
    results = []
    for i in range(runs):
        result = run_real(scenario, base + i, until, isolation=isolation, trace_all=True, measure_loop=True)
        measurements.add(result.trace)
        results.append(result)
        if report is not None:
            report(
                f"  real run {i + 1}/{runs} (seed {base + i}): {len(measurements.latencies())} latencies, {len(measurements.service())} handled messages so far"
            )
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    source = f"{runs} real run(s) of {scenario.name!r}, {until:g} s each, on {isolation}, {stamp}"
    calibration = from_measurements(measurements, kind=kind, per_link=per_link, per_node=per_node, source=source)
    return CalibrationRun(calibration, measurements, results)
