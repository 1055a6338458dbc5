"""The project's conventions: one version number, a licence, a changelog, ``--version``."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

import riaps_sim
from riaps_sim.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_one_version_from_the_package_metadata() -> None:
    """``__version__`` is the installed metadata's version, which is pyproject's single number."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert riaps_sim.__version__ == version("riaps-sim") == declared
    assert declared not in (ROOT / "riaps_sim" / "__init__.py").read_text(encoding="utf-8")


def test_cli_prints_its_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"riaps-sim {riaps_sim.__version__}"


def test_licence_and_changelog_match_the_package() -> None:
    """LICENSE is the Apache-2.0 text pyproject names; the changelog has the released version and Unreleased."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["license"] == "Apache-2.0" and meta["license-files"] == ["LICENSE"]
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8") and "Version 2.0" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), flags=re.M)
    assert headings[0] == "Unreleased" and meta["version"] in headings


def _ruff(*args: str) -> None:
    """Run ruff with *args* over the tree; fail with what it printed unless it exits 0."""
    import shutil
    import subprocess
    import sys

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    result = subprocess.run([ruff, *args, "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check_passes() -> None:
    """The lint rules pyproject configures hold over the tree (``ruff check .``)."""
    _ruff("check")


def test_ruff_format_leaves_the_tree_as_it_is() -> None:
    """The tree is formatted as pyproject configures (``ruff format --check .``)."""
    _ruff("format", "--check")
