"""A check's result as text: counts, bounds, properties, and a counterexample as numbered steps and a chart."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..coord.events import Input
from .moves import Move, Step
from .world import World

if TYPE_CHECKING:
    from .search import CheckResult, Counterexample

__all__ = ["format_result", "describe", "format_violation", "sequence_chart"]


def _name(slot: int) -> str:
    return f"n{slot + 1}"


def _brief(event: Input) -> str:
    """A message's fields that matter to a reader: term, candidate or leader, vote, poll."""
    parts = []
    for key in ("term", "candidate", "leader", "member", "granted", "rfv_id", "vote", "result"):
        value = getattr(event, key, None)
        if value is None:
            continue
        if isinstance(value, bytes) and len(value) == 16:
            parts.append(f"{key} n{value[3]}" + (f"'{int.from_bytes(value[4:8], 'big')}" if value[4:8] != bytes(4) else ""))
        else:
            parts.append(f"{key} {value}")
    poll = getattr(event, "poll", None)
    if poll is not None:
        parts.append(f"poll {poll.rfv_id}")
    return ", ".join(parts)


def describe(step: Step) -> str:
    """One step in words: who did what."""
    who, e = _name(step.member), step.envelope
    if e is not None:
        what = f"{e.code}({_brief(e.event)}) from {_name(e.src)} to {_name(e.dst)}"
        return {Move.DELIVER: "deliver", Move.DROP: "drop", Move.DUPLICATE: "duplicate"}[step.move] + " " + what
    if step.move is Move.TIMER:
        return f"timer {step.timer!r} fires at {who}"
    if step.move is Move.ASK:
        return f"{who}'s component asks for a poll"
    if step.move is Move.VOTE:
        return f"{who}'s component votes {'yes' if step.vote else 'no'} in {step.rfv_id}"
    if step.move is Move.PARTITION:
        return "partition " + ",".join(map(_name, sorted(step.side))) + " | the others"
    if step.move is Move.HEAL:
        return "the partition heals"
    return f"{step.move.value} {who}"


def _state(world: World, slot: int) -> str:
    m = world.machines[slot]
    if m is None:
        return "down"
    return f"{m.role.name[0]}{m.term}"


def sequence_chart(worlds: list[World], steps: tuple[Step, ...]) -> str:
    """A small text chart: one column per member (role letter and term after each step), arrows for deliveries."""
    n = worlds[0].setting.members
    width = 8
    lines = ["     " + "".join(f"{_name(i):<{width}}" for i in range(n))]
    lines.append("     " + "".join(f"{_state(worlds[0], i):<{width}}" for i in range(n)))
    for k, (step, world) in enumerate(zip(steps, worlds[1:]), 1):
        cells = [f"{_state(world, i):<{width}}" for i in range(n)]
        e = step.envelope
        if e is not None and step.move is Move.DELIVER:
            mark = f"({e.code} to itself)" if e.src == e.dst else f"{e.code}: {_name(e.src)} -> {_name(e.dst)}"
        elif step.move is Move.TIMER:
            mark = f"{step.timer} timer at {_name(step.member)}"
        else:
            mark = describe(step)
        cells[step.member] = ("*" + cells[step.member].strip()).ljust(width)
        lines.append(f"{k:>3}  " + "".join(cells) + mark)
    lines.append("     (F follower, P pre-candidate, C candidate, L leader; the digit is the term; * marks who acted)")
    return "\n".join(lines)


def format_violation(v: Counterexample) -> str:
    """The violation: which property, what happened, the numbered steps and the chart."""
    bugs = f" (in the reference: {', '.join(v.prop.reference_bugs)}, docs/glossary.md)" if v.prop.reference_bugs else ""
    lines = [f"VIOLATED {v.prop.name}: {v.message}{bugs}", f"  {v.prop.doc}", f"  shortest counterexample, {len(v.steps)} steps:"]
    lines += [f"  {k:>3}. {describe(step)}" for k, step in enumerate(v.steps, 1)]
    lines.append("")
    lines.append(sequence_chart(v.worlds(), v.steps))
    return "\n".join(lines)


def format_result(r: CheckResult) -> str:
    """The whole result: verdict, counts, bounds, properties."""
    verdict = "VIOLATION" if r.violation is not None else "UNREACHED" if r.unreached else "OK"
    space = "closed (exhaustive within the bounds)" if r.exhaustive else f"not closed: cut at depth {r.depth}"
    lines = [
        f"check {r.protocol}, {r.members} members: {verdict}",
        f"  states {r.states:,}, distinct {r.distinct:,}, depth {r.depth}, {r.seconds:.1f} s, {r.rate:,.0f} distinct states/s",
        f"  state space {space}; {r.cut_by_bound:,} steps cut by the term or in-flight bound",
        f"  bounds: {r.bounds}",
        f"  symmetry over members: {'on' if r.symmetry else 'off'}",
        f"  always (promised by the protocol): {', '.join(r.promised) or 'none'}",
    ]
    for name, how in r.reached.items():
        lines.append(f"  sometimes {name}: {'reached (' + how + ')' if how else 'NOT REACHED'}")
    if r.violation is not None:
        lines.append(format_violation(r.violation))
    return "\n".join(lines)
