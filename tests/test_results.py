"""Results for the ecosystem: traces and sweeps as typed DataFrames, trace slices, short reprs, sweep progress."""

from __future__ import annotations

import importlib
import io

import pytest

import riaps_sim
from riaps_sim import Scenario, Trace, load_scenario, run_scenario
from riaps_sim.examples import Groupie
from riaps_sim.sweep import RunMetrics, sweep
from riaps_sim.trace import Kind

pd = pytest.importorskip("pandas")
sweep_module = importlib.import_module("riaps_sim.sweep")  # riaps_sim.sweep is also the function


@pytest.fixture(scope="module")
def result() -> riaps_sim.RunResult:
    return run_scenario(Scenario.group_of(3, Groupie, {"ask_leader_every": 1.0}, duration=6, seed=2, name="three"))


def test_trace_to_pandas_has_typed_columns(result: riaps_sim.RunResult) -> None:
    """Every column has one dtype; msg_id is text for network messages and polls alike; None is <NA>."""
    frame = result.trace.to_pandas()
    assert len(frame) == len(result.trace)
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        "time": "float64",
        "true_time": "Float64",
        "node": "string",
        "component": "string",
        "group": "string",
        "kind": "category",
        "peer": "string",
        "msg_id": "string",
        "size": "Int64",
        "term": "Int64",
        "detail": "string",
        "data": "object",
    }
    assert set(frame["kind"].cat.categories) == {str(k) for k in Kind}
    sends = frame[frame["kind"] == "send"].set_index("msg_id")
    delivers = frame[frame["kind"] == "deliver"]
    assert len(delivers) > 20 and delivers["msg_id"].isin(sends.index).all()  # pairs join on the one text column
    assert frame.loc[frame["kind"] == "state", "component"].isna().all()


def test_msg_id_is_one_type_throughout(result: riaps_sim.RunResult, tmp_path) -> None:
    """Network ids and poll ids are both strings in the trace and after a JSON round trip of an old int id."""
    ids = {type(e.msg_id) for e in result.trace if e.msg_id is not None}
    assert ids == {str}
    path = tmp_path / "old.jsonl"
    path.write_text('{"time":1.0,"true_time":1.0,"node":"n1","component":null,"group":null,"kind":"send","msg_id":7}\n')
    assert Trace.from_jsonl(path)[0].msg_id == "7"


def test_empty_trace_to_pandas_keeps_the_columns() -> None:
    frame = Trace().to_pandas()
    assert list(frame.columns) == list(riaps_sim.trace.TraceEvent._fields) and len(frame) == 0


def test_slicing_a_trace_gives_a_trace(result: riaps_sim.RunResult) -> None:
    head = result.trace[0:5]
    assert isinstance(head, Trace) and list(head) == list(result.trace)[:5]
    assert result.trace[-1] == list(result.trace)[-1]
    assert isinstance(result.trace[::100].select(kind="send"), Trace)


def test_reprs_are_short_and_say_what_matters(result: riaps_sim.RunResult) -> None:
    scenario = load_scenario("default")
    assert repr(scenario) == (
        "<Scenario 'default': 5 nodes [n0, n1, n2, n3, n4], group TheGroup (riaps), 20 s partition @leader (hold); 40 s heal, 60 s, seed 1>"
    )
    text = repr(result)
    assert text.startswith("<RunResult 'three' (sim, seed 2): 6 s, ") and f"{len(result.trace)} trace events" in text
    many = Scenario.group_of(12, Groupie, duration=5)
    assert "[n0..n11]" in repr(many) and len(repr(many)) < 150


def test_sweep_to_pandas_types_and_missing_values() -> None:
    """No fault, no failover: failover_s is <NA> in a nullable float column; counts are ints."""
    calm = Scenario.group_of(3, Groupie, duration=5, name="calm")
    swept = sweep(calm, range(3), jobs=1, progress=False)
    frame = swept.to_pandas()
    assert list(frame["seed"]) == [0, 1, 2]
    assert str(frame["failover_s"].dtype) == "Float64" and frame["failover_s"].isna().all()
    assert str(frame["votes"].dtype) == "int64" and str(frame["split_brain_s"].dtype) == "float64"
    assert frame["first_leader_s"].notna().all()
    assert repr(swept).startswith("<SweepResult 'calm': 3 seeds, ")


def test_sweep_moves_the_bar_once_per_finished_seed(monkeypatch) -> None:
    """The bar is told the number of seeds, moves once as each run comes back, and is closed at the end."""
    from concurrent.futures import ThreadPoolExecutor

    log: list[str] = []

    def fake_measure(scenario, seed, mode):
        return RunMetrics(seed, 1.0, None, 0.0, 0.0, 0, 0, 0.01)

    class Bar:
        def update(self) -> None:
            log.append("update")

        def close(self) -> None:
            log.append("close")

    def fake_bar(total, progress, name, unit):
        log.append(f"total {total}")
        return Bar()

    monkeypatch.setattr(sweep_module, "measure", fake_measure)
    monkeypatch.setattr(sweep_module, "progress_bar", fake_bar)
    with ThreadPoolExecutor(max_workers=2) as pool:
        swept = sweep(Scenario.group_of(2, Groupie, duration=5), [3, 1, 2], executor=pool)
    assert log == ["total 3", "update", "update", "update", "close"]
    assert [r.seed for r in swept.runs] == [1, 2, 3]


def test_progress_bar_writes_to_a_given_stream_and_is_quiet_off_a_terminal(capsys) -> None:
    """A stream given gets a tqdm bar with a rate; the default stays silent when stderr is not a terminal."""
    stream = io.StringIO()
    sweep(Scenario.group_of(2, Groupie, duration=3, name="pair"), range(2), jobs=1, progress=stream)
    text = stream.getvalue()
    assert "pair: 100%" in text and "2/2 [" in text and "seed/s]" in text
    sweep(Scenario.group_of(2, Groupie, duration=3, name="pair"), range(2), jobs=1)
    assert "pair" not in capsys.readouterr().err


def test_to_pandas_keeps_application_data_as_objects() -> None:
    trace = Trace()
    trace.record(1.0, 1.0, "n1", "c", "G.g", Kind("app"), detail="setpoint", data={"value": 3})
    trace.record(2.0, 2.0, "n1", "c", "G.g", Kind.STATE, detail="leader", term=1)
    frame = trace.to_pandas()
    assert frame.loc[0, "data"] == {"value": 3} and frame.loc[1, "data"] is None
    assert list(frame["term"].astype(object).where(frame["term"].notna(), None)) == [None, 1]
