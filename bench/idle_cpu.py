"""Idle CPU of 32 real member processes: the code at a baseline commit against this tree, side by side.

Each variant starts N node processes on loopback and, once they have settled, reads the CPU time
(user + system, from ``/proc/<pid>/stat``) every one of them spends over a window of idle wall
time. Nothing happens in the window but what an idle application does by itself: discovery beacons
and, in ``members`` mode, the group's own coordination (heartbeats) of one ``Groupie`` per node.

- ``--mode members`` (default): ``RealRun`` with one ``Groupie`` member per node in one group.
- ``--mode discovery``: plain processes, each a ``RealDriver`` loop with a ``BeaconDiscovery`` that
  offers one pub endpoint, as a node's would; this tree's beacons are signed (``--insecure``: not).

The baseline is the code at ``--baseline`` (default: the commit before back-off and signed
beacons), taken with ``git archive`` into a temporary directory and imported from there.

Run: ``python bench/idle_cpu.py [--nodes 32] [--seconds 30] [--mode members|discovery]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = "8273622"  # main before back-off, repeat skipping and signed beacons
REPO = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process *pid* so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def discovery_member(index: int, port: int, seconds: float, secret: bytes | None) -> None:
    """The body of one discovery-only node process: beacons on a RealDriver loop, one pub offered."""
    from riaps_sim.discovery import BeaconDiscovery, Endpoint
    from riaps_sim.runtime.real import RealDriver

    driver = RealDriver()
    host, name = f"127.0.0.{index + 1}", f"n{index}"
    extra = {"secret": secret, "clock": driver.clock} if secret is not None else {}
    discovery = BeaconDiscovery("idle-bench", name, host, port=port, destinations=[("127.255.255.255", port)], **extra)
    driver.watch(discovery.fileno(), lambda: discovery.receive(driver.clock()))

    def beacon() -> None:
        discovery.tick(driver.clock())
        driver.call_later(discovery.interval, beacon)

    beacon()
    discovery.register(Endpoint("Msg@TheGroup.g1", host, 40000 + index, name))
    driver.run(duration_s=seconds)
    discovery.close()


def measure(mode: str, nodes: int, settle_s: float, window_s: float, secure: bool) -> dict[str, float]:
    """Start *nodes* processes, let them settle, and return the CPU they spend over *window_s* seconds."""
    import multiprocessing

    import riaps_sim

    if mode == "members":
        from riaps_sim.examples import Groupie
        from riaps_sim.model import GroupType
        from riaps_sim.runtime.process import NodePlan, RealRun

        out = tempfile.TemporaryDirectory()
        run = RealRun([GroupType(name="TheGroup")], out.name, seed=0)
        for i in range(nodes):
            run.add_node(NodePlan(f"n{i}", f"127.0.0.{i + 1}", {"groupie": (Groupie, {})}))
        run.start(duration_s=settle_s + window_s + 60)
        processes = list(run.processes.values())
        stop = run.stop
    else:
        context = multiprocessing.get_context("spawn")
        port = 40000 + os.getpid() % 20000
        secret = os.urandom(32) if secure else None
        processes = [context.Process(target=discovery_member, args=(i, port, settle_s + window_s + 60, secret), daemon=True) for i in range(nodes)]
        for process in processes:
            process.start()

        def stop() -> None:
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(10)

    try:
        time.sleep(settle_s)
        before = sum(cpu_seconds(p.pid) for p in processes)
        start = time.monotonic()
        time.sleep(window_s)
        after = sum(cpu_seconds(p.pid) for p in processes)
        wall = time.monotonic() - start
        alive = sum(p.is_alive() for p in processes)
    finally:
        stop()
    return {"cpu_s": after - before, "wall_s": wall, "alive": alive, "code": str(Path(riaps_sim.__file__).parent.parent)}


def run_variant(root: Path | None, args: argparse.Namespace) -> dict[str, float]:
    """Measure in a fresh interpreter that imports ``riaps_sim`` from *root* (None: this tree)."""
    command = [
        sys.executable,
        __file__,
        "--child",
        "--mode",
        args.mode,
        "--nodes",
        str(args.nodes),
        "--seconds",
        str(args.seconds),
        "--settle",
        str(args.settle),
    ]
    if root is not None:
        command += ["--root", str(root)]
    if args.insecure or root is not None:  # the baseline has no signed beacons
        command.append("--insecure")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the {'baseline' if root else 'current'} variant failed:\n{result.stderr}")
    measured: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    if measured["alive"] != args.nodes:
        raise SystemExit(
            f"only {measured['alive']}/{args.nodes} node processes of the {'baseline' if root else 'current'} variant lived through the window:\n{result.stderr}"
        )
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["members", "discovery"], default="members")
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0, help="the idle window measured (default 30)")
    parser.add_argument("--settle", type=float, default=8.0, help="seconds after start before the window opens (default 8)")
    parser.add_argument("--baseline", default=BASELINE, help=f"the commit to compare with (default {BASELINE})")
    parser.add_argument("--insecure", action="store_true", help="discovery mode: this tree's beacons unsigned")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.root:
            sys.path.insert(0, args.root)
        print(json.dumps(measure(args.mode, args.nodes, args.settle, args.seconds, secure=not args.insecure)))
        return
    with tempfile.TemporaryDirectory() as baseline_dir:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.baseline, "riaps_sim", "ports"], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", baseline_dir], input=archive, check=True)
        results = {f"baseline {args.baseline}": run_variant(Path(baseline_dir), args), "this tree": run_variant(None, args)}
    signed = "" if args.mode == "members" else (" (beacons unsigned)" if args.insecure else " (beacons signed)")
    print(f"idle CPU of {args.nodes} real node processes ({args.mode} mode), {args.seconds:g} s window after {args.settle:g} s to settle")
    for name, result in results.items():
        rate = result["cpu_s"] / result["wall_s"]
        print(
            f"  {name:<18} {rate:6.3f} CPU-s per wall-s ({result['cpu_s']:.1f} CPU-s over {result['wall_s']:.1f} s; {result['alive']}/{args.nodes} alive)"
            + (signed if name == "this tree" else "")
        )
    base, new = (r["cpu_s"] / r["wall_s"] for r in results.values())
    print(f"  this tree / baseline: {new / base:.2f}")


if __name__ == "__main__":
    main()
