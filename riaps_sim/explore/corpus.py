"""The corpus: each failing schedule, shrunk, kept as a scenario file that replays it bit for bit.

A corpus entry is a ``.py`` scenario file: ``riaps-sim run FILE`` replays it in a fresh process,
and ``riaps-sim explore --replay DIR`` reruns a whole folder as a regression suite. The file names
its base scenario (a built-in name or a file path), or, for a scenario made in Python, loads it
from a cloudpickle file beside it; then it sets the schedule, the seed, the duration and the group
types that were explored. Its ``EXPECTED`` dictionary says what it violated and the trace digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle

from ..faults import Fault
from ..model import GroupType
from ..scenario import Scenario, load_scenario

__all__ = ["CorpusEntry", "write_entry", "read_entry", "entries"]


@dataclass(frozen=True)
class CorpusEntry:
    """A corpus file, loaded: its scenario and what it is expected to show."""

    path: Path
    scenario: Scenario
    violates: tuple[str, ...]
    digest: str
    quiet_from: float


def _source_line(source: str | Path | Scenario, folder: Path) -> str:
    if isinstance(source, Scenario):
        payload = cloudpickle.dumps(source)
        name = f"base-{hashlib.sha256(payload).hexdigest()[:12]}.pkl"
        (folder / name).write_bytes(payload)
        return f"cloudpickle.loads((Path(__file__).parent / {name!r}).read_bytes())"
    text = str(source)
    path = Path(text)
    if path.suffix in (".py", ".toml"):
        text = str(path.resolve())
    return f"load_scenario({text!r})"


def write_entry(
    folder: Path,
    source: str | Path | Scenario,
    group_types: Sequence[GroupType],
    faults: Sequence[Fault],
    seed: int,
    duration_s: float,
    quiet_from: float,
    violates: Sequence[str],
    digest: str,
    note: str = "",
) -> Path:
    """Write one corpus file to *folder*; its name says the first property it violates and its seed."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {"violates": list(violates), "digest": digest, "quiet_from": quiet_from}
    key = hashlib.sha256(repr((list(faults), seed, [g.protocol for g in group_types])).encode()).hexdigest()[:8]
    path = folder / f"{(violates or ['ok'])[0]}-seed{seed}-{key}.py"
    fault_lines = "".join(f"        {f!r},\n" for f in faults)
    body = f'''"""riaps-sim explore: a schedule that violates {", ".join(violates) or "nothing"}.

{note}
Replay it bit for bit: riaps-sim run {path.name} --check
"""

from dataclasses import replace
from pathlib import Path

import cloudpickle

from riaps_sim.coord.timing import Timing
from riaps_sim.faults import *  # noqa: F403 - the fault classes named below
from riaps_sim.model import GroupType
from riaps_sim.scenario import load_scenario

EXPECTED = {json.dumps(expected)}

scenario = replace(
    {_source_line(source, folder)},
    name={path.stem!r},
    group_types={tuple(group_types)!r},
    faults=[
{fault_lines}    ],
    seed={seed!r},
    duration={duration_s!r},
)
'''
    path.write_text(body, encoding="utf-8")
    return path


def read_entry(path: Path) -> CorpusEntry:
    """Load a corpus file (its scenario and its ``EXPECTED``)."""
    import runpy

    scenario = load_scenario(path)
    namespace: dict[str, Any] = runpy.run_path(str(path), run_name="riaps_sim_corpus")
    expected = namespace.get("EXPECTED", {})
    return CorpusEntry(path, scenario, tuple(expected.get("violates", ())), str(expected.get("digest", "")), float(expected.get("quiet_from", 0.0)))


def entries(folder: Path) -> list[Path]:
    """The corpus files of *folder*, in name order."""
    return sorted(p for p in Path(folder).glob("*.py") if p.is_file())
