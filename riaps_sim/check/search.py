"""The breadth-first search over worlds: :func:`check` and its typed result.

Breadth-first, so the first violation found has a shortest path, and every state within
``max_depth`` steps is seen once (by fingerprint, :mod:`.canon`). The search keeps one parent link
per distinct state, from which a counterexample's steps are read back and replayed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..coord.machine import GroupMachine
from ..progress import progress_bar
from ..protocols import protocol_class
from .bounds import Bounds
from .canon import fingerprint
from .moves import Step
from .properties import SOMETIMES, SYMMETRY, Property, Transition, promised
from .world import Setting, World, initial_world

__all__ = ["check", "CheckResult", "Counterexample"]


@dataclass(frozen=True, slots=True)
class Counterexample:
    """An always property broken: what, and the shortest path to it (:meth:`worlds` replays it)."""

    prop: Property
    message: str
    steps: tuple[Step, ...]
    setting: Setting

    def worlds(self) -> list[World]:
        """The initial world and the world after each step, replayed."""
        out = [initial_world(self.setting)]
        for step in self.steps:
            nxt = out[-1].after(step)
            if nxt is None:
                raise AssertionError(f"the counterexample does not replay at {step}")
            out.append(nxt)
        return out


@dataclass(slots=True)
class CheckResult:
    """What a check found and how far it looked.

    Attributes
    ----------
    protocol : str
    members : int
    bounds : Bounds
    symmetry : bool
        Whether states were merged under renamings of members.
    promised : tuple of str
        The always properties checked (the protocol's ``PROMISES``).
    states : int
        Successor states generated (every step taken from every explored state).
    distinct : int
        Distinct states (fingerprints) seen.
    depth : int
        The deepest level explored.
    seconds : float
    exhaustive : bool
        True when the search ran out of new states before ``max_depth``: the space within the
        other bounds is closed. (Steps cut by a bound are counted in *cut_by_bound*.)
    cut_by_bound : int
        Steps not taken because they would cross the term or in-flight bound.
    violation : Counterexample or None
    reached : dict
        Sometimes property name -> how it was first reached (None: never).
    """

    protocol: str
    members: int
    bounds: Bounds
    symmetry: bool
    promised: tuple[str, ...]
    states: int = 0
    distinct: int = 0
    depth: int = 0
    seconds: float = 0.0
    exhaustive: bool = False
    cut_by_bound: int = 0
    violation: Counterexample | None = None
    reached: dict[str, str | None] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Distinct states per second."""
        return self.distinct / self.seconds if self.seconds > 0 else 0.0

    @property
    def unreached(self) -> list[str]:
        """The sometimes properties never reached."""
        return [name for name, how in self.reached.items() if how is None]

    @property
    def ok(self) -> bool:
        """No violation, and every sometimes property reached."""
        return self.violation is None and not self.unreached

    def __str__(self) -> str:
        from .report import format_result

        return format_result(self)


def _protocol_class(protocol: str | type[GroupMachine]) -> type[GroupMachine]:
    if isinstance(protocol, type) and issubclass(protocol, GroupMachine):
        return protocol
    return protocol_class(protocol)  # a registered name, or a user's module:Class


def check(
    protocol: str | type[GroupMachine] = "fixed",
    *,
    members: int = 3,
    bounds: Bounds | None = None,
    group_min_size: int | None = None,
    symmetry: bool | None = None,
    loopback: bool = False,
    progress: bool | TextIO = False,
) -> CheckResult:
    """Explore every state of *members* machines of *protocol* within *bounds*, breadth-first.

    Parameters
    ----------
    protocol : str or GroupMachine subclass
        A name in ``riaps_sim.coord.protocol.PROTOCOLS``, a user's ``module:Class``, or a machine class.
    members : int
        Group size, 2 to 5.
    bounds : Bounds, optional
        Defaults: ``Bounds()``.
    group_min_size : int, optional
        ``groupMinSize``; default *members* (the group's size).
    symmetry : bool, optional
        Merge states that differ by a renaming of members. Default: when the protocol promises
        ``member_symmetric``; forcing it on for one that does not may merge states that behave
        differently (ids that break ties).
    loopback : bool
        Whether a member's own publications queue in flight like everyone else's. Default False:
        it hears them at once, after the input that made them (a reduction of the state space that
        keeps every other interleaving; see docs/howto/check.md).
    progress : bool or stream
        A progress bar (``tqdm``) on stderr or the stream given.

    Returns
    -------
    CheckResult
        Stops at the first violation of a promised always property (a shortest path to it).

    Raises
    ------
    ValueError
        For an unknown protocol, a bad member count or group size, or a ``PROMISES`` entry that
        names no property.
    """
    cls = _protocol_class(protocol)
    if not isinstance(members, int) or isinstance(members, bool) or not 2 <= members <= 5:
        raise ValueError(f"members must be an int from 2 to 5, got {members!r}")
    bounds = bounds if bounds is not None else Bounds()
    gms = members if group_min_size is None else group_min_size
    if not isinstance(gms, int) or isinstance(gms, bool) or gms < 2:
        raise ValueError(f"group_min_size must be an int >= 2, got {gms!r}")
    always = promised(cls)
    symmetric = SYMMETRY in getattr(cls, "PROMISES", frozenset()) if symmetry is None else bool(symmetry)
    setting = Setting(protocol=cls, members=members, bounds=bounds, group_min_size=gms, loopback=loopback)
    result = CheckResult(
        protocol=cls.name or cls.__name__,
        members=members,
        bounds=bounds,
        symmetry=symmetric,
        promised=tuple(p.name for p in always),
        reached={p.name: None for p in SOMETIMES},
    )
    bar = progress_bar(0, progress, f"check {result.protocol}", "states")
    started = time.perf_counter()
    try:
        _search(setting, always, symmetric, result, bar.update if bar is not None else None)
    finally:
        result.seconds = time.perf_counter() - started
        if bar is not None:
            bar.close()
    return result


def _search(setting: Setting, always: tuple[Property, ...], symmetric: bool, result: CheckResult, tick: Callable[[int], Any] | None) -> None:
    start = initial_world(setting)
    first = fingerprint(start, symmetric)
    parents: dict[int, tuple[int, Step] | None] = {first: None}
    level: deque[tuple[int, World]] = deque([(first, start)])
    max_depth = setting.bounds.max_depth
    todo = list(SOMETIMES)
    depth = 0
    while level and depth < max_depth:
        depth += 1
        result.depth = depth
        following: deque[tuple[int, World]] = deque()
        before_level = len(parents)
        while level:
            fp, world = level.popleft()
            for step in world.moves():
                nxt = world.after(step)
                if nxt is None:
                    result.cut_by_bound += 1
                    continue
                result.states += 1
                transition = Transition(world, step, nxt)
                for prop in always:
                    message = prop.test(transition)
                    if message is not None:
                        result.distinct = len(parents)
                        result.violation = Counterexample(prop, message, _path(parents, fp) + (step,), setting)
                        return
                if todo:
                    for prop in list(todo):
                        how = prop.test(transition)
                        if how is not None:
                            result.reached[prop.name] = how
                            todo.remove(prop)
                key = fingerprint(nxt, symmetric)
                if key not in parents:
                    parents[key] = (fp, step)
                    following.append((key, nxt))
        if tick is not None:
            tick(len(parents) - before_level)
        level = following
    result.distinct = len(parents)
    result.exhaustive = not level


def _path(parents: dict[int, tuple[int, Step] | None], fp: int) -> tuple[Step, ...]:
    steps: list[Step] = []
    link = parents[fp]
    while link is not None:
        fp, step = link
        steps.append(step)
        link = parents[fp]
    return tuple(reversed(steps))
