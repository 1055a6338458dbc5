"""Scripted repro (issue 22 item 5): 3 members of ``riaps``; the leader dies within 0.3 s of its election.

For each seed: crash ``@leader`` *delay* seconds after the first ``leader_elected``; the run counts as
re-elected if a survivor becomes leader afterwards. Also reports, for each leadership, the gap between
the leader's first ``ldr`` and the ``tic`` it sent last before it.

    python bench/early_leader_kill.py [--seeds 200] [--mode sim|real] [--delay 0.2]
"""

from __future__ import annotations

import argparse
import statistics

from riaps_sim import Scenario, run_scenario
from riaps_sim.examples import Groupie
from riaps_sim.faults import Crash
from riaps_sim.trace import Trace


def first_ldr_lags(trace: Trace) -> list[float]:
    """Per leadership: first ``ldr`` sent minus the last ``tic`` the same node sent before it (s)."""
    lags = []
    for won in trace.select(kind="state"):
        if won.detail != "leader":
            continue
        sends = [e for e in trace.select(kind="send", node=won.node) if e.when >= won.when - 2.0]
        ldrs = [e.when for e in sends if e.detail == "ldr" and e.when >= won.when]
        if not ldrs:
            continue
        tics = [e.when for e in sends if e.detail == "tic" and e.when <= ldrs[0]]
        if tics:
            lags.append(ldrs[0] - tics[-1])
    return lags


def apart_leaderships(trace: Trace, apart_s: float = 0.05) -> tuple[int, int]:
    """(leaderships whose every ``ldr`` after the first is more than *apart_s* from the leader's nearest
    ``tic``, leaderships with at least three such ``ldr``): the ``tic`` locked onto other traffic (B24)."""
    apart = total = 0
    for won in trace.select(kind="state"):
        if won.detail != "leader":
            continue
        ended = min((e.when for e in trace.select(kind="state", node=won.node) if e.when > won.when), default=float("inf"))
        sends = [e for e in trace.select(kind="send", node=won.node) if won.when <= e.when < ended]
        tics = [e.when for e in sends if e.detail == "tic"]
        ldrs = [e.when for e in sends if e.detail == "ldr"][1:]
        if len(ldrs) < 3 or not tics:
            continue
        total += 1
        apart += all(min(abs(t - when) for t in tics) > apart_s for when in ldrs)
    return apart, total


def one(seed: int, mode: str, delay: float, duration: float) -> tuple[bool, list[float]]:
    """Whether a survivor leads after the crash, and the first-ldr lags of the run."""
    fault = Crash(node="@leader", after="leader_elected", delay=delay)
    scenario = Scenario.group_of(3, Groupie, faults=[fault], duration=duration, seed=seed)
    trace = run_scenario(scenario, mode=mode, trace_all=True).trace
    crash = next(e for e in trace.select(kind="fault"))
    again = [e for e in trace.select(kind="state") if e.detail == "leader" and e.when > crash.when]
    return bool(again), first_ldr_lags(trace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--mode", default="sim")
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()
    ok, lags = 0, []
    for seed in range(args.seeds):
        again, run_lags = one(seed, args.mode, args.delay, args.duration)
        ok += again
        lags += run_lags
        if args.mode == "real":
            print(f"seed {seed}: {'re-elected' if again else 'LEADERLESS'}", flush=True)
    print(f"{args.mode}: re-elected in {ok} of {args.seeds} runs (leader killed {args.delay:g} s after its election)")
    if lags:
        q = statistics.quantiles(lags, n=20)
        print(
            f"first ldr after last tic: p50 {statistics.median(lags) * 1000:.0f} ms, p95 {q[18] * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms ({len(lags)} leaderships)"
        )


if __name__ == "__main__":
    main()
