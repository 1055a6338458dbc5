"""Every notebook executes headless, top to bottom; a failing cell fails the suite."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    """The notebook runs without error and shows at least one figure."""
    book = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    elapsed = time.perf_counter() - started
    images = [o for cell in book.cells if cell.cell_type == "code" for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, f"{path.name} shows no figure"
    print(f"{path.name}: {elapsed:.1f} s")
