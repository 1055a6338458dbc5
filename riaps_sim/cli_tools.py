"""The ``riaps-sim`` commands that look after a deployment rather than run one: ``keys``, ``state`` and ``demo``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .cli_options import EXIT_OK, EXIT_USAGE, UsageError, load_keys, positive_float

__all__ = ["add_tool_commands"]


def _keys(args: argparse.Namespace) -> int:
    from .security import AppKeys

    if args.keys_command == "new":
        keys = AppKeys.generate()
        try:
            directory = keys.write(args.dir)
        except FileExistsError as exc:
            raise UsageError(str(exc)) from None
        print(f"riaps-sim: wrote the application's key material to {directory} (files mode 0600); copy it to every host")
    else:
        keys = load_keys(args.dir)
    print(keys.public_text())
    return EXIT_OK


def _state(args: argparse.Namespace) -> int:
    """Show real nodes' durable state; with ``--reset``, remove it after asking (or with ``--yes``)."""
    from .runtime.statefiles import describe, find_state_files
    from .runtime.storage import FileStorage

    try:
        files = find_state_files(args.path)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print("\n".join(describe(files)))
    if args.reset is None:
        return EXIT_OK
    group = None if args.reset == "all" else args.reset
    what = "every group's state" if group is None else f"the state of group {group!r}"
    if not args.yes:
        if not sys.stdin.isatty():
            print("riaps-sim: --reset asks before it removes anything; without a terminal, add --yes", file=sys.stderr)
            return EXIT_USAGE
        answer = input(f"remove {what} from {len(files)} node state file(s)? Stop those nodes first. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("riaps-sim: nothing removed")
            return EXIT_OK
    removed = [(f.node, g) for f in files for g in FileStorage(f.path).forget(group)]
    print(f"riaps-sim: removed {len(removed)} group state(s): " + (", ".join(f"{node} {g}" for node, g in removed) or "none matched"))
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_ports_demo

    run_ports_demo(timeout=args.timeout)
    return EXIT_OK


def add_tool_commands(commands: Any) -> None:
    """Add ``keys``, ``state`` and ``demo`` to *commands* (an ``argparse`` subparsers object)."""
    keys = commands.add_parser("keys", help="make or show an application's key material (CURVE pair, allow-list, beacon secret)")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    keys_new = keys_commands.add_parser("new", help="write fresh key material into DIR (files mode 0600) and print its public half")
    keys_new.add_argument("dir", help="the directory to write (made if missing; existing key files are not overwritten)")
    keys_show = keys_commands.add_parser("show", help="print the public half of the key material in DIR (never the secrets)")
    keys_show.add_argument("dir", help="a directory written by 'riaps-sim keys new'")
    keys.set_defaults(handler=_keys)

    state = commands.add_parser(
        "state", help="show (and with --reset remove) the durable group state real nodes keep across restarts (<node>.state.json)"
    )
    state.add_argument("path", help="a node state file, or a folder searched for them (a real run's output)")
    state.add_argument(
        "--reset", nargs="?", const="all", metavar="GROUP", help="remove the state of GROUP (e.g. TheGroup.g1), or of every group; asks first"
    )
    state.add_argument("--yes", action="store_true", help="with --reset: do not ask (for scripts)")
    state.set_defaults(handler=_state)

    demo = commands.add_parser("demo", help="three members on loopback exchange messages through the four group ports (real ZeroMQ)")
    demo.add_argument("--timeout", type=positive_float, default=20.0, help="give up after this many seconds (default 20)")
    demo.set_defaults(handler=_demo)
