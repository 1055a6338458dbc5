"""Distinct states per second of `riaps-sim check` on one core, and where the time goes.

A breadth-first check of ``fixed`` (no symmetry) and ``riaps`` (with symmetry) over elections, no
faults, no polls, one message queued per member; best of *rounds*. With ``--profile``, the top
costs of one ``fixed`` run by own time (cProfile).

    python bench/check_rate.py [--depth 7] [--rounds 1] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

from riaps_sim.check import Bounds, check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    bounds = Bounds(max_depth=args.depth, max_term=1, max_in_flight=1, max_faults=0, max_polls=0)
    for protocol in ("fixed", "riaps"):
        best = max((check(protocol, bounds=bounds) for _ in range(args.rounds)), key=lambda r: r.rate)
        print(
            f"{protocol:6} symmetry {'on ' if best.symmetry else 'off'}  {best.distinct:>9,} distinct  {best.states:>9,} states  depth {best.depth}  {best.seconds:6.1f} s  {best.rate:8,.0f} distinct states/s"
        )
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(check, "fixed", bounds=bounds)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
