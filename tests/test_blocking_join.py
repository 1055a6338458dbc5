"""``blocking_join_leave``: the reference's join and leave stalls (B23), and what the group does meanwhile.

The statement these tests make: with the option on, a component's handlers wait out the stalls
(1.1 s after ``joinGroup``, 1.0 s after ``leaveGroup``) and then run in order; the group's
protocol runs on as the reference's group thread does, so the group forms and re-forms on the
same timeline as without the option (the same role and term changes), only the component hears
of it later. The election after a leader's departure is the protocol's: ``riaps`` keeps the
departed leader until the survivors' deadline passes (no hand-off, B10), ``fixed`` elects at once.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from riaps_sim import Component, GroupType, Scenario, run_scenario


class Churner(Component):
    """Joins at start; the one told to leaves at 10.5 s and rejoins at 14 s (as the reference's ``d`` test does)."""

    timers = {"tick": 1.0}

    def __init__(self, leaves: bool = False) -> None:
        super().__init__()
        self.leaves = leaves
        self.heard: list[tuple[str, float]] = []  # (callback, node clock when it ran)
        self.ticks: list[float] = []

    def handleActivate(self) -> None:
        self.group = self.joinGroup("TheGroup", "g1", groupMinSize=2)
        self.joined_at = self.clock()

    def on_tick(self) -> None:
        self.ticks.append(self.clock())
        if self.leaves and self.group is not None and self.clock() >= 10.0 and not hasattr(self, "left_at"):
            self.left_at = None
            self.after(0.5, self._leave)  # off the tick grid, so the stall shows on the next tick
        elif self.leaves and self.group is None and self.clock() >= 14.0:
            self.group = self.joinGroup("TheGroup", "g1", groupMinSize=2)
            self.leaves = False

    def _leave(self) -> None:
        self.leaveGroup(self.group)
        self.group, self.left_at = None, self.clock()

    def handleMemberJoined(self, group, memberId) -> None:
        self.heard.append(("joined", self.clock()))

    def handleLeaderElected(self, group, leaderId) -> None:
        self.heard.append(("elected", self.clock()))


def _run(protocol: str, blocking: bool, seed: int = 4):
    group = GroupType(name="TheGroup", protocol=protocol, blocking_join_leave=blocking)
    base = Scenario.group_of(4, Churner, group=group, duration=25.0)
    nodes = tuple(replace(n, components={"member": (Churner, {"leaves": n.name == "n0"})}) for n in base.nodes)
    return run_scenario(replace(base, nodes=nodes), seed=seed)


def _roles(result):
    return [(round(e.when, 6), e.node, e.detail, e.term) for e in result.trace.select(kind="state")]


@pytest.mark.parametrize("protocol", ["riaps", "fixed"])
def test_the_group_forms_and_reforms_on_the_same_timeline_with_or_without_the_stalls(protocol: str) -> None:
    plain, blocking = _run(protocol, False), _run(protocol, True)
    assert _roles(plain) == _roles(blocking)
    assert any(e.detail == "leader" for e in blocking.trace.select(kind="state"))
    stalls = [e.detail for e in blocking.trace.select(kind="timer") if "B23" in (e.detail or "")]
    assert len(stalls) == 4 + 2 and sum("leaveGroup" in s for s in stalls) == 1  # four joins, one leave, one rejoin
    assert not [e for e in plain.trace.select(kind="timer") if "B23" in (e.detail or "")]


def test_the_components_handlers_wait_out_each_stall_and_then_run_in_order() -> None:
    plain, blocking = _run("riaps", False).components, _run("riaps", True).components
    first_plain = min(t for _, t in plain["n1"]["member"].heard)
    first_blocking = min(t for _, t in blocking["n1"]["member"].heard)
    assert first_plain < 1.1 <= first_blocking  # the join holds the component 1.1 s; the callbacks queued meanwhile
    times = [t for _, t in blocking["n1"]["member"].heard]
    assert times == sorted(times)
    ticks = blocking["n0"]["member"].ticks  # n0 left at 10.5 s: its tick of 11 s waits out the 1 s leave stall
    assert next(t for t in ticks if t > 10.5) >= 11.5
    assert next(t for t in plain["n0"]["member"].ticks if t > 10.5) < 11.5
    assert blocking["n0"]["member"].ticks[0] >= 1.1 > plain["n0"]["member"].ticks[0]  # the first tick waits out the join


def test_the_option_is_checked_and_read_from_scenario_files(tmp_path) -> None:
    with pytest.raises(ValueError, match="blocking_join_leave must be true or false"):
        GroupType(name="TheGroup", blocking_join_leave="yes")  # type: ignore[arg-type]
    from riaps_sim.scenario import load_scenario

    path = tmp_path / "s.toml"
    path.write_text(
        '[scenario]\nname = "b"\nduration = 5\n[[group]]\nname = "TheGroup"\nblocking_join_leave = true\n'
        '[[node]]\nname = "n0"\n[node.components.member]\nclass = "riaps_sim.examples:Groupie"\n'
    )
    assert load_scenario(path).group_types[0].blocking_join_leave is True
