"""Schedules per second of `riaps-sim explore` with 1 and 2 worker processes, side by side.

What users run: ``explore`` over the default five-member scenario (fault phase 30 s, quiet phase
20 s of simulated time per schedule), the whole stack (simulation, checks, trace digest). Runs the
two settings alternately, best of *rounds*, so a noisy machine hurts both alike.

    python bench/explore_rate.py [--schedules 40] [--rounds 2] [--protocol riaps]
"""

from __future__ import annotations

import argparse
import time

from riaps_sim.explore import explore


def rate(schedules: int, jobs: int, protocol: str) -> float:
    started = time.perf_counter()
    explore("default", schedules, seed=11, protocol=protocol, jobs=jobs, progress=False, shrink_failures=False)
    return schedules / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--protocol", default="riaps")
    args = parser.parse_args()
    best = {1: 0.0, 2: 0.0}
    for _ in range(args.rounds):
        for jobs in (1, 2):
            best[jobs] = max(best[jobs], rate(args.schedules, jobs, args.protocol))
    print(f"explore default ({args.protocol}), {args.schedules} schedules of 50 simulated seconds, best of {args.rounds}:")
    print(f"  1 job : {best[1]:6.2f} schedules/s")
    print(f"  2 jobs: {best[2]:6.2f} schedules/s  ({best[2] / best[1]:.2f}x)")


if __name__ == "__main__":
    main()
