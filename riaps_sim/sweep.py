"""Sweeps: one scenario over many seeds, in parallel, reduced to the distributions of its metrics.

``sweep`` takes any ``concurrent.futures.Executor`` (a ``ProcessPoolExecutor`` by default), so a
Dask or Ray executor scales a sweep to a cluster with no code of ours. Each task runs one seed and
returns only its metrics (``RunMetrics``), not its trace, so sweeps of thousands stay small.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TextIO

from .progress import progress_bar
from .runtime.shipping import ByValue
from .scenario import Scenario, load_scenario

log = logging.getLogger("riaps_sim")

__all__ = ["RunMetrics", "SweepResult", "measure", "sweep", "parse_seeds"]


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """The metrics of one run, in seconds; ``None`` where the event never happened."""

    seed: int
    first_leader_s: float | None
    failover_s: float | None
    split_brain_s: float
    leaderless_s: float
    votes: int
    violations: int  #: every violation but liveness: safety, handler errors, membership
    wall_s: float
    liveness_violations: int = 0

    def ok(self, liveness: bool = True) -> bool:
        """The run's verdict: no violation (liveness ones only if *liveness* is true)."""
        return not self.violations and not (liveness and self.liveness_violations)


def _dtype(annotation: Any) -> str:
    """The pandas dtype of a ``RunMetrics`` field from its annotation: optional floats are nullable."""
    text = str(annotation)
    if "None" in text:
        return "Float64"
    return "int64" if text == "int" else "float64"


def measure(scenario: Scenario | ByValue[Scenario] | str, seed: int, mode: str = "sim") -> RunMetrics:
    """Run *scenario* (an object, a built-in name or a file path) with *seed*; return its metrics and violation counts."""
    from .runner import run_scenario

    if isinstance(scenario, ByValue):
        scenario = scenario.get()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    result = run_scenario(scenario, mode=mode, seed=seed)
    summary = result.summary()
    report = summary.report if summary.report is not None else result.check()
    safety = report.safety_violations()  # every category but liveness
    done = [f.duration for f in summary.failovers if f.duration is not None]
    return RunMetrics(
        seed=seed,
        first_leader_s=summary.first_leader_s,
        failover_s=done[0] if done else None,
        split_brain_s=sum(i.length for i in summary.split_brain),
        leaderless_s=sum(i.length for i in summary.leaderless),
        votes=len(summary.votes),
        violations=len(safety),
        liveness_violations=len(report.violations) - len(safety),
        wall_s=result.wall_s,
    )


def _percentiles(values: Sequence[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = statistics.quantiles(ordered, n=20, method="inclusive")[-1] if len(ordered) > 1 else ordered[0]
    return statistics.median(ordered), p95, ordered[-1]


@dataclass
class SweepResult:
    """The runs of a sweep, in seed order, with their distributions."""

    scenario: str
    runs: list[RunMetrics]
    wall_s: float
    liveness: bool = True  #: whether liveness violations fail a run (``--no-liveness`` leaves them out)

    def failed_seeds(self) -> list[int]:
        """The seeds whose verdict is bad, in order."""
        return [r.seed for r in self.runs if not r.ok(self.liveness)]

    def values(self, metric: str) -> list[float]:
        """The values of *metric* (a ``RunMetrics`` field) over the runs where it happened."""
        return [v for r in self.runs if (v := getattr(r, metric)) is not None]

    def lines(self) -> list[str]:
        out = [f"{self.scenario}: {len(self.runs)} seeds in {self.wall_s:.1f} s wall"]
        out.append(f"  {'metric':18}{'p50':>9}{'p95':>9}{'max':>9}   runs")
        for metric in ("first_leader_s", "failover_s", "split_brain_s", "leaderless_s"):
            values = self.values(metric)
            if values:
                p50, p95, top = _percentiles(values)
                out.append(f"  {metric:18}{p50:9.3f}{p95:9.3f}{top:9.3f}   {len(values)}/{len(self.runs)}")
            else:
                out.append(f"  {metric:18}{'-':>9}{'-':>9}{'-':>9}   0/{len(self.runs)}")
        bad = [r.seed for r in self.runs if r.violations]
        out.append(f"  safety violations, handler errors or membership failures in {len(bad)} run(s)" + (f": seeds {bad[:20]}" if bad else ""))
        slow = [r.seed for r in self.runs if r.liveness_violations]
        aside = " (left out of the verdict: --no-liveness)" if not self.liveness else ""
        out.append(f"  liveness violations in {len(slow)} run(s)" + (f": seeds {slow[:20]}" if slow else "") + aside)
        failed = self.failed_seeds()
        out.append(f"verdict: {'BAD' if failed else 'OK'}: {len(failed)} of {len(self.runs)} run(s) failed")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape(str(self)) + "</pre>"

    def plot(self, ax: Any = None) -> Any:
        """Box plots of the time metrics over the seeds."""
        from .analysis.plots import distributions

        return distributions({"first leader": self.values("first_leader_s"), "failover": self.values("failover_s")}, ax=ax)

    def rows(self) -> list[dict[str, Any]]:
        """The runs as dicts, one per seed."""
        return [{f.name: getattr(r, f.name) for f in fields(r)} for r in self.runs]

    def to_pandas(self) -> Any:
        """The runs as a ``pandas.DataFrame``, one row per seed, with typed columns.

        ``seed``, ``votes`` and ``violations`` are ``int64``, the other times ``float64``;
        ``first_leader_s`` and ``failover_s`` are ``Float64`` (nullable), ``<NA>`` where the event
        never happened (no failover in a run, say). Needs pandas (``pip install 'riaps-sim[pandas]'``).
        """
        from ._pandas import require_pandas

        pd = require_pandas()
        columns = {f.name: [getattr(r, f.name) for r in self.runs] for f in fields(RunMetrics)}
        return pd.DataFrame({f.name: pd.array(columns[f.name], dtype=_dtype(f.type)) for f in fields(RunMetrics)})

    def __repr__(self) -> str:
        return f"<SweepResult {self.scenario!r}: {len(self.runs)} seeds, {self.wall_s:.1f} s wall>"


def parse_seeds(text: str) -> list[int]:
    """Seeds from ``"1-1000"``, ``"7"`` or ``"1,5,9-12"``; raises ``ValueError`` naming the bad part."""
    seeds: list[int] = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        try:
            if dash:
                first, last = int(low), int(high)
                if last < first:
                    raise ValueError
                seeds.extend(range(first, last + 1))
            else:
                seeds.append(int(low))
        except ValueError:
            raise ValueError(f"bad seed range {part.strip()!r}: expected N, N-M or a comma-separated list of those") from None
    return seeds


def sweep(
    scenario: Scenario | str | Path,
    seeds: Iterable[int],
    executor: Executor | None = None,
    jobs: int | None = None,
    mode: str = "sim",
    progress: bool | TextIO = True,
    liveness: bool = True,
) -> SweepResult:
    """Run *scenario* once per seed and collect the metrics.

    Parameters
    ----------
    scenario:
        A ``Scenario``, a built-in name or a file. A ``Scenario``'s component classes may be
        defined anywhere (a notebook cell, a script): they travel to the workers by value
        (cloudpickle); one that cannot travel at all is a ``ShippingError`` before any task starts.
    seeds:
        The seeds, e.g. ``range(1000)``.
    executor:
        Any ``concurrent.futures.Executor``; by default a ``ProcessPoolExecutor`` of *jobs* workers.
    progress:
        Show a ``tqdm`` progress bar, moved as each seed finishes: a widget in Jupyter, a bar on
        stderr when it is a terminal, nothing otherwise; or always on the given stream; ``False``
        for none.
    liveness:
        Whether a run with liveness violations fails (``SweepResult.failed_seeds``); they are
        counted either way.
    """
    ref: Scenario | str = scenario if isinstance(scenario, Scenario) else str(scenario)
    name = ref.name if isinstance(ref, Scenario) else load_scenario(ref).name
    seeds = list(seeds)
    started = time.perf_counter()
    task: ByValue[Scenario] | str = ByValue(ref, what=f"scenario {name!r}") if isinstance(ref, Scenario) else ref
    own = executor is None
    pool = executor or ProcessPoolExecutor(max_workers=jobs)
    bar = progress_bar(len(seeds), progress, name, "seed")
    runs: list[RunMetrics] = []
    try:
        futures = [pool.submit(measure, task, seed, mode) for seed in seeds]
        for future in as_completed(futures):
            runs.append(future.result())
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
        if own:
            pool.shutdown(cancel_futures=True)
    runs.sort(key=lambda r: r.seed)
    return SweepResult(name, runs, time.perf_counter() - started, liveness)
