"""Safety and liveness properties of group coordination, checked from a trace.

Safety properties say nothing bad ever happens; each violation names the time, the nodes and the
events. Liveness properties say something good happens within a bound; the bounds derive from the
group's ``Timing`` and are stated with every result, so a reader can judge them.

Safety:

- ``one_leader_per_term``: at most one member becomes leader in a term, within one
  *incarnation* of a group. A group whose last live member is gone (left or crashed) has ended;
  members that join afterwards form a new incarnation, which starts again at term 0, so leaders of
  the same term number in two incarnations never overlapped and are no violation.
- ``poll_opened_before_announced``: no result is given for a poll that no leader opened.
- plus the checks of ``invariants`` (vote results agree, no delivery outside the group, no callback
  after leaving, no crashed loop).

Health (``health``): no handler raised and every component was built (the verdict's handler
errors); some member joined, and no join named an undefined group type (membership).

Liveness (see ``LivenessBounds``):

- ``leader_after_faults``: some time after the last fault (in a run without faults, after the
  run's first event), every live member of the group agrees on one leader, within ``leader_s``;
- ``leader_without_majority_steps_down`` (``fixed`` only): a leader whose side of a partition holds
  fewer than a majority of the group's members stops leading within ``step_down_s``;
- ``polls_decided``: every poll a leader opened is announced within its timeout plus ``poll_s``,
  unless that leader stopped leading, crashed or left first, or the run ended.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..coord.promises import Promise
from ..coord.timing import Timing
from ..model import GroupType
from ..protocols import protocol_class
from ..trace import Kind, Trace, TraceEvent
from .health import components_built, joins_succeeded, members_joined, no_handler_errors, run_start
from .invariants import CHECKS as INVARIANT_CHECKS
from .invariants import Violation, expired_at_requester
from .verdict import Category, Verdict, category_of

__all__ = [
    "LivenessBounds",
    "LivenessResult",
    "Report",
    "one_leader_per_incarnation_term",
    "poll_opened_before_announced",
    "one_result_per_poll",
    "no_handler_errors",
    "components_built",
    "members_joined",
    "joins_succeeded",
    "leader_after_faults",
    "leader_without_majority_steps_down",
    "polls_decided",
    "check_safety",
    "check_liveness",
    "check_run",
    "SAFETY",
    "LIVENESS",
]

SAFETY = (
    "components_built",
    "members_joined",
    "joins_succeeded",
    "one_leader_per_term",
    "poll_opened_before_announced",
    "one_result_per_poll",
    "vote_results_agree",
    "no_delivery_outside_group",
    "no_callback_after_leaving",
    "no_crashed_loop",
    "no_handler_errors",
)
LIVENESS = ("leader_after_faults", "leader_without_majority_steps_down", "polls_decided")


@dataclass(frozen=True, slots=True)
class LivenessBounds:
    """How long each liveness property may take, in seconds, derived from a group's timing.

    ``leader_s``: peer timeout + 4 election windows + 2 heartbeats (a dead leader ages out, up to
    four split elections, the winner's announcement reaches everyone). ``step_down_s``: peer
    timeout + 2 heartbeats (the leader notices lost members, then its next heartbeat steps down).
    ``poll_s``: past the poll's own timeout, 2 heartbeats (the timer and the announcement).
    """

    leader_s: float
    step_down_s: float
    poll_s: float

    @classmethod
    def from_timing(cls, timing: Timing) -> LivenessBounds:
        heartbeat = timing.heartbeat_ms / 1000.0
        election = timing.election_max_ms / 1000.0
        peer = timing.peer_timeout_ms / 1000.0
        return cls(leader_s=peer + 4 * election + 2 * heartbeat, step_down_s=peer + 2 * heartbeat, poll_s=2 * heartbeat)

    def __str__(self) -> str:
        return (
            f"leader within {self.leader_s:g} s of the last fault, step-down within {self.step_down_s:g} s, polls within timeout + {self.poll_s:g} s"
        )


@dataclass(frozen=True, slots=True)
class LivenessResult:
    """One liveness property of one group: how long it took (``None``: never), and whether it was checked.

    ``checked`` is false when the run ended before the bound could expire (nothing to say).
    """

    prop: str
    group: str
    took_s: float | None
    bound_s: float
    checked: bool = True

    @property
    def holds(self) -> bool:
        return not self.checked or (self.took_s is not None and self.took_s <= self.bound_s)


@dataclass
class Report:
    """Everything checked of one run: violations (safety and liveness), liveness timings, and what was checked."""

    violations: list[Violation] = field(default_factory=list)
    liveness: list[LivenessResult] = field(default_factory=list)
    checked: tuple[str, ...] = ()
    bounds: dict[str, LivenessBounds] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No violation of any kind (liveness included); ``verdict()`` can leave liveness out."""
        return not self.violations

    def safety_violations(self) -> list[Violation]:
        """Every violation but liveness: safety, handler errors, components not built, membership."""
        return [v for v in self.violations if category_of(v.invariant) != Category.LIVENESS]

    def of_category(self, category: Category) -> list[Violation]:
        """The violations of *category*, in time order."""
        return [v for v in self.violations if category_of(v.invariant) == category]

    def verdict(self, *, liveness: bool = True, warnings: int = 0) -> Verdict:
        """The run's ``Verdict`` (liveness left out if *liveness* is false; *warnings* counted beside it)."""
        return Verdict.of(self.violations, warnings=warnings, liveness=liveness)

    def lines(self, liveness: bool = True) -> list[str]:
        """The report for a summary: what was checked, with which bounds, and the violations of each category.

        The verdict's own line is not among them: the summary prints it once, last.
        """
        checked = {c: [p for p in self.checked if category_of(p) == c] for c in Category}
        out = ["  checked: " + "; ".join(f"{c} ({', '.join(props)})" for c, props in checked.items() if props)]
        out += [f"  liveness bounds for {name}: {bounds}" for name, bounds in sorted(self.bounds.items())]
        for category in Category:
            found = self.of_category(category)
            if not found:
                continue
            aside = ", left out of the verdict" if category == Category.LIVENESS and not liveness else ""
            out.append(f"  {_HEADINGS[category]} ({len(found)}{aside}):")
            out += [f"    {v}" for v in found[:20]] + ([f"    ... {len(found) - 20} more"] if len(found) > 20 else [])
        return out

    def by_property(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for v in self.violations:
            counts[v.invariant] += 1
        return dict(counts)


_HEADINGS = {
    Category.SAFETY: "SAFETY VIOLATIONS",
    Category.LIVENESS: "LIVENESS VIOLATIONS",
    Category.HANDLER_ERRORS: "HANDLER ERRORS",
    Category.MEMBERSHIP: "MEMBERSHIP FAILURES",
}


# -- the group's life, replayed -------------------------------------------------------------------------

_SIDE = re.compile(r"^partition (?P<sides>.*) \((?P<mode>hold|drop)(?P<oneway>, one-way)?\)$")


def _partition_sides(detail: str) -> tuple[list[set[str]], bool] | None:
    match = _SIDE.match(detail)
    if match is None:
        return None
    sides = [set(filter(None, (n.strip() for n in side.split(",")))) for side in match["sides"].split("|")]
    return sides, bool(match["oneway"])


@dataclass
class _Member:
    node: str
    incarnation: int
    role: str = "follower"
    term: int = 0
    view: str | None = None


class _GroupLife:
    """One group's members, roles, views and incarnations, replayed event by event."""

    def __init__(self) -> None:
        self.members: dict[str, _Member] = {}  # live members by id
        self.configuration: dict[str, str] = {}  # members that count for a majority: id -> node
        self.incarnation = 0
        self.ended = True  # no incarnation yet
        self.by_component: dict[tuple[str, str | None], str] = {}

    def join(self, member: str, node: str, component: str | None) -> None:
        if self.ended:
            self.incarnation += 1
            self.ended = False
            self.configuration.clear()
        self.members[member] = _Member(node, self.incarnation)
        self.configuration[member] = node
        self.by_component[(node, component)] = member

    def gone(self, member: str, graceful: bool) -> None:
        if self.members.pop(member, None) is not None and not self.members:
            self.ended = True
        if graceful:
            self.configuration.pop(member, None)

    def crash(self, node: str) -> None:
        for member in [m for m, info in self.members.items() if info.node == node]:
            self.gone(member, graceful=False)

    def restart(self, node: str) -> None:
        """A restarted node's old members are retired: its new incarnation joins afresh."""
        for member in [m for m, where in self.configuration.items() if where == node and m not in self.members]:
            del self.configuration[member]

    def leaders(self) -> list[str]:
        return [m for m, info in self.members.items() if info.role == "leader"]

    def agreed_leader(self) -> str | None:
        leaders = self.leaders()
        if len(leaders) != 1:
            return None
        leader = leaders[0]
        return leader if all(m == leader or info.view == leader for m, info in self.members.items()) else None


def _coordinated_groups(trace: Trace) -> list[str]:
    return sorted({e.group for e in trace if e.group is not None and e.kind == Kind.GROUP_JOINED})


def _lives(trace: Trace) -> Iterable[tuple[TraceEvent, dict[str, _GroupLife], str | None]]:
    """Yield ``(event, lives, group)`` after applying each event, in time order."""
    lives: dict[str, _GroupLife] = defaultdict(_GroupLife)
    for e in trace.sorted():
        kind = e.kind
        if kind == Kind.FAULT:
            verb, _, rest = (e.detail or "").partition(" ")
            if verb == "crash":
                for life in lives.values():
                    life.crash(rest.strip())
            elif verb == "restart":
                for life in lives.values():
                    life.restart(rest.strip())
            yield e, lives, None
            continue
        if e.group is None:
            yield e, lives, None
            continue
        life = lives[e.group]
        if kind == Kind.GROUP_JOINED and e.peer:
            life.join(e.peer, e.node, e.component)
        elif kind == Kind.GROUP_LEFT:
            member = life.by_component.pop((e.node, e.component), None)
            if member is not None:
                life.gone(member, graceful=True)
        elif kind == Kind.STATE and e.peer in life.members:
            info = life.members[e.peer]
            info.role, info.term = e.detail or "", e.term or 0
        elif kind in (Kind.LEADER_ELECTED, Kind.LEADER_EXITED):
            member = life.by_component.get((e.node, e.component))
            if member in life.members:
                life.members[member].view = e.peer if kind == Kind.LEADER_ELECTED else None
        yield e, lives, e.group


# -- safety ----------------------------------------------------------------------------------------------


def one_leader_per_incarnation_term(trace: Trace) -> list[Violation]:
    """At most one member becomes leader in any (group, incarnation, term)."""
    firsts: dict[tuple[str, int, int], dict[str, TraceEvent]] = defaultdict(dict)
    for e, lives, group in _lives(trace):
        if group is not None and e.kind == Kind.STATE and e.detail == "leader" and e.peer in lives[group].members:
            incarnation = lives[group].members[e.peer].incarnation
            firsts[(group, incarnation, e.term or 0)].setdefault(e.peer, e)
    out = []
    for (group, incarnation, term), leaders in firsts.items():
        if len(leaders) > 1:
            events = tuple(leaders.values())
            text = f"{len(leaders)} leaders in term {term} of {group} (incarnation {incarnation}): members {', '.join(m[:8] for m in leaders)}"
            out.append(Violation("one_leader_per_term", events[1].when, tuple(e.node for e in events), events, text))
    return out


def poll_opened_before_announced(trace: Trace) -> list[Violation]:
    """No member is given a result for a poll that no leader opened before (a requester's own ``timeout`` at its
    deadline needs none: its request may never have reached a leader)."""
    opened: set[tuple[str | None, object]] = set()
    out = []
    own = expired_at_requester(trace)
    for e in trace.select(kind=[Kind.VOTE_REQUESTED, Kind.VOTE_ANNOUNCED]).sorted():
        if e.component and (e.node, e.group, e.msg_id) in own:
            continue
        key = (e.group, e.msg_id)
        if e.kind == Kind.VOTE_REQUESTED:
            opened.add(key)
        elif key not in opened:
            out.append(
                Violation(
                    "poll_opened_before_announced",
                    e.when,
                    (e.node,),
                    (e,),
                    f"result {e.detail!r} of poll {e.msg_id} of {e.group}, which no leader opened",
                )
            )
            opened.add(key)  # one report per poll
    return out


def one_result_per_poll(trace: Trace, protocols: Mapping[str, str]) -> list[Violation]:
    """Groups whose protocol promises ``one_result_per_poll`` (``fixed``): each member's component is told a poll's
    result at most once (a duplicated ``ann`` is not told again)."""
    promising = _promising(protocols, Promise.ONE_RESULT_PER_POLL)
    if not promising:
        return []
    told: set[tuple[str, str | None, str | None, object]] = set()
    out = []
    for e in trace.select(kind=Kind.VOTE_ANNOUNCED).sorted():
        if not e.component or (e.group or "").split(".")[0] not in promising:
            continue
        key = (e.node, e.component, e.group, e.msg_id)
        if key in told:
            text = f"{e.node}/{e.component} is told the result of poll {e.msg_id} of {e.group} a second time ({e.detail!r})"
            out.append(Violation("one_result_per_poll", e.when, (e.node,), (e,), text))
        told.add(key)
    return out


def check_safety(trace: Trace) -> list[Violation]:
    """Every safety check; violations in time order."""
    checks = {
        "one_leader_per_term": one_leader_per_incarnation_term,
        "poll_opened_before_announced": poll_opened_before_announced,
        "no_handler_errors": no_handler_errors,
        "components_built": components_built,
        "joins_succeeded": joins_succeeded,
        **{name: check for name, check in INVARIANT_CHECKS.items() if name != "one_leader_per_term"},
    }
    return sorted((v for check in checks.values() for v in check(trace)), key=lambda v: v.time)


# -- liveness --------------------------------------------------------------------------------------------


def _last_fault(trace: Trace) -> float:
    """When the last fault fell; with no fault, the run's start (so a fault-free run is judged from its start on any time axis)."""
    faults = [e.when for e in trace.select(kind=Kind.FAULT)]
    return max(faults) if faults else run_start(trace)


def leader_after_faults(
    trace: Trace, bounds: Mapping[str, LivenessBounds], end: float, quiet_from: float | None = None
) -> tuple[list[LivenessResult], list[Violation]]:
    """How long after the last fault (or *quiet_from*) every live member of each group agreed on one leader.

    A run without faults is judged from its start (its first event), whatever the trace's clock.
    """
    start = _last_fault(trace) if quiet_from is None else quiet_from
    reached: dict[str, float] = {}
    agreed_at_start: dict[str, bool] = {}  # after the last event at or before *start*: a leader that needs no new event
    for e, lives, group in _lives(trace):
        if e.when <= start:
            if group is not None:
                life = lives[group]
                agreed_at_start[group] = bool(life.members) and life.agreed_leader() is not None
            else:  # a crash or restart may touch every group
                agreed_at_start = {name: bool(life.members) and life.agreed_leader() is not None for name, life in lives.items()}
            if e.when < start:
                continue
        for name, life in lives.items():
            if name not in reached and life.members and life.agreed_leader() is not None:
                reached[name] = e.when
    for name, agreed in agreed_at_start.items():
        if agreed:
            reached[name] = start
    results, violations = [], []
    for group in _coordinated_groups(trace):
        bound = _bounds_for(bounds, group).leader_s
        took = reached[group] - start if group in reached else None
        checked = took is not None or end - start >= bound
        result = LivenessResult("leader_after_faults", group, took, bound, checked)
        results.append(result)
        if not result.holds:
            text = f"no leader agreed by all live members of {group} within {bound:g} s after the last fault at {start:.3f} s"
            violations.append(Violation("leader_after_faults", start + bound, (), (), text))
    return results, violations


#: A pause fault as the trace names it: ``pause NODE for SECONDS s``.
_PAUSE = re.compile(r"^pause (?P<node>\S+) for (?P<seconds>[0-9.]+) s$")
_NEVER = float("-inf")


def _promising(protocols: Mapping[str, str], promise: Promise) -> set[str]:
    """The group types (of *protocols*, group type -> a registered protocol or ``module:Class``) whose protocol promises *promise*."""
    return {name for name, protocol in protocols.items() if promise in protocol_class(protocol).PROMISES}


def _group_protocols(types: Iterable[GroupType]) -> dict[str, str]:
    """Coordinated group type name -> its protocol."""
    return {g.name: g.protocol for g in types if getattr(g, "kind", "leader") != "default"}


def leader_without_majority_steps_down(
    trace: Trace, bounds: Mapping[str, LivenessBounds], protocols: Mapping[str, str], end: float
) -> list[Violation]:
    """Groups whose protocol promises ``steps_down_without_quorum`` (check-quorum, as ``fixed``): a leader cut off
    from a majority of the group stops leading within the bound.

    The bound counts the leader's running time: a paused process cannot step down, so the count
    starts again when its pause ends.
    """
    promising = _promising(protocols, Promise.STEPS_DOWN_WITHOUT_QUORUM)
    sides: list[set[str]] = []
    since: dict[tuple[str, str], float] = {}  # (group, leader) -> when it lost its majority
    paused_until: dict[str, float] = {}  # node -> when its latest pause ends
    out = []

    def check(now: float, lives: Mapping[str, _GroupLife]) -> None:
        for name, life in lives.items():
            if name.split(".")[0] not in promising:
                continue
            bound = _bounds_for(bounds, name).step_down_s
            majority = len(life.configuration) // 2 + 1
            for leader in life.leaders():
                key = (name, leader)
                node = life.members[leader].node
                side = next((s for s in sides if node in s), None)
                cut = set().union(*sides)  # a node on no side of the cut reaches, and is reached by, every side
                reach = sum(1 for m in life.members.values() if side is None or m.node in side or m.node not in cut)
                if reach >= majority:
                    since.pop(key, None)
                    continue
                started = max(since.setdefault(key, now), paused_until.get(node, _NEVER))
                if now - started > bound:
                    text = f"leader {leader[:8]} on {node} kept leading {name} with {reach} of {len(life.configuration)} members in reach for over {bound:g} s (since {started:.3f} s)"
                    out.append(Violation("leader_without_majority_steps_down", started + bound, (node,), (), text))
                    since[key] = float("inf")  # reported once
            for key in [k for k in since if k[0] == name and k[1] not in life.leaders()]:
                del since[key]

    lives_now: Mapping[str, _GroupLife] = {}
    for e, lives, _group in _lives(trace):
        if e.kind == Kind.FAULT:
            detail = e.detail or ""
            parsed = _partition_sides(detail)
            if parsed is not None:
                sides = parsed[0] if not parsed[1] else []  # a one-way cut leaves both sides in reach of the leader's heartbeats one way
            elif detail == "heal":
                sides = []
            else:
                pause = _PAUSE.match(detail)
                if pause is not None:
                    paused_until[pause["node"]] = e.when + float(pause["seconds"])
        check(e.when, lives)
        lives_now = lives
    check(end, lives_now)
    return out


def polls_decided(trace: Trace, bounds: Mapping[str, LivenessBounds], end: float) -> list[Violation]:
    """Every poll a leader opened is announced by it within the poll's timeout plus the bound, unless it stopped leading first."""
    open_polls: dict[tuple[str, str, object], tuple[TraceEvent, float]] = {}
    out = []
    for e, _lives_now, group in _lives(trace):
        if group is None:
            if e.kind == Kind.FAULT and (e.detail or "").startswith("crash "):
                node = (e.detail or "").split(" ", 1)[1]
                for key in [k for k in open_polls if k[1] == node]:
                    del open_polls[key]
            continue
        if e.kind == Kind.VOTE_REQUESTED and e.component is None:
            timeout = _poll_timeout(e.detail)
            open_polls[(group, e.node, e.msg_id)] = (e, e.when + (timeout or 0.0) + _bounds_for(bounds, group).poll_s)
        elif e.kind == Kind.VOTE_ANNOUNCED and e.component is None:
            open_polls.pop((group, e.node, e.msg_id), None)
        elif (e.kind == Kind.STATE and e.detail != "leader") or e.kind == Kind.GROUP_LEFT:
            for key in [k for k in open_polls if k[0] == group and k[1] == e.node]:
                del open_polls[key]
    for (group, node, poll), (event, deadline) in open_polls.items():
        if deadline <= end:
            out.append(
                Violation(
                    "polls_decided",
                    deadline,
                    (node,),
                    (event,),
                    f"poll {poll} of {group}, opened at {event.when:.3f} s by {node}, not decided by {deadline:.3f} s",
                )
            )
    return out


_TIMEOUT = re.compile(r"timeout (?P<s>[0-9.eE+-]+) s")


def _poll_timeout(detail: str | None) -> float | None:
    match = _TIMEOUT.search(detail or "")
    return float(match["s"]) if match else None


def _bounds_for(bounds: Mapping[str, LivenessBounds], group: str) -> LivenessBounds:
    gtype = group.split(".")[0]
    if gtype in bounds:
        return bounds[gtype]
    return LivenessBounds.from_timing(Timing())


def check_liveness(
    trace: Trace, group_types: Iterable[GroupType], end: float, quiet_from: float | None = None
) -> tuple[list[LivenessResult], list[Violation]]:
    """Every liveness check over the run that ended at *end* (seconds, the trace's clock)."""
    types = list(group_types)
    bounds = {g.name: LivenessBounds.from_timing(g.timing) for g in types}
    protocols = _group_protocols(types)
    coordinated = {name: b for name, b in bounds.items() if name in protocols}
    results, violations = leader_after_faults(trace, coordinated, end, quiet_from)
    violations += leader_without_majority_steps_down(trace, coordinated, protocols, end)
    violations += polls_decided(trace, coordinated, end)
    return results, sorted(violations, key=lambda v: v.time)


def check_run(trace: Trace, group_types: Iterable[GroupType], end: float, quiet_from: float | None = None) -> Report:
    """Safety and liveness of one run, as a ``Report``."""
    types = list(group_types)
    results, liveness = check_liveness(trace, types, end, quiet_from)
    bounds = {g.name: LivenessBounds.from_timing(g.timing) for g in types}
    protocols = _group_protocols(types)
    violations = check_safety(trace) + one_result_per_poll(trace, protocols) + members_joined(trace, types) + liveness
    return Report(sorted(violations, key=lambda v: v.time), results, SAFETY + LIVENESS, bounds)
