"""The small parts of a real run's parent and nodes, without processes: reports, agenda, status, tallies, clock."""

from __future__ import annotations

import time
from pathlib import Path

from riaps_sim.faults import Crash, Heal
from riaps_sim.runtime.agenda import Agenda
from riaps_sim.runtime.launch import Observed
from riaps_sim.runtime.real import RealDriver
from riaps_sim.runtime.reports import LeaderTracker, Reporter, Triggers
from riaps_sim.runtime.status import RunStatus
from riaps_sim.runtime.tracefiles import StreamingTrace, TraceFiles
from riaps_sim.trace import Kind, Trace, TraceEvent


def _state(node: str, member: str, role: str, term: int, at: float = 1.0) -> TraceEvent:
    return TraceEvent(at, None, node, None, "G.g", Kind.STATE, peer=member, term=term, detail=role)


def test_the_tracker_follows_roles_departures_and_forgotten_nodes() -> None:
    tracker = LeaderTracker()
    tracker.feed(_state("n0", "m0", "leader", 1))
    tracker.feed(_state("n1", "m1", "leader", 2))
    assert tracker.leader({"n0", "n1"}) == "n1"  # the highest term wins
    assert tracker.leader({"n0"}) == "n0"  # only live nodes lead
    tracker.feed(TraceEvent(2.0, None, "n1", "c", "G.g", Kind.GROUP_LEFT, peer="m1"))
    assert tracker.leader({"n0", "n1"}) == "n0"
    tracker.forget("n0")  # its process was killed, or a fresh one replaces it
    assert tracker.leader({"n0", "n1"}) is None


def test_a_node_reports_every_role_change_and_the_first_event_of_a_trigger_kind() -> None:
    sent: list[Observed] = []
    trace = Trace()
    Reporter(sent.append, first_of=["vote_cast", "state"]).attach(trace)
    for term in (1, 2):
        trace.record(float(term), None, "n0", None, "G.g", Kind.STATE, peer="m0", term=term, detail="leader")
        trace.record(float(term), None, "n0", "c", "G.g", Kind.VOTE_CAST, msg_id="v", detail="yes")
    trace.record(3.0, None, "n0", "c", "G.g", Kind.APP, detail="other", data={})
    assert [(o.event.kind, o.event.time) for o in sent] == [("state", 1.0), ("vote_cast", 1.0), ("state", 2.0)]


def test_triggers_fall_due_after_the_first_event_of_their_kind() -> None:
    crash = Crash(node="n1", after="vote_cast", delay=0.5)
    heal = Heal(after="state")
    triggers = Triggers([crash, heal, Crash(at=1.0, node="n2")])
    assert triggers.kinds() == ("vote_cast", "state")
    assert triggers.seen(TraceEvent(2.0, None, "n0", "c", "G.g", Kind.VOTE_CAST)) == [(2.5, crash)]
    assert triggers.seen(TraceEvent(3.0, None, "n0", "c", "G.g", Kind.VOTE_CAST)) == []
    assert triggers.seen(_state("n0", "m0", "leader", 1, at=4.0)) == [(4.0, heal)]
    assert not triggers


def test_the_agenda_gives_what_is_due_in_order() -> None:
    agenda = Agenda()
    first, second, later = Crash(at=1.0, node="a"), Crash(at=1.0, node="b"), Heal(at=5.0)
    agenda.add_fault(5.0, later)
    agenda.add_fault(1.0, first)
    agenda.add_fault(1.0, second)
    agenda.add_resume(3.0, "c")
    assert agenda.next_at(10.0) == 1.0 and agenda.next_at(0.5) == 0.5
    assert agenda.due_faults(1.0) == [first, second]  # ties in the order they were added
    assert agenda.due_resumes(2.0) == [] and agenda.next_at(10.0) == 3.0
    assert agenda.paused() == ["c"] and agenda.due_resumes(9.0) == []
    assert agenda.due_faults(9.0) == [later]


def test_status_lines_say_leader_changes_faults_and_a_heartbeat() -> None:
    lines: list[str] = []
    status = RunStatus(lines.append, nodes=3, duration_s=30.0, every_s=5.0)
    status.update(0.5, None, 3)
    assert lines == []
    status.update(2.3, "n1", 3)
    status.fault(4.0, "crash n1")
    status.update(4.1, None, 2)
    status.update(6.0, None, 2)
    status.update(9.2, None, 2)
    assert lines == [
        "[   2.3 s] leader: n1 (was nobody); 3/3 nodes up",
        "[   4.0 s] fault: crash n1",
        "[   4.1 s] leader: nobody (was n1); 2/3 nodes up",
        "[   9.2 s] running, 21 s to go; leader nobody; 2/3 nodes up",
    ]


def _beats(trace: StreamingTrace, node: str, count: int, start: float) -> None:
    trace.record(start, None, node, "c", "G.g", Kind.GROUP_JOINED, peer="m")
    for i in range(count):
        trace.record_message(start + i, None, node, "c", "G.g", Kind.SEND, "tic", None, None, 10)


def test_tally_snapshots_survive_a_killed_writer_and_add_up_across_incarnations(tmp_path: Path) -> None:
    first = StreamingTrace(tmp_path / "n0.jsonl", writer="100")
    _beats(first, "n0", 3, 0.0)
    first.write_tallies()
    _beats(first, "n0", 2, 3.0)
    first.write_tallies()
    _beats(first, "n0", 4, 5.0)  # counted after the last snapshot, then the process is killed: lost
    second = StreamingTrace(tmp_path / "n0.jsonl", writer="200")  # the restarted node appends to the same file
    _beats(second, "n0", 6, 10.0)
    second.close()
    (tally,) = [t for k, t in TraceFiles(tmp_path).trace().tallies().items() if k.kind == "send"]
    assert tally.count == 3 + 2 + 6 and tally.first == 0.0 and tally.last == 15.0


def test_a_run_clock_reads_seconds_from_its_origin() -> None:
    t0 = time.time() - 10.0
    driver = RealDriver(t0_s=t0, origin_s=t0)
    assert abs(driver.clock() - 10.0) < 0.05
    driver.set_clock(5.0, 2.0)  # skewed: offset 5 s, twice as fast, from t0
    assert abs(driver.clock() - (5.0 + 2.0 * 10.0)) < 0.05
    true_time = driver.true_time()
    assert true_time is not None and abs(true_time - 10.0) < 0.05
    assert abs(RealDriver().clock() - time.time()) < 0.05  # no origin: epoch seconds, as `riaps-sim node` keeps
