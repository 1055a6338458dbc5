"""Seeds per second of a sweep of the default scenario with 1 and 2 worker processes, side by side.

What ``riaps-sim sweep default --seeds 1-40 --jobs J`` does, whole: each seed is a simulated run of
the built-in five-member scenario (60 simulated seconds, the leader cut off from 20 s to 40 s),
its summary and checks, in a pool of *J* worker processes (started for the sweep, as the command
starts them). The two settings run alternately, best of *rounds*, so a noisy machine hurts both
alike.

    python bench/sweep_rate.py [--seeds 40] [--rounds 2] [--scenario default]
"""

from __future__ import annotations

import argparse
import time

from riaps_sim.sweep import sweep


def rate(scenario: str, seeds: int, jobs: int) -> float:
    started = time.perf_counter()
    result = sweep(scenario, range(1, seeds + 1), jobs=jobs, progress=False)
    assert len(result.runs) == seeds
    return seeds / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scenario", default="default")
    args = parser.parse_args()
    best = {1: 0.0, 2: 0.0}
    for _ in range(args.rounds):
        for jobs in (1, 2):
            best[jobs] = max(best[jobs], rate(args.scenario, args.seeds, jobs))
    print(f"sweep {args.scenario}, {args.seeds} seeds, best of {args.rounds}:")
    print(f"  1 job : {best[1]:6.2f} seeds/s")
    print(f"  2 jobs: {best[2]:6.2f} seeds/s  ({best[2] / best[1]:.2f}x)")


if __name__ == "__main__":
    main()
