"""``riaps-sim check``: explore every state of N protocol machines within bounds (``riaps_sim.check``)."""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any

from .cli_options import EXIT_BAD, EXIT_OK, UsageError, protocol_name

__all__ = ["add_check_command"]


def _check(args: argparse.Namespace) -> int:
    """0 when no promised property is violated and every sometimes property is reached, else 1."""
    from .check import Bounds, check

    try:  # every ValueError here is the user's: a bound, the protocol, the group size (exit 2)
        bounds = Bounds(**{name: value for name, value in vars(args).items() if name.startswith("max_") and value is not None})
        result = check(args.protocol, members=args.members, bounds=bounds, group_min_size=args.group_min_size, progress=not args.quiet)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(result)
    return EXIT_OK if result.ok else EXIT_BAD


def add_check_command(commands: Any) -> None:
    """Add ``check`` to *commands* (an ``argparse`` subparsers object), with one option per bound."""
    from .check.bounds import Bounds

    chk = commands.add_parser("check", help="explore every state of N protocol machines within bounds; print a shortest counterexample")
    chk.add_argument(
        "--protocol",
        type=protocol_name,
        default="fixed",
        help="the protocol to check: riaps, fixed, a planted variant, or module:Class (default fixed)",
    )
    chk.add_argument("--members", type=int, default=3, help="group size, 2 to 5 (default 3)")
    chk.add_argument("--group-min-size", type=int, help="groupMinSize (default: the group size)")
    for bound in fields(Bounds):
        chk.add_argument(f"--{bound.name.replace('_', '-')}", dest=bound.name, type=int, help=f"(default {bound.default})")
    chk.add_argument("--quiet", action="store_true", help="no progress bar")
    chk.set_defaults(handler=_check)
