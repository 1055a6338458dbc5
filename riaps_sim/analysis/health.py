"""The health of a run, checked from its trace: user code that raised, and members that never joined.

These are the verdict's handler-error and membership categories (``verdict.Category``): a run
whose handlers raised, or in which nobody joined a group, is never healthy, whatever its safety
and liveness say.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..model import GroupType
from ..trace import Kind, Trace
from .invariants import Violation

__all__ = ["FailedJoin", "failed_joins", "no_handler_errors", "components_built", "members_joined", "joins_succeeded", "run_start"]


def run_start(trace: Trace) -> float:
    """The run's start on the trace's clock: its first event (row or counted heartbeat), 0.0 for an empty trace."""
    firsts = [e.when for e in trace] + [t.first for t in trace.tallies().values() if t.count]
    return min(firsts, default=0.0)


_NOT_HANDLER = ("loop crashed", "process died", "could not build")


def no_handler_errors(trace: Trace) -> list[Violation]:
    """No user handler raised (each error is logged and traced; the node went on)."""
    return [
        Violation("no_handler_errors", e.when, (e.node,), (e,), e.detail or "")
        for e in trace.select(kind=Kind.ERROR).sorted()
        if not (e.detail or "").startswith(_NOT_HANDLER)
    ]


def components_built(trace: Trace) -> list[Violation]:
    """Every component of the scenario could be built (its constructor did not raise)."""
    return [
        Violation("components_built", e.when, (e.node,), (e,), e.detail or "")
        for e in trace.select(kind=Kind.ERROR).sorted()
        if (e.detail or "").startswith("could not build")
    ]


def members_joined(trace: Trace, group_types: Iterable[GroupType]) -> list[Violation]:
    """Where the scenario has group types, some member joined a group: a run with no members checks nothing."""
    if not list(group_types) or trace.select(kind=Kind.GROUP_JOINED):
        return []
    when = run_start(trace)
    return [Violation("members_joined", when, (), (), "no component joined any group: nothing about the groups was tested (a misspelt group type?)")]


@dataclass(frozen=True, slots=True)
class FailedJoin:
    """A component's ``joinGroup`` that named a group type the scenario does not define, on some nodes."""

    component: str | None
    group_type: str
    nodes: tuple[str, ...]
    defined: tuple[str, ...]

    def __str__(self) -> str:
        defined = ", ".join(self.defined) or "no group types"
        return (
            f"component {self.component!r} (on {', '.join(self.nodes)}) joins group type {self.group_type!r}, "
            f"which the scenario does not define; it defines {defined}"
        )


def failed_joins(trace: Trace) -> list[FailedJoin]:
    """Every join that named an undefined group type, once per component and group type, in order of first failure.

    The runtime traces such a join as an ``error`` row whose ``data`` holds ``unknown_group_type``
    and ``defined`` (``riaps_sim.model.UnknownGroupType``).
    """
    found: dict[tuple[str | None, str], FailedJoin] = {}
    for e in trace.select(kind=Kind.ERROR).sorted():
        data = e.data or {}
        if "unknown_group_type" not in data:
            continue
        key = (e.component, str(data["unknown_group_type"]))
        before = found.get(key)
        nodes = before.nodes if before is not None else ()
        found[key] = FailedJoin(key[0], key[1], nodes if e.node in nodes else (*nodes, e.node), tuple(data.get("defined") or ()))
    return list(found.values())


def joins_succeeded(trace: Trace) -> list[Violation]:
    """Every ``joinGroup`` a component called joined: none named a group type the scenario does not define.

    One violation per failed join (per node), from the ``error`` rows ``failed_joins`` reads.
    """
    out = []
    for e in trace.select(kind=Kind.ERROR).sorted():
        data = e.data or {}
        if "unknown_group_type" in data:
            defined = ", ".join(data.get("defined") or []) or "none"
            text = (
                f"component {e.component} joins group type {data['unknown_group_type']!r}, which the scenario does not define (it defines: {defined})"
            )
            out.append(Violation("joins_succeeded", e.when, (e.node,), (e,), text))
    return out
