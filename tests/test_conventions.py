"""The project's conventions: one version number, a licence, a changelog, ``--version``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
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


def _tree() -> list[str]:
    """What the tree is to ruff: the Python files and notebooks git tracks, so that files a notebook or a
    user leaves in the checkout do not count; the whole folder outside a git checkout."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        return ["."]
    listed = subprocess.run([git, "ls-files", "-z", "--", "*.py", "*.pyi", "*.ipynb"], cwd=ROOT, capture_output=True, timeout=60)
    if listed.returncode != 0:  # e.g. a checkout owned by another user: git refuses it
        return ["."]
    return [name for name in listed.stdout.decode().split("\0") if name and (ROOT / name).exists()]


def _ruff(*args: str) -> None:
    """Run ruff with *args* over the tree; fail with what it printed unless it exits 0."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    # --force-exclude: files named one by one are still excluded as pyproject says
    result = subprocess.run([ruff, *args, "--no-cache", "--force-exclude", *_tree()], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check_passes() -> None:
    """The lint rules pyproject configures hold over the tree (``ruff check .``)."""
    _ruff("check")


def test_ruff_format_leaves_the_tree_as_it_is() -> None:
    """The tree is formatted as pyproject configures (``ruff format --check .``)."""
    _ruff("format", "--check")


def test_the_tree_ruff_checks_is_what_git_tracks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file left untracked in a checkout (what a notebook wrote, say) is not part of the tree ruff checks."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "kept.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "stray.py").write_text("x  =  1\n", encoding="utf-8")
    subprocess.run([git, "add", "kept.py"], cwd=tmp_path, check=True)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _tree() == ["kept.py"]
    (tmp_path / ".git").rename(tmp_path / "not-git")
    assert _tree() == ["."], "outside a git checkout the whole folder is the tree"
