"""The command line's option values and exit statuses: every value is checked before a command runs.

Most functions here are ``argparse`` *types*: each turns the text of one option into its value or
raises ``argparse.ArgumentTypeError`` with what was expected, so a mistake stops the command with
exit status 2 and the usage line before anything runs (no banner, no run). ``UsageError`` is the
same kind of mistake found by a check across options (``--keys`` in simulation, say) or of what an
option names (``load_keys``: a key folder that does not load; ``check_isolation``: namespaces this
machine cannot make).

Exit statuses, the same for every command (``EXIT_STATUSES`` is the ``--help`` text):

- 0: done; with ``--check`` (always, for ``sweep`` and ``explore``), every run's verdict is OK;
- 1: it ran, and a verdict is bad (``--check``), or the command could not do its work (the demo
  timed out, a calibration measured nothing);
- 2: a usage error: a bad option or scenario, found before anything runs, or a component that
  joined a group type the scenario does not define (the scenario's mistake, found as it ran);
- 130: interrupted (Ctrl-C); what was done so far is kept where the command says.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
from pathlib import Path
from typing import Any

from .analysis.verdict import EXIT_BAD, EXIT_OK

__all__ = [
    "EXIT_OK",
    "EXIT_BAD",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "EXIT_STATUSES",
    "UsageError",
    "positive_float",
    "positive_int",
    "udp_port",
    "ipv4_address",
    "seed_list",
    "fault_kinds",
    "protocol_name",
    "directory_to_write",
    "file_to_write",
    "existing_directory",
    "add_verdict_options",
    "check_isolation",
    "load_keys",
]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

EXIT_STATUSES = """\
exit status, the same for every command:
  0    done; with --check (always for sweep and explore) every verdict is OK
  1    it ran and a verdict is bad (safety, liveness, handler errors or membership;
       --no-liveness leaves liveness out), or the command could not do its work
  2    usage error: a bad option or scenario, reported before anything runs, or a
       component that joins a group type the scenario does not define
  130  interrupted (Ctrl-C); partial results are kept where the command says
"""


class UsageError(ValueError):
    """A command-line mistake found by a check across options; the command exits 2 before it runs."""


def positive_float(text: str) -> float:
    """A finite number of seconds > 0 (``--until``, ``--timeout``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1 (``--jobs``, ``--runs``, ``--schedules``, ``--stop-after``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def udp_port(text: str) -> int:
    """A UDP port number, 1 to 65535 (``--beacon-port``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a UDP port number (1-65535), got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a UDP port number (1-65535), got {text!r}")
    return value


def ipv4_address(text: str) -> str:
    """An IPv4 address in dotted form (``node --host``)."""
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected this host's IPv4 address (like 192.168.1.20), got {text!r}") from None


def seed_list(text: str) -> list[int]:
    """Seeds as ``N``, ``N-M`` or a comma-separated list of those (``sweep --seeds``)."""
    from .sweep import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def fault_kinds(text: str) -> tuple[str, ...]:
    """Comma-separated fault kinds an exploration may draw (``explore --kinds``)."""
    from .explore.schedules import FAULT_KINDS

    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"unknown fault kind(s) {unknown or [text]}; choose from {','.join(FAULT_KINDS)}")
    return kinds


def protocol_name(text: str) -> str:
    """A coordination protocol: a registered name or a user's own ``module:Class`` (``--protocol``)."""
    from .protocols import protocol_class

    try:
        protocol_class(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def directory_to_write(text: str) -> Path:
    """A directory the command writes into: missing (it is made) or a directory, never a file (``--out``)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a directory; give a directory to write into")
    return path


def file_to_write(text: str) -> Path:
    """A file the command writes: not a directory, in a directory that is not a file (``calibrate --out``)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give the file to write, e.g. {path / 'calibration.toml'}")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{parent} is a file, so {text} cannot be written")
    return path


def existing_directory(text: str) -> Path:
    """A directory that exists (``explore --replay``)."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such directory")
    return path


def add_verdict_options(parser: argparse.ArgumentParser, always: bool = False) -> None:
    """``--check`` and ``--no-liveness``, with one meaning in every command.

    *always*: the command judges every run anyway (``sweep``, ``explore``), so ``--check`` is
    accepted and changes nothing.
    """
    checks = "safety, liveness, handler errors and membership (somebody joined, every join succeeded)"
    if always:
        parser.add_argument(
            "--check", action="store_true", help=f"accepted for symmetry: this command always judges {checks} and exits 1 if any run fails"
        )
    else:
        parser.add_argument("--check", action="store_true", help=f"exit with status 1 unless the verdict is OK: {checks}")
    parser.add_argument(
        "--no-liveness",
        action="store_true",
        help="leave liveness out of the verdict (its violations are still listed, and the verdict says it left them out)",
    )


def check_isolation(scenario: Any, isolation: str | None) -> None:
    """``--isolation netns`` needs root, ``ip`` and (for partitions and loss) ``iptables``: say so before anything runs."""
    if isolation != "netns":
        return
    import shutil

    from .runtime.netns import Firewall, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        raise UsageError(f"--isolation netns: {reason}")
    if shutil.which("iptables-restore") is None and any(isinstance(f, Firewall.HANDLES) for f in scenario.faults):
        raise UsageError(
            "--isolation netns: this scenario's partitions and loss are firewall rules, which need iptables: apt-get install -y iptables (or use --isolation loopback)"
        )


def load_keys(directory: str | Path) -> Any:
    """The key material in *directory*, or a ``UsageError`` saying what is wrong with it (before anything runs)."""
    from .security import AppKeys, KeyFileError

    try:
        return AppKeys.load(directory)
    except KeyFileError as exc:
        raise UsageError(str(exc)) from None
