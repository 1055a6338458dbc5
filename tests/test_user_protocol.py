"""A user's own protocol class as ``--protocol module:Class`` in run, sweep and explore (issue 21)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from riaps_sim.cli import main
from riaps_sim.model import GroupType
from riaps_sim.protocols import protocol_class

VARIANT = '''
from riaps_sim.coord import FIXED_TABLE
from riaps_sim.coord.election import Role, row
from riaps_sim.coord.fixed import FixedProtocol


class NoCheckQuorum(FixedProtocol):
    """fixed, but a leader never steps down for want of a quorum."""

    name = "no-check-quorum"


NoCheckQuorum.TABLE = {**FIXED_TABLE, (Role.LEADER, "TimerFired[leader]"): row(FixedProtocol._announce_leadership, to=Role.LEADER)}
NOT_A_MACHINE = 3
'''


@pytest.fixture
def variant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "my_variant.py").write_text(VARIANT)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # main() adds the working directory; undone after the test
    yield "my_variant:NoCheckQuorum"
    sys.modules.pop("my_variant", None)


@pytest.mark.slow
def test_run_sweep_and_explore_take_a_users_protocol_class(variant: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "leader-crash", "--protocol", variant, "--out", "out/run", "--check"]) == 0
    assert "group TheGroup.g1" in capsys.readouterr().out
    assert main(["sweep", "leader-crash", "--seeds", "0-1", "--jobs", "1", "--protocol", variant]) == 0
    assert main(["explore", "default", "--schedules", "3", "--jobs", "1", "--protocol", variant, "--no-shrink"]) in (0, 1)
    assert "table coverage (no-check-quorum)" in capsys.readouterr().out


def test_a_protocol_that_is_not_there_or_not_a_machine_is_a_usage_error(variant: str, capsys: pytest.CaptureFixture[str]) -> None:
    for spec, why in [
        ("my_variant:Nope", "module 'my_variant' has no 'Nope'"),
        ("no_such_module:X", "cannot import module 'no_such_module'"),
        ("my_variant:NOT_A_MACHINE", "is not a coordination machine"),
        ("fixd", "unknown coordination protocol 'fixd'"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            main(["run", "default", "--protocol", spec])
        assert exit_.value.code == 2 and why in capsys.readouterr().err, spec


def test_a_group_type_names_a_users_protocol(variant: str) -> None:
    sys.path.append(str(Path.cwd()))
    assert protocol_class(variant).name == "no-check-quorum"
    assert GroupType(name="G", protocol=variant).protocol == variant
    with pytest.raises(ValueError, match="group type 'G': protocol 'my_variant:Nope'"):
        GroupType(name="G", protocol="my_variant:Nope")
