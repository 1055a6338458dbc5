"""``Summary``: what a run's trace says, in one object that prints, and displays in a notebook.

Its last line is the run's ``Verdict`` (``riaps_sim.analysis.verdict``), printed once: safety,
liveness, handler errors and membership counted, warnings beside them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..model import GroupType
from ..trace import Kind, Trace
from .checks import Report, check_run
from .invariants import Violation
from .metrics import Failover, Interval, VoteOutcome, drops_by_cause, first_leader_time, group_timeline, vote_outcomes
from .replay import only_group
from .verdict import Verdict

__all__ = ["Summary", "summarize", "warning_lines"]


@dataclass
class Summary:
    """The headline facts of one run (times in seconds from the start of the run)."""

    title: str
    group: str | None
    start: float
    end: float
    first_leader_s: float | None
    leaders: list[Interval]
    failovers: list[Failover]
    split_brain: list[Interval]
    leaderless: list[Interval]
    votes: list[VoteOutcome]
    messages: dict[str, int]
    drops: dict[str, int]
    faults: list[tuple[float, str]]
    violations: list[Violation]  #: every violation the checks found, of every category, in time order
    names: dict[str, str] = field(default_factory=dict)  # member id (hex) -> node
    notes: list[str] = field(default_factory=list)  #: more lines before the checks: security (``RunResult.summary``)
    report: Report | None = None  #: what was checked and what failed (``checks.check_run``)
    verdict: Verdict | None = None  #: the run's verdict, the summary's last line
    warnings: list[str] = field(default_factory=list)  #: the protocols' warnings, one line per text (``warning_lines``)

    def _name(self, member: str) -> str:
        return self.names.get(member, member[:8])

    def lines(self, notes: bool = True) -> list[str]:
        """The summary as lines of text, the verdict last (*notes* false: only the metrics and the verdict)."""

        def t(x: float) -> str:
            return f"{x - self.start:7.2f}"

        out = [f"{self.title}: group {self.group}, {self.end - self.start:.1f} s"]
        out.append(
            f"  first leader agreed {self.first_leader_s:.2f} s after the last member joined"
            if self.first_leader_s is not None
            else "  no leader was ever agreed by all members"
        )
        out.append("  faults:" if self.faults else "  faults: none")
        out += [f"    {t(at)} s  {what}" for at, what in self.faults]
        out.append("  leader agreed by all live members:")
        out += [f"    {t(i.start)} .. {t(i.end)} s  {self._name(i.what[0])}" for i in self.leaders] or ["    never"]
        for f in self.failovers:
            took = f"{f.duration:.2f} s, to {self._name(f.new_leader)}" if f.duration is not None and f.new_leader else "never completed"
            out.append(f"  failover after {f.cause!r} at {t(f.lost_at).strip()} s: {took}")
        if self.split_brain:
            out.append("  more than one leader (split brain):")
            out += [f"    {t(i.start)} .. {t(i.end)} s  {', '.join(i.what)}" for i in self.split_brain]
        if self.leaderless:
            out.append(f"  leaderless for {sum(i.length for i in self.leaderless):.2f} s in {len(self.leaderless)} interval(s)")
        if self.votes:
            out.append(f"  votes: {len(self.votes)}")
            for v in self.votes:
                results = Counter(v.results.values())
                latency = f", {v.latency * 1000:.0f} ms" if v.latency is not None else ""
                out.append(f"    {v.rfv_id}: {dict(results) or 'no result'}{latency}")
        out.append("  messages sent: " + (", ".join(f"{k} {n}" for k, n in sorted(self.messages.items())) or "none"))
        out.append("  drops: " + (", ".join(f"{k} {n}" for k, n in sorted(self.drops.items())) or "none"))
        if notes:
            out += self.notes + self.warnings
            if self.report is not None:
                out += self.report.lines(liveness=self.verdict is None or self.verdict.liveness_judged)
        if self.verdict is not None:
            out.append(self.verdict.line())
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        verdict = self.verdict.line() if self.verdict is not None else "not judged"
        return f"<Summary {self.title!r}: group {self.group}, {self.end - self.start:.1f} s, {verdict}>"

    def _repr_html_(self) -> str:
        import html

        body = self.lines()
        if self.verdict is None:
            return "<pre>" + html.escape("\n".join(body)) + "</pre>"
        colour = "#1a7f37" if self.verdict.ok else "#cf222e"
        verdict = f'<p style="color:{colour};font-weight:bold">{html.escape(self.verdict.line())}</p>'
        return "<pre>" + html.escape("\n".join(body[:-1])) + "</pre>" + verdict


def warning_lines(trace: Trace) -> list[str]:
    """The protocols' warnings (``warning`` rows), each text once, with how many nodes traced it."""
    counts: dict[tuple[str | None, str], set[str]] = {}
    for e in trace.select(kind=Kind.WARNING):
        counts.setdefault((e.group, e.detail or ""), set()).add(e.node)
    return [f"  warning ({group}, {len(nodes)} node(s)): {text}" for (group, text), nodes in sorted(counts.items(), key=str)]


def summarize(
    trace: Trace,
    title: str = "run",
    group: str | None = None,
    start: float | None = None,
    end: float | None = None,
    group_types: Iterable[GroupType] = (),
    liveness: bool = True,
) -> Summary:
    """Compute the ``Summary`` of *trace* (for its only group, or *group*) over ``[start, end]`` (default: the events' span).

    Each metric is computed once; the interval metrics share one replay of the state-changing events.
    Heartbeats the trace counted instead of storing are in ``messages`` (a simulation stops at its end,
    so none of them fall after it). The checks (``checks.check_run``) and the verdict use the
    scenario's *group_types* (liveness bounds, protocols, whether anybody should have joined); the
    verdict leaves liveness out if *liveness* is false.
    """
    group = only_group(trace, group)
    tallies = trace.tallies()
    times = [e.when for e in trace]
    if start is None:
        start = min(times + [t.first for t in tallies.values()], default=0.0)
    if end is None:
        end = max(times + [t.last for t in tallies.values()], default=start)
    report = check_run(trace, group_types, end=end)
    warnings = warning_lines(trace)
    trace = trace.select(until=end)  # what happens after the end (shutting down) is not part of the run
    messages = Counter(e.detail or "?" for e in trace if e.kind == Kind.SEND)
    for key, tally in tallies.items():
        if key.kind == Kind.SEND:
            messages[key.command] += tally.count
    names = {e.peer: e.node for e in trace.select(kind=Kind.GROUP_JOINED) if e.peer}
    timeline = group_timeline(trace, group, end)
    return Summary(
        title=title,
        group=group,
        start=start,
        end=end,
        first_leader_s=first_leader_time(trace, group, leaders=timeline.leaders),
        leaders=timeline.leaders,
        failovers=timeline.failovers,
        split_brain=timeline.split_brain,
        leaderless=timeline.leaderless,
        votes=vote_outcomes(trace, group),
        messages=dict(messages),
        drops=drops_by_cause(trace),
        faults=[(e.when, e.detail or "") for e in trace.select(kind=Kind.FAULT).sorted()],
        violations=report.violations,
        names=names,
        report=report,
        verdict=report.verdict(liveness=liveness, warnings=len(warnings)),
        warnings=warnings,
    )
