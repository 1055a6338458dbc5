"""The machine core: state, the one dispatch through the table, and the command helpers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

from . import events, requests
from .commands import ArmTimer, CancelTimer, Command, Disconnect, DurableState, FollowLeader, Notify, Persist, Publish, TraceEvent
from .election import Case, Role, Row, Table, TermChange, input_key
from .errors import CoordError
from ._checks import check_id
from .events import Heartbeat, Input, LeaderAnnounce
from .membership import Membership
from .polls import Poll, PollRules
from .requests import Join, TimerFired
from .timing import Timing
from .wire import encode

if TYPE_CHECKING:
    from .coverage import TableCoverage

__all__ = ["GroupMachine", "RandomLike"]

T = TypeVar("T")


class RandomLike(Protocol):
    """What a machine draws from: a ``random.Random`` seeded per node by the runtime."""

    def random(self) -> float: ...

    def randrange(self, start: int, stop: int) -> int: ...

    def choices(self, population: Sequence[T], *, k: int = 1) -> list[T]: ...


_ROWS: dict[tuple[type, Any], dict[str, Row]] = {}
_KEEP, _NEXT = TermChange.KEEP, TermChange.NEXT

#: The inputs keyed by their class name alone, that need no check before their row: every remote
#: message and runtime report (a ``Join`` and a timer take the long way in ``handle``).
_MESSAGES = frozenset(
    cls for module in (events, requests) for cls in vars(module).values() if isinstance(cls, type) and issubclass(cls, Input) and cls is not Input
) - {Join, TimerFired}


def _rows_by_role(machine: type[GroupMachine], role: Role) -> dict[str, Row]:
    """``machine.TABLE`` split by role once per class, so a lookup hashes a string, not an enum in a tuple."""
    key = (machine, role)
    rows = _ROWS.get(key)
    if rows is None:
        rows = _ROWS[key] = {name: row for (r, name), row in machine.TABLE.items() if r == role}
    return rows


class GroupMachine:
    """A member of one coordinated group, as a pure state machine: inputs in, commands out.

    Subclasses supply ``TABLE`` (see :mod:`riaps_sim.coord.election`), ``POLLS`` (see
    :mod:`riaps_sim.coord.polls`) and the guards and actions the table names. The role and the
    term are written in one place, :meth:`_dispatch`, as the table's case says; actions never
    write them.

    Parameters
    ----------
    member_id : bytes
        This member's 16-byte id (``tic``, ``req``, ``vot``, ``ldr``, ``mlt``).
    rng : RandomLike
        The node's generator; every draw (timeouts, poll ids) comes from it.
    timing : Timing, optional
        Timing parameters, milliseconds (defaults are the reference's).
    group_min_size : int, optional
        ``groupMinSize``, at least 2 (default 2). Its meaning differs by protocol: a threshold
        on the live view in ``riaps``, the configured group size in ``fixed``.

    Raises
    ------
    ValueError
        For a malformed *member_id* or a *group_min_size* below 2.
    """

    name: ClassVar[str] = ""
    TABLE: ClassVar[Table]
    POLLS: ClassVar[PollRules]

    #: Whether the member's :class:`~riaps_sim.coord.commands.DurableState` is durable: ``Persist``
    #: goes out before anything else whenever it changes.
    DURABLE: ClassVar[bool] = False

    #: The properties this protocol promises to keep, by name (the model checker, :mod:`riaps_sim.check`,
    #: holds a protocol to these and to nothing else; ``member_symmetric`` says its behaviour does not
    #: depend on which member has which id, which lets the checker merge states that differ only by a
    #: renaming of members).
    PROMISES: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        *,
        member_id: bytes,
        rng: RandomLike,
        timing: Timing | None = None,
        group_min_size: int = 2,
        durable: DurableState | tuple[int, bytes | None] | None = None,
    ) -> None:
        check_id(type(self).__name__, "member_id", member_id)
        if not isinstance(group_min_size, int) or isinstance(group_min_size, bool) or group_min_size < 2:
            raise ValueError(f"group_min_size (groupMinSize) must be an int >= 2, got {group_min_size!r}")
        self.member_id = member_id
        self.timing = timing if timing is not None else Timing()
        self.group_min_size = group_min_size
        self._rng = rng
        # seconds, converted once
        self._heartbeat_s = self.timing.heartbeat_ms / 1000.0
        self._peer_timeout_s = self.timing.peer_timeout_ms / 1000.0
        self._consensus_timeout_s = self.timing.consensus_timeout_ms / 1000.0
        # state
        self.role = Role.FOLLOWER
        self.term = 0
        self.leader: bytes | None = None
        self.leader_heard_at: float | None = None  # when the leader was last heard (ldr, rcm, ann)
        self.voted_for: bytes | None = None
        self.votes = 0
        self.voters: dict[bytes, None] = {}
        self.peers = Membership()
        self.polls: dict[str, Poll] = {}
        self.known_polls: set[str] = set()  # poll ids this member requested, was asked to vote in, or opened
        self.following: tuple[str, int] | None = None
        self.answer_endpoint: tuple[str, int] | None = None
        self.binding = False
        self.joined = False
        self.left = False
        self.timers: dict[str, float] = {}  # name -> due time (node clock, s)
        self.coverage: TableCoverage | None = None  # told each case taken, when a search asks (coord.coverage)
        self.now = 0.0  # the clock reading of the input being handled (guards read it)
        self._out: list[Command] = []
        self._rows_role: Role | None = None
        self._rows: dict[str, Row] = {}
        if isinstance(durable, tuple):  # (term, voted_for), as stored before the configuration was
            durable = DurableState(term=durable[0], voted_for=durable[1])
        if durable is not None and self.DURABLE:  # a restarted member resumes its term and vote
            self.term, self.voted_for = durable.term, durable.voted_for
            self._restore(durable)
        self._persisted: tuple[int, bytes | None] = (self.term, self.voted_for)
        self._durable_changed = False  # set by a subclass when durable state beyond term and vote changed

    # ------------------------------------------------------------------ public

    def handle(self, event: Input, now: float) -> list[Command]:
        """Process one input at node time *now* (seconds); return the commands to carry out.

        Parameters
        ----------
        event : Input
            A network message, a runtime report or a local request.
        now : float
            This node's clock, seconds. Never read by the machine in any other way.

        Returns
        -------
        list of Command
            In the order the runtime must execute them.

        Raises
        ------
        CoordError
            For a local request the machine cannot take: anything before ``Join``, a second
            ``Join``, anything after ``Leave``, or a request with no row in the table. The state
            is then unchanged. Peers' and the runtime's inputs never raise: when they cannot be
            taken they are dropped with a ``TraceEvent('drop', cause=...)``.
        """
        if event.__class__ in _MESSAGES and self.joined and not self.left:  # the path of every delivery, in short
            if self.role is not self._rows_role:
                self._rows_role, self._rows = self.role, _rows_by_role(type(self), self.role)
            row = self._rows.get(event.__class__.__name__)
            if row is not None:
                return self._apply(event, now, row)
        if not isinstance(event, Input):
            raise CoordError(f"{self!r} takes Input events such as Heartbeat or Join, got {event!r}")
        if isinstance(event, Join):
            if self.joined:
                raise CoordError(f"{self!r} cannot Join twice; make a new machine to rejoin")
            return self._apply(event, now, _JOIN)
        if not self.joined or self.left:
            why = "has left the group" if self.left else "has not joined yet; send Join first"
            if event.origin == "local":
                raise CoordError(f"{self!r} cannot take {input_key(event)}: it {why}")
            return [self._trace("drop", cause=f"{input_key(event)}: member {why}")]
        if isinstance(event, TimerFired) and event.name not in self.timers:
            return [self._trace("drop", cause=f"{input_key(event)}: stale timer (not armed)")]
        if self.role is not self._rows_role:  # the table's rows of this role, by input key: no enum hashing per input
            self._rows_role, self._rows = self.role, _rows_by_role(type(self), self.role)
        key = type(event).__name__  # input_key(event), inline: this is the path of every message
        if key == "TimerFired":
            key = input_key(event)
        row = self._rows.get(key)
        if row is None:  # the single error path
            cause = f"no transition for {input_key(event)} in role {self.role.name} at term {self.term}"
            if event.origin == "local":
                raise CoordError(f"{self!r}: {cause}")
            return [self._trace("drop", cause=cause)]
        return self._apply(event, now, row)

    def _apply(self, event: Input, now: float, row: Row) -> list[Command]:
        """Dispatch *event* through *row*; trace a role or term change; persist term and vote first if they changed."""
        role, term = self.role, self.term
        self._out = []
        self.now = now
        self._dispatch(event, now, row)
        if self.role is not role or self.term != term:
            self._out.append(self._trace("state"))
        out, self._out = self._out, []
        if self.DURABLE and (self._durable_changed or (self.term, self.voted_for) != self._persisted):  # written before any vote leaves
            self._persisted, self._durable_changed = (self.term, self.voted_for), False
            state = self.durable_state()
            out.insert(0, Persist(term=state.term, voted_for=state.voted_for, configuration=state.configuration))
        return out

    def durable_state(self) -> DurableState:
        """What this member must not forget across a crash (a protocol with more to keep extends it)."""
        return DurableState(term=self.term, voted_for=self.voted_for)

    def _restore(self, durable: DurableState) -> None:
        """Resume what :meth:`durable_state` kept beyond term and vote (a protocol with more to keep overrides it)."""

    @property
    def group_size(self) -> int:
        """``groupSize()``: the members in view, this one included once its ``tic`` looped back."""
        return len(self.peers)

    @property
    def is_leader(self) -> bool:
        """``isLeader()``: this member is the leader it knows of."""
        return self.leader == self.member_id

    @property
    def has_leader(self) -> bool:
        """``hasLeader()``: a leader is known."""
        return self.leader is not None

    def snapshot(self) -> dict[str, Any]:
        """Everything that defines the machine's state, as plain values (for tests, notebooks and the model checker).

        A subclass with state of its own adds it here: :mod:`riaps_sim.check` tells states apart by
        this, so a value left out would merge states that behave differently.
        """
        return {
            "role": self.role,
            "term": self.term,
            "leader": self.leader,
            "voted_for": self.voted_for,
            "votes": self.votes,
            "voters": tuple(self.voters),
            "peers": tuple((m, self.peers.last_heard(m)) for m in self.peers.members()),
            "polls": {k: (p.count, p.yes, tuple(p.ballots)) for k, p in self.polls.items()},
            "following": self.following,
            "answer_endpoint": self.answer_endpoint,
            "binding": self.binding,
            "joined": self.joined,
            "left": self.left,
            "timers": dict(self.timers),
            "known_polls": frozenset(self.known_polls),
            "leader_heard_at": self.leader_heard_at,
        }

    def copy(self) -> Self:
        """An independent copy of this machine, cheap to make: a model checker's snapshot of a state.

        Containers are copied one level deep (a ``Poll``'s ballots too); everything else the two
        share is immutable, except the random generator, which stays shared. A subclass that keeps a
        mutable value other than a dict, set, list, ``Membership`` or ``Poll`` dict must extend this.
        """
        twin = object.__new__(type(self))
        state = dict(self.__dict__)
        for key, value in state.items():
            if type(value) in (dict, set, list):
                state[key] = value.copy()
        state["peers"] = self.peers.copy()
        state["polls"] = {rfv_id: replace(poll, ballots=dict(poll.ballots)) for rfv_id, poll in self.polls.items()}
        twin.__dict__.update(state)
        return twin

    def __repr__(self) -> str:
        state = "left" if self.left else self.role.name if self.joined else "not joined"
        return f"<{type(self).__name__} {self.member_id.hex()[:8]}.. {state} term={self.term} peers={len(self.peers)}>"

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, event: Input, now: float, row: Row) -> None:
        """Age out silent peers, choose the row's case, and apply it: term change, action, role.

        The one place where a member's role and term change.
        """
        for member in self.peers.expire(now, self._peer_timeout_s):
            self._notify("handleMemberLeft", member)
        timer = event.__class__ is TimerFired
        if timer:
            del self.timers[event.name]  # type: ignore[attr-defined]
        cases = row.cases
        chosen: Case = cases[0] if len(cases) == 1 else row.choose(self, event)
        if self.coverage is not None:
            self.coverage.took(self.name, self.TABLE, self.role, input_key(event), chosen)
        change = chosen.term
        if change is not _KEEP:
            if change is _NEXT:
                self.term = (self.term + 1) % 2**32  # the wire's ``!L``; ``fixed`` guards the limit instead
            else:
                self.term = event.term  # type: ignore[attr-defined]  # the rows that adopt take term-carrying inputs
        chosen.action(self, event, now)
        self.role = chosen.target
        if timer and self.POLLS.lazy_expiry:
            self._check_polls(now)  # riaps: any timer is the reference's shared poll timeout (B24)

    def _join(self, event: Join, now: float) -> None:
        """Start: the first ``tic``, the heartbeat and the deadline for a leader; traced as a state, the role as it is."""
        self.joined = True
        self._publish_tic()
        self._arm("heartbeat", self._heartbeat_s, now)
        self._arm_leader_deadline(now)
        self._out.append(self._trace("state"))

    # ------------------------------------------------------------------ helpers

    def _emit(self, command: Command) -> None:
        self._out.append(command)

    def _publish(self, event: Input) -> None:
        cmd, payload = encode(event)
        self._out.append(Publish(cmd=cmd, payload=payload))

    def _publish_tic(self) -> None:
        self._publish(Heartbeat(member=self.member_id))

    def _publish_ldr(self) -> None:
        if self.answer_endpoint is not None:
            host, port = self.answer_endpoint
            self._publish(LeaderAnnounce(term=self.term, leader=self.member_id, host=host, port=port))

    def _notify(self, callback: str, *args: object) -> None:
        self._out.append(Notify(callback=callback, args=args))

    def _trace(self, kind: str, *, peer: bytes | None = None, rfv_id: str | None = None, cause: str = "") -> TraceEvent:
        return TraceEvent(kind=kind, role=self.role.name, term=self.term, peer=peer, rfv_id=rfv_id, cause=cause)

    def _drop(self, cause: str, *, peer: bytes | None = None, rfv_id: str | None = None) -> None:
        self._out.append(self._trace("drop", peer=peer, rfv_id=rfv_id, cause=cause))

    def _arm(self, name: str, delay_s: float, now: float) -> None:
        self.timers[name] = now + delay_s
        self._out.append(ArmTimer(name=name, delay_s=delay_s))

    def _cancel(self, name: str) -> None:
        if self.timers.pop(name, None) is not None:
            self._out.append(CancelTimer(name=name))

    def _election_timeout_s(self) -> float:
        """A candidate's wait for votes: ``randrange(electionMin, electionMax)`` ms, in s."""
        return self._rng.randrange(self.timing.election_min_ms, self.timing.election_max_ms) / 1000.0

    def _arm_leader_deadline(self, now: float) -> None:
        """A follower's deadline for the leader: ``randrange(electionMax, peerTimeout)`` ms ahead."""
        delay = self._rng.randrange(self.timing.election_max_ms, self.timing.peer_timeout_ms) / 1000.0
        self._arm("election", delay, now)

    def _follow(self, host: str, port: int) -> None:
        """Point the qry port at the leader's ans port (port 0: no endpoint, disconnect)."""
        if port == 0:
            self._disconnect()
        elif self.following != (host, port):
            self.following = (host, port)
            self._out.append(FollowLeader(host=host, port=port))

    def _disconnect(self) -> None:
        if self.following is not None:
            self.following = None
            self._out.append(Disconnect())

    def _check_polls(self, now: float) -> None:
        raise NotImplementedError  # provided by SharedActions


#: How ``Join`` goes through ``_apply``: before it, the machine has no rows to look in.
_JOIN = Row((Case(action=GroupMachine._join, target=Role.FOLLOWER),))
