"""Calibrating the simulator from real runs: measure, fit, write a file, apply it in simulation.

``calibrate(scenario, runs=5)`` runs a scenario as real node processes, measures from their traces
the one-way message latency (per link and per command), the time each received message takes to
handle, how late timers run and how long processes take to boot, and fits a ``Calibration``:
latency distributions for the simulated links, a processing cost per handled message (a node is
busy meanwhile, so bursts queue) and a timer lateness. ``write_calibration`` and
``load_calibration`` keep it as TOML; a scenario applies it in simulation with
``Scenario(calibration=...)``, ``run_scenario(..., calibration=...)`` or
``riaps-sim run SCENARIO --calibration FILE``. Without one the simulation is as it always was.

``ks_distance`` compares two samples (the two-sample Kolmogorov-Smirnov statistic), as
``bench/fidelity.py`` does for real against simulated times.
"""

from __future__ import annotations

from .calibrate import CalibrationRun, calibrate, from_measurements
from .files import CalibrationError, dumps, load_calibration, write_calibration
from .measure import Measurements, measure_trace
from .record import Calibration, LinkLatency, NodeCost
from .stats import Spread, fit, ks_distance, ks_threshold, quantile

__all__ = [
    "Calibration",
    "LinkLatency",
    "NodeCost",
    "CalibrationError",
    "load_calibration",
    "write_calibration",
    "dumps",
    "calibrate",
    "CalibrationRun",
    "from_measurements",
    "Measurements",
    "measure_trace",
    "Spread",
    "fit",
    "ks_distance",
    "ks_threshold",
    "quantile",
]
