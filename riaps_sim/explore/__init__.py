"""Find what breaks: random fault schedules over a scenario, checked, shrunk and kept.

``explore(scenario, schedules=1000)`` draws schedules in two phases (faults, then quiet; see
``schedules``), simulates each with its own seed on any ``concurrent.futures`` executor, checks
safety and liveness (``riaps_sim.analysis.checks``), shrinks every failing schedule (``shrink``)
and writes it to a corpus folder as a scenario file that ``riaps-sim run`` replays bit for bit
(``corpus``). ``replay_corpus(folder)`` reruns a corpus as a regression suite. Interrupted
(Ctrl-C), an exploration stops at once and raises ``Interrupted`` carrying an ``ExploreResult``
marked partial: the schedules run so far and the failures shrunk so far.

>>> result = explore("leader-crash", schedules=2, seed=1, progress=False, shrink_failures=False)
>>> len(result.outcomes)
2
"""

from __future__ import annotations

import random
import signal
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..batch import Call, Interrupted, gather, signal_of
from ..faults import Fault
from ..progress import progress_bar
from ..runtime.shipping import ByValue
from ..scenario import Scenario, load_scenario
from .corpus import CorpusEntry, entries, read_entry, write_entry
from .coverage import Coverage, coverage_of
from .runs import RUN_TIME_LIMIT_S, Outcome, run_schedule
from .schedules import DEFAULT_KINDS, FAULT_KINDS, LINK_KINDS, ScheduleSpace, draw_schedule, normalise, quiet_tail
from .shrink import shrink

__all__ = [
    "explore",
    "replay_corpus",
    "ExploreResult",
    "Shrunk",
    "ReplayResult",
    "Outcome",
    "ScheduleSpace",
    "FAULT_KINDS",
    "LINK_KINDS",
    "DEFAULT_KINDS",
    "schedule_for",
]


@dataclass(frozen=True)
class Shrunk:
    """A failing schedule after shrinking: what it violates, its faults, the runs it took, its corpus file."""

    outcome: Outcome
    original_faults: int
    faults: tuple[Fault, ...]
    runs: int
    path: Path | None


#: the columns of ``ExploreResult.rows`` (and of its CSV file) with their pandas dtypes
_COLUMNS = {
    "index": "int64",
    "seed": "int64",
    "faults": "int64",
    "violated": "string",
    "leader_after_faults_s": "Float64",
    "wall_s": "float64",
    "digest": "string",
}


@dataclass
class ExploreResult:
    """An exploration: every outcome, the shrunk failures, and tables of both.

    ``planned`` is how many schedules were asked for (``None``: as many as ran); ``interrupted``
    the signal that stopped the exploration early, while running schedules (``outcomes`` holds
    those finished) or while shrinking (``shrunk`` holds those done, ``to_shrink`` how many kinds
    of failure there were to shrink).
    """

    scenario: str
    space: ScheduleSpace
    seed: int
    outcomes: list[Outcome]
    shrunk: list[Shrunk] = field(default_factory=list)
    wall_s: float = 0.0
    liveness: bool = True  #: whether liveness violations fail a schedule (``--no-liveness`` leaves them out)
    planned: int | None = None
    interrupted: signal.Signals | None = None
    to_shrink: int = 0
    protocols: tuple[str, ...] = ()  #: the protocols of the scenario's coordinated groups (their tables' coverage)

    @property
    def partial(self) -> bool:
        """The exploration was stopped (``interrupted``) before it had run and shrunk everything."""
        return self.interrupted is not None

    @property
    def failures(self) -> list[Outcome]:
        """The outcomes whose verdict is bad."""
        return [o for o in self.outcomes if o.failed]

    def by_property(self) -> dict[str, int]:
        """How many runs violated each property."""
        counts: Counter[str] = Counter()
        for outcome in self.outcomes:
            counts.update(outcome.properties)
        return dict(counts.most_common())

    def coverage(self) -> list[Coverage]:
        """Per protocol, the table cases the search's runs took and those none did."""
        return coverage_of(self.protocols, (case for o in self.outcomes for case in o.cases))

    def liveness_times(self, prop: str = "leader_after_faults") -> list[float]:
        return [r.took_s for o in self.outcomes for r in o.liveness if r.prop == prop and r.took_s is not None]

    def lines(self) -> list[str]:
        n = len(self.outcomes)
        rate = n / self.wall_s if self.wall_s > 0 else 0.0
        out = [f"explore {self.scenario}: {n} schedules (seed {self.seed}) in {self.wall_s:.1f} s, {rate:.1f} schedules/s"]
        if self.interrupted is not None:
            where = (
                f"{n} of {self.planned} schedules run"
                if n != self.planned
                else f"all {n} schedules run, {len(self.shrunk)} of {self.to_shrink} kinds of failure shrunk"
            )
            out[0] = f"explore {self.scenario}: PARTIAL (interrupted by {self.interrupted.name}): {where} (seed {self.seed}) in {self.wall_s:.1f} s"
        out.append(f"  faults: {', '.join(self.space.kinds)}; fault phase {self.space.fault_phase_s:g} s, quiet phase {self.space.quiet_s:g} s")
        counts = self.by_property()
        if counts:
            out.append(f"  {'property':40}{'runs':>7}")
            out += [f"  {prop:40}{count:>7}" for prop, count in counts.items()]
        else:
            out.append("  no property violated")
        for covered in self.coverage():
            out += covered.lines()
        times = self.liveness_times()
        if times:
            ordered = sorted(times)
            p95 = statistics.quantiles(ordered, n=20, method="inclusive")[-1] if len(ordered) > 1 else ordered[0]
            out.append(
                f"  leader after the last fault: p50 {statistics.median(ordered):.3f} s, p95 {p95:.3f} s, max {ordered[-1]:.3f} s ({len(times)}/{n} runs)"
            )
        for s in self.shrunk:
            where = f" -> {s.path}" if s.path else ""
            out.append(
                f"  shrunk schedule {s.outcome.index} ({', '.join(s.outcome.properties)}): {s.original_faults} -> {len(s.faults)} faults in {s.runs} runs{where}"
            )
        aside = "; liveness left out (--no-liveness)" if not self.liveness else ""
        out.append(f"verdict: {'BAD' if self.failures else 'OK'}: {len(self.failures)} of {n} schedule(s) failed{aside}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_pandas(self) -> Any:
        """The runs as a ``pandas.DataFrame``, one row per schedule, with typed columns.

        ``index``, ``seed`` and ``faults`` are ``int64``; ``violated`` the properties broken, joined
        by commas (``string``, empty when none); ``leader_after_faults_s`` is ``Float64``, ``<NA>``
        where no leader was agreed; ``wall_s`` ``float64``; ``digest`` the trace's SHA-256 (``string``).
        """
        from .._pandas import require_pandas

        pd = require_pandas()
        rows = self.rows()
        return pd.DataFrame({name: pd.array([r[name] for r in rows], dtype=dtype) for name, dtype in _COLUMNS.items()})

    def rows(self) -> list[dict[str, Any]]:
        """The runs as dicts, one per schedule: the columns of ``to_pandas``, without pandas."""
        return [
            {
                "index": o.index,
                "seed": o.seed,
                "faults": len(o.faults),
                "violated": ",".join(o.properties),
                "leader_after_faults_s": next((r.took_s for r in o.liveness if r.prop == "leader_after_faults"), None),
                "wall_s": o.wall_s,
                "digest": o.digest,
            }
            for o in self.outcomes
        ]

    def save(self, folder: str | Path) -> list[Path]:
        """Write ``explore.txt`` (the summary, saying when it is partial) and ``explore.csv`` (a row per schedule run)."""
        import csv

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        text, table = out / "explore.txt", out / "explore.csv"
        text.write_text(str(self) + "\n", encoding="utf-8")
        with table.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(_COLUMNS))
            writer.writeheader()
            writer.writerows(self.rows())
        return [text, table]

    def __repr__(self) -> str:
        done = f"{len(self.outcomes)} of {self.planned} schedules (partial)" if self.partial else f"{len(self.outcomes)} schedules"
        return f"<ExploreResult {self.scenario!r}: {done}, {len(self.failures)} failed, {self.wall_s:.1f} s wall>"

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape(str(self)) + "</pre>"


def schedule_for(space: ScheduleSpace, seed: int, index: int) -> tuple[list[Fault], int]:
    """Schedule *index* of an exploration with *seed*: its faults (fault phase and quiet tail) and its run seed."""
    rng = random.Random(f"riaps-sim explore {seed}:{index}")
    faults = normalise(draw_schedule(space, rng))
    run_seed = rng.randrange(2**31)
    return faults + quiet_tail(faults, space.fault_phase_s), run_seed


def explore(
    scenario: Scenario | str | Path,
    schedules: int = 100,
    *,
    seed: int = 0,
    protocol: str | None = None,
    executor: Executor | None = None,
    jobs: int | None = None,
    space: ScheduleSpace | None = None,
    kinds: Iterable[str] | None = None,
    out: str | Path | None = None,
    shrink_failures: bool = True,
    shrink_budget: int = 300,
    shrink_tries: int = 3,
    stop_after: int | None = None,
    progress: bool | TextIO = True,
    liveness: bool = True,
    run_time_limit_s: float | None = RUN_TIME_LIMIT_S,
) -> ExploreResult:
    """Run *schedules* random fault schedules over *scenario*; shrink and keep what fails.

    Parameters
    ----------
    scenario:
        A ``Scenario``, a built-in name or a scenario file; its nodes and group types are explored.
    protocol:
        Run every group type with this protocol instead of the scenario's.
    executor, jobs:
        Any ``concurrent.futures`` executor (default: a process pool of *jobs* workers).
    space, kinds:
        What the schedules may contain (default: every kind, 30 s of faults, 20 s of quiet).
    out:
        A folder: failing schedules, shrunk, are written to ``OUT/corpus``.
    shrink_budget, shrink_tries:
        Runs one shrink may take, and how many failing schedules of one kind are shrunk (the
        smallest result is kept).
    stop_after:
        Stop once this many schedules have failed (the rest are cancelled; schedules already
        running finish and are counted).
    liveness:
        Whether liveness violations fail a schedule (and are shrunk and kept); they are counted
        either way.
    run_time_limit_s:
        The wall-clock limit of one run (None: none); a run over it fails (``within_time_limit``),
        as does one whose virtual time stops (``no_livelock``), instead of hanging the search.

    Raises
    ------
    Interrupted
        On Ctrl-C (a ``KeyboardInterrupt``): schedules not started are cancelled, the default
        pool's workers are stopped at once, shrinking stops, and ``partial`` is the
        ``ExploreResult`` of what was finished (failures shrunk so far are in the corpus).
    """
    source: str | Path | Scenario = scenario
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    base = base.with_protocol(protocol)
    if space is None:
        space = ScheduleSpace(tuple(base.node_names()), kinds=tuple(kinds) if kinds is not None else DEFAULT_KINDS)
    shipped = ByValue(base, what=f"scenario {base.name!r}")
    started = time.perf_counter()
    bar = progress_bar(schedules, progress, "explore", "schedule")

    def calls() -> Iterator[Call[Outcome]]:  # drawn as they are submitted, so Ctrl-C while drawing is handled too
        for index in range(schedules):
            faults, run_seed = schedule_for(space, seed, index)
            yield Call(run_schedule, (shipped, faults, run_seed, space.fault_phase_s, space.duration_s, index, liveness, run_time_limit_s))

    def finished(outcome: Outcome, outcomes: list[Outcome]) -> bool:
        failed = sum(o.failed for o in outcomes)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(failed=failed)
        return stop_after is not None and failed >= stop_after

    try:
        batch = gather(calls(), schedules, finished, executor, jobs)
    finally:
        if bar is not None:
            bar.close()
    outcomes = sorted(batch.results, key=lambda o: o.index)
    protocols = tuple(g.protocol for g in base.group_types if g.coordinated)
    result = ExploreResult(base.name, space, seed, outcomes, liveness=liveness, planned=schedules, interrupted=batch.stopped_by, protocols=protocols)
    if batch.stopped_by is None and shrink_failures:
        corpus = Path(out) / "corpus" if out is not None else None
        by_signature: dict[tuple[str, ...], list[Outcome]] = {}
        for outcome in result.failures:  # one kept example per combination of violated properties
            by_signature.setdefault(tuple(outcome.failing), []).append(outcome)
        result.to_shrink = len(by_signature)
        try:
            for failed in by_signature.values():
                # shrinking is chaotic (one fault less, and every later draw moves): of a few, keep the smallest
                tries = [_shrink_one(base, space, outcome, shrink_budget) for outcome in failed[:shrink_tries]]
                best = min(tries, key=lambda s: (len(s.faults), s.runs))
                result.shrunk.append(_keep(best, base, source, corpus))
        except KeyboardInterrupt as stop:
            result.interrupted = signal_of(stop)
    result.wall_s = time.perf_counter() - started
    if result.interrupted is not None:
        raise Interrupted(result, result.interrupted) from batch.interrupted
    return result


def _keep(shrunk: Shrunk, base: Scenario, source: str | Path | Scenario, corpus: Path | None) -> Shrunk:
    """*shrunk*, written to the corpus folder (if any) as a scenario file."""
    if corpus is None:
        return shrunk
    final = shrunk.outcome
    note = f"Schedule {final.index} of the exploration, shrunk from {shrunk.original_faults} to {len(shrunk.faults)} faults in {shrunk.runs} runs."
    path = write_entry(
        corpus,
        source if not isinstance(source, Scenario) else base,
        base.group_types,
        final.faults,
        final.seed,
        final.duration_s,
        final.quiet_from,
        final.failing,
        final.digest,
        note,
    )
    return Shrunk(final, shrunk.original_faults, shrunk.faults, shrunk.runs, path)


def _shrink_one(base: Scenario, space: ScheduleSpace, outcome: Outcome, budget: int) -> Shrunk:
    target = outcome.failing[0]
    phase = [f for f in outcome.faults if f.at is not None and f.at < space.fault_phase_s]

    def fails(faults: list[Fault]) -> bool:
        run = run_schedule(base, faults + quiet_tail(faults, space.fault_phase_s), outcome.seed, space.fault_phase_s, space.duration_s)
        return target in run.properties

    smallest, runs = shrink(phase, fails, budget)
    final = run_schedule(
        base,
        smallest + quiet_tail(smallest, space.fault_phase_s),
        outcome.seed,
        space.fault_phase_s,
        space.duration_s,
        outcome.index,
        outcome.judge_liveness,
    )
    return Shrunk(final, len(phase), tuple(smallest), runs, None)


@dataclass(frozen=True)
class ReplayResult:
    """One corpus file rerun: what it violated before and now, and whether the trace is the same bit for bit."""

    entry: CorpusEntry
    outcome: Outcome

    @property
    def still_fails(self) -> bool:
        return any(p in self.outcome.properties for p in self.entry.violates)

    @property
    def identical(self) -> bool:
        return self.outcome.digest == self.entry.digest

    def __str__(self) -> str:
        state = "still violates " + ", ".join(self.entry.violates) if self.still_fails else "passes now"
        return f"{self.entry.path.name}: {state}{' (identical trace)' if self.identical else ' (trace differs)'}"


def replay_corpus(folder: str | Path) -> list[ReplayResult]:
    """Rerun every corpus file of *folder*, in this process."""
    out = []
    for path in entries(Path(folder)):
        entry = read_entry(path)
        s = entry.scenario
        outcome = run_schedule(s, list(s.faults), s.seed, entry.quiet_from, s.duration)
        out.append(ReplayResult(entry, outcome))
    return out
