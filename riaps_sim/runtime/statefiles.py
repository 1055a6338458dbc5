"""What real node processes keep across restarts, shown and reset: the logic of ``riaps-sim state``.

A real node writes its durable group state (``fixed``'s term, vote and configuration) to
``<node>.state.json`` beside its trace (:class:`~riaps_sim.runtime.storage.FileStorage`). A
deployment can get stuck on it: a node whose term is more than ``MAX_TERM_STEP`` behind its group,
or state written by a rogue member. ``riaps-sim state PATH`` shows it; ``--reset`` removes it
(for one group or all), after which the node starts as a new member would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .storage import DurableState, FileStorage

__all__ = ["StateFile", "find_state_files", "describe"]

SUFFIX = ".state.json"


@dataclass(frozen=True)
class StateFile:
    """One node's state file and what it holds, by group."""

    path: Path
    groups: dict[str, DurableState]

    @property
    def node(self) -> str:
        """The node the file belongs to (its name before ``.state.json``)."""
        return self.path.name[: -len(SUFFIX)]


def find_state_files(path: str | Path) -> list[StateFile]:
    """The state files at *path*: the file itself, or every ``*.state.json`` below a folder (a run's output).

    Raises
    ------
    FileNotFoundError
        If *path* does not exist, or a folder holds no state file.
    ValueError
        If a file is not a node state file (the message names it).
    """
    path = Path(path)
    if path.is_dir():
        paths = sorted(path.rglob("*" + SUFFIX))
        if not paths:
            raise FileNotFoundError(f"{path}: no node state files (*{SUFFIX}) in this folder")
    elif path.exists():
        paths = [path]
    else:
        raise FileNotFoundError(f"{path}: no such file or folder")
    return [StateFile(p, FileStorage(p).groups()) for p in paths]


def describe(files: list[StateFile]) -> list[str]:
    """Lines a person reads: per node and group, the term, the vote and the configuration."""
    out = []
    for f in files:
        out.append(f"{f.node}  ({f.path})")
        if not f.groups:
            out.append("    nothing stored")
        for group, state in sorted(f.groups.items()):
            vote = state.voted_for.hex()[:8] + ".." if state.voted_for else "none"
            members = ", ".join(m.hex()[:8] + ".." for m in state.configuration) or "none"
            out.append(f"    {group}: term {state.term}, voted for {vote}, configuration of {len(state.configuration)}: {members}")
    return out
