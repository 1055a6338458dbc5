"""A node's durable storage: what a protocol keeps across crashes (``fixed``'s term, vote and configuration).

The machine emits ``Persist`` before the commands that depend on it (a vote is never sent before
it is stored); the member carries it out here, and a member that joins after a restart resumes
from the :class:`~riaps_sim.coord.commands.DurableState` its node stored for that group.

- ``MemoryStorage``: a dictionary. The simulation keeps one per node, outside the node, so it
  outlives the node's crash as a disk would.
- ``FileStorage``: a small JSON file, replaced atomically and synced on every write, for real node
  processes (``<node>.state.json`` beside the node's trace). Each group is an object
  ``{"term": 3, "voted_for": "<hex>" or null, "configuration": ["<hex>", ...]}``; the earlier form
  ``[term, voted_for]`` still reads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..coord.commands import DurableState

__all__ = ["MemoryStorage", "FileStorage", "DurableState"]


class MemoryStorage:
    """The durable state of each group, in memory."""

    def __init__(self) -> None:
        self._state: dict[str, DurableState] = {}

    def __repr__(self) -> str:
        return f"<MemoryStorage {len(self._state)} groups>"

    def load(self, group: str) -> DurableState | None:
        """What was stored for *group*, or None."""
        return self._state.get(group)

    def save(self, group: str, state: DurableState) -> None:
        """Store *state* for *group*, replacing what was there."""
        self._state[group] = state

    def groups(self) -> dict[str, DurableState]:
        """Every group's stored state."""
        return dict(self._state)


def _decode(group: str, raw: Any) -> DurableState:
    if isinstance(raw, list):  # [term, voted_for]: written before the configuration was kept
        term, voted_for = raw
        return DurableState(term=int(term), voted_for=bytes.fromhex(voted_for) if voted_for else None)
    if not isinstance(raw, dict):
        raise TypeError(f"group {group!r}: expected an object, got {type(raw).__name__}")
    voted_for = raw.get("voted_for")
    return DurableState(
        term=int(raw["term"]),
        voted_for=bytes.fromhex(voted_for) if voted_for else None,
        configuration=tuple(bytes.fromhex(m) for m in raw.get("configuration", ())),
    )


def _encode(state: DurableState) -> dict[str, Any]:
    return {
        "term": state.term,
        "voted_for": state.voted_for.hex() if state.voted_for else None,
        "configuration": [m.hex() for m in state.configuration],
    }


class FileStorage(MemoryStorage):
    """The durable state of each group in a JSON file; each save is written whole, synced and renamed into place."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        if self.path.exists():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(raw, dict):
                    raise TypeError("expected an object of groups")
                self._state = {g: _decode(g, v) for g, v in raw.items()}
            except (ValueError, TypeError, KeyError) as exc:
                raise ValueError(f"{self.path}: not a node state file ({exc}); remove it to start afresh") from None

    def __repr__(self) -> str:
        return f"<FileStorage {self.path}>"

    def save(self, group: str, state: DurableState) -> None:
        super().save(group, state)
        self._write()

    def forget(self, group: str | None = None) -> list[str]:
        """Remove what is stored for *group* (every group if None); return the groups removed.

        The file goes when nothing is left in it. A node must not be running meanwhile: it would
        write its state back.
        """
        gone = [g for g in self._state if group is None or g == group]
        for g in gone:
            del self._state[g]
        if gone:
            if self._state:
                self._write()
            else:
                self.path.unlink(missing_ok=True)
        return gone

    def _write(self) -> None:
        text = json.dumps({g: _encode(s) for g, s in self._state.items()})
        scratch = self.path.with_suffix(".tmp")
        with scratch.open("w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(scratch, self.path)
