"""The whole stack against bare SimPy: what users run, next to the cheapest model of the same deliveries.

Three measurements, each printed with its ratio to a bare-SimPy baseline run in this same process:

1. **In process, 32 members.** A group of 32 ``Groupie`` members with default timings (heartbeat
   1 s) runs in a ``Simulation`` with everything on: ports, coordination, runtime, trace. Its rate
   is the network's delivered message copies per wall second over a steady window (after the first
   election). The baseline is N SimPy processes, each every heartbeat period sending one message to
   every member (itself included, as ``tic`` goes) through one 1 ms timeout per copy into a
   ``simpy.Store``, with one receiving process per Store. Runs alternate, best of ``--repeat``.
2. **The whole command.** ``riaps-sim run`` of 32 members x 600 simulated seconds in a child
   process: wall time, CPU, and peak RSS of that child (``os.wait4``), and the ratio of its wall
   time to the bare model's time for the same number of deliveries (deliveries per simulated
   second measured in 1., times the duration; bare time = deliveries / bare rate).
3. **The cost curve.** For N = 5, 10, 20, 32, 64, 100, 200 (``--quick``: up to 32, shorter): the
   in-process full-stack and bare rates (best of ``--repeat``), and a child ``riaps-sim run`` of N
   members for ``--curve-seconds``: wall, CPU per simulated second, peak RSS, ratio to the bare
   model's time; then the least-squares fit CPU per simulated second = a*N^2 + b*N^3.

Every ratio is printed twice: by wall time, and by CPU time (this process's, or the child's), which
a machine shared with other work disturbs less. The child's figures include starting Python and
importing the package (about 1 s and 50-90 MB), which is what a user waits for.

Run: ``.venv/bin/python bench/full_stack.py [--quick] [--curve-seconds S] [--command-seconds S]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import simpy

from riaps_sim.examples import Groupie
from riaps_sim.model import GroupType
from riaps_sim.runtime.sim import Simulation

HEARTBEAT_S = 1.0
LATENCY_S = 0.001
WARMUP_S = 4.0  # long enough for the first election at default timings


@dataclass
class Rate:
    deliveries: int
    wall_s: float
    simulated_s: float
    cpu_s: float = 0.0  # this process's CPU time over the same window: steadier than wall time on a shared machine

    @property
    def per_wall_s(self) -> float:
        return self.deliveries / self.wall_s

    @property
    def per_cpu_s(self) -> float:
        return self.deliveries / self.cpu_s if self.cpu_s > 0 else float("nan")

    @property
    def per_simulated_s(self) -> float:
        return self.deliveries / self.simulated_s


def full_stack(n: int, seconds: float) -> Rate:
    """Deliveries per wall second of *n* ``Groupie`` members in a ``Simulation``, over *seconds* after the warm-up."""
    sim = Simulation([GroupType(name="TheGroup")], seed=1)
    for i in range(n):
        sim.add_node(f"n{i}", {"member": Groupie})
    sim.run(until=WARMUP_S)
    before = sim.network.statistics().delivered
    gc.collect()
    cpu, start = time.process_time(), time.perf_counter()
    sim.run(until=WARMUP_S + seconds)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return Rate(sim.network.statistics().delivered - before, wall, seconds, cpu)


def bare(n: int, seconds: float) -> Rate:
    """The same kind of deliveries in bare SimPy: n processes, each heartbeat one timeout per copy into n Stores."""
    env = simpy.Environment()
    stores = [simpy.Store(env) for _ in range(n)]
    count = [0]
    message = [b"tic", b"x" * 24]

    def member(offset: float):
        yield env.timeout(offset)
        while True:
            for store in stores:
                env.timeout(LATENCY_S).callbacks.append(lambda _e, s=store: s.put(message))
            yield env.timeout(HEARTBEAT_S)

    def receiver(store: simpy.Store):
        while True:
            yield store.get()
            count[0] += 1

    for i, store in enumerate(stores):
        env.process(member(i * HEARTBEAT_S / n))
        env.process(receiver(store))
    gc.collect()
    cpu, start = time.process_time(), time.perf_counter()
    env.run(until=seconds)
    return Rate(count[0], time.perf_counter() - start, seconds, time.process_time() - cpu)


def side_by_side(n: int, seconds: float, repeat: int) -> tuple[Rate, Rate]:
    """Best full-stack and best bare rate of *repeat* alternating runs (best wall and best CPU time, each)."""
    stacks, bares = [], []
    for _ in range(repeat):
        stacks.append(full_stack(n, seconds))
        bares.append(bare(n, seconds))
    return _best(stacks), _best(bares)


def _best(rates: list[Rate]) -> Rate:
    fastest = min(rates, key=lambda r: r.wall_s)
    return Rate(fastest.deliveries, fastest.wall_s, fastest.simulated_s, min(r.cpu_s for r in rates))


# -- the whole command, in a child process ----------------------------------------------------------------


@dataclass
class Command:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    printed: str


SCENARIO = """\
from riaps_sim.examples import Groupie
from riaps_sim.scenario import Scenario

scenario = Scenario.group_of({n}, Groupie, duration={seconds}, seed=1, name="bench-{n}")
"""


def command(n: int, seconds: float, workdir: Path, extra: tuple[str, ...] = ()) -> Command:
    """Run ``riaps-sim run`` of *n* members for *seconds* in a child; its wall, CPU and peak RSS."""
    scenario = workdir / f"bench_{n}.py"
    scenario.write_text(SCENARIO.format(n=n, seconds=seconds), encoding="utf-8")
    argv = [sys.executable, "-m", "riaps_sim.cli", "run", str(scenario), "--out", str(workdir / f"out-{n}"), *extra]
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert child.stdout is not None
    printed = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} exited {child.returncode}:\n{printed}")
    return Command(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, printed)


def fit_growth(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares of cost = a*N^2 + b*N^3 over *points* ``(N, cost)``."""
    s22 = sum(n**4 for n, _ in points)
    s23 = sum(n**5 for n, _ in points)
    s33 = sum(n**6 for n, _ in points)
    r2 = sum(c * n**2 for n, c in points)
    r3 = sum(c * n**3 for n, c in points)
    det = s22 * s33 - s23 * s23
    return (r2 * s33 - r3 * s23) / det, (s22 * r3 - s23 * r2) / det


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short windows and the curve up to N=32 only (seconds, not minutes)")
    parser.add_argument("--members", type=int, default=32, help="group size of measurements 1 and 2 (default 32)")
    parser.add_argument("--seconds", type=float, help="simulated seconds of the in-process window (default 20, quick 5)")
    parser.add_argument("--repeat", type=int, help="alternating runs, best kept (default 3, quick 1)")
    parser.add_argument("--command-seconds", type=float, help="simulated seconds of the whole command (default 600, quick 60)")
    parser.add_argument("--curve-seconds", type=float, help="simulated seconds per curve point (default 600, quick 20)")
    parser.add_argument("--curve", default=None, help="comma-separated group sizes of the curve (default 5,10,20,32,64,100,200; quick 5,10,20,32)")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: rate, command, curve")
    args = parser.parse_args()
    quick = args.quick
    seconds = args.seconds or (5.0 if quick else 20.0)
    repeat = args.repeat or (1 if quick else 3)
    command_s = args.command_seconds or (60.0 if quick else 600.0)
    curve_s = args.curve_seconds or (20.0 if quick else 600.0)
    sizes = [int(x) for x in (args.curve or ("5,10,20,32" if quick else "5,10,20,32,64,100,200")).split(",")]
    skip = set(filter(None, args.skip.split(",")))
    n = args.members

    stack = base = None
    if "rate" not in skip or "command" not in skip:
        stack, base = side_by_side(n, seconds, repeat)
    if "rate" not in skip:
        assert stack is not None and base is not None
        print(f"1. {n} members in process, {seconds:g} simulated s after a {WARMUP_S:g} s warm-up, best of {repeat}")
        print(
            f"   full stack: {stack.deliveries:,d} deliveries in {stack.wall_s:.3f} s = {stack.per_wall_s:,.0f}/s (per CPU s {stack.per_cpu_s:,.0f})"
        )
        print(f"   bare SimPy: {base.deliveries:,d} deliveries in {base.wall_s:.3f} s = {base.per_wall_s:,.0f}/s (per CPU s {base.per_cpu_s:,.0f})")
        print(
            f"   ratio full stack / bare: {stack.per_wall_s / base.per_wall_s:.2f}x by wall time, "
            f"{stack.per_cpu_s / base.per_cpu_s:.2f}x by CPU time",
            flush=True,
        )

    with tempfile.TemporaryDirectory(prefix="bench-full-stack-") as tmp:
        work = Path(tmp)
        if "command" not in skip:
            assert stack is not None and base is not None
            run = command(n, command_s, work)
            deliveries = stack.per_simulated_s * command_s
            bare_s, bare_cpu_s = deliveries / base.per_wall_s, deliveries / base.per_cpu_s
            wall_line = next((line.strip() for line in run.printed.splitlines() if "wall time" in line), "(no wall time printed)")
            print(f"2. riaps-sim run, {n} members x {command_s:g} s, child process")
            print(f"   wall {run.wall_s:.2f} s, CPU {run.cpu_s:.2f} s, peak RSS {run.peak_rss_mb:.0f} MB; the command printed: {wall_line}")
            print(
                f"   bare SimPy for the same ~{deliveries:,.0f} deliveries: {bare_s:.2f} s wall, {bare_cpu_s:.2f} s CPU; "
                f"ratio command / bare: {run.wall_s / bare_s:.2f}x by wall time, {run.cpu_s / bare_cpu_s:.2f}x by CPU time",
                flush=True,
            )

        if "curve" not in skip:
            print(f"3. cost curve, riaps-sim run of N members x {curve_s:g} s in a child (in-process rates over {seconds:g} s)")
            print(
                f"   {'N':>4} {'stack/s':>10} {'bare/s':>10} {'ratio':>6} {'wall s':>8} {'CPU/sim s':>10} {'RSS MB':>7} {'cmd/bare':>9} {'CPU/bare':>9}"
            )
            points = []
            for size in sizes:
                window = min(seconds, max(2.0, 2000.0 / size))  # keep big groups' in-process windows short
                s, b = side_by_side(size, window, repeat)
                run = command(size, curve_s, work)
                bare_s = s.per_simulated_s * curve_s / b.per_wall_s
                bare_cpu_s = s.per_simulated_s * curve_s / b.per_cpu_s
                cpu_per_s = run.cpu_s / curve_s
                points.append((size, cpu_per_s))
                print(
                    f"   {size:4d} {s.per_wall_s:10,.0f} {b.per_wall_s:10,.0f} {s.per_wall_s / b.per_wall_s:6.2f} "
                    f"{run.wall_s:8.2f} {cpu_per_s * 1000:8.1f}ms {run.peak_rss_mb:7.0f} {run.wall_s / bare_s:8.2f}x {run.cpu_s / bare_cpu_s:8.2f}x",
                    flush=True,
                )
            if len(points) >= 2:
                a, b3 = fit_growth(points)
                print(f"   fitted CPU per simulated second: {a * 1e6:.2f} us*N^2 + {b3 * 1e9:.2f} ns*N^3")


if __name__ == "__main__":
    main()
