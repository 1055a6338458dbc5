"""`riaps-sim check`: the model checker finds the reference's split brain, kills the planted bug, keeps the control clean."""

from __future__ import annotations

import subprocess
import sys

import pytest

from riaps_sim.check import Bounds, check
from riaps_sim.check.moves import Move
from riaps_sim.check.properties import promised
from riaps_sim.check.report import format_violation
from riaps_sim.check.world import Setting, initial_world
from riaps_sim.coord import FixedProtocol, Role
from riaps_sim.coord.riaps import RiapsProtocol

#: Small bounds: elections only (no faults, no polls), timers in the order they fall due.
ELECTIONS = Bounds(max_depth=10, max_term=1, max_in_flight=2, max_faults=0, max_polls=0, max_timer_skew_ms=0)
#: The reference's split brain within 10 steps: any timer order, one message queued per member.
SPLIT = Bounds(max_depth=10, max_term=1, max_in_flight=1, max_faults=0, max_polls=0)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_riaps_split_brain_is_found_with_a_short_counterexample_that_replays() -> None:
    result = check("riaps", members=3, bounds=SPLIT)
    v = result.violation
    assert v is not None and v.prop.name == "one_leader_per_term", str(result)
    assert len(v.steps) <= 10
    last = v.worlds()[-1]
    leaders = [(m.term, slot) for slot, m in enumerate(last.machines) if m is not None and m.role is Role.LEADER]
    assert len(leaders) == 2 and leaders[0][0] == leaders[1][0], leaders  # two leaders, one term
    text = format_violation(v)
    assert "B12" in text and f"{len(v.steps)} steps" in text and "n1" in text


def test_a_check_that_explores_nothing_fails_the_sometimes_properties() -> None:
    result = check("fixed", members=3, bounds=Bounds(max_depth=1, max_faults=0, max_polls=0, max_timer_skew_ms=0))
    assert result.violation is None
    assert not result.ok and set(result.unreached) == {"leader_elected", "failover", "poll_decided_yes"}


@pytest.mark.slow
def test_fixed_elects_without_violation_and_the_counts_add_up() -> None:
    result = check("fixed", members=3, bounds=ELECTIONS)
    assert result.violation is None, str(result)
    assert result.reached["leader_elected"] is not None
    assert result.distinct > 100 and result.states >= result.distinct - 1 and result.depth == ELECTIONS.max_depth
    assert "distinct states/s" in str(result) and "max_term=1" in str(result)


def test_promises_are_read_from_the_class_never_its_name() -> None:
    class Quiet(FixedProtocol):
        name = "fixed"  # the name of a protocol that promises much; this one promises nothing
        PROMISES = frozenset()

    assert promised(Quiet) == ()
    steps = {p.name for p in promised(FixedProtocol)}  # the promises about single steps; the rest are the trace checks'
    assert steps == set(FixedProtocol.PROMISES) - {"steps_down_without_quorum"}

    class Typo(FixedProtocol):
        PROMISES = frozenset({"one_leader_per_trem"})

    with pytest.raises(ValueError, match=r"Typo.PROMISES names unknown promises \['one_leader_per_trem'\]"):
        check(Typo, bounds=ELECTIONS)


@pytest.mark.slow
def test_symmetry_merges_renamed_states_of_a_symmetric_protocol_only() -> None:
    assert "member_symmetric" in RiapsProtocol.PROMISES and "member_symmetric" not in FixedProtocol.PROMISES
    bounds = Bounds(max_depth=6, max_term=1, max_in_flight=2, max_faults=0, max_polls=0, max_timer_skew_ms=0)
    plain = check("riaps", bounds=bounds, symmetry=False)
    reduced = check("riaps", bounds=bounds)
    assert reduced.symmetry and not plain.symmetry
    assert reduced.distinct < plain.distinct


def test_a_crash_restarts_with_the_durable_term_and_vote() -> None:
    setting = Setting(protocol=FixedProtocol, members=3, bounds=Bounds(max_timer_skew_ms=None), group_min_size=3)
    world = initial_world(setting)
    for want in ("election", None):  # n1's deadline passes: it asks for pre-votes
        step = next(s for s in world.moves() if s.move is Move.TIMER and s.member == 0 and s.timer == "election") if want else None
        if step is not None:
            nxt = world.after(step)
            assert nxt is not None
            world = nxt
    crash = next(s for s in world.moves() if s.move is Move.CRASH and s.member == 1)
    down = world.after(crash)
    assert down is not None and down.machines[1] is None and all(e.dst != 1 for e in down.flight)
    restart = next(s for s in down.moves() if s.move is Move.RESTART)
    up = down.after(restart)
    assert up is not None and up.incarnations[1] == 1
    m = up.machines[1]
    assert m is not None and m.member_id != world.machines[1].member_id  # type: ignore[union-attr]
    stored = world.durable[1]
    assert (m.term, m.voted_for) == ((stored.term, stored.voted_for) if stored else (0, None))
    assert stored is None or m.durable_state().configuration >= stored.configuration  # it counts everyone it had seen


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--members", "9"], "members must be an int from 2 to 5, got 9"),
        (["--max-depth", "-1"], "check bound max_depth must be an int >= 0, got -1"),
        (["--protocol", "raft"], "unknown coordination protocol 'raft'"),
    ],
)
def test_cli_usage_errors_exit_2_with_the_reason(argv: list[str], message: str) -> None:
    run = subprocess.run([sys.executable, "-m", "riaps_sim.cli", "check", *argv], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_cli_exits_1_on_a_violation_and_prints_the_counterexample() -> None:
    bounds = ["--max-depth", "10", "--max-term", "1", "--max-in-flight", "1", "--max-faults", "0", "--max-polls", "0"]
    run = subprocess.run(
        [sys.executable, "-m", "riaps_sim.cli", "check", "--protocol", "riaps", "--quiet", *bounds], capture_output=True, text=True, timeout=240
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "VIOLATED one_leader_per_term" in run.stdout and "shortest counterexample" in run.stdout
