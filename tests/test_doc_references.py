"""Docstrings and comments point at documents the repository has (a reader can follow every reference)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKDOWN_NAME = re.compile(r"[\w./-]+\.md\b")


def test_every_markdown_document_named_in_the_code_exists() -> None:
    """A docstring that cites ``notes.md §3`` sends the reader nowhere when the repository has no notes.md."""
    documents = {p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.md") if not {".venv", "_build", "node_modules"} & set(p.parts)}
    names = {Path(d).name for d in documents}
    missing = []
    for source in sorted([*(ROOT / "riaps_sim").rglob("*.py"), *(ROOT / "ports").rglob("*.py")]):
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            for cited in MARKDOWN_NAME.findall(line):
                if cited not in documents and ("/" in cited or cited not in names):
                    missing.append(f"{source.relative_to(ROOT)}:{number}: {cited}")
    assert documents and not missing, "documents the repository does not have:\n" + "\n".join(missing)
