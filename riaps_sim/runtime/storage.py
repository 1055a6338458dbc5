"""A node's durable storage: what a protocol keeps across crashes (``fixed``'s term and vote).

The machine emits ``Persist(term, voted_for)`` before the commands that depend on it (a vote is
never sent before it is stored); the member carries it out here, and a member that joins after a
restart resumes from what its node stored for that group.

- ``MemoryStorage``: a dictionary. The simulation keeps one per node, outside the node, so it
  outlives the node's crash as a disk would.
- ``FileStorage``: a small JSON file, replaced atomically and synced on every write, for real node
  processes (``<node>.state.json`` beside the node's trace).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["MemoryStorage", "FileStorage", "Durable"]

Durable = tuple[int, bytes | None]


class MemoryStorage:
    """Term and vote per group, in memory."""

    def __init__(self) -> None:
        self._state: dict[str, Durable] = {}

    def __repr__(self) -> str:
        return f"<MemoryStorage {len(self._state)} groups>"

    def load(self, group: str) -> Durable | None:
        return self._state.get(group)

    def save(self, group: str, term: int, voted_for: bytes | None) -> None:
        self._state[group] = (term, voted_for)


class FileStorage(MemoryStorage):
    """Term and vote per group in a JSON file; each save is written whole, synced and renamed into place."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        if self.path.exists():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                self._state = {g: (int(t), bytes.fromhex(v) if v else None) for g, (t, v) in raw.items()}
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{self.path}: not a node state file ({exc}); remove it to start afresh") from None

    def __repr__(self) -> str:
        return f"<FileStorage {self.path}>"

    def save(self, group: str, term: int, voted_for: bytes | None) -> None:
        super().save(group, term, voted_for)
        text = json.dumps({g: [t, v.hex() if v else None] for g, (t, v) in self._state.items()})
        scratch = self.path.with_suffix(".tmp")
        with scratch.open("w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(scratch, self.path)
