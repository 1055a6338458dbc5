"""Distributions of the coordination checks of issue 4, in simulation, over many seeds (default timings).

Prints p50 / p95 / max over the seeds for:
- time until five members agree on one leader (all join at t=0);
- failover: from the leader's crash until the four survivors agree on a new leader;
- leave: from a member's leaveGroup until the last other member's handleMemberLeft;
- vote: from requestVote until the last of three members gets handleVoteResult (majority, consensus);
- leader round trip: from a member's sendToLeader until the leader's reply reaches it;
and the wall time of the whole sweep.

Run: ``.venv/bin/python bench/coord_sim_stats.py [--seeds N] [--protocol riaps|fixed]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

from riaps_sim.analysis import failovers, first_leader_time
from riaps_sim.examples import Groupie
from riaps_sim.model import GroupType
from riaps_sim.runtime.sim import Simulation
from riaps_sim.trace import Kind


def group(n: int, seed: int, protocol: str, **groupie: object) -> Simulation:
    sim = Simulation([GroupType(name="TheGroup", protocol=protocol)], seed=seed)
    for i in range(n):
        sim.add_node(f"n{i}", {"g": lambda: Groupie(**groupie)})  # type: ignore[arg-type]
    return sim


def election_and_failover(seed: int, protocol: str) -> tuple[float | None, float | None]:
    sim = group(5, seed, protocol)
    sim.run(until=15)
    first = first_leader_time(sim.trace)
    leader = next(n for n, node in sim.nodes.items() if node.members[0].machine.is_leader)
    sim.network.crash(leader)
    sim.run(until=35)
    lost = [f for f in failovers(sim.trace) if f.cause.startswith("crash")]
    return first, lost[0].duration if lost else None


def leave(seed: int, protocol: str) -> float:
    sim = group(4, seed, protocol)
    sim.run(until=10)
    leaver = sim.nodes["n3"].components["g"]
    member = leaver.group.getGroupId()  # type: ignore[attr-defined]
    left_at = sim.now
    leaver._leave()  # type: ignore[attr-defined]
    sim.run(until=12)
    seen = [max(t for t, m in sim.nodes[n].components["g"].left if m == member) for n in ("n0", "n1", "n2")]  # type: ignore[attr-defined]
    return max(seen) - left_at


def vote(seed: int, protocol: str, kind: str) -> float | None:
    sim = group(3, seed, protocol)
    sim.run(until=10)
    asker = sim.nodes["n1"].components["g"]
    asked = sim.now
    rfv = asker.group.requestVote(b"topic", kind=kind)  # type: ignore[attr-defined]
    sim.run(until=15)
    results = [e.when for e in sim.trace.select(kind=Kind.VOTE_ANNOUNCED) if e.msg_id == rfv and e.component]
    return max(results) - asked if len(results) == 3 else None


def round_trips(seed: int, protocol: str) -> list[float]:
    sim = group(5, seed, protocol, ask_leader_every=1.0)
    sim.run(until=20)
    asked: dict[str, list[float]] = defaultdict(list)
    out = []
    for e in sim.trace.sorted():
        if e.kind == Kind.SEND and e.detail == "mtl":
            asked[e.node].append(e.when)
        elif e.kind == Kind.CALLBACK and e.detail == "handleMessageFromLeader" and asked[e.node]:
            out.append(e.when - asked[e.node].pop(0))
    return out


def describe(name: str, values: list[float | None]) -> str:
    done = sorted(v for v in values if v is not None)
    if not done:
        return f"{name:22} never"
    p95 = statistics.quantiles(done, n=20, method="inclusive")[-1] if len(done) > 1 else done[0]
    unit, scale = ("ms", 1000) if done[-1] < 0.5 else ("s", 1)
    return (
        f"{name:22} p50 {statistics.median(done) * scale:8.3f} {unit:2}  p95 {p95 * scale:8.3f} {unit:2}  "
        f"max {done[-1] * scale:8.3f} {unit:2}  ({len(done)}/{len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--protocol", default="riaps", choices=["riaps", "fixed"])
    args = parser.parse_args()
    seeds, protocol = range(args.seeds), args.protocol
    start = time.perf_counter()
    elections = [election_and_failover(s, protocol) for s in seeds]
    leaves = [leave(s, protocol) for s in seeds]
    majority = [vote(s, protocol, "majority") for s in seeds]
    consensus = [vote(s, protocol, "consensus") for s in seeds]
    trips = [t for s in seeds for t in round_trips(s, protocol)]
    wall = time.perf_counter() - start
    print(f"protocol {protocol}, default timings, {args.seeds} seeds, {wall:.2f} s wall (1 ms host-to-host latency)")
    print(describe("first leader (5)", [e[0] for e in elections]))
    print(describe("failover (5)", [e[1] for e in elections]))
    print(describe("member left seen (4)", leaves))
    print(describe("majority vote (3)", majority))
    print(describe("consensus vote (3)", consensus))
    print(describe("leader round trip (5)", trips))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
