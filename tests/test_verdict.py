"""The verdict: one record per run, printed once, that every command's exit status follows."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from riaps_sim.analysis.checks import check_run
from riaps_sim.analysis.invariants import Violation
from riaps_sim.analysis.verdict import Category, Verdict, category_of
from riaps_sim.cli import main
from riaps_sim.examples import Groupie
from riaps_sim.explore.runs import Outcome
from riaps_sim.runner import run_scenario
from riaps_sim.scenario import Scenario, load_scenario
from riaps_sim.security import KEY_FILE
from riaps_sim.sweep import RunMetrics, SweepResult
from riaps_sim.trace import Kind, Tally, Trace, TraceEvent


def _violation(prop: str) -> Violation:
    return Violation(prop, 1.0, ("n0",), (), "x")


def test_verdict_counts_each_category_and_is_bad_for_any() -> None:
    """Every category fails the verdict; warnings are counted beside it and never do."""
    found = [_violation(p) for p in ("one_leader_per_term", "leader_after_faults", "polls_decided", "no_handler_errors", "members_joined")]
    verdict = Verdict.of(found, warnings=3)
    assert (verdict.safety, verdict.liveness, verdict.handler_errors, verdict.membership, verdict.warnings) == (1, 2, 1, 1, 3)
    assert not verdict.ok and verdict.exit_code == 1 and verdict.failures == 5
    for prop in ("one_leader_per_term", "leader_after_faults", "no_handler_errors", "components_built", "members_joined", "joins_succeeded"):
        assert not Verdict.of([_violation(prop)]).ok, prop
    healthy = Verdict.of([], warnings=7)
    assert healthy.ok and healthy.exit_code == 0
    assert healthy.line() == "verdict: OK: safety 0, liveness 0, handler errors 0, membership 0; warnings 7 (not counted)"


def test_liveness_left_out_is_said_and_counted() -> None:
    """Leaving liveness out keeps its count in the line but not in the result; other categories still fail."""
    slow = Verdict.of([_violation("leader_after_faults")], liveness=False)
    assert slow.ok and slow.liveness == 1
    assert "liveness left out (1 found)" in slow.line()
    assert not Verdict.of([_violation("leader_after_faults"), _violation("no_handler_errors")], liveness=False).ok


def test_an_unknown_property_counts_as_a_safety_failure() -> None:
    """A property the checks do not know (explore's ``run_raised``) is never passed over."""
    assert category_of("run_raised") == Category.SAFETY
    assert not Verdict.of([_violation("run_raised")], liveness=False).ok


def test_verdict_rejects_counts_that_are_not_counts() -> None:
    with pytest.raises(ValueError, match="Verdict.safety must be a count"):
        Verdict(safety=-1, liveness=0, handler_errors=0, membership=0)


def test_summary_prints_the_verdict_once_last_and_in_html() -> None:
    """No "all hold" above a list of violations: the summary's last line is the one verdict, in text and HTML."""
    summary = run_scenario(load_scenario("default")).summary()
    lines = str(summary).splitlines()
    assert lines[-1] == "verdict: BAD: safety 0, liveness 1, handler errors 0, membership 0; warnings 0 (not counted)"
    assert sum(line.startswith("verdict:") for line in lines) == 1
    assert not any("all hold" in line for line in lines)
    assert "  LIVENESS VIOLATIONS (1):" in lines
    html = summary._repr_html_()
    assert html.count("verdict: BAD") == 1 and "#cf222e" in html


def _shifted(trace: Trace, offset: float) -> Trace:
    """*trace* with every time moved by *offset* seconds (as an epoch-stamped real trace would be)."""
    events = [e._replace(time=e.time + offset, true_time=None if e.true_time is None else e.true_time + offset) for e in trace]
    tallies = {k: replace(t, first=t.first + offset, last=t.last + offset) for k, t in trace.tallies().items()}
    return Trace(events, keep_heartbeats=trace.keep_heartbeats, tallies=tallies)


def test_a_fault_free_run_is_judged_from_its_start_on_any_time_axis() -> None:
    """With no fault, leader_after_faults counts from the run's first event, not from 0.0 (epoch-stamped traces too)."""
    result = run_scenario(Scenario.group_of(3, Groupie, duration=20), seed=1)
    at_zero = check_run(result.trace, result.scenario.group_types, end=20.0)
    assert at_zero.ok, at_zero.violations
    offset = 1.8e9
    epoch = check_run(_shifted(result.trace, offset), result.scenario.group_types, end=offset + 20.0)
    assert epoch.ok, epoch.violations
    ((zero,), (shifted,)) = (at_zero.liveness, epoch.liveness)
    assert shifted.took_s is not None and zero.took_s is not None and math.isclose(shifted.took_s, zero.took_s, abs_tol=1e-6)


def test_outcome_and_sweep_follow_the_verdict() -> None:
    """explore's outcomes and sweep's runs fail on liveness, unless it is left out; other categories fail either way."""
    late = _violation("leader_after_faults")
    judged = Outcome(0, 1, (), 30.0, 50.0, (late,), (), "", 0.1)
    left_out = replace(judged, judge_liveness=False)
    assert judged.failed and judged.failing == ["leader_after_faults"]
    assert not left_out.failed and left_out.failing == [] and left_out.properties == ["leader_after_faults"]
    assert replace(left_out, violations=(late, _violation("no_handler_errors"))).failed
    runs = [RunMetrics(1, 1.0, None, 0.0, 0.0, 0, 0, 0.1, liveness_violations=1), RunMetrics(2, 1.0, None, 0.0, 0.0, 0, 1, 0.1)]
    assert SweepResult("s", runs, 1.0).failed_seeds() == [1, 2]
    left = SweepResult("s", runs, 1.0, liveness=False)
    assert left.failed_seeds() == [2] and "left out of the verdict" in str(left) and str(left).endswith("verdict: BAD: 1 of 2 run(s) failed")


# -- exit statuses -----------------------------------------------------------------------------------------


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_run_check_exits_on_liveness_unless_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`run --check` fails on a liveness violation as explore does; `--no-liveness` passes it and says so."""
    assert main(["run", "default", "--out", str(tmp_path / "a")]) == 0  # without --check the verdict is shown, not enforced
    assert main(["run", "default", "--check", "--out", str(tmp_path / "b")]) == 1
    out = capsys.readouterr().out
    assert "verdict: BAD: safety 0, liveness 1," in out
    assert main(["run", "default", "--check", "--no-liveness", "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert out.count("verdict: ") == 1 and "verdict: OK: safety 0, liveness left out (1 found)" in out
    assert "LIVENESS VIOLATIONS (1, left out of the verdict):" in out
    assert main(["run", "leader-crash", "--check", "--out", str(tmp_path / "d")]) == 0


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_sweep_exits_on_liveness_unless_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    """sweep's exit status follows the same verdict as `run --check`."""
    assert main(["sweep", "default", "--seeds", "1", "--jobs", "1"]) == 1
    assert "verdict: BAD: 1 of 1 run(s) failed" in capsys.readouterr().out
    assert main(["sweep", "default", "--seeds", "1", "--jobs", "1", "--no-liveness"]) == 0
    assert "verdict: OK: 0 of 1 run(s) failed" in capsys.readouterr().out


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_explore_exits_on_liveness_unless_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    """explore counts a liveness failure as `run --check` does, and `--no-liveness` leaves it out (and says so)."""
    argv = ["explore", "default", "--schedules", "6", "--seed", "3", "--jobs", "1", "--no-shrink"]
    assert main(argv) == 1  # one of these six schedules ends with no leader agreed after its last fault
    out = capsys.readouterr().out
    assert "leader_after_faults                           1" in out and out.endswith("verdict: BAD: 1 of 6 schedule(s) failed\n")
    assert main([*argv, "--no-liveness"]) == 0
    assert capsys.readouterr().out.endswith("verdict: OK: 0 of 6 schedule(s) failed; liveness left out (--no-liveness)\n")


UNDEFINED = """
from riaps_sim import Component, GroupType, Scenario
from riaps_sim.scenario import NodeSpec

class Misspelt(Component):
    def handleActivate(self):
        self.joinGroup("TheGroops", "g1")

scenario = Scenario("misspelt", (GroupType(name="TheGroup"), GroupType(name="Other")), tuple(NodeSpec(f"n{i}", {"member": (Misspelt, {})}) for i in range(2)), duration=5)
"""


def test_joining_an_undefined_group_type_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A join of a group type the scenario lacks: exit 2, one line naming component, type and what is defined, no traceback."""
    path = tmp_path / "misspelt.py"
    path.write_text(UNDEFINED)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    out, err = capsys.readouterr()
    assert (
        "riaps-sim: scenario 'misspelt': component 'member' (on n0, n1) joins group type 'TheGroops', which the scenario does not define; it defines Other, TheGroup"
        in err
    )
    assert "Traceback" not in err
    assert "verdict: BAD: safety 0, liveness 0, handler errors 2, membership 3;" in out  # 2 failed joins, nobody joined


def test_joining_an_undefined_group_type_logs_no_traceback(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The runtime logs the failed join in one line: the message says it all."""
    path = tmp_path / "misspelt.py"
    path.write_text(UNDEFINED)
    run_scenario(load_scenario(path))
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 2 and all("Traceback" not in r.getMessage() and "joins group type 'TheGroops'" in r.getMessage() for r in errors)


def _status(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``riaps-sim`` *argv*; its exit status (argparse's own exit included), stdout and stderr."""
    try:
        status = main(argv)
    except SystemExit as stop:
        status = int(stop.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    "argv, says",
    [
        (["run", "default", "--until", "-5"], "--until: expected a number of seconds > 0, got '-5'"),
        (["run", "default", "--until", "nan"], "--until: expected a number of seconds > 0"),
        (["run", "default", "--until", "inf"], "--until: expected a number of seconds > 0"),
        (["run", "default", "--seed", "x"], "--seed: invalid int value"),
        (["run", "default", "--mode", "moon"], "--mode: invalid choice"),
        (["run", "default", "--keys", "k"], "--keys, --insecure and --isolation are for real mode"),
        (["run", "default", "--isolation", "netns"], "--keys, --insecure and --isolation are for real mode"),
        (["run", "default", "--mode", "real", "--keys", "k", "--insecure"], "give either --keys DIR or --insecure"),
        (["run", "default", "--mode", "real", "--keys", "/nonexistent/keys"], "no such directory of key files"),
        (["run", "default", "--mode", "real", "--calibration", "c.toml"], "--calibration applies to simulation only"),
        (["run", "default", "--calibration", "/nonexistent.toml"], "no such calibration file"),
        (["run", "default", "--depl", "x.depl"], "--depl and --hosts go with a RIAPS application folder"),
        (["run", "no-such-scenario"], "no-such-scenario"),
        (["sweep", "default", "--seeds", "5-2"], "bad seed range '5-2'"),
        (["sweep", "default", "--jobs", "0"], "--jobs: expected a whole number >= 1, got '0'"),
        (["explore", "default", "--kinds", "parttion"], "unknown fault kind(s) ['parttion']"),
        (["explore", "default", "--schedules", "0"], "--schedules: expected a whole number >= 1"),
        (["explore", "default", "--stop-after", "-1"], "--stop-after: expected a whole number >= 1"),
        (["explore", "default", "--protocol", "raft"], "unknown coordination protocol 'raft'; choose one of"),
        (["explore", "--replay", "/nonexistent/corpus"], "/nonexistent/corpus: no such directory"),
        (["explore"], "explore needs a SCENARIO"),
        (["node", "default", "--name", "n0", "--host", "999.1.1.1"], "--host: expected this host's IPv4 address"),
        (["node", "default", "--name", "n0", "--beacon-port", "70000"], "--beacon-port: expected a UDP port number"),
        (["node", "default", "--name", "n0", "--until", "0"], "--until: expected a number of seconds > 0"),
        (["node", "default", "--name", "zz", "--insecure"], "has no node 'zz'"),
        (["calibrate", "default", "--runs", "0"], "--runs: expected a whole number >= 1"),
        (["calibrate", "default", "--until", "-1"], "--until: expected a number of seconds > 0"),
        (["demo", "--timeout", "0"], "--timeout: expected a number of seconds > 0"),
        (["keys", "show", "/nonexistent/keys"], "no such directory of key files"),
    ],
)
def test_usage_errors_exit_2_before_anything_runs(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every bad option exits 2 with a message naming it, and nothing runs first (no banner)."""
    status, out, err = _status(argv, capsys)
    assert status == 2, (out, err)
    assert says in err, err
    assert out == "", "something ran before the usage error was reported"


def test_output_paths_that_cannot_be_written_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out naming a file where a directory goes (and the reverse) stops before the run, not after it."""
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for argv in (["run", "default", "--out", str(a_file)], ["sweep", "default", "--out", str(a_file)], ["calibrate", "--out", str(tmp_path)]):
        status, out, err = _status(argv, capsys)
        assert status == 2 and out == "" and "--out" in err, (argv, err)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / KEY_FILE).write_text("x")
    status, out, err = _status(["keys", "new", str(tmp_path / "keys")], capsys)
    assert status == 2 and "refusing to overwrite" in err


def test_a_scenarios_key_folder_that_does_not_load_stops_a_real_run_before_it_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keyed.toml"
    path.write_text('[scenario]\nduration = 5\nkeys = "nokeys"\n[[group]]\nname = "G"\n[[node]]\nname = "n"\ncount = 2\ncomponents = {}\n')
    status, out, err = _status(["run", str(path), "--mode", "real"], capsys)
    assert status == 2 and out == "" and "nokeys: no such directory of key files" in err


def test_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _status(["--help"], capsys)
    assert status == 0
    for line in (
        "exit status, the same for every command:",
        "  0    done",
        "  1    it ran and a verdict is bad",
        "  2    usage error",
        "  130  interrupted",
    ):
        assert line in out


# -- strict JSON trace files -----------------------------------------------------------------------------


def _strict(text: str) -> object:
    def refuse(constant: str) -> object:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_trace_files_are_strict_json(tmp_path: Path) -> None:
    """Every line of a run's trace.jsonl parses strictly; counted sends' latency_min is null and reads back as inf."""
    result = run_scenario(load_scenario("default"))
    result.trace.record(1.0, 1.0, "n0", "member", None, Kind.APP, detail="reading", data={"value": float("nan"), "many": [1.0, float("inf")]})
    path = tmp_path / "trace.jsonl"
    result.trace.to_jsonl(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    parsed = [_strict(line) for line in lines]
    tallies = [p["tally"] for p in parsed if isinstance(p, dict) and "tally" in p]
    assert tallies and any(t["kind"] == "send" and t["timed"] == 0 and t["latency_min"] is None for t in tallies)
    app = next(p for p in parsed if isinstance(p, dict) and p.get("kind") == "app")
    assert app["data"] == {"value": None, "many": [1.0, None]}
    back = Trace.from_jsonl(path)
    assert back.tallies() == result.trace.tallies()
    assert all(t.latency_min == math.inf for t in back.tallies().values() if not t.timed)


def test_old_trace_files_with_infinity_are_still_read(tmp_path: Path) -> None:
    """Files written before the strict rule held Infinity in latency_min: they still load, as inf."""
    path = tmp_path / "old.jsonl"
    event = TraceEvent(0.5, 0.5, "n0", None, None, Kind.FAULT, detail="heal")
    tally = {"kind": "send", "node": "n0", "peer": None, "group": "G.g", "command": "tic", "count": 2, "bytes": 0, "first": 0.0, "last": 1.0}
    tally |= {"timed": 0, "latency_sum": 0.0, "latency_max": 0.0}
    path.write_text(json.dumps(event._asdict()) + "\n" + json.dumps({"tally": {**tally, "latency_min": math.inf}}) + "\n")
    assert "Infinity" in path.read_text()
    trace = Trace.from_jsonl(path)
    assert list(trace) == [event]
    (counted,) = trace.tallies().values()
    assert counted == Tally(2, 0, 0.0, 1.0, 0, 0.0, math.inf, 0.0)


def test_namespaces_that_cannot_work_here_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--isolation netns without root, ip or (for partitions) iptables: one line, exit 2, before anything runs."""
    import shutil

    from riaps_sim.runtime.netns import unavailable_reason

    if unavailable_reason() is None and shutil.which("iptables-restore") is not None:
        pytest.skip("namespaces and iptables work here: the run would start")
    status, out, err = _status(["run", "default", "--mode", "real", "--isolation", "netns"], capsys)
    assert status == 2 and out == "" and err.startswith("riaps-sim: --isolation netns: ") and "Traceback" not in err


def test_a_summary_represents_itself_in_one_line() -> None:
    summary = run_scenario(load_scenario("leader-crash")).summary()
    assert repr(summary) == (
        "<Summary 'leader-crash (sim, seed 1)': group TheGroup.g1, 40.0 s, "
        "verdict: OK: safety 0, liveness 0, handler errors 0, membership 0; warnings 0 (not counted)>"
    )
