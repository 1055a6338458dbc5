"""Sweeps: one scenario over many seeds, in parallel, reduced to the distributions of its metrics.

``sweep`` takes any ``concurrent.futures.Executor`` (a ``ProcessPoolExecutor`` by default), so a
Dask or Ray executor scales a sweep to a cluster with no code of ours. Each task runs one seed and
returns only its metrics (``RunMetrics``), not its trace, so sweeps of thousands stay small.
Interrupted (Ctrl-C), a sweep stops at once and raises ``Interrupted`` carrying the seeds finished
so far as a ``SweepResult`` marked partial.
"""

from __future__ import annotations

import logging
import signal
import statistics
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TextIO

from .batch import Call, Interrupted, gather
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
    """The runs of a sweep, in seed order, with their distributions.

    ``planned`` is how many seeds were asked for (``None``: as many as ran); ``interrupted`` the
    signal that stopped the sweep early, in which case ``runs`` holds the seeds finished by then.
    """

    scenario: str
    runs: list[RunMetrics]
    wall_s: float
    liveness: bool = True  #: whether liveness violations fail a run (``--no-liveness`` leaves them out)
    planned: int | None = None
    interrupted: signal.Signals | None = None

    def failed_seeds(self) -> list[int]:
        """The seeds whose verdict is bad, in order."""
        return [r.seed for r in self.runs if not r.ok(self.liveness)]

    @property
    def partial(self) -> bool:
        """The sweep was stopped (``interrupted``) before every seed had run."""
        return self.interrupted is not None

    def values(self, metric: str) -> list[float]:
        """The values of *metric* (a ``RunMetrics`` field) over the runs where it happened."""
        return [v for r in self.runs if (v := getattr(r, metric)) is not None]

    def lines(self) -> list[str]:
        out = [f"{self.scenario}: {len(self.runs)} seeds in {self.wall_s:.1f} s wall"]
        if self.partial:
            stop = f" by {self.interrupted.name}" if self.interrupted is not None else ""
            out[0] = f"{self.scenario}: PARTIAL (interrupted{stop}): {len(self.runs)} of {self.planned} seeds done in {self.wall_s:.1f} s wall"
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

    def save(self, folder: str | Path) -> list[Path]:
        """Write ``sweep.txt`` (the summary, saying when it is partial), ``sweep.csv`` (a row per seed) and ``sweep.png``."""
        import csv

        import matplotlib.pyplot as plt

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "sweep.txt", out / "sweep.csv", out / "sweep.png"]
        paths[0].write_text(str(self) + "\n", encoding="utf-8")
        with paths[1].open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=[f.name for f in fields(RunMetrics)])
            writer.writeheader()
            writer.writerows(self.rows())
        figure = self.plot()
        figure.savefig(paths[2], dpi=110, bbox_inches="tight")
        plt.close(figure)
        return paths

    def __repr__(self) -> str:
        done = f"{len(self.runs)} of {self.planned} seeds (partial)" if self.partial else f"{len(self.runs)} seeds"
        return f"<SweepResult {self.scenario!r}: {done}, {self.wall_s:.1f} s wall>"


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
    protocol: str | None = None,
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
    protocol:
        Run every group type with this protocol (a registered name or a user's ``module:Class``)
        instead of the scenario's.

    Raises
    ------
    Interrupted
        On Ctrl-C (a ``KeyboardInterrupt``): seeds not started are cancelled, the default pool's
        workers are stopped at once, and ``partial`` is the ``SweepResult`` of the seeds finished.
    """
    ref: Scenario | str = scenario if isinstance(scenario, Scenario) else str(scenario)
    if protocol is not None:
        ref = (ref if isinstance(ref, Scenario) else load_scenario(ref)).with_protocol(protocol)
    name = ref.name if isinstance(ref, Scenario) else load_scenario(ref).name
    seeds = list(seeds)
    started = time.perf_counter()
    task: ByValue[Scenario] | str = ByValue(ref, what=f"scenario {name!r}") if isinstance(ref, Scenario) else ref
    bar = progress_bar(len(seeds), progress, name, "seed")

    def finished(run: RunMetrics, runs: list[RunMetrics]) -> bool:
        if bar is not None:
            bar.update()
        return False

    try:
        batch = gather((Call(measure, (task, seed, mode)) for seed in seeds), len(seeds), finished, executor, jobs)
    finally:
        if bar is not None:
            bar.close()
    runs = sorted(batch.results, key=lambda r: r.seed)
    result = SweepResult(name, runs, time.perf_counter() - started, liveness, planned=len(seeds), interrupted=batch.stopped_by)
    if batch.stopped_by is not None:
        raise Interrupted(result, batch.stopped_by) from batch.interrupted
    return result
