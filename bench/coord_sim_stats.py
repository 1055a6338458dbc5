"""Distributions of election and failover times in simulation, over many seeds (default timings).

Prints p50 / p95 / max over the seeds for:
- time until five members agree on one leader, from the start (all join at t=0);
- failover: from the leader's crash until the four survivors agree on a new leader;
- the wall time the sweep took.

Run: ``.venv/bin/python bench/coord_sim_stats.py [--seeds N] [--protocol riaps|fixed]``
"""

from __future__ import annotations

import argparse
import statistics
import time

from riaps_sim.analysis import failovers, first_leader_time
from riaps_sim.examples import Groupie
from riaps_sim.model import GroupType
from riaps_sim.runtime.sim import Simulation


def run(seed: int, protocol: str) -> tuple[float | None, float | None]:
    sim = Simulation([GroupType(name="TheGroup", protocol=protocol)], seed=seed)
    for i in range(5):
        sim.add_node(f"n{i}", {"groupie": Groupie})
    sim.run(until=15)
    first = first_leader_time(sim.trace)
    leaders = [n for n, node in sim.nodes.items() if node.members[0].machine.is_leader]
    sim.network.crash(leaders[0])
    sim.run(until=35)
    lost = [f for f in failovers(sim.trace) if f.cause.startswith("crash")]
    return first, lost[0].duration if lost else None


def describe(name: str, values: list[float | None]) -> str:
    done = sorted(v for v in values if v is not None)
    if not done:
        return f"{name:12} never"
    p95 = statistics.quantiles(done, n=20, method="inclusive")[-1] if len(done) > 1 else done[0]
    return f"{name:12} p50 {statistics.median(done):6.3f} s   p95 {p95:6.3f} s   max {done[-1]:6.3f} s   ({len(done)}/{len(values)} seeds)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--protocol", default="riaps", choices=["riaps", "fixed"])
    args = parser.parse_args()
    start = time.perf_counter()
    results = [run(seed, args.protocol) for seed in range(args.seeds)]
    wall = time.perf_counter() - start
    print(f"protocol {args.protocol}, 5 members, default timings, {args.seeds} seeds, {wall:.2f} s wall")
    print(describe("first leader", [r[0] for r in results]))
    print(describe("failover", [r[1] for r in results]))


if __name__ == "__main__":
    main()
