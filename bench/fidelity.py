"""Fidelity: real ZeroMQ against simulation, without and with a calibration, on two scenarios.

The scenarios are the built-in ``leader-crash`` (five Groupie members, the leader crashes at
t=20 s) and ``default`` (the leader is partitioned away at t=20 s and healed at t=40 s), each with
one vote asked by every member 5 s after it starts (``vote_after=5``), so that vote latency is
measured too, and each run cut at ``--until`` seconds (default 30: the failovers are over by then;
``--full`` runs the scenarios' whole durations).

In one run of this script:

1. ``--cal-runs`` real runs of leader-crash (seeds 100..) are measured and fitted into a calibration
   (``riaps_sim.calibration``), unless ``--calibration FILE`` gives one;
2. for each scenario, ``--real`` further real runs (seeds 0..) and ``--seeds`` simulated seeds
   without and with the calibration;
3. for each metric (time to first leader after the last join, failover time, vote latency) the
   median and 90th percentile of each, the ratio simulated/real, and the two-sample
   Kolmogorov-Smirnov distance between the real and the simulated distribution; then the check:
   calibrated medians within 10% and p90s within 20% of the real ones (first leader and failover
   for leader-crash, failover for default).

Run: ``.venv/bin/python bench/fidelity.py`` (25 real runs of 30 s: about 15 minutes) or ``--quick``
(2 + 3 + 3 real runs of 25 s and 40 seeds: about 3 minutes).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field, replace

from riaps_sim import run_scenario
from riaps_sim.calibration import Calibration, calibrate, ks_distance, load_calibration, quantile, write_calibration
from riaps_sim.scenario import NodeSpec, Scenario, load_scenario

METRICS = ("first leader", "failover", "vote latency")
CHECKED = {"leader-crash": ("first leader", "failover"), "default": ("failover",)}


def with_votes(scenario: Scenario, after_s: float = 5.0) -> Scenario:
    """*scenario* with every Groupie asking for one vote *after_s* seconds after it starts."""
    nodes = tuple(
        NodeSpec(n.name, {i: (cls, {**kwargs, "vote_after": after_s}) for i, (cls, kwargs) in n.components.items()}, n.address, n.start_s)
        for n in scenario.nodes
    )
    return replace(scenario, nodes=nodes)


@dataclass
class Samples:
    """The metrics' values over a set of runs."""

    values: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})

    def add(self, result) -> dict[str, object]:  # type: ignore[no-untyped-def]
        summary = result.summary()
        failover = next((f.duration for f in summary.failovers if f.duration is not None), None)
        votes = [v.latency for v in summary.votes if v.latency is not None]
        if summary.first_leader_s is not None:
            self.values["first leader"].append(summary.first_leader_s)
        if failover is not None:
            self.values["failover"].append(failover)
        self.values["vote latency"].extend(votes)
        return {"first leader": summary.first_leader_s, "failover": failover, "votes": len(votes), "violations": len(summary.violations)}


def p50_p90(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), quantile(values, 0.9)


def simulate(scenario: Scenario, seeds: int, until: float, calibration: Calibration | None) -> Samples:
    samples = Samples()
    for seed in range(seeds):
        samples.add(run_scenario(scenario, mode="sim", seed=seed, until=until, calibration=calibration))
    return samples


def real(scenario: Scenario, runs: int, until: float, isolation: str) -> Samples:
    samples = Samples()
    for seed in range(runs):
        seen = samples.add(run_scenario(scenario, mode="real", seed=seed, until=until, isolation=isolation))
        print(f"    real run {seed}: {seen}", flush=True)
    return samples


def report(name: str, real_samples: Samples, plain: Samples, calibrated: Samples) -> list[tuple[str, str, float, bool]]:
    """Print the table of *name*; return the checks as (metric, statistic, ratio, holds)."""
    print(f"\n{name}: medians and p90s in seconds; ratio = simulated / real; KS = two-sample Kolmogorov-Smirnov distance to real")
    print(
        f"  {'metric':13} {'real (n) p50 / p90':>24} | {'sim p50 / p90':>15} {'ratios':>11} {'KS':>5} | {'calibrated p50 / p90':>20} {'ratios':>11} {'KS':>5}"
    )
    checks = []
    for metric in METRICS:
        r = real_samples.values[metric]
        if not r:
            print(f"  {metric:13} no real samples")
            continue
        r50, r90 = p50_p90(r)
        cells = [f"  {metric:13} {f'({len(r)}) {r50:6.3f} / {r90:6.3f}':>24}"]
        for label, sim in (("sim", plain), ("calibrated", calibrated)):
            s = sim.values[metric]
            if not s:
                cells.append(f"| {'no samples':>15}")
                continue
            s50, s90 = p50_p90(s)
            width = 15 if label == "sim" else 20
            cells.append(f"| {f'{s50:6.3f} / {s90:6.3f}':>{width}} {f'{s50 / r50:4.2f} {s90 / r90:4.2f}':>11} {ks_distance(r, s):5.2f}")
            if label == "calibrated" and metric in CHECKED.get(name, ()):
                checks.append((metric, "median", s50 / r50, abs(s50 / r50 - 1) <= 0.10))
                checks.append((metric, "p90", s90 / r90, abs(s90 / r90 - 1) <= 0.20))
        print(" ".join(cells))
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cal-runs", type=int, default=5, help="real runs of leader-crash to calibrate from (default 5)")
    parser.add_argument("--real", type=int, default=10, help="further real runs per scenario (default 10)")
    parser.add_argument("--seeds", type=int, default=200, help="simulated seeds per scenario and variant (default 200)")
    parser.add_argument("--until", type=float, default=30.0, help="seconds each run lasts (default 30)")
    parser.add_argument("--full", action="store_true", help="run each scenario for its whole duration instead of --until")
    parser.add_argument("--calibration", metavar="FILE", help="use this calibration file instead of calibrating")
    parser.add_argument("--save", metavar="FILE", help="write the calibration made here to FILE")
    parser.add_argument("--isolation", choices=["loopback", "netns"], default="loopback")
    parser.add_argument("--scenarios", default="leader-crash,default", help="comma-separated (default leader-crash,default)")
    parser.add_argument("--quick", action="store_true", help="2 calibration runs, 3 real runs, 40 seeds, 25 s: a smoke test of the bench")
    args = parser.parse_args()
    if args.quick:
        args.cal_runs, args.real, args.seeds, args.until = 2, 3, 40, 25.0

    started = time.perf_counter()
    scenarios = {name: with_votes(load_scenario(name)) for name in args.scenarios.split(",")}

    def until(scenario: Scenario) -> float:
        return scenario.duration if args.full else min(args.until, scenario.duration)

    if args.calibration:
        calibration = load_calibration(args.calibration)
        print(f"calibration from {args.calibration}")
    else:
        source = scenarios.get("leader-crash") or with_votes(load_scenario("leader-crash"))
        print(f"calibrating from {args.cal_runs} real runs of leader-crash (seeds 100..), {until(source):g} s each", flush=True)
        made = calibrate(source, args.cal_runs, isolation=args.isolation, seed=100, until=until(source), report=lambda line: print(line, flush=True))
        calibration = made.calibration
        if args.save:
            print(f"  wrote {write_calibration(calibration, args.save)}")
    print(calibration)

    verdicts = []
    for name, scenario in scenarios.items():
        t = until(scenario)
        print(f"\n{name}: {args.real} real runs (seeds 0..{args.real - 1}) and {args.seeds} simulated seeds, {t:g} s each", flush=True)
        real_samples = real(scenario, args.real, t, args.isolation)
        plain = simulate(scenario, args.seeds, t, None)
        calibrated = simulate(scenario, args.seeds, t, calibration)
        verdicts += [(name, *check) for check in report(name, real_samples, plain, calibrated)]

    print("\ncheck: calibrated simulation against real, medians within 10%, p90s within 20%")
    for name, metric, statistic, ratio, holds in verdicts:
        print(f"  {name:13} {metric:13} {statistic:6} sim/real {ratio:4.2f}  {'holds' if holds else 'FAILS'}")
    print(f"\n{sum(v[-1] for v in verdicts)}/{len(verdicts)} hold; {time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
