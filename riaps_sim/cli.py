"""The ``riaps-sim`` command: run scenarios in simulation or for real, calibrate, sweep seeds, run one node, manage keys, demo the ports."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from .scenario import BUILTIN, ScenarioError, load_scenario


def _run(args: argparse.Namespace) -> int:
    from .runner import run_scenario

    scenario = _load_run_scenario(args)
    calibration = None
    if args.calibration:
        if args.mode != "sim":
            raise ScenarioError("--calibration applies to simulation only: the real world has the timing it has")
        from .calibration import load_calibration

        calibration = load_calibration(args.calibration)
    out = Path(args.out) if args.out else Path("out") / f"{scenario.name}-{args.mode}"
    print(f"riaps-sim: running {scenario.name!r} ({scenario.description or 'no description'}) in {args.mode} mode", flush=True)
    if args.mode == "sim" and (args.keys or args.insecure):
        raise ScenarioError("--keys and --insecure are for real mode (--mode real)")
    result = run_scenario(
        scenario,
        mode=args.mode,
        seed=args.seed,
        until=args.until,
        out=out,
        isolation=args.isolation,
        trace_all=True if args.trace_all else None,
        keys=args.keys,
        insecure=args.insecure,
        calibration=calibration,
    )
    summary = result.summary()
    print(summary)
    # What is left to do (the files) needs the trace only: the simulated world's memory goes before
    # matplotlib comes in, which keeps the command's peak lower.
    result.forget_simulation()
    import matplotlib

    matplotlib.use("Agg")
    paths = result.save(out, summary)
    print(
        f"  wall time {time.perf_counter() - args.started:.2f} s in all, {result.wall_s:.2f} s running "
        f"{result.until:g} s of {'virtual' if args.mode == 'sim' else 'real'} time"
    )
    print("  wrote " + ", ".join(str(p) for p in paths))
    if result.interrupted:
        print(f"riaps-sim: interrupted after {result.until:.1f} s; the partial trace and summary are in {out}", file=sys.stderr)
        return 130
    return 1 if args.check and summary.report is not None and summary.report.safety_violations() else 0


def _load_run_scenario(args: argparse.Namespace) -> Any:
    """The scenario to run: a RIAPS app folder (with ``--depl``/``--hosts``), or what ``load_scenario`` reads."""
    if Path(args.scenario).is_dir():
        from .scenario import Scenario

        hosts = args.hosts
        if hosts is not None:
            hosts = int(hosts) if hosts.isdigit() else [h for h in hosts.split(",") if h]
        return Scenario.from_riaps_app(
            args.scenario, depl=args.depl, hosts=hosts, duration=args.until or 60.0, seed=args.seed if args.seed is not None else 0
        )
    if args.depl or args.hosts:
        raise ScenarioError("--depl and --hosts go with a RIAPS application folder, not a scenario file")
    return load_scenario(args.scenario)


def _calibrate(args: argparse.Namespace) -> int:
    from .calibration import calibrate, write_calibration

    scenario = load_scenario(args.scenario)
    out = Path(args.out) if args.out else Path("out") / f"calibration-{scenario.name}.toml"
    print(f"riaps-sim: calibrating from {args.runs} real run(s) of {scenario.name!r} on {args.isolation}", flush=True)
    made = calibrate(
        scenario,
        args.runs,
        isolation=args.isolation,
        seed=args.seed,
        until=args.until,
        kind=args.fit,
        per_link=args.per_link,
        per_node=args.per_node,
        report=lambda line: print(line, flush=True),
    )
    print(made.calibration)
    print(f"  wrote {write_calibration(made.calibration, out)}; apply it with: riaps-sim run {args.scenario} --calibration {out}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from .sweep import parse_seeds, sweep

    load_scenario(args.scenario)  # fail early, in this process, with the scenario's own error
    result = sweep(args.scenario, parse_seeds(args.seeds), jobs=args.jobs, mode=args.mode)
    print(result)
    if args.out:
        import csv

        import matplotlib.pyplot as plt

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        rows = result.rows()
        with (out / "sweep.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        figure = result.plot()
        figure.savefig(out / "sweep.png", dpi=110, bbox_inches="tight")
        plt.close(figure)
        print(f"  wrote {out / 'sweep.csv'}, {out / 'sweep.png'}")
    bad = [r.seed for r in result.runs if r.violations]
    if bad:
        print(f"riaps-sim: {len(bad)} run(s) broke a safety property or had handler errors: seeds {bad[:20]}", file=sys.stderr)
    return 1 if bad else 0


def _node(args: argparse.Namespace) -> int:
    from .discovery import DEFAULT_BEACON_PORT
    from .runtime.launch import BeaconSettings, NodeLaunch, NodePlan
    from .runtime.nodeproc import run_node

    scenario = load_scenario(args.scenario)
    spec = next((n for n in scenario.nodes if n.name == args.name), None)
    if spec is None:
        raise ScenarioError(f"scenario {scenario.name!r} has no node {args.name!r}; its nodes are {scenario.node_names()}")
    host = args.host or spec.address
    if host is None:
        raise ScenarioError(f"node {args.name!r} has no address in the scenario; give --host with this machine's IPv4 address")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seed = scenario.seed if args.seed is None else args.seed
    keys_dir = args.keys or scenario.keys
    if keys_dir is None and not (args.insecure or scenario.insecure):
        raise ScenarioError(
            "riaps-sim node needs the application's keys on every host: make them once with "
            "'riaps-sim keys new DIR', copy DIR to each host and give --keys DIR (or --insecure, on a trusted network only)"
        )
    from .runner import app_keys

    keys = app_keys(keys_dir, insecure=args.insecure or (scenario.insecure and keys_dir is None))
    if keys is None:
        print("riaps-sim: WARNING: insecure: no CURVE, no allow-list, unsigned beacons", file=sys.stderr)
    launch = NodeLaunch(
        plan=NodePlan(spec.name, host, dict(spec.components)),
        group_types={g.name: g for g in scenario.group_types},
        app=f"riaps-sim-{scenario.name}-{seed}",
        seed=seed,
        duration_s=args.until or scenario.duration,
        trace_path=str(out / f"{spec.name}.jsonl"),
        beacon=BeaconSettings(args.beacon_port or DEFAULT_BEACON_PORT),
        keys=keys,
    )
    print(
        f"riaps-sim: node {spec.name} of {scenario.name!r} on {host}, beacons on UDP {launch.beacon.port}; trace to {launch.trace_path}", flush=True
    )
    run_node(launch)
    return 0


def _explore(args: argparse.Namespace) -> int:
    from .explore import DEFAULT_KINDS, explore, replay_corpus

    if args.replay:
        results = replay_corpus(args.replay)
        for replayed in results:
            print(f"  {replayed}")
        failing = sum(r.still_fails for r in results)
        print(f"riaps-sim: {len(results)} corpus schedule(s) rerun, {failing} still fail")
        return 1 if failing else 0
    if args.scenario is None:
        raise ScenarioError("explore needs a SCENARIO (or --replay DIR)")
    kinds = tuple(args.kinds.split(",")) if args.kinds else DEFAULT_KINDS
    load_scenario(args.scenario)  # fail early, in this process, with the scenario's own error
    result = explore(
        args.scenario,
        args.schedules,
        seed=args.seed,
        protocol=args.protocol,
        jobs=args.jobs,
        kinds=kinds,
        out=args.out,
        shrink_failures=not args.no_shrink,
        stop_after=args.stop_after,
    )
    print(result)
    return 1 if result.failures else 0


def _check(args: argparse.Namespace) -> int:
    """``riaps-sim check``: 0 when no promised property is violated and every sometimes property is reached, else 1."""
    from .check import Bounds, check

    try:  # every ValueError here is the user's: a bound, the protocol, the group size (exit 2)
        bounds = Bounds(**{name: value for name, value in vars(args).items() if name.startswith("max_") and value is not None})
        result = check(args.protocol, members=args.members, bounds=bounds, group_min_size=args.group_min_size, progress=not args.quiet)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    print(result)
    return 0 if result.ok else 1


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_ports_demo

    run_ports_demo(timeout=args.timeout)
    return 0


def _keys(args: argparse.Namespace) -> int:
    from .security import AppKeys

    if args.keys_command == "new":
        keys = AppKeys.generate()
        try:
            directory = keys.write(args.dir)
        except FileExistsError as exc:
            print(f"riaps-sim: {exc}", file=sys.stderr)
            return 1
        print(f"riaps-sim: wrote the application's key material to {directory} (files mode 0600); copy it to every host")
    else:
        keys = AppKeys.load(args.dir)
    print(keys.public_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``riaps-sim`` and its subcommands."""
    parser = argparse.ArgumentParser(prog="riaps-sim", description="Study RIAPS group coordination in simulation and on real ZeroMQ.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    scenario_help = f"a scenario file (.py or .toml), a RIAPS application folder, or a built-in scenario: {', '.join(sorted(BUILTIN))}"

    run = commands.add_parser("run", help="run a scenario, print its summary, write its trace and plots")
    run.add_argument("scenario", help=scenario_help)
    run.add_argument("--mode", choices=["sim", "real"], default="sim", help="simulation (default) or real ZeroMQ processes on loopback")
    run.add_argument("--seed", type=int, help="the seed (default: the scenario's)")
    run.add_argument("--until", type=float, help="seconds to run (default: the scenario's duration)")
    run.add_argument("--out", help="directory for trace.jsonl, summary.txt and roles.png (default: out/<scenario>-<mode>)")
    run.add_argument(
        "--isolation",
        choices=["loopback", "netns"],
        default="loopback",
        help="real mode: processes on 127.0.0.x (default), or one network namespace per node with firewall partitions (root)",
    )
    run.add_argument("--keys", metavar="DIR", help="real mode: the application's key material (riaps-sim keys new DIR); default: fresh for this run")
    run.add_argument(
        "--insecure",
        action="store_true",
        help="real mode: no CURVE, no allow-list, unsigned beacons (anyone who reaches the nodes can join); the summary says so",
    )
    run.add_argument("--check", action="store_true", help="exit with status 1 if an invariant is violated")
    run.add_argument("--depl", help="with a RIAPS application folder: the deployment file (default: the folder's only .depl)")
    run.add_argument("--hosts", help="with a RIAPS application folder: the hosts, a count or comma-separated names (needed for 'on all')")
    run.add_argument(
        "--trace-all",
        action="store_true",
        help="simulation: keep a trace row for every heartbeat (tic, ldr) instead of counting them per pair of nodes",
    )
    run.add_argument(
        "--calibration", metavar="FILE", help="simulation: time links, handlers and timers as the calibration file says (riaps-sim calibrate)"
    )
    run.set_defaults(handler=_run)

    cal = commands.add_parser("calibrate", help="run a scenario for real, measure its timing, and write a calibration file for the simulator")
    cal.add_argument("scenario", nargs="?", default="leader-crash", help=scenario_help + " (default: leader-crash)")
    cal.add_argument("--mode", choices=["real"], default="real", help="measured on real ZeroMQ processes (the only mode)")
    cal.add_argument("--isolation", choices=["loopback", "netns"], default="loopback", help="real mode's isolation (netns needs root)")
    cal.add_argument("--runs", type=int, default=5, help="real runs to measure (default 5)")
    cal.add_argument("--seed", type=int, help="seed of the first run, the next runs count up (default: the scenario's)")
    cal.add_argument("--until", type=float, help="seconds each run lasts (default: the scenario's duration)")
    cal.add_argument(
        "--fit", choices=["empirical", "lognormal"], default="empirical", help="how distributions are kept (default: empirical quantiles)"
    )
    cal.add_argument("--per-link", action="store_true", help="a latency of its own for each measured link (default: all links pooled)")
    cal.add_argument("--per-node", action="store_true", help="a processing cost of its own for each node (default: all nodes pooled)")
    cal.add_argument("--out", help="the calibration file to write (default: out/calibration-<scenario>.toml)")
    cal.set_defaults(handler=_calibrate)

    sweep = commands.add_parser("sweep", help="run a scenario over many seeds in parallel and print metric distributions")
    sweep.add_argument("scenario", help=scenario_help)
    sweep.add_argument("--seeds", default="0-99", help="seeds: N, N-M, or a comma-separated list (default 0-99)")
    sweep.add_argument("--jobs", type=int, help="worker processes (default: one per core)")
    sweep.add_argument("--mode", choices=["sim", "real"], default="sim", help=argparse.SUPPRESS)
    sweep.add_argument("--out", help="directory for sweep.csv and sweep.png")
    sweep.set_defaults(handler=_sweep)

    node = commands.add_parser("node", help="run one node of a scenario on this host (real ZeroMQ; for deployments across hosts)")
    node.add_argument("scenario", help=scenario_help)
    node.add_argument("--name", required=True, help="which of the scenario's nodes this host runs")
    node.add_argument("--host", help="this host's IPv4 address (default: the node's address in the scenario)")
    node.add_argument("--seed", type=int, help="the seed (default: the scenario's); use the same on every host")
    node.add_argument("--until", type=float, help="seconds to run (default: the scenario's duration)")
    node.add_argument("--beacon-port", type=int, help="UDP port of discovery beacons (default 47474), the same on every host")
    node.add_argument("--keys", metavar="DIR", help="the application's key material, the same folder on every host (riaps-sim keys new DIR)")
    node.add_argument("--insecure", action="store_true", help="no authentication (trusted networks only); every host must say so")
    node.add_argument("--out", default="out/node", help="directory for this node's trace (default out/node)")
    node.set_defaults(handler=_node)

    explore = commands.add_parser("explore", help="search random fault schedules for safety and liveness violations; shrink and keep what fails")
    explore.add_argument("scenario", nargs="?", help=scenario_help)
    explore.add_argument("--schedules", type=int, default=100, help="how many schedules to run (default 100)")
    explore.add_argument("--jobs", type=int, help="worker processes (default: one per core)")
    explore.add_argument("--protocol", help="run every group with this protocol (riaps, fixed, ...) instead of the scenario's")
    explore.add_argument("--seed", type=int, default=0, help="the exploration's seed: schedule i of seed s is always the same (default 0)")
    explore.add_argument(
        "--kinds", help="comma-separated fault kinds to draw, of partition,crash,restart,pause,clock_skew,loss,duplicate,delay (default: all)"
    )
    explore.add_argument("--out", help="folder for the corpus of shrunk failing schedules (OUT/corpus)")
    explore.add_argument("--stop-after", type=int, help="stop once this many schedules have failed")
    explore.add_argument("--no-shrink", action="store_true", help="report failures without shrinking them")
    explore.add_argument("--replay", metavar="DIR", help="rerun every scenario file of a corpus folder instead (a regression suite)")
    explore.set_defaults(handler=_explore)

    chk = commands.add_parser("check", help="explore every state of N protocol machines within bounds; print a shortest counterexample")
    chk.add_argument("--protocol", default="fixed", help="the protocol to check: riaps, fixed, planted-double-vote (default fixed)")
    chk.add_argument("--members", type=int, default=3, help="group size, 2 to 5 (default 3)")
    chk.add_argument("--group-min-size", type=int, help="groupMinSize (default: the group size)")
    from .check.bounds import Bounds

    for bound in fields(Bounds):
        chk.add_argument(f"--{bound.name.replace('_', '-')}", dest=bound.name, type=int, help=f"(default {bound.default})")
    chk.add_argument("--quiet", action="store_true", help="no progress bar")
    chk.set_defaults(handler=_check)

    keys = commands.add_parser("keys", help="make or show an application's key material (CURVE pair, allow-list, beacon secret)")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    keys_new = keys_commands.add_parser("new", help="write fresh key material into DIR (files mode 0600) and print its public half")
    keys_new.add_argument("dir", help="the directory to write (made if missing; existing key files are not overwritten)")
    keys_show = keys_commands.add_parser("show", help="print the public half of the key material in DIR (never the secrets)")
    keys_show.add_argument("dir", help="a directory written by 'riaps-sim keys new'")
    keys.set_defaults(handler=_keys)

    demo = commands.add_parser("demo", help="three members on loopback exchange messages through the four group ports (real ZeroMQ)")
    demo.add_argument("--timeout", type=float, default=20.0, help="give up after this many seconds (default 20)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``riaps-sim`` with *argv* (default: the command line); return the exit status."""
    started = time.perf_counter()
    args = build_parser().parse_args(argv)
    args.started = started
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)], format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except ScenarioError as exc:
        print(f"riaps-sim: {exc}", file=sys.stderr)
        return 2
    except (TimeoutError, ValueError) as exc:
        print(f"riaps-sim: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("riaps-sim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
