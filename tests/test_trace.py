"""The trace: recording, selection, ordering, files and display."""

from __future__ import annotations

import pytest

from riaps_sim.trace import Kind, Trace, TraceEvent


def sample() -> Trace:
    trace = Trace()
    trace.record(0.10, 0.10, "n1", "c", "G.g", Kind.SEND, peer="n2", msg_id=1, size=20)
    trace.record(0.31, 0.30, "n2", "c", "G.g", Kind.DELIVER, peer="n1", msg_id=1, size=20)
    trace.record(0.20, 0.20, "n1", "c", "G.g", Kind.STATE, term=1, detail="candidate")
    trace.record(0.50, 0.50, "n3", None, None, Kind.FAULT, detail="crash n3")
    return trace


def test_record_checks_kind() -> None:
    """An unknown kind is refused, naming the allowed ones."""
    with pytest.raises(ValueError, match="trace kind must be one of .* got 'sned'"):
        Trace().record(0.0, None, "n1", None, None, "sned")


def test_select_by_kind_node_and_time() -> None:
    """select keeps the events matching every filter, comparing true time where known."""
    trace = sample()
    assert [e.msg_id for e in trace.select(kind=["send", "deliver"])] == ["1", "1"]  # one type, str
    assert [e.kind for e in trace.select(node="n1")] == ["send", "state"]
    assert [e.kind for e in trace.select(since=0.2, until=0.3)] == ["deliver", "state"]
    assert trace.counts() == {"send": 1, "deliver": 1, "state": 1, "fault": 1}
    assert trace.nodes() == ["n1", "n2", "n3"]


def test_sorted_and_merge_order_by_true_time() -> None:
    """Merged traces come out in order of true time (or clock time in the real world)."""
    a = Trace([TraceEvent(2.0, None, "a", None, None, "timer"), TraceEvent(5.0, None, "a", None, None, "timer")])
    b = Trace([TraceEvent(3.0, None, "b", None, None, "timer")])
    assert [e.time for e in Trace.merge([a, b])] == [2.0, 3.0, 5.0]
    assert [e.when for e in sample().sorted()] == [0.10, 0.20, 0.30, 0.50]


def test_jsonl_round_trip_and_bad_line(tmp_path) -> None:
    """A trace written to JSON lines reads back equal; a bad line is named."""
    path = tmp_path / "trace.jsonl"
    sample().to_jsonl(path)
    assert Trace.from_jsonl(path) == sample()
    path.write_text(path.read_text() + '{"time": 1}\n')
    with pytest.raises(ValueError, match=r"trace.jsonl:5: not a trace event"):
        Trace.from_jsonl(path)


def test_html_display_shows_counts_and_rows() -> None:
    """In a notebook a trace shows its size, counts by kind and its first rows."""
    html = sample()._repr_html_(limit=2)
    assert "<b>4 events</b>" in html and "deliver: 1" in html and "... 2 more" in html
    assert repr(sample()) == "<Trace 4 events 0.100..0.500 s>"
