"""The checked world: N group machines and the environment around them, as one state and its moves.

A :class:`World` holds the members' machines (the protocol's own classes, unchanged), the messages
in flight, an abstract clock, the faults and polls used so far, and a little history the
properties read (who led which term, which polls were opened, which results each member was
told). :meth:`World.moves` lists what the environment may do next and :meth:`World.after` does
one of them on a copy, carrying out the commands the machine returns the way
``runtime/member.py`` does:

- ``Publish`` puts one copy in flight per live member, the sender included (PUB/SUB fan-out);
  ``SendToLeader`` one copy to the member whose ans port the sender's qry port follows (lost if
  nobody is there); ``SendToMember`` one copy to the member with that identity;
- ``BindAnswerPort`` is answered at once with ``AnswerPortBound`` (both runtimes bind
  synchronously), ``ArmTimer``/``CancelTimer`` are the machine's ``timers``, ``Persist`` is what a
  restart resumes from; ``Notify`` and ``TraceEvent`` are what the properties observe.

Time is abstract (docs/howto/check.md says exactly how): one clock, moved only when a timer fires,
to that timer's due time if it is later; any armed timer may fire next, in any order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..coord.commands import BindAnswerPort, Command, DurableState, Notify, Persist, Publish, SendToLeader, SendToMember, TraceEvent
from ..coord.election import Role
from ..coord.events import Input
from ..coord.machine import GroupMachine
from ..coord.requests import AnswerPortBound, AskVote, CastVote, Join, TimerFired
from ..coord.wire import decode
from .bounds import Bounds
from .moves import ANSWER_PORT, Envelope, Move, Note, Step, StubRandom, host_of, member_id

__all__ = ["World", "Setting", "initial_world"]


@dataclass(slots=True)
class Setting:
    """What every world of one search shares: the protocol, the bounds, the generator and a decoding cache."""

    protocol: type[GroupMachine]
    members: int
    bounds: Bounds
    group_min_size: int
    overflow: int = 0  #: copies dropped at the in-flight bound, over the whole search
    loopback: bool = False  #: a member's own publications queue in flight (else: heard at once)
    queued_heartbeats: bool = False  #: ``tic`` queues in flight (else: heard by every member at once, unless a partition holds it)
    rng: StubRandom = field(default_factory=StubRandom)
    decoded: dict[tuple[bytes, bytes, bytes], Input] = field(default_factory=dict)

    def machine(self, slot: int, incarnation: int, durable: DurableState | None) -> GroupMachine:
        return self.protocol(member_id=member_id(slot, incarnation), rng=self.rng, group_min_size=self.group_min_size, durable=durable)

    def decode(self, cmd: bytes, payload: bytes, sender: bytes) -> Input:
        key = (cmd, payload, sender)
        event = self.decoded.get(key)
        if event is None:
            event = self.decoded[key] = decode(cmd, payload, sender=sender)
        return event


class World:
    """One state of the checked system; copied, never changed, once it is in the search."""

    __slots__ = (
        "setting",
        "machines",
        "incarnations",
        "durable",
        "flight",
        "clock",
        "drops",
        "duplicates",
        "crashes",
        "partitions",
        "polls",
        "cut",
        "leaders",
        "opened",
        "results",
        "told",
        "asked",
        "notes",
        "loop",
        "owned",
        "keys",
    )

    def __init__(self, setting: Setting) -> None:
        n = setting.members
        self.setting = setting
        self.machines: list[GroupMachine | None] = [None] * n
        self.incarnations = [0] * n
        self.durable: list[DurableState | None] = [None] * n
        self.flight: tuple[Envelope, ...] = ()
        self.clock = 0.0
        self.drops = self.duplicates = self.crashes = self.partitions = self.polls = 0
        self.cut: frozenset[int] | None = None  # one side of the partition in force
        self.leaders: frozenset[tuple[int, int]] = frozenset()  # (term, member) that ever led
        self.opened: frozenset[str] = frozenset()  # polls a leader opened
        self.results: frozenset[tuple[str, str]] = frozenset()  # (poll, result) some member was told
        self.told: frozenset[tuple[int, int, str]] = frozenset()  # (member, incarnation, poll) told a result
        self.asked: frozenset[tuple[int, int, str]] = frozenset()  # (member, incarnation, poll) asked to vote, not voted yet
        self.notes: list[Note] = []  # of the step that made this world
        self.loop: list[tuple[int, Input]] = []  # (member, input) heard at once, not handled yet
        self.owned: set[int] = set()  # members whose machine this world already copied
        self.keys: list[Any] = [None] * n  # each member's canonical form at this clock, once computed (canon.py)

    # ------------------------------------------------------------------ reading

    @property
    def faults(self) -> int:
        """Faults used so far: drops, duplicates, crashes and partitions."""
        return self.drops + self.duplicates + self.crashes + self.partitions

    def live(self, slot: int) -> GroupMachine | None:
        return self.machines[slot]

    def deliverable(self, envelope: Envelope) -> bool:
        """No partition separates its sender from its recipient (a held message waits for the heal)."""
        return self.cut is None or (envelope.src in self.cut) == (envelope.dst in self.cut)

    # ------------------------------------------------------------------ moves

    def moves(self) -> list[Step]:
        """Every move the environment may make now (within the fault and poll bounds)."""
        b = self.setting.bounds
        steps: list[Step] = []
        fault_left = self.faults < b.max_faults
        for envelope in dict.fromkeys(self.flight):  # identical copies are one choice
            if self.deliverable(envelope):
                steps.append(Step(Move.DELIVER, envelope.dst, envelope))
            if fault_left and self.drops < b.max_drops:
                steps.append(Step(Move.DROP, envelope.dst, envelope))
            if fault_left and self.duplicates < b.max_duplicates:
                steps.append(Step(Move.DUPLICATE, envelope.dst, envelope))
        skew = b.max_timer_skew_ms
        latest = float("inf")  # the latest due time a timer may have to fire next
        if skew is not None:
            latest = min((max(due, self.clock) for m in self.machines if m is not None for due in m.timers.values()), default=0.0) + skew / 1000.0
        for slot, m in enumerate(self.machines):
            if m is None:
                steps.append(Step(Move.RESTART, slot))
                continue
            steps.extend(Step(Move.TIMER, slot, timer=name) for name, due in m.timers.items() if due <= latest)
            if fault_left and self.crashes < b.max_crashes:
                steps.append(Step(Move.CRASH, slot))
            if self.polls < b.max_polls and m.has_leader:
                steps.append(Step(Move.ASK, slot))
        for slot, incarnation, rfv_id in sorted(self.asked):
            if self.machines[slot] is not None and self.incarnations[slot] == incarnation:
                steps.append(Step(Move.VOTE, slot, rfv_id=rfv_id, vote=True))
                steps.append(Step(Move.VOTE, slot, rfv_id=rfv_id, vote=False))
        if self.cut is not None:
            steps.append(Step(Move.HEAL, 0))
        elif fault_left and self.partitions < b.max_partitions:
            n = self.setting.members
            for mask in range(1, 2 ** (n - 1)):  # the side without the last member: each cut once
                steps.append(Step(Move.PARTITION, 0, side=frozenset(i for i in range(n) if mask >> i & 1)))
        return steps

    def after(self, step: Step) -> World | None:
        """The world after *step*, or None when it would cross a bound (term or messages in flight)."""
        w = self._copy()
        move = step.move
        if move is Move.DELIVER:
            assert step.envelope is not None
            w._take(step.envelope)
            w._run(step.member, step.envelope.event)
        elif move is Move.TIMER:
            m = w._own(step.member)
            if m.timers[step.timer] > w.clock:
                w.clock = m.timers[step.timer]
                w.keys = [None] * len(w.keys)
            w._run(step.member, TimerFired(name=step.timer))
        elif move is Move.DROP:
            assert step.envelope is not None
            w._take(step.envelope)
            w.drops += 1
        elif move is Move.DUPLICATE:
            assert step.envelope is not None
            if w._queued(step.envelope.dst) >= self.setting.bounds.max_in_flight:
                return None
            w.flight = w.flight + (step.envelope,)
            w.duplicates += 1
        elif move is Move.ASK:
            w.polls += 1
            self.setting.rng.next_poll_id = f"POLL{w.polls:04d}"
            w._run(step.member, AskVote(topic=b"q"))
        elif move is Move.VOTE:
            w.asked = w.asked - {(step.member, w.incarnations[step.member], step.rfv_id)}
            w._run(step.member, CastVote(rfv_id=step.rfv_id, vote=step.vote))
        elif move is Move.CRASH:
            w._crash(step.member)
        elif move is Move.RESTART:
            w._restart(step.member)
        elif move is Move.PARTITION:
            w.cut, w.partitions = step.side, w.partitions + 1
        else:  # HEAL
            w.cut = None
        b = self.setting.bounds
        if any(m is not None and m.term > b.max_term for m in w.machines):
            return None
        return w

    # ------------------------------------------------------------------ the environment's side of a step

    def _copy(self) -> World:
        w = World.__new__(World)
        for name in World.__slots__:
            setattr(w, name, getattr(self, name))
        w.machines = list(self.machines)
        w.incarnations = list(self.incarnations)
        w.durable = list(self.durable)
        w.notes = []
        w.loop = []
        w.owned = set()
        w.keys = list(self.keys)
        return w

    def _own(self, slot: int) -> GroupMachine:
        """The machine of *slot*, copied for this world before it changes."""
        m = self.machines[slot]
        assert m is not None, f"member {slot} is down"
        if slot not in self.owned:
            self.owned.add(slot)
            self.keys[slot] = None
            m = self.machines[slot] = m.copy()
        return m

    def _take(self, envelope: Envelope) -> None:
        flight = list(self.flight)
        flight.remove(envelope)
        self.flight = tuple(flight)

    def _crash(self, slot: int) -> None:
        """The member stops at once: its machine, timers and queued input are gone; what it sent stays in flight."""
        self.machines[slot] = None
        self.keys[slot] = None
        self.crashes += 1
        self.flight = tuple(e for e in self.flight if e.dst != slot)
        self.asked = frozenset(a for a in self.asked if a[0] != slot)

    def _restart(self, slot: int) -> None:
        """A new incarnation of the member (a new id, the same slot) joins, resuming its durable state (term, vote, configuration)."""
        self.incarnations[slot] += 1
        self.keys[slot] = None
        self.owned.add(slot)
        self.machines[slot] = self.setting.machine(slot, self.incarnations[slot], self.durable[slot])
        self._run(slot, Join(), copy=False)

    def _run(self, slot: int, event: Input, *, copy: bool = True) -> None:
        """Hand *event* to the member's machine at the clock, carry out what it returns, then what is heard at once."""
        self._handle(slot, event, copy)
        while self.loop:  # own publications and heartbeats, heard at once (unless they queue: Setting)
            dst, heard = self.loop.pop(0)
            if self.machines[dst] is not None:
                self._handle(dst, heard, True)

    def _handle(self, slot: int, event: Input, copy: bool) -> None:
        m = self._own(slot) if copy else self.machines[slot]
        assert m is not None
        before_role, before_term = m.role, m.term
        self._execute(slot, m, m.handle(event, self.clock))
        if m.role is Role.LEADER and (before_role is not Role.LEADER or before_term != m.term):
            self.leaders = self.leaders | {(m.term, slot)}

    def _execute(self, slot: int, m: GroupMachine, commands: list[Command]) -> None:
        setting, me = self.setting, m.member_id
        for c in commands:
            kind = type(c)
            if kind is Publish:
                assert isinstance(c, Publish)
                event = setting.decode(c.cmd.value, c.payload, b"")
                code = c.cmd.value.decode()
                copies = [Envelope(slot, dst, code, event) for dst, other in enumerate(self.machines) if other is not None]
                queued = []
                for e in copies:
                    if (e.dst == slot and not setting.loopback) or (code == "tic" and not setting.queued_heartbeats and self.deliverable(e)):
                        self.loop.append((e.dst, event))
                    else:
                        queued.append(e)
                self._send(*queued)
            elif kind is SendToLeader:
                assert isinstance(c, SendToLeader)
                dst = self._answer_port_owner(m.following)
                if dst is not None:
                    self._send(Envelope(slot, dst, c.cmd.value.decode(), setting.decode(c.cmd.value, c.payload, me)))
            elif kind is SendToMember:
                assert isinstance(c, SendToMember)
                for dst, other in enumerate(self.machines):
                    if other is not None and other.member_id == c.identity:
                        self._send(Envelope(slot, dst, c.cmd.value.decode(), setting.decode(c.cmd.value, c.payload, b"")))
            elif kind is BindAnswerPort:
                bound = AnswerPortBound(host=host_of(slot), port=ANSWER_PORT + self.incarnations[slot])
                self._execute(slot, m, m.handle(bound, self.clock))
            elif kind is Persist:
                assert isinstance(c, Persist)
                self.durable[slot] = c.state
            elif kind is Notify or kind is TraceEvent:
                assert isinstance(c, (Notify, TraceEvent))
                self._observe(slot, c)

    def _queued(self, dst: int) -> int:
        return sum(1 for e in self.flight if e.dst == dst)

    def _send(self, *envelopes: Envelope) -> None:
        """Put *envelopes* in flight; a copy for a member with ``max_in_flight`` queued already is dropped,
        as a ZeroMQ PUB socket drops at its high-water mark (no fault: the bound's doing, counted in the result)."""
        bound = self.setting.bounds.max_in_flight
        for e in envelopes:
            if self._queued(e.dst) < bound:
                self.flight = self.flight + (e,)
            else:
                self.setting.overflow += 1

    def _observe(self, slot: int, what: Notify | TraceEvent) -> None:
        incarnation = self.incarnations[slot]
        self.notes.append(Note(slot, incarnation, what))
        if isinstance(what, TraceEvent):
            if what.kind == "vote_requested" and what.rfv_id is not None:
                self.opened = self.opened | {what.rfv_id}
        elif what.callback in ("handleVoteRequest", "handleActionVoteRequest"):
            self.asked = self.asked | {(slot, incarnation, str(what.args[0]))}
        elif what.callback == "handleVoteResult":
            rfv_id, result = str(what.args[0]), str(what.args[1])
            self.told = self.told | {(slot, incarnation, rfv_id)}
            own = any(
                isinstance(n.what, TraceEvent) and n.what.kind == "vote_expired" and n.what.rfv_id == rfv_id for n in self.notes if n.member == slot
            )
            if not own:  # a requester's own timeout at its deadline is no leader's result: others may be told 'yes'
                self.results = self.results | {(rfv_id, result)}
            self.asked = self.asked - {(slot, incarnation, rfv_id)}

    def _answer_port_owner(self, endpoint: tuple[str, int] | None) -> int | None:
        """The live member whose ans port is at *endpoint*, if any (a dead one's port is gone with it)."""
        if endpoint is None:
            return None
        host, port = endpoint
        for slot, m in enumerate(self.machines):
            if m is not None and host == host_of(slot) and port == ANSWER_PORT + self.incarnations[slot] and m.answer_endpoint == endpoint:
                return slot
        return None


def initial_world(setting: Setting) -> World:
    """Every member joined at time 0 and heard every member's first ``tic``: a formed group, nothing in flight."""
    w = World(setting)
    for slot in range(setting.members):
        w.machines[slot] = setting.machine(slot, 0, None)
    for slot, m in enumerate(w.machines):
        assert m is not None
        w._execute(slot, m, m.handle(Join(), 0.0))
    while w.loop or w.flight:
        if w.loop:
            dst, event = w.loop.pop(0)
        else:
            (dst, event), w.flight = (w.flight[0].dst, w.flight[0].event), w.flight[1:]
        w._handle(dst, event, False)
    w.notes = []
    return w
