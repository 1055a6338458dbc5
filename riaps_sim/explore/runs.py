"""One explored run: a scenario with a schedule, simulated, checked; its ``Outcome``.

``run_schedule`` is the task an executor runs; it takes and returns only small, picklable things,
so explorations scale out on any ``concurrent.futures`` executor (a process pool, Dask, Ray).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..analysis.checks import LivenessResult, check_run
from ..analysis.invariants import Violation
from ..analysis.verdict import Category, Verdict, category_of
from ..coord.coverage import CaseId, TableCoverage
from ..faults import Fault, FaultSchedule
from ..runtime.shipping import ByValue
from ..runtime.watchdog import Livelock, RunTimeLimit, wall_clock_limit
from ..scenario import Scenario
from ..trace import Trace

__all__ = ["Outcome", "run_schedule", "trace_digest", "RUN_TIME_LIMIT_S"]

#: The wall-clock limit of one explored run, seconds (a run of 50 s of virtual time takes about one).
RUN_TIME_LIMIT_S = 120.0


@dataclass(frozen=True)
class Outcome:
    """What one run of a schedule showed.

    ``faults`` is the whole schedule run (fault phase and quiet tail); ``quiet_from`` where the
    quiet phase began; ``violations`` every broken property, safety and liveness; ``digest`` the
    SHA-256 of the trace as ``Trace.to_jsonl`` writes it, so a replay can be compared bit for bit.
    ``judge_liveness`` false leaves liveness out of the verdict (``--no-liveness``): its violations
    are kept, but do not fail the run.
    """

    index: int
    seed: int
    faults: tuple[Fault, ...]
    quiet_from: float
    duration_s: float
    violations: tuple[Violation, ...]
    liveness: tuple[LivenessResult, ...]
    digest: str
    wall_s: float
    judge_liveness: bool = True
    cases: frozenset[CaseId] = frozenset()  #: the protocol table cases the run's machines took

    @property
    def properties(self) -> list[str]:
        """The violated properties, each once, in order of first violation."""
        return list(dict.fromkeys(v.invariant for v in self.violations))

    @property
    def verdict(self) -> Verdict:
        """The run's verdict (``riaps_sim.analysis.verdict``)."""
        return Verdict.of(self.violations, liveness=self.judge_liveness)

    @property
    def failing(self) -> list[str]:
        """The violated properties that fail the verdict (``properties`` without liveness if it is left out)."""
        return [p for p in self.properties if self.judge_liveness or category_of(p) != Category.LIVENESS]

    @property
    def failed(self) -> bool:
        """The run's verdict is bad."""
        return not self.verdict.ok


def trace_digest(trace: Trace) -> str:
    """SHA-256 of the trace in its JSON-lines form (the bytes ``Trace.to_jsonl`` writes)."""
    digest = hashlib.sha256()
    for line in trace.jsonl_lines():
        digest.update(line.encode())
    return digest.hexdigest()


def run_schedule(
    scenario: Scenario | ByValue[Scenario],
    faults: Sequence[Fault],
    seed: int,
    quiet_from: float,
    duration_s: float,
    index: int = 0,
    liveness: bool = True,
    time_limit_s: float | None = RUN_TIME_LIMIT_S,
) -> Outcome:
    """Simulate *scenario* with *faults* and *seed* for *duration_s*; check it (liveness judged if *liveness*).

    A run that livelocks (virtual time stops: ``riaps_sim.runtime.watchdog``) or takes more than
    *time_limit_s* of wall-clock time (in a process's main thread) ends, and is a failure with a
    ``no_livelock`` or ``within_time_limit`` violation; a run that raises is one with ``run_raised``.
    """
    from ..runner import run_scenario

    base = scenario.get() if isinstance(scenario, ByValue) else scenario
    started = time.perf_counter()
    run = replace(base, faults=FaultSchedule(faults), duration=duration_s, seed=seed)
    quiet = logging.getLogger("riaps_sim")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # thousands of runs: what they skip is in their traces, not on the terminal
    try:
        coverage = TableCoverage()
        with wall_clock_limit(time_limit_s):
            result = run_scenario(run, mode="sim", coverage=coverage)
    except Livelock as stop:
        return _ended(Violation("no_livelock", stop.at, (stop.node,), (), str(stop)), index, seed, run, quiet_from, started, liveness)
    except RunTimeLimit as stop:
        return _ended(Violation("within_time_limit", 0.0, (), (), str(stop)), index, seed, run, quiet_from, started, liveness)
    except Exception as exc:  # the simulator itself failed: a finding, never the end of the exploration
        raised = Violation("run_raised", 0.0, (), (), f"the run raised {type(exc).__name__}: {exc}")
        return _ended(raised, index, seed, run, quiet_from, started, liveness)
    finally:
        quiet.setLevel(level)
    report = check_run(result.trace, run.group_types, end=duration_s, quiet_from=quiet_from)
    return Outcome(
        index,
        seed,
        tuple(run.faults),
        quiet_from,
        duration_s,
        tuple(report.violations),
        tuple(report.liveness),
        trace_digest(result.trace),
        time.perf_counter() - started,
        liveness,
        frozenset(coverage.taken()),
    )


def _ended(violation: Violation, index: int, seed: int, run: Scenario, quiet_from: float, started: float, liveness: bool) -> Outcome:
    """The outcome of a run that did not finish: *violation* says why."""
    return Outcome(index, seed, tuple(run.faults), quiet_from, run.duration, (violation,), (), "", time.perf_counter() - started, liveness)
