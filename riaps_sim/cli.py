"""The ``riaps-sim`` command: run scenarios in simulation or for real, calibrate, sweep seeds, run one node, manage keys, demo the ports."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from .cli_check import add_check_command
from .cli_options import (
    EXIT_BAD,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STATUSES,
    EXIT_USAGE,
    UsageError,
    add_verdict_options,
    check_isolation,
    directory_to_write,
    existing_directory,
    fault_kinds,
    file_to_write,
    ipv4_address,
    load_keys,
    positive_float,
    positive_int,
    protocol_name,
    seed_list,
    udp_port,
)
from .cli_tools import add_tool_commands
from .runtime.watchdog import Livelock
from .scenario import BUILTIN, ScenarioError, load_scenario

PROTOCOL_HELP = "run every group with this protocol (riaps, fixed, or your own as module:Class, importable from here) instead of the scenario's"


def _say(line: str) -> None:
    """A progress line of a real run, on stderr (stdout keeps the summary)."""
    print(f"riaps-sim: {line}", file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    from .runner import run_scenario

    scenario = _load_run_scenario(args).with_protocol(args.protocol)
    calibration = None
    if args.mode == "sim" and (args.keys or args.insecure or args.isolation):
        raise UsageError("--keys, --insecure and --isolation are for real mode (--mode real)")
    if args.keys and args.insecure:
        raise UsageError("give either --keys DIR or --insecure, not both")
    if args.calibration:
        if args.mode != "sim":
            raise UsageError("--calibration applies to simulation only: the real world has the timing it has")
        from .calibration import load_calibration

        calibration = load_calibration(args.calibration)
    if calibration is not None and scenario.topology is not None and calibration.shapes_network:
        raise UsageError(f"scenario {scenario.name!r} has a topology of its own: a calibration's link latencies apply to the default LAN only")
    check_isolation(scenario, args.isolation)
    keys = args.keys or (scenario.keys if args.mode == "real" and not args.insecure else None)
    keys = load_keys(keys) if isinstance(keys, str | Path) else keys  # a key folder that does not load stops the run here
    out = args.out if args.out else Path("out") / f"{scenario.name}-{args.mode}"
    print(f"riaps-sim: running {scenario.name!r} ({scenario.description or 'no description'}) in {args.mode} mode", flush=True)
    result = run_scenario(
        scenario,
        mode=args.mode,
        seed=args.seed,
        until=args.until,
        out=out,
        isolation=args.isolation or "loopback",
        trace_all=True if args.trace_all else None,
        keys=keys,
        insecure=args.insecure,
        calibration=calibration,
        progress=_say if args.mode == "real" else None,
    )
    summary = result.summary(liveness=not args.no_liveness)
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
        return EXIT_INTERRUPTED
    if _undefined_group_types(result.trace, scenario.name):
        return EXIT_USAGE
    assert summary.verdict is not None  # summarize always judges
    return summary.verdict.exit_code if args.check else EXIT_OK


def _undefined_group_types(trace: Any, scenario: str) -> bool:
    """Say on stderr, once per component and group type, that a join named a group type scenario *scenario* lacks."""
    from .analysis.health import failed_joins

    joins = failed_joins(trace)
    for join in joins:
        print(f"riaps-sim: scenario {scenario!r}: {join}", file=sys.stderr)
    return bool(joins)


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
        raise UsageError("--depl and --hosts go with a RIAPS application folder, not a scenario file")
    return load_scenario(args.scenario)


def _calibrate(args: argparse.Namespace) -> int:
    from .calibration import calibrate, write_calibration

    scenario = load_scenario(args.scenario)
    check_isolation(scenario, args.isolation)
    out = args.out if args.out else Path("out") / f"calibration-{scenario.name}.toml"
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
    verdicts = [result.summary(liveness=not args.no_liveness).verdict for result in made.results]
    for i, verdict in enumerate(verdicts, 1):
        print(f"  real run {i}: {verdict}")
    print(made.calibration)
    print(f"  wrote {write_calibration(made.calibration, out)}; apply it with: riaps-sim run {args.scenario} --calibration {out}")
    bad = [i for i, verdict in enumerate(verdicts, 1) if verdict is not None and not verdict.ok]
    if args.check and bad:
        print(f"riaps-sim: the verdict of real run(s) {bad} is bad: the calibration measured a system that misbehaved", file=sys.stderr)
        return EXIT_BAD
    return EXIT_OK


def _sweep(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from .batch import stop_signals
    from .sweep import sweep

    load_scenario(args.scenario)  # fail early, in this process, with the scenario's own error
    with stop_signals():  # SIGINT or SIGTERM: stop, keep and write what is done (a second one is ignored while writing)
        stopped, result = _partial_on_interrupt(
            sweep, args.scenario, args.seeds, jobs=args.jobs, mode=args.mode, liveness=not args.no_liveness, protocol=args.protocol
        )
        print(result)
        if args.out:
            print("  wrote " + ", ".join(str(p) for p in result.save(args.out)))
        if stopped is not None:
            return _report_interrupt(stopped, f"{len(result.runs)} of {result.planned} seeds", args.out)
    bad = result.failed_seeds()
    if bad:
        print(f"riaps-sim: the verdict of {len(bad)} run(s) is bad: seeds {bad[:20]}", file=sys.stderr)
    return EXIT_BAD if bad else EXIT_OK


def _partial_on_interrupt(work: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """``(None, work(...))``, or ``(the Interrupted, its partial result)`` when a signal stopped *work*."""
    from .batch import Interrupted

    try:
        return None, work(*args, **kwargs)
    except Interrupted as stop:
        return stop, stop.partial


def _report_interrupt(stopped: Any, done: str, out: Path | None) -> int:
    """Say on stderr what an interrupted command kept and where; its exit status (130 for SIGINT, 143 for SIGTERM)."""
    kept = f"; the partial result is in {out}" if out else " (give --out DIR to keep it in files)"
    print(f"riaps-sim: interrupted by {stopped.signum.name} after {done}{kept}", file=sys.stderr)
    return int(stopped.exit_status)


def _node(args: argparse.Namespace) -> int:
    from .discovery import DEFAULT_BEACON_PORT
    from .runtime.launch import BeaconSettings, NodeLaunch, NodePlan
    from .runtime.nodeproc import run_node

    scenario = load_scenario(args.scenario)
    spec = next((n for n in scenario.nodes if n.name == args.name), None)
    if spec is None:
        raise ScenarioError(f"scenario {scenario.name!r} has no node {args.name!r}; its nodes are {scenario.node_names()}")
    unapplied = [f"{len(scenario.faults)} fault(s)"] if scenario.faults else []
    unapplied += ["a network profile"] if scenario.network is not None else []
    unapplied += ["a topology"] if scenario.topology is not None else []
    if unapplied:
        raise ScenarioError(
            f"riaps-sim node runs one node with no run around it and cannot apply the scenario's {' and '.join(unapplied)}; "
            "remove them from the file for the hosts, or run the whole scenario on one machine with 'riaps-sim run --mode real'"
        )
    host = args.host or spec.address
    if host is None:
        raise ScenarioError(f"node {args.name!r} has no address in the scenario; give --host with this machine's IPv4 address")
    out = args.out
    seed = scenario.seed if args.seed is None else args.seed
    keys_dir = args.keys or scenario.keys
    if args.keys and args.insecure:
        raise UsageError("give either --keys DIR or --insecure, not both")
    if keys_dir is None and not (args.insecure or scenario.insecure):
        raise ScenarioError(
            "riaps-sim node needs the application's keys on every host: make them once with "
            "'riaps-sim keys new DIR', copy DIR to each host and give --keys DIR (or --insecure, on a trusted network only)"
        )
    insecure = args.insecure or (scenario.insecure and keys_dir is None)
    keys = None if insecure else (load_keys(keys_dir) if isinstance(keys_dir, str | Path) else keys_dir)
    out.mkdir(parents=True, exist_ok=True)
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
    return _node_verdict(args, scenario, Path(launch.trace_path))


def _node_verdict(args: argparse.Namespace, scenario: Any, trace_path: Path) -> int:
    """Judge this node's own trace: safety as one node sees it, handler errors, membership; never liveness.

    One node's trace cannot tell whether the whole group agreed on a leader, so liveness is always
    left out here (a parent that gathers every node's trace judges it).
    """
    from .analysis.checks import check_run
    from .analysis.summary import warning_lines
    from .trace import Trace

    trace = Trace.from_jsonl(trace_path)
    end = max([e.when for e in trace] + [t.last for t in trace.tallies().values()], default=0.0)
    report = check_run(trace, scenario.group_types, end=end)
    warnings = warning_lines(trace)
    verdict = report.verdict(liveness=False, warnings=len(warnings))
    for line in warnings + report.lines(liveness=False):
        print(line)
    print("  liveness is left out: one node's trace cannot tell whether the whole group agreed on a leader")
    print(verdict)
    if _undefined_group_types(trace, scenario.name):
        return EXIT_USAGE
    return verdict.exit_code if args.check else EXIT_OK


def _explore(args: argparse.Namespace) -> int:
    from .explore import DEFAULT_KINDS, explore, replay_corpus

    if args.replay:
        if args.scenario is not None:
            raise UsageError("give a SCENARIO or --replay DIR, not both")
        results = replay_corpus(args.replay)
        for replayed in results:
            print(f"  {replayed}")
        failing = sum(r.still_fails for r in results)
        print(f"riaps-sim: {len(results)} corpus schedule(s) rerun, {failing} still fail")
        return EXIT_BAD if failing else EXIT_OK
    if args.scenario is None:
        raise UsageError("explore needs a SCENARIO (or --replay DIR)")
    kinds = args.kinds if args.kinds else DEFAULT_KINDS
    load_scenario(args.scenario)  # fail early, in this process, with the scenario's own error
    from .batch import stop_signals

    with stop_signals():  # SIGINT or SIGTERM: stop, keep and write what is done (a second one is ignored while writing)
        stopped, result = _partial_on_interrupt(
            explore,
            args.scenario,
            args.schedules,
            seed=args.seed,
            protocol=args.protocol,
            jobs=args.jobs,
            kinds=kinds,
            out=args.out,
            shrink_failures=not args.no_shrink,
            stop_after=args.stop_after,
            run_time_limit_s=args.run_time_limit,
            liveness=not args.no_liveness,
        )
        print(result)
        if args.out:
            print("  wrote " + ", ".join(str(p) for p in result.save(args.out)))
        if stopped is not None:
            return _report_interrupt(stopped, f"{len(result.outcomes)} of {result.planned} schedules", args.out)
    return EXIT_BAD if result.failures else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``riaps-sim`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="riaps-sim",
        description="Study RIAPS group coordination in simulation and on real ZeroMQ.",
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    scenario_help = f"a scenario file (.py or .toml), a RIAPS application folder, or a built-in scenario: {', '.join(sorted(BUILTIN))}"

    run = commands.add_parser("run", help="run a scenario, print its summary, write its trace and plots")
    run.add_argument("scenario", help=scenario_help)
    run.add_argument("--mode", choices=["sim", "real"], default="sim", help="simulation (default) or real ZeroMQ processes on loopback")
    run.add_argument("--seed", type=int, help="the seed (default: the scenario's)")
    run.add_argument("--protocol", type=protocol_name, help=PROTOCOL_HELP)
    run.add_argument("--until", type=positive_float, help="seconds to run (default: the scenario's duration)")
    run.add_argument("--out", type=directory_to_write, help="directory for trace.jsonl, summary.txt and roles.png (default: out/<scenario>-<mode>)")
    run.add_argument(
        "--isolation",
        choices=["loopback", "netns"],
        help="real mode: processes on 127.0.0.x (default), or one network namespace per node with firewall partitions (root)",
    )
    run.add_argument("--keys", metavar="DIR", help="real mode: the application's key material (riaps-sim keys new DIR); default: fresh for this run")
    run.add_argument(
        "--insecure",
        action="store_true",
        help="real mode: no CURVE, no allow-list, unsigned beacons (anyone who reaches the nodes can join); the summary says so",
    )
    add_verdict_options(run)
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
    cal.add_argument("--runs", type=positive_int, default=5, help="real runs to measure (default 5)")
    cal.add_argument("--seed", type=int, help="seed of the first run, the next runs count up (default: the scenario's)")
    cal.add_argument("--until", type=positive_float, help="seconds each run lasts (default: the scenario's duration)")
    cal.add_argument(
        "--fit", choices=["empirical", "lognormal"], default="empirical", help="how distributions are kept (default: empirical quantiles)"
    )
    cal.add_argument("--per-link", action="store_true", help="a latency of its own for each measured link (default: all links pooled)")
    cal.add_argument("--per-node", action="store_true", help="a processing cost of its own for each node (default: all nodes pooled)")
    cal.add_argument("--out", type=file_to_write, help="the calibration file to write (default: out/calibration-<scenario>.toml)")
    add_verdict_options(cal)
    cal.set_defaults(handler=_calibrate)

    sweep = commands.add_parser("sweep", help="run a scenario over many seeds in parallel and print metric distributions")
    sweep.add_argument("scenario", help=scenario_help)
    sweep.add_argument("--seeds", type=seed_list, default="0-99", help="seeds: N, N-M, or a comma-separated list (default 0-99)")
    sweep.add_argument("--jobs", type=positive_int, help="worker processes (default: one per core)")
    sweep.add_argument("--mode", choices=["sim", "real"], default="sim", help=argparse.SUPPRESS)
    sweep.add_argument("--protocol", type=protocol_name, help=PROTOCOL_HELP)
    sweep.add_argument("--out", type=directory_to_write, help="directory for sweep.txt (the summary), sweep.csv (a row per seed) and sweep.png")
    add_verdict_options(sweep, always=True)
    sweep.set_defaults(handler=_sweep)

    node = commands.add_parser("node", help="run one node of a scenario on this host (real ZeroMQ; for deployments across hosts)")
    node.add_argument("scenario", help=scenario_help)
    node.add_argument("--name", required=True, help="which of the scenario's nodes this host runs")
    node.add_argument("--host", type=ipv4_address, help="this host's IPv4 address (default: the node's address in the scenario)")
    node.add_argument("--seed", type=int, help="the seed (default: the scenario's); use the same on every host")
    node.add_argument("--until", type=positive_float, help="seconds to run (default: the scenario's duration)")
    node.add_argument("--beacon-port", type=udp_port, help="UDP port of discovery beacons (default 47474), the same on every host")
    node.add_argument("--keys", metavar="DIR", help="the application's key material, the same folder on every host (riaps-sim keys new DIR)")
    node.add_argument("--insecure", action="store_true", help="no authentication (trusted networks only); every host must say so")
    node.add_argument("--out", type=directory_to_write, default="out/node", help="directory for this node's trace (default out/node)")
    add_verdict_options(node)
    node.set_defaults(handler=_node)

    explore = commands.add_parser("explore", help="search random fault schedules for safety and liveness violations; shrink and keep what fails")
    explore.add_argument("scenario", nargs="?", help=scenario_help)
    explore.add_argument("--schedules", type=positive_int, default=100, help="how many schedules to run (default 100)")
    explore.add_argument("--jobs", type=positive_int, help="worker processes (default: one per core)")
    explore.add_argument("--protocol", type=protocol_name, help=PROTOCOL_HELP)
    explore.add_argument("--seed", type=int, default=0, help="the exploration's seed: schedule i of seed s is always the same (default 0)")
    explore.add_argument(
        "--kinds",
        type=fault_kinds,
        help="comma-separated fault kinds to draw, of partition,crash,restart,pause,clock_skew,loss,duplicate,delay (default: all)",
    )
    explore.add_argument(
        "--out",
        type=directory_to_write,
        help="folder for explore.txt (the summary), explore.csv (a row per schedule) and the corpus of shrunk failing schedules (OUT/corpus)",
    )
    explore.add_argument("--stop-after", type=positive_int, help="stop once this many schedules have failed")
    explore.add_argument("--no-shrink", action="store_true", help="report failures without shrinking them")
    explore.add_argument(
        "--run-time-limit",
        type=positive_float,
        default=120.0,
        metavar="SECONDS",
        help="wall-clock limit of one run (default 120); a run over it, or whose virtual time stops (a livelock), fails",
    )
    explore.add_argument(
        "--replay", type=existing_directory, metavar="DIR", help="rerun every scenario file of a corpus folder instead (a regression suite)"
    )
    add_verdict_options(explore, always=True)
    explore.set_defaults(handler=_explore)

    add_check_command(commands)
    add_tool_commands(commands)
    return parser


def _is_users_mistake(exc: Exception) -> bool:
    """Whether *exc* says the user's input is wrong (a key folder, a component that cannot reach a node process)."""
    from .runtime.shipping import ShippingError
    from .security import KeyFileError

    return isinstance(exc, KeyFileError | ShippingError)


def main(argv: list[str] | None = None) -> int:
    """Run ``riaps-sim`` with *argv* (default: the command line); return the exit status."""
    started = time.perf_counter()
    if os.getcwd() not in sys.path:  # a user's own --protocol module:Class, or component module, imports from here
        sys.path.append(os.getcwd())
    args = build_parser().parse_args(argv)
    args.started = started
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)], format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except (ScenarioError, UsageError) as exc:
        print(f"riaps-sim: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (TimeoutError, ValueError) as exc:
        print(f"riaps-sim: {exc}", file=sys.stderr)
        return EXIT_USAGE if _is_users_mistake(exc) else EXIT_BAD
    except KeyboardInterrupt:
        print("riaps-sim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Livelock as exc:  # a protocol that stops virtual time: the run cannot finish, so nothing is judged
        print(f"riaps-sim: the run stopped: {exc}", file=sys.stderr)
        return EXIT_BAD


if __name__ == "__main__":
    sys.exit(main())
