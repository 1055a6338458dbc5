"""Every fault kind has the same observable effect in every world: simulation, real on loopback, namespaces.

Each node runs a ``Probe`` that publishes ``(node, seq, clock)`` to the group ten times a second
and records every message it hears (``Component.record``), in both worlds. A fault of each kind
falls at 2 s and is undone at 3.5 s; the tests read the ``heard`` events and assert what a user
would see: which deliveries stop and come back, whose clock moves, which node is down and back,
which messages come twice or late. Roles and event triggers are checked the same way.

On a loaded machine the real worlds run the whole schedule slower: every time of a run (faults,
their durations and delays, the end) and of the windows the tests read is multiplied by the
machine's slowdown (``wallclock.slowdown``), so that the edges of a fault stay wider than the
scheduling noise of starved node processes. On an idle machine, and in simulation, the factor is 1.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable

import pytest

from probes import Probe
from wallclock import slowdown

from riaps_sim import Scenario, Timing, run_scenario
from riaps_sim.examples import Groupie
from riaps_sim.faults import CRASHED, FOLLOWERS, LEADER, ClockSkew, Crash, Delay, Duplicate, Fault, Heal, Loss, Partition, Pause, Restart, leader_plus
from riaps_sim.model import GroupType
from riaps_sim.scenario import NodeSpec
from riaps_sim.trace import Trace

AT, UNDO, END = 2.0, 3.5, 7.0  # 3.5 s after the heal: a reset TCP connection (netns, drop) needs its reconnects
NODES = ("n0", "n1", "n2")
WORLDS = ["sim", "real", pytest.param("netns", marks=pytest.mark.netns)]
# partitions and loss in namespaces are iptables rules (the Firewall)
FIREWALL_WORLDS = ["sim", "real", pytest.param("netns", marks=[pytest.mark.netns, pytest.mark.iptables])]


#: Polls that end at the 1.5 s default timeout read in milliseconds (not the reference's 1500 s, B3): the
#: probes in the group never vote, so a poll ends only by timing out.
MS_POLLS = Timing(reference_poll_timeout_units=False)


def _stretch(world: str) -> float:
    """How much slower than written a run in *world* goes: 1 in simulation, the machine's slowdown in the real worlds."""
    return 1.0 if world == "sim" else slowdown()


def _stretched(fault: Fault, stretch: float) -> Fault:
    """*fault* with its times (when, delay after its trigger, duration, added latency) times *stretch*."""
    times = {name: getattr(fault, name) for name in ("at", "delay", "duration_s", "latency_s") if getattr(fault, name, None) is not None}
    return dataclasses.replace(fault, **{name: value * stretch for name, value in times.items()})


def _run(
    world: str, faults: list[Fault], extra: dict | None = None, nodes: tuple[str, ...] = NODES, end: float = END, timing: Timing | None = None
) -> tuple[Trace, float, float]:
    """Run the probes with *faults*, stretched as the machine needs; return the trace, the run's time 0
    on the trace's clock and the stretch (by which the test multiplies the times it reads)."""
    stretch = _stretch(world)
    components = {"probe": (Probe, {}), **(extra or {})}
    specs = tuple(NodeSpec(name, components) for name in nodes)
    stretched = [_stretched(f, stretch) for f in faults]
    group = GroupType(name="TheGroup", timing=timing or Timing())
    scenario = Scenario("fault kinds", (group,), specs, stretched, duration=end * stretch, seed=4)
    mode = "sim" if world == "sim" else "real"
    result = run_scenario(scenario, mode=mode, isolation="netns" if world == "netns" else "loopback")
    return result.trace, result.start, stretch


class Heard:
    """The ``heard`` events of a run, on the run's own time axis (seconds from its time 0, *zero* on the trace's clock),
    read with times as the test writes them (multiplied by the run's *stretch*)."""

    def __init__(self, trace: Trace, zero: float, stretch: float = 1.0) -> None:
        self.zero = zero
        self.stretch = stretch
        self.events = [(e.node, e.data, e.when - zero) for e in trace.select(kind="app") if e.detail == "heard"]
        self.faults = [e.detail for e in trace.select(kind="fault")]

    def by(self, receiver: str, sender: str, since: float, until: float) -> list[dict]:
        """What *receiver* heard from *sender* between *since* and *until* (seconds of the run as written)."""
        since, until = self.t(since), self.t(until)
        return [d for node, d, t in self.events if node == receiver and d["sender"] == sender and since <= t < until]

    def t(self, written: float) -> float:
        """A time or duration as the test writes it, in seconds of this run."""
        return written * self.stretch

    def sent(self, heard: dict) -> float:
        """When a heard message was sent, in seconds of this run as written (the sender's clock)."""
        return (heard["sent"] - self.zero) / self.stretch


def _heard(world: str, faults: list[Fault], **kwargs: object) -> Heard:
    trace, start, stretch = _run(world, faults, **kwargs)  # type: ignore[arg-type]
    heard = Heard(trace, start, stretch)
    assert heard.by("n1", "n2", 0.5, AT), "the probes did not hear each other before the fault"
    return heard


# A little slack around the fault's edges: a heartbeat period and the real world's scheduling.
IN = (AT + 0.3, UNDO)
AFTER = (UNDO + 0.6, math.inf)


@pytest.mark.slow
@pytest.mark.parametrize("world", FIREWALL_WORLDS)
@pytest.mark.parametrize("mode", ["hold", "drop"])
def test_partition_stops_traffic_across_and_heal_brings_it_back(world: str, mode: str) -> None:
    heard = _heard(world, [Partition(at=AT, sides=[["n0"]], mode=mode), Heal(at=UNDO)])
    assert heard.by("n1", "n0", *IN) == [] and heard.by("n0", "n2", *IN) == []
    assert heard.by("n1", "n2", *IN), "traffic on one side stopped too"
    assert heard.by("n0", "n0", *IN), "a node stopped hearing itself"
    assert heard.by("n1", "n0", *AFTER), "the heal did not bring traffic back"
    if mode == "hold" and world != "netns":
        late = [d for d in heard.by("n1", "n0", UNDO, math.inf) if heard.sent(d) < UNDO - 0.2]
        assert late, "held messages were not delivered after the heal"


@pytest.mark.slow
@pytest.mark.parametrize("world", WORLDS)
def test_crash_and_restart_of_the_crashed_node(world: str) -> None:
    heard = _heard(world, [Crash(at=AT, node="n0"), Restart(at=UNDO, node=CRASHED)])
    assert heard.faults[:2] == ["crash n0", "restart n0"]
    assert heard.by("n1", "n0", *IN) == [] and heard.by("n0", "n1", *IN) == []
    back = heard.by("n1", "n0", *AFTER)
    assert back and min(d["seq"] for d in back) < 30, "the restarted node is not a fresh incarnation"


@pytest.mark.slow
@pytest.mark.parametrize("world", WORLDS)
def test_pause_stalls_a_node_and_its_input_waits(world: str) -> None:
    heard = _heard(world, [Pause(at=AT, node="n0", duration_s=UNDO - AT)])
    assert heard.faults == [f"pause n0 for {heard.t(1.5):g} s"]
    assert heard.by("n1", "n0", *IN) == [], "a paused node kept sending"
    assert heard.by("n0", "n1", *IN) == [], "a paused node kept handling input"
    queued = [d for d in heard.by("n0", "n1", UNDO, math.inf) if heard.sent(d) < UNDO - 0.3]
    assert queued, "what others sent during the pause was not there on resuming"
    assert heard.by("n1", "n0", *AFTER)


@pytest.mark.slow
@pytest.mark.parametrize("world", WORLDS)
def test_clock_skew_moves_one_nodes_clock(world: str) -> None:
    heard = _heard(world, [ClockSkew(at=AT, node="n0", offset_s=100.0)])
    skews = [d["now"] - d["sent"] for d in heard.by("n0", "n1", *AFTER)]
    assert skews and all(100.0 - heard.t(1.0) < s < 100.0 + heard.t(1.0) for s in skews), skews[:5]
    others = [d["now"] - d["sent"] for d in heard.by("n2", "n1", *AFTER)]
    assert others and all(abs(s) < heard.t(1.0) for s in others)


@pytest.mark.slow
@pytest.mark.parametrize("world", FIREWALL_WORLDS)
def test_loss_between_two_nodes_only(world: str) -> None:
    heard = _heard(world, [Loss(at=AT, a="n0", b="n1", rate=1.0, one_way=True), Loss(at=UNDO, a="n0", b="n1", rate=0.0, one_way=True)])
    assert heard.by("n1", "n0", *IN) == []
    assert heard.by("n2", "n0", *IN) and heard.by("n0", "n1", *IN), "loss reached other pairs or the other direction"
    assert heard.by("n1", "n0", *AFTER)


@pytest.mark.slow
@pytest.mark.parametrize("world", ["sim", "real"])
def test_duplicate_between_two_nodes_only(world: str) -> None:
    heard = _heard(world, [Duplicate(at=AT, a="n0", b="n1", rate=1.0, one_way=True), Duplicate(at=UNDO, a="n0", b="n1", rate=0.0, one_way=True)])
    twice = Counter(d["seq"] for d in heard.by("n1", "n0", *IN))
    assert twice and all(count == 2 for count in twice.values()), twice
    assert all(count == 1 for count in Counter(d["seq"] for d in heard.by("n2", "n0", *IN)).values())


@pytest.mark.slow
@pytest.mark.parametrize("world", ["sim", "real"])
def test_delay_between_two_nodes_only(world: str) -> None:
    heard = _heard(world, [Delay(at=AT, a="n0", b="n1", latency_s=0.5, one_way=True), Delay(at=UNDO, a="n0", b="n1", latency_s=0.0, one_way=True)])
    late = [d["now"] - d["sent"] for d in heard.by("n1", "n0", AT + 0.6, UNDO)]
    assert late and all(heard.t(0.45) < x < heard.t(0.8) for x in late), late[:5]
    prompt = [d["now"] - d["sent"] for d in heard.by("n2", "n0", AT + 0.6, UNDO)]
    assert prompt and all(x < heard.t(0.2) for x in prompt)


# -- roles and triggers -----------------------------------------------------------------------------------

LEADERS = {"member": (Groupie, {"min_size": 2})}


def _leader_before(trace: Trace, start: float, when: float) -> str:
    roles: dict[str, tuple[str, int]] = {}
    for e in trace.select(kind="state"):
        if e.when - start < when and e.peer:
            roles[e.peer] = (e.node if e.detail == "leader" else "", e.term or 0)
    leaders = [(term, node) for node, term in roles.values() if node]
    assert leaders, "nobody led before the fault"
    return max(leaders)[1]


@pytest.mark.slow
@pytest.mark.parametrize("world", ["sim", "real"])
def test_crash_of_the_leader_then_restart_of_the_crashed_tells_one_story(world: str) -> None:
    faults = [Crash(at=5.0, node=LEADER), Restart(at=7.0, node=CRASHED)]
    trace, start, stretch = _run(world, faults, extra=LEADERS, nodes=("n0", "n1", "n2", "n3", "n4"), end=11.0)
    leader = _leader_before(trace, start, 5.0 * stretch)
    assert [e.detail for e in trace.select(kind="fault")] == [f"crash {leader}", f"restart {leader}"]
    new = [e for e in trace.select(kind="state") if e.detail == "leader" and e.node != leader and 5.0 * stretch < e.when - start]
    assert new, "no other node took over after the leader crashed"
    rejoined = [e for e in trace.select(kind="group_joined") if e.node == leader and e.when - start >= 7.0 * stretch]
    assert rejoined, "the crashed leader did not come back"


@pytest.mark.slow
@pytest.mark.parametrize("world", ["sim", "real"])
@pytest.mark.parametrize("one_way", [False, True])
def test_leader_plus_one_and_followers_partitions(world: str, one_way: bool) -> None:
    nodes = ("n0", "n1", "n2", "n3", "n4")
    sides = [[leader_plus(1)], [FOLLOWERS]] if one_way else [[leader_plus(1)]]
    trace, start, stretch = _run(
        world, [Partition(at=4.0, sides=sides, one_way=one_way, mode="drop"), Heal(at=6.0)], extra=LEADERS, nodes=nodes, end=7.0
    )
    leader = _leader_before(trace, start, 4.0 * stretch)
    (text, heal) = [e.detail for e in trace.select(kind="fault")]
    cut = text.split(" ", 1)[1].split(" (")[0].split(" | ")
    first = cut[0].split(",")
    assert first[0] == leader and len(first) == 2 and heal == "heal", text
    second = set(cut[1].split(",")) if len(cut) > 1 else set(nodes) - set(first)
    if one_way:  # @followers: every live node but the leader, after @leader+1 took its follower
        assert second == set(nodes) - set(first), text
    heard = Heard(trace, start, stretch)
    across, back = first[0], sorted(second)[0]
    # by send time: a starved receiver may read what was sent before the cut well after it (the cut drops)
    assert [d for d in heard.by(back, across, 4.3, math.inf) if 4.3 <= heard.sent(d) < 5.9] == [], "the cut side still reached the other"
    if one_way:
        assert heard.by(across, back, 4.3, 6.0), "a one-way cut stopped the other direction too"
    else:
        assert [d for d in heard.by(across, back, 4.3, math.inf) if 4.3 <= heard.sent(d) < 5.9] == []


def test_an_event_triggered_crash_lands_its_delay_after_the_trigger_exactly_in_simulation() -> None:
    faults = [Crash(node=LEADER, after="vote_announced", delay=0.5)]
    trace, _, _ = _run("sim", faults, extra={"member": (Groupie, {"vote_after": 3.0})}, nodes=("n0", "n1", "n2"), end=10.0, timing=MS_POLLS)
    announced = trace.select(kind="vote_announced")
    assert announced, "no vote was announced"
    (crash,) = trace.select(kind="fault")
    assert crash.detail.startswith("crash ") and crash.when == pytest.approx(announced[0].when + 0.5, abs=1e-9)


@pytest.mark.slow
def test_an_event_triggered_crash_lands_after_its_trigger_in_the_real_world() -> None:
    faults = [Crash(node=LEADER, after="vote_announced", delay=0.5)]
    trace, _, stretch = _run("real", faults, extra={"member": (Groupie, {"vote_after": 3.0})}, nodes=("n0", "n1", "n2"), end=8.0, timing=MS_POLLS)
    announced = trace.select(kind="vote_announced")
    (crash,) = trace.select(kind="fault")
    assert crash.detail.startswith("crash ")
    assert 0.5 * stretch <= crash.when - announced[0].when < 0.8 * stretch, crash.when - announced[0].when
