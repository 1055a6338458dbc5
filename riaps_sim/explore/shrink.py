"""Shrinking a failing schedule to a small one that still fails the same way.

First delta debugging (Zeller's ddmin) over the faults of the fault phase: remove chunks, then
single faults, while the run still breaks the same property; the quiet tail is recomputed from
what remains, and a restart whose crash was removed goes with it. Then each remaining fault is
simplified: its time moved to a round number (whole, then half seconds), its rate or latency to a
round value, while the property still breaks. The same seed is used throughout, so each step is a
deterministic re-run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from ..faults import Delay, Duplicate, Fault, Loss
from .schedules import normalise

__all__ = ["shrink", "ddmin"]

Fails = Callable[[list[Fault]], bool]


def ddmin(items: list[Fault], fails: Fails) -> list[Fault]:
    """A 1-minimal sublist of *items* for which *fails* still holds (``fails(items)`` must hold)."""
    chunks = 2
    while len(items) >= 2:
        size = max(1, len(items) // chunks)
        parts = [items[i : i + size] for i in range(0, len(items), size)]
        reduced = False
        for i in range(len(parts)):
            complement = [f for j, part in enumerate(parts) if j != i for f in part]
            if complement and fails(complement):
                items, chunks, reduced = complement, max(chunks - 1, 2), True
                break
        if not reduced:
            if chunks >= len(items):
                break
            chunks = min(len(items), chunks * 2)
    if len(items) == 1 and fails([]):
        return []
    return items


def _simpler_values(fault: Fault) -> list[Fault]:
    """Simpler variants of one fault, simplest first."""
    out: list[Fault] = []
    for rounding in (1.0, 0.5, 0.1):
        if fault.at is None:
            break
        at = round(fault.at / rounding) * rounding
        if at != fault.at and at >= 0:
            out.append(dataclasses.replace(fault, at=round(at, 3)))
    if isinstance(fault, (Loss, Duplicate)) and fault.rate not in (1.0, 0.5):
        out += [dataclasses.replace(fault, rate=1.0), dataclasses.replace(fault, rate=0.5)]
    if isinstance(fault, Delay) and fault.latency_s != round(fault.latency_s, 1):
        out.append(dataclasses.replace(fault, latency_s=round(fault.latency_s, 1)))
    return out


def shrink(faults: Sequence[Fault], fails: Fails, budget: int = 300) -> tuple[list[Fault], int]:
    """The smallest, simplest schedule found that still *fails*, and the number of runs it took.

    *fails* is called on fault-phase schedules (normalised); at most *budget* calls are made.
    """
    calls = 0
    cache: dict[tuple[Fault, ...], bool] = {}

    def check(candidate: list[Fault]) -> bool:
        nonlocal calls
        key = tuple(normalise(candidate))
        if key not in cache:
            if calls >= budget:
                return False
            calls += 1
            cache[key] = fails(list(key))
        return cache[key]

    current = normalise(faults)
    current = normalise(ddmin(current, check))
    for index in range(len(current)):
        for variant in _simpler_values(current[index]):
            candidate = current[:index] + [variant] + current[index + 1 :]
            if check(candidate):
                current = normalise(candidate)
                break
    return current, calls
