"""Scenario mistakes are errors that name the file and the field (or line), before anything runs.

Each case is a mistake a user makes: a misspelt table or key, a wrong type, an unknown protocol,
group kind, fault kind or component argument. None of them may run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from riaps_sim import runner
from riaps_sim.examples import Groupie
from riaps_sim.faults import Crash, Heal
from riaps_sim.model import GroupType
from riaps_sim.scenario import NodeSpec, Scenario, ScenarioError, load_scenario

GOOD = """
[scenario]
name = "good"
duration = 30
seed = 2

[[group]]
name = "TheGroup"
protocol = "fixed"
timing = { heartbeat = 500, electionMin = 800, electionMax = 1200, peerTimeout = 1600, consensusTimeout = 1000 }

[[node]]
name = "n"
count = 3
components = { member = { class = "riaps_sim.examples:Groupie", args = { min_size = 2 } } }

[[fault]]
at = 10
kind = "clock_skew"
node = "n1"
offset_s = 0.5

[[fault]]
at = 20
kind = "heal"
"""

TOML_MISTAKES = [
    # (what the user did, edit of GOOD, what the error must say)
    ("misspelt table", ("[[node]]", "[[nodes]]"), r"top level: unknown field\(s\) \['nodes'\]"),
    ("misspelt components", ("components = {", "componets = {"), r"node\[0\]: unknown field\(s\) \['componets'\]"),
    ("misspelt scenario key", ("seed = 2", "sead = 2"), r"\[scenario\]: unknown field\(s\) \['sead'\]"),
    ("duration as words", ("duration = 30", 'duration = "thirty"'), r"\[scenario\].duration: expected a number of seconds, got a string 'thirty'"),
    ("seed as a float", ("seed = 2", "seed = 2.5"), r"\[scenario\].seed: expected an integer seed, got a number 2.5"),
    (
        "unknown protocol",
        ('protocol = "fixed"', 'protocol = "raft"'),
        r"group\[0\]: .*unknown coordination protocol 'raft'; choose one of \['fixed', 'planted-double-vote', 'riaps'\]",
    ),
    ("unknown group kind", ('name = "TheGroup"', 'name = "TheGroup"\nkind = "mob"'), r"group\[0\]: .*kind must be one of .*got 'mob'"),
    ("misspelt group key", ('protocol = "fixed"', 'protocl = "fixed"'), r"group\[0\]: unknown field\(s\) \['protocl'\]"),
    ("unknown timing name", ("heartbeat = 500", "heartbeet = 500"), r"group\[0\].timing: unknown field\(s\) \['heartbeet'\]"),
    ("timing as a float", ("heartbeat = 500", "heartbeat = 500.5"), r"group\[0\].timing.heartbeat: expected a whole number of milliseconds"),
    ("timed as a string", ('protocol = "fixed"', 'protocol = "fixed"\ntimed = "yes"'), r"group\[0\].timed: expected true or false"),
    ("unknown fault kind", ('kind = "heal"', 'kind = "explode"'), r"fault\[1\].kind: expected one of .*got 'explode'"),
    ("the old clock name", ('kind = "clock_skew"', 'kind = "clock"'), r"fault\[0\].kind: the kind is now 'clock_skew'"),
    ("the old offset name", ("offset_s = 0.5", "offset = 0.5"), r"fault\[0\]: unknown field\(s\) \['offset'\]; expected .*'offset_s'"),
    ("fault time misspelt", ("at = 20", "when = 20"), r"fault\[1\]: unknown field\(s\) \['when'\]"),
    ("fault needs its node", ('node = "n1"\n', ""), r"fault\[0\]: a clock_skew needs \['node'\]"),
    ("fault on an unknown node", ('node = "n1"', 'node = "n7"'), r"names unknown node\(s\) \['n7'\]"),
    (
        "misspelt component argument",
        ("min_size = 2", "minsize = 2"),
        r"node\[0\].components.member.args: Groupie\(minsize=...\): .*'minsize'.*accepts \[.*'min_size'",
    ),
    ("component class missing", ("riaps_sim.examples:Groupie", "riaps_sim.examples:Nobody"), r"node\[0\].components.member.class: cannot import"),
    ("component spec misspelt", ("args = {", "arguments = {"), r"node\[0\].components.member: unknown field\(s\) \['arguments'\]"),
    ("count of zero", ("count = 3", "count = 0"), r"node\[0\].count: expected a count >= 1"),
    ("no group at all", ('[[group]]\nname = "TheGroup"', '[[grp]]\nname = "TheGroup"'), r"top level: expected at least one \[\[group\]\]"),
]


@pytest.mark.parametrize("what, edit, message", TOML_MISTAKES, ids=[m[0] for m in TOML_MISTAKES])
def test_toml_mistake_names_file_and_field_and_nothing_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, what: str, edit: tuple[str, str], message: str
) -> None:
    assert edit[0] in GOOD, f"the case {what!r} edits nothing"
    path = tmp_path / "s.toml"
    path.write_text(GOOD.replace(*edit, 1))
    ran = []
    monkeypatch.setattr(runner, "run_sim", lambda *a, **k: ran.append(a))
    with pytest.raises(ScenarioError, match=message) as caught:
        runner.run_scenario(load_scenario(path))
    assert str(caught.value).startswith(f"{path}: ") and ran == []


def test_the_good_file_loads_with_python_names(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(GOOD)
    scenario = load_scenario(path)
    assert scenario.node_names() == ["n0", "n1", "n2"] and scenario.group_types[0].protocol == "fixed"
    assert scenario.faults[0].offset_s == 0.5 and scenario.group_types[0].timing.heartbeat_ms == 500


def _base(**change: object) -> dict:
    base = dict(name="s", group_types=(GroupType(name="TheGroup"),), nodes=Scenario.group_of(2, Groupie).nodes, duration=30.0)
    base.update(change)
    return base


PYTHON_MISTAKES = [
    ("duration as words", lambda: Scenario(**_base(duration="thirty")), r"duration must be a number of seconds, got 'thirty'"),
    ("seed as a string", lambda: Scenario(**_base(seed="7")), r"seed must be an integer, got '7'"),
    (
        "unknown protocol",
        lambda: GroupType(name="G", protocol="raft"),
        r"unknown coordination protocol 'raft'; choose one of \['fixed', 'planted-double-vote', 'riaps'\]",
    ),
    ("misspelt component argument", lambda: Scenario.group_of(3, Groupie, {"minsize": 2}), r"node 'n0': component 'member': Groupie\(minsize=...\)"),
    ("component args not a mapping", lambda: NodeSpec("n0", {"member": (Groupie, [1, 2])}), r"arguments must be a mapping"),
    ("a group type given as a string", lambda: Scenario(**_base(group_types=("TheGroup",))), r"group_types\[0\] must be a GroupType"),
    ("fault after the end", lambda: Scenario(**_base(faults=[Heal(at=99)])), r"faults after the end"),
    ("fault on an unknown node", lambda: Scenario(**_base(faults=[Crash(at=5, node="n9")])), r"names unknown node\(s\) \['n9'\]"),
]


@pytest.mark.parametrize("what, build, message", PYTHON_MISTAKES, ids=[m[0] for m in PYTHON_MISTAKES])
def test_python_mistake_says_what_and_where(what: str, build, message: str) -> None:
    with pytest.raises((ScenarioError, ValueError), match=message):
        build()


def test_a_python_scenario_file_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(
        "from riaps_sim import Scenario\nfrom riaps_sim.examples import Groupie\n\nscenario = Scenario.group_of(3, Groupie, {'minsize': 2})\n"
    )
    with pytest.raises(ScenarioError, match=rf"{path}: .*node 'n0': component 'member': Groupie\(minsize=...\)"):
        load_scenario(path)
