"""Check that protocol and component code obeys the rules that let it run in both worlds.

Code that runs unchanged in simulation and on real ZeroMQ never reads the wall clock, sleeps or
blocks, draws from the global random generator, starts threads or processes, or touches sockets
other than its ports ("The two worlds" in docs/concepts.md). It asks its node for the clock, timers and a random generator.
This module finds breaches by reading the source (it imports nothing it checks), so it runs on
our own ``riaps_sim.coord`` in the test suite and on a user's component files from the shell::

    python -m riaps_sim.rules my_components/
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Violation", "check_source", "check_paths", "FORBIDDEN_MODULES"]

#: Modules protocol code must not import, with what to use instead.
FORBIDDEN_MODULES = {
    "time": "the wall clock and sleeps: use the node's clock and timers",
    "datetime": "the wall clock: use the node's clock",
    "random": "the global random generator: use the node's generator",
    "secrets": "unseeded randomness: use the node's generator",
    "uuid": "unseeded randomness: use the node's generator",
    "threading": "threads: handlers run on the node's loop",
    "_thread": "threads: handlers run on the node's loop",
    "multiprocessing": "processes: the runtime owns processes",
    "concurrent": "threads and processes: the runtime owns them",
    "asyncio": "a second event loop: the runtime owns the loop",
    "socket": "raw sockets: talk through the group ports",
    "select": "blocking waits: the runtime polls",
    "selectors": "blocking waits: the runtime polls",
    "zmq": "ZeroMQ directly: talk through the group ports",
    "simpy": "the simulator: protocol code must not know which world it runs in",
}

#: Calls forbidden even without an import of their module (e.g. through a re-export).
FORBIDDEN_CALLS = {
    "time.time",
    "time.monotonic",
    "time.perf_counter",
    "time.sleep",
    "time.time_ns",
    "datetime.now",
    "datetime.utcnow",
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "os.urandom",
    "os.getrandom",
    "os.fork",
}


@dataclass(frozen=True, slots=True)
class Violation:
    """One breach of the rules: where it is and what it does."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _visit(tree: ast.AST, path: str) -> Iterator[Violation]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in FORBIDDEN_CALLS:
                yield Violation(path, node.lineno, f"calls {name}()")
            elif name == "__import__" or name == "importlib.import_module":
                yield Violation(path, node.lineno, f"imports dynamically with {name}(); the rules cannot be checked")
            continue
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in FORBIDDEN_MODULES:
                yield Violation(path, node.lineno, f"imports {name}: {FORBIDDEN_MODULES[top]}")


def check_source(source: str, path: str = "<source>") -> list[Violation]:
    """Return the rule violations in Python *source* (attributed to *path*), in line order.

    Raises ``SyntaxError`` if *source* does not parse.
    """
    tree = ast.parse(source, filename=path)
    return sorted(_visit(tree, path), key=lambda v: v.line)


def check_paths(paths: Iterable[str | Path]) -> list[Violation]:
    """Check every ``.py`` file in *paths* (files or folders, searched recursively)."""
    violations: list[Violation] = []
    for root in map(Path, paths):
        if not root.exists():
            raise FileNotFoundError(f"nothing to check at {root}")
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for file in files:
            violations += check_source(file.read_text(encoding="utf-8"), str(file))
    return violations


def main(argv: list[str] | None = None) -> int:
    """Print the violations in the paths given on the command line; exit 1 if there are any."""
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m riaps_sim.rules PATH [PATH ...]", file=sys.stderr)
        return 2
    violations = check_paths(paths)
    for violation in violations:
        print(violation)
    print(f"{len(violations)} violation(s)" if violations else "no violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
