"""Real nodes' durable state, shown and reset (``riaps-sim state``)."""

from __future__ import annotations

import pytest

from riaps_sim.runtime.statefiles import describe, find_state_files
from riaps_sim.runtime.storage import DurableState, FileStorage

A, B = b"\x0a" * 16, b"\x0b" * 16


def test_a_run_folders_state_files_are_found_shown_and_reset(tmp_path) -> None:
    (tmp_path / "nodes").mkdir()
    FileStorage(tmp_path / "nodes" / "n0.state.json").save("TheGroup.g1", DurableState(term=4294967294, voted_for=A, configuration=(A, B)))
    FileStorage(tmp_path / "nodes" / "n1.state.json").save("TheGroup.g1", DurableState(term=3))
    files = find_state_files(tmp_path)
    assert [f.node for f in files] == ["n0", "n1"]
    text = "\n".join(describe(files))
    assert "TheGroup.g1: term 4294967294, voted for 0a0a0a0a.., configuration of 2" in text and "term 3, voted for none" in text
    assert FileStorage(files[0].path).forget("Other.g") == []
    assert FileStorage(files[0].path).forget("TheGroup.g1") == ["TheGroup.g1"]
    assert not files[0].path.exists()  # nothing left in it
    assert [f.node for f in find_state_files(tmp_path)] == ["n1"]


def test_a_missing_path_or_a_folder_without_state_says_so(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        find_state_files(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no node state files"):
        find_state_files(tmp_path)
    (tmp_path / "n0.state.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="n0.state.json: not a node state file"):
        find_state_files(tmp_path)


def test_riaps_sim_state_shows_and_resets_only_when_told_to(tmp_path, monkeypatch, capsys) -> None:
    import io

    from riaps_sim.cli import main

    path = tmp_path / "n0.state.json"
    FileStorage(path).save("TheGroup.g1", DurableState(term=4294967294, voted_for=A))
    FileStorage(path).save("Other.g2", DurableState(term=2))
    assert main(["state", str(tmp_path)]) == 0
    assert "TheGroup.g1: term 4294967294" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal: --reset without --yes removes nothing
    assert main(["state", str(path), "--reset"]) == 2
    assert "add --yes" in capsys.readouterr().err and FileStorage(path).load("TheGroup.g1") is not None
    assert main(["state", str(path), "--reset", "TheGroup.g1", "--yes"]) == 0
    assert FileStorage(path).load("TheGroup.g1") is None and FileStorage(path).load("Other.g2") == DurableState(term=2)
    assert main(["state", str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
