"""Calibration: files read strictly, latencies followed, processing cost and timer lateness modelled, real runs measured."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from pathlib import Path

import pytest

from riaps_sim import Component, Scenario, run_scenario
from riaps_sim.calibration import (
    Calibration,
    CalibrationError,
    LinkLatency,
    NodeCost,
    Spread,
    dumps,
    fit,
    from_measurements,
    ks_distance,
    ks_threshold,
    load_calibration,
    measure_trace,
    write_calibration,
)
from riaps_sim.cli import main
from riaps_sim.examples import Groupie
from riaps_sim.model import GroupType
from riaps_sim.net.latency import Constant, Empirical, LogNormal, Uniform
from riaps_sim.netprofile import NetworkProfile
from riaps_sim.scenario import NodeSpec, ScenarioError, load_scenario
from riaps_sim.trace import Kind

KNOWN = LogNormal(median=0.003, sigma=0.5, shift=0.0005)


def _sim_latencies(calibration: Calibration | None, seed: int = 4, duration: float = 30.0) -> list[float]:
    """One-way latencies of every message between two different nodes of a simulated five-member group.

    Reordering is allowed, so that each message's latency is its own draw: in order, as TCP
    delivers, a message drawn faster than the one before it on its connection (a leader's ``ldr``
    right after its ``tic``) waits for it, and the latencies lean late.
    """
    scenario = replace(Scenario.group_of(5, Groupie, duration=duration, seed=seed), network=NetworkProfile(reorder=True))
    trace = run_scenario(scenario, calibration=calibration, trace_all=True).trace
    return measure_trace(trace).latencies()


# -- statistics --------------------------------------------------------------------------------------


def test_ks_distance_is_zero_for_one_sample_and_one_for_disjoint_ones() -> None:
    """The KS statistic is the largest gap between the empirical CDFs."""
    assert ks_distance([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == 0.0
    assert ks_distance([1.0, 2.0], [3.0, 4.0]) == 1.0
    assert ks_distance([1.0, 2.0, 3.0, 4.0], [3.0, 4.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="samples on both sides"):
        ks_distance([], [1.0])


def test_ks_threshold_shrinks_with_the_samples() -> None:
    """The 5% critical distance of the asymptotic test: 1.358 * sqrt((n + m) / (n m))."""
    assert ks_threshold(100, 100) == pytest.approx(1.3581 * (2 / 100) ** 0.5, rel=1e-3)
    assert ks_threshold(1000, 1000) < ks_threshold(100, 100)


def test_fits_reproduce_the_samples_they_were_made_from() -> None:
    """An empirical fit keeps the quantiles; a lognormal fit of lognormal samples finds their median; equal samples are a constant."""
    rng = random.Random(1)
    samples = [KNOWN.sample(rng) for _ in range(2000)]
    empirical = fit(samples, "empirical")
    assert isinstance(empirical, Empirical) and len(empirical.samples) == 200
    drawn = [empirical.sample(rng) for _ in range(2000)]
    assert ks_distance(samples, drawn) < ks_threshold(2000, 2000)
    lognormal = fit(samples, "lognormal")
    assert isinstance(lognormal, LogNormal) and abs(lognormal.shift + lognormal.median - 0.0035) < 0.0003
    assert fit([0.002, 0.002], "lognormal") == Constant(0.002)
    with pytest.raises(ValueError, match="fit must be one of"):
        fit(samples, "normalish")


# -- files -------------------------------------------------------------------------------------------


def _full() -> Calibration:
    return Calibration(
        latency=Empirical([0.001, 0.0015, 0.004]),
        links=(LinkLatency("n0", "n1", Uniform(0.002, 0.003)),),
        processing=LogNormal(median=0.0001, sigma=0.3, shift=0.00002),
        nodes=(NodeCost("n2", Constant(0.0004)),),
        timer_lateness=Constant(0.0007),
        measured={"latency.tic": Spread(10, 0.001, 0.002, 0.004)},
        source='two runs "here"',
    )


def test_a_calibration_survives_its_file(tmp_path: Path) -> None:
    """``write_calibration`` then ``load_calibration`` gives back an equal calibration, every field included."""
    path = write_calibration(_full(), tmp_path / "sub" / "cal.toml")
    assert load_calibration(path) == _full()
    assert "[[link]]" in dumps(_full()) and "[timers]" in dumps(_full())


@pytest.mark.parametrize(
    "text, where",
    [
        ("[calibration]\nversion = 1\n[latency]\nkind = 'constant'\ndelay = 0.001\nextra = 1\n", r"\[latency\]: unknown field\(s\) \['extra'\]"),
        ("[calibration]\nversion = 1\n[latency]\nkind = 'gamma'\n", r"\[latency\]: latency kind must be one of"),
        ("[calibration]\nversion = 1\n[latency]\nkind = 'uniform'\nlow = 0.003\nhigh = 0.001\n", r"\[latency\]: Uniform needs low <= high"),
        ("[calibration]\nversion = 2\n", r"\[calibration\]\.version: this riaps-sim reads version 1"),
        ("[calibration]\n", r"\[calibration\]\.version: missing; expected the format version"),
        ("[calibration]\nversion = 1\n[timers]\nlateness = 0.001\n", r"\[timers\]\.lateness: expected a distribution table"),
        ("[calibration]\nversion = 1\n[[node]]\nname = 'n0'\n", r"node\[0\]\.processing: missing"),
        (
            "[calibration]\nversion = 1\n[[link]]\nsource='a'\ntarget='b'\nlatency={kind='constant', delay=0.001}\n"
            "[[link]]\nsource='a'\ntarget='b'\nlatency={kind='constant', delay=0.002}\n",
            r"each \(source, target\) once, repeated: \[\('a', 'b'\)\]",
        ),
        (
            "[calibration]\nversion = 1\n[measured]\nlatency = { count = 'many', p50 = 0.1, p90 = 0.2, max = 0.3 }\n",
            r"measured.*count: expected a whole",
        ),
        ("[calibration]\nversion = 1\n[network]\n", r"top level: unknown field\(s\) \['network'\]"),
        ("version = [\n", r"not TOML"),
    ],
)
def test_a_bad_file_is_an_error_naming_the_file_and_the_field(tmp_path: Path, text: str, where: str) -> None:
    """Nothing in a calibration file is ignored or guessed: each mistake names the file and the field."""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalibrationError, match=f"bad.toml: .*{where}"):
        load_calibration(path)


def test_a_calibration_travels_by_pickle_as_sweeps_send_scenarios() -> None:
    import pickle

    assert pickle.loads(pickle.dumps(_full())) == _full()


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="riaps-sim calibrate"):
        load_calibration(tmp_path / "none.toml")


def test_a_toml_scenario_applies_its_calibration_file(tmp_path: Path) -> None:
    """``calibration = FILE`` in ``[scenario]`` is read relative to the scenario, strictly."""
    write_calibration(Calibration(latency=Constant(0.02)), tmp_path / "cal.toml")
    scenario_text = (
        "[scenario]\nduration = 5\ncalibration = 'cal.toml'\n[[group]]\nname = 'TheGroup'\n"
        "[[node]]\nname = 'n'\ncount = 3\ncomponents = { member = { class = 'riaps_sim.examples:Groupie' } }\n"
    )
    (tmp_path / "s.toml").write_text(scenario_text, encoding="utf-8")
    scenario = load_scenario(tmp_path / "s.toml")
    assert scenario.calibration == Calibration(latency=Constant(0.02))
    (tmp_path / "cal.toml").write_text("[calibration]\nversion = 1\nsurprise = 1\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"cal.toml: \[calibration\]: unknown field"):
        load_scenario(tmp_path / "s.toml")


def test_a_calibration_with_links_and_a_topology_is_refused() -> None:
    import networkx as nx

    with pytest.raises(ScenarioError, match="either a topology or a calibration"):
        Scenario("t", (GroupType(name="G"),), (NodeSpec("n0", {}),), topology=nx.Graph(), calibration=Calibration(latency=Constant(0.001)))


# -- simulation ----------------------------------------------------------------------------------------


def test_simulated_per_hop_latencies_follow_the_calibrated_distribution(tmp_path: Path) -> None:
    """With a file whose latency is a known lognormal, the simulated one-way latencies between nodes are drawn from it:
    their two-sample KS distance to 20,000 independent draws of the known distribution stays under the critical value
    of the test at the 1% level (0.062 for the 716 latencies here; the distance is 0.033), while the default
    simulation's latencies are far from it."""
    path = write_calibration(Calibration(latency=KNOWN), tmp_path / "known.toml")
    simulated = _sim_latencies(load_calibration(path))
    rng = random.Random(99)
    reference = [KNOWN.sample(rng) for _ in range(20000)]
    assert len(simulated) > 500
    threshold = ks_threshold(len(simulated), len(reference), alpha=0.01)
    assert ks_distance(simulated, reference) < threshold
    assert ks_distance(_sim_latencies(None), reference) > 5 * threshold


def test_without_a_calibration_nothing_changes() -> None:
    """An empty calibration leaves the run exactly as the default simulation makes it."""
    scenario = Scenario.group_of(5, Groupie, duration=10.0, seed=3)
    assert list(run_scenario(scenario, calibration=Calibration()).trace) == list(run_scenario(scenario).trace)


def test_a_calibrated_run_is_reproducible_from_its_seed() -> None:
    """Processing cost and timer lateness draw from the simulation's seeded streams: same seed, same trace."""
    calibration = Calibration(latency=KNOWN, processing=Uniform(0.0001, 0.001), timer_lateness=Uniform(0.0, 0.005))
    scenario = Scenario.group_of(5, Groupie, duration=10.0, seed=3)
    first, again = (list(run_scenario(scenario, calibration=calibration).trace) for _ in range(2))
    assert first == again
    assert first != list(run_scenario(scenario.with_seed(4), calibration=calibration).trace)


class Burst(Component):
    """Joins the group and, at *at* seconds, publishes *count* messages at once."""

    def __init__(self, count: int = 0, at: float = 4.0) -> None:
        self.count, self.at = count, at

    def handleActivate(self) -> None:
        self.group = self.joinGroup("TheGroup", "g1")
        if self.count:
            self.after(self.at, self._burst)

    def _burst(self) -> None:
        for i in range(self.count):
            self.group.send(b"m%d" % i)

    def handleGroupMessage(self, group) -> None:  # type: ignore[no-untyped-def]
        group.recv()


def _burst_deliveries(calibration: Calibration | None) -> list[float]:
    nodes = (NodeSpec("n0", {"c": (Burst, {"count": 10})}), NodeSpec("n1", {"c": (Burst, {})}))
    scenario = Scenario("burst", (GroupType(name="TheGroup"),), nodes, duration=6.0, seed=1)
    trace = run_scenario(scenario, calibration=calibration).trace
    return [e.when for e in trace.select(kind=Kind.DELIVER, node="n1") if e.detail == "msg"]


def test_a_processing_cost_queues_a_burst() -> None:
    """Ten messages arriving together are handled one after another, a processing cost apart; without one, all at once."""
    at_once = _burst_deliveries(Calibration(latency=Constant(0.001)))
    assert len(at_once) == 10 and max(at_once) == min(at_once)
    queued = _burst_deliveries(Calibration(latency=Constant(0.001), processing=Constant(0.01)))
    assert len(queued) == 10
    assert [round(b - a, 9) for a, b in itertools.pairwise(queued)] == [0.01] * 9
    assert queued[0] >= at_once[0]


def test_timer_lateness_delays_every_timer() -> None:
    """A constant lateness shifts a member's heartbeats: each ``tic`` is sent that much later than the last plus the period.
    (``fixed``, whose ``tic`` has a timer of its own; ``riaps`` sends one on the first input after it falls due, B24.)"""
    scenario = Scenario.group_of(3, Groupie, group=GroupType(name="TheGroup", protocol="fixed"), duration=6.0, seed=2)

    def tics(calibration: Calibration) -> list[float]:
        trace = run_scenario(scenario, calibration=calibration, trace_all=True).trace
        return [e.when for e in trace.select(kind=Kind.SEND, node="n0") if e.detail == "tic"]

    on_time, late = tics(Calibration()), tics(Calibration(timer_lateness=Constant(0.05)))
    assert [round(b - a, 6) for a, b in itertools.pairwise(on_time)] == [1.0] * (len(on_time) - 1)
    assert [round(b - a, 6) for a, b in itertools.pairwise(late)] == [1.05] * (len(late) - 1)


# -- the command line ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_run_applies_a_calibration_file_and_refuses_it_in_real_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_calibration(Calibration(latency=Constant(0.002), processing=Constant(0.0001)), tmp_path / "cal.toml")
    assert main(["run", "leader-crash", "--until", "8", "--calibration", str(path), "--out", str(tmp_path / "out")]) == 0
    assert "first leader agreed" in capsys.readouterr().out
    assert main(["run", "leader-crash", "--mode", "real", "--calibration", str(path)]) == 2
    assert "simulation only" in capsys.readouterr().err
    (tmp_path / "bad.toml").write_text("[calibration]\nversion = 1\noops = 2\n", encoding="utf-8")
    assert main(["run", "leader-crash", "--calibration", str(tmp_path / "bad.toml")]) == 2
    assert "bad.toml: [calibration]: unknown field(s) ['oops']" in capsys.readouterr().err


# -- measuring real runs -----------------------------------------------------------------------------


@pytest.mark.slow
def test_calibrate_measures_a_real_run_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``riaps-sim calibrate`` runs three real members for a few seconds, measures, and writes a file the simulation applies."""
    out = tmp_path / "cal.toml"
    code = main(["calibrate", str(_three_members(tmp_path)), "--runs", "1", "--until", "5", "--out", str(out), "--check"])
    printed = capsys.readouterr()
    assert code == 0, printed
    assert "  real run 1: verdict: OK: safety 0, liveness 0, handler errors 0, membership 0;" in printed.out  # a healthy system was measured
    calibration = load_calibration(out)
    assert calibration.latency is not None and calibration.processing is not None and calibration.timer_lateness is not None
    measured = calibration.measured
    assert measured["latency.tic"].count >= 6  # three members, each hearing two others for at least a few beats
    assert 0 < measured["latency"].p50 < 0.1  # loopback: well under 100 ms
    assert measured["service"].count > 0 and measured["boot"].count == 3
    summary = run_scenario(load_scenario(_three_members(tmp_path)), calibration=calibration).summary()
    assert summary.first_leader_s is not None


def _three_members(folder: Path) -> Path:
    path = folder / "three.toml"
    path.write_text(
        "[scenario]\nduration = 5\n[[group]]\nname = 'TheGroup'\n"
        "[[node]]\nname = 'n'\ncount = 3\ncomponents = { member = { class = 'riaps_sim.examples:Groupie' } }\n",
        encoding="utf-8",
    )
    return path


def test_measurements_pair_real_digests_with_the_latest_send_and_skip_partitions() -> None:
    """A delivery pairs with the latest send of its digest before it (or a hair after); the sender's own copy and
    deliveries during a partition and a second after its heal are left out."""
    from riaps_sim.trace import Trace

    trace = Trace()

    def msg(time: float, node: str, kind: str, digest: str) -> None:
        trace.record(time, None, node, "m", "G.g", kind, msg_id=digest, detail="tic", size=16 if kind == "deliver" else None)

    msg(1.0, "a", "send", "#x")
    msg(1.0004, "a", "deliver", "#x")  # its own copy
    msg(1.002, "b", "deliver", "#x")
    msg(2.0, "a", "send", "#x")
    msg(2.003, "b", "deliver", "#x")  # pairs with the send at 2.0, not 1.0
    msg(3.0002, "b", "deliver", "#y")
    msg(3.0004, "a", "send", "#y")  # stamped 0.2 ms after its delivery: the two clocks raced
    trace.record(4.0, None, "network", None, None, Kind.FAULT, detail="partition a | b (hold)")
    msg(4.5, "a", "send", "#z")
    trace.record(6.0, None, "network", None, None, Kind.FAULT, detail="heal")
    msg(6.5, "b", "deliver", "#z")  # held, released on heal: not a latency
    measurements = measure_trace(trace)
    assert dict(measurements.links) == {("a", "b"): pytest.approx([0.002, 0.003, 0.0])}
    calibration = from_measurements(measurements)
    assert calibration.measured["latency.tic"].count == 3 and calibration.processing is None
