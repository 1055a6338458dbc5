"""Issue 12's check: `explore` over many schedules of five, six and seven members, both protocols.

Every fault kind is drawn (partitions one- and two-way, holding and dropping; crashes, restarts,
pauses, clock skew, loss, duplication, delay), 30 s of faults then 20 s of quiet in which the
liveness bounds are judged. Groups are configured as the docs ask of ``fixed``: ``groupMinSize``
at the group's size. Prints, per protocol and size, how many schedules failed and the violations
by property; ``fixed`` is expected to have none.

    python bench/explore_protocols.py [--schedules 10000] [--jobs 2] [--protocols fixed,riaps] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from riaps_sim import GroupType, Scenario
from riaps_sim.examples import Groupie
from riaps_sim.explore import explore

SIZES = (5, 6, 7)


def group(n: int, protocol: str) -> Scenario:
    return Scenario.group_of(n, Groupie, {"min_size": n}, group=GroupType(name="TheGroup", protocol=protocol), name=f"{n} members ({protocol})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000, help="in all, split evenly over the three sizes")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--protocols", default="fixed,riaps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="a folder for the corpora of shrunk failures (OUT/<protocol>-<n>/corpus)")
    parser.add_argument("--no-shrink", action="store_true")
    args = parser.parse_args()
    for protocol in args.protocols.split(","):
        total, failed, by_property = 0, 0, Counter[str]()
        started = time.perf_counter()
        for i, n in enumerate(SIZES):
            count = args.schedules // len(SIZES) + (1 if i < args.schedules % len(SIZES) else 0)
            out = f"{args.out}/{protocol}-{n}" if args.out else None
            result = explore(group(n, protocol), count, seed=args.seed, jobs=args.jobs, progress=False, out=out, shrink_failures=not args.no_shrink)
            total += count
            failed += len(result.failures)
            by_property.update(result.by_property())
            print(f"{protocol}, {n} members: {count} schedules, {len(result.failures)} failed {dict(result.by_property())}", flush=True)
            for shrunk in result.shrunk:
                print(f"    shrunk: {shrunk.outcome.properties} in {len(shrunk.faults)} fault(s): {[f.describe() for f in shrunk.faults]}")
        print(f"{protocol}: {total} schedules in {time.perf_counter() - started:.0f} s, {failed} failed; by property {dict(by_property)}", flush=True)


if __name__ == "__main__":
    main()
