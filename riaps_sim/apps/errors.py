"""``AppError``: a RIAPS application that cannot be run, named by file, line and construct."""

from __future__ import annotations

from pathlib import Path

from ..scenario import ScenarioError

__all__ = ["AppError", "BuildError"]


class AppError(ScenarioError):
    """A model, deployment or component module outside what riaps-sim runs, or malformed.

    The message reads ``<file>:<line>: <construct>: <what is wrong and what to do>``.
    ``path``, ``line`` and ``construct`` are kept as attributes for tests and tools.
    """

    def __init__(self, path: str | Path, line: int | None, construct: str, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.construct = construct
        self.reason = reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {construct}: {reason}")


class BuildError(AppError):
    """An actor or component argument that has no value or the wrong type (RIAPS raises ``BuildError`` at start)."""
