"""Fidelity: one scenario in both worlds, the distributions of its election and failover times.

The scenario: five Groupie members, the leader crashes at t=20 s (in the real world, SIGKILL of its
process), 30 s in all. It runs ``--real`` times as five OS processes on loopback and over
``--seeds`` seeds in simulation. Both distributions are printed, and the ratio of the medians of
time to first leader (from the last join) and of failover time (from the crash to the survivors'
agreement). Target: the medians agree within 20%.

Run: ``.venv/bin/python bench/fidelity.py [--real 10] [--seeds 200]`` (about 5 minutes for 10 real runs).
"""

from __future__ import annotations

import argparse
import statistics
import time

from riaps_sim import Scenario, run_scenario, sweep
from riaps_sim.examples import Groupie
from riaps_sim.faults import LEADER, Crash

SCENARIO = Scenario.group_of(5, Groupie, faults=[Crash(at=20.0, node=LEADER)], duration=30.0, seed=0, name="fidelity: leader crash at 20 s")


def describe(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:22} no samples"
    ordered = sorted(values)
    p95 = statistics.quantiles(ordered, n=20, method="inclusive")[-1] if len(ordered) > 1 else ordered[0]
    return f"  {name:22} n={len(ordered):4}  p50 {statistics.median(ordered):6.3f} s  p95 {p95:6.3f} s  min {ordered[0]:6.3f}  max {ordered[-1]:6.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=int, default=10, help="real runs (default 10)")
    parser.add_argument("--seeds", type=int, default=200, help="simulated seeds (default 200)")
    args = parser.parse_args()

    started = time.perf_counter()
    simulated = sweep(SCENARIO, range(args.seeds), progress=False)
    sim_first, sim_failover = simulated.values("first_leader_s"), simulated.values("failover_s")
    print(f"{SCENARIO.name}; simulation: {args.seeds} seeds in {time.perf_counter() - started:.1f} s")

    real_first, real_failover = [], []
    for i in range(args.real):
        summary = run_scenario(SCENARIO, mode="real", seed=i).summary()
        failover = next((f.duration for f in summary.failovers if f.duration is not None), None)
        print(f"  real run {i}: first leader {summary.first_leader_s}, failover {failover}, violations {len(summary.violations)}", flush=True)
        if summary.first_leader_s is not None:
            real_first.append(summary.first_leader_s)
        if failover is not None:
            real_failover.append(failover)

    print("simulation")
    print(describe("time to first leader", sim_first))
    print(describe("failover", sim_failover))
    print(f"real ZeroMQ, 5 processes on loopback ({args.real} runs)")
    print(describe("time to first leader", real_first))
    print(describe("failover", real_failover))
    for name, sim, real in [("time to first leader", sim_first, real_first), ("failover", sim_failover, real_failover)]:
        if sim and real:
            ratio = statistics.median(real) / statistics.median(sim)
            verdict = "within" if abs(ratio - 1) <= 0.2 else "OUTSIDE"
            print(f"median real/sim {name}: {ratio:.2f} ({verdict} 20%)")


if __name__ == "__main__":
    main()
