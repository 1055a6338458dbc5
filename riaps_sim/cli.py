"""The ``riaps-sim`` command."""

from __future__ import annotations

import argparse
import logging
import sys


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_ports_demo

    run_ports_demo(timeout=args.timeout)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``riaps-sim`` and its subcommands."""
    parser = argparse.ArgumentParser(prog="riaps-sim", description="Study RIAPS group coordination in simulation and on real ZeroMQ.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="three members on loopback exchange messages through the four group ports (real ZeroMQ)")
    demo.add_argument("--timeout", type=float, default=20.0, help="give up after this many seconds (default 20)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``riaps-sim`` with *argv* (default: the command line); return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)], format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except TimeoutError as exc:
        print(f"riaps-sim: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
