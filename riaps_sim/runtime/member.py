"""``GroupMember``: one component's membership in one group, run the same way in both worlds.

It owns the member's coordination machine and its four group ports, feeds the machine what
arrives on the ports, from timers and from the component, and carries out the commands the machine
returns: sends on the ports, timers on the driver, callbacks on the component, facts in the trace.
A malformed frame, an undecodable message or a failing callback is counted, logged and traced,
and the member carries on (the reference's group thread dies on several of these, B4).
"""

from __future__ import annotations

import errno
import hashlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import ports

from ..coord import commands as cmd
from ..coord.errors import CoordError, WireError
from ..coord.events import Input
from ..coord.group import Group
from ..coord.machine import GroupMachine
from ..coord.requests import AnswerPortBound, AnswerPortFailed, Join, Leave, SendFailed, TimerFired
from ..coord.wire import Code, decode
from ..discovery import Endpoint
from ..model import GroupType
from ..trace import Kind
from .broadcast import BroadcastMachine

if TYPE_CHECKING:
    from ..component import Component
    from .node import Node

__all__ = ["GroupMember"]

log = logging.getLogger("riaps_sim.runtime")

_TRACE_KINDS = {
    "state": Kind.STATE,
    "vote_requested": Kind.VOTE_REQUESTED,
    "vote_cast": Kind.VOTE_CAST,
    "vote_announced": Kind.VOTE_ANNOUNCED,
    "vote_expired": Kind.VOTE_EXPIRED,
    "drop": Kind.DROP,
    "error": Kind.ERROR,
    "warning": Kind.WARNING,
}
_NOTIFY_KINDS = {
    "handleMemberJoined": Kind.MEMBER_JOINED,
    "handleMemberLeft": Kind.MEMBER_LEFT,
    "handleLeaderElected": Kind.LEADER_ELECTED,
    "handleLeaderExited": Kind.LEADER_EXITED,
}


#: Frame 0 of the protocol's messages as the trace names them (decoding bytes per message costs more).
_COMMANDS = {code.value: code.value.decode() for code in Code}


def message_digest(command: bytes, payload: bytes) -> str:
    """The ``msg_id`` of a real send or delivery: ``#`` and 12 hex digits of a hash of *command* and *payload*.

    Real sockets number nothing, and the wire format is RIAPS's, so a message carries no id; both
    ends can hash what they see, though. Identical messages (a member's successive heartbeats)
    share a digest: a delivery belongs to the latest send of its digest before it.
    """
    return "#" + hashlib.blake2b(command + b"|" + payload, digest_size=6).hexdigest()


class GroupMember:
    """A component's member of one group instance: machine, ports, timers and the ``Group`` handle."""

    def __init__(self, node: Node, component: Component, group_type: GroupType, instance: str, min_size: int) -> None:
        self.node = node
        self.component = component
        self.group_type = group_type
        self.group_name = group_type.group_name(instance)
        self.coordinated = group_type.coordinated
        self.member_id = node.new_member_id()
        self.discovery_key = group_type.discovery_key(instance)
        self.machine: GroupMachine | BroadcastMachine
        if self.coordinated:
            self.machine = group_type.machine_class()(
                member_id=self.member_id,
                rng=node.random,
                timing=group_type.timing,
                group_min_size=min_size,
                durable=node.storage.load(self.group_name),
            )
            self.machine.coverage = node.coverage
        else:
            self.machine = BroadcastMachine()
        self.group = Group(self)
        self._timers: dict[str, Any] = {}
        self._monitors: dict[str, Any] = {}  # port name -> its monitor socket, watched for refused handshakes
        self._result: object = None
        self._left = False
        self._make_ports()
        self.endpoint = Endpoint(self.discovery_key, node.host, self.pub.portNum or 0, node.name)
        node.discovery_register(self.endpoint)
        node.discovery_watch(self.discovery_key, self._on_endpoint)
        self._trace(Kind.GROUP_JOINED, peer=self.member_id.hex(), detail=group_type.protocol if self.coordinated else "default")
        self._run(Join())

    def __repr__(self) -> str:
        return f"<GroupMember {self.group_name} of {self.node.name}/{self.component.instance_name} {self.machine!r}>"

    # -- set-up and tear-down -----------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """Whether this member leads its group now."""
        return bool(getattr(self.machine, "is_leader", False))

    @property
    def term(self) -> int:
        """The member's current election term (0 for a leaderless group)."""
        return int(getattr(self.machine, "term", 0))

    def _make_ports(self) -> None:
        part, spec, name = self.node.part, self.group_type.spec(), self.group_name
        self.pub = ports.GroupPubPort(part, f"{name}_pub", spec)
        self.sub = ports.GroupSubPort(part, f"{name}_sub", spec)
        self.pub.setupSocket(self)
        self.sub.setupSocket(self)
        self.node.driver.watch(self.sub.getSocket(), self._on_sub)
        if self.coordinated:
            self.qry = ports.GroupQryPort(part, f"{name}_qry", spec, identity=self.member_id)
            self.ans = ports.GroupAnsPort(part, f"{name}_ans", spec)
            self.qry.setupSocket(self)
            self.ans.setupSocket(self)
            self.node.driver.watch(self.qry.getSocket(), self._on_qry)
            self.node.driver.watch(self.ans.getSocket(), self._on_ans)
        for port in self._ports():
            self._watch_refusals(port)

    def _watch_refusals(self, port: ports.Port) -> None:
        """With CURVE on, a port's monitor reports refused handshakes: trace each one."""
        monitor = port.getMonitorSocket()
        if monitor is not None:
            self.node.driver.watch(monitor, lambda: self._record_refusals(port))
            self._monitors[port.name] = monitor

    def _unwatch_refusals(self, port: ports.Port) -> None:
        monitor = self._monitors.pop(port.name, None)
        if monitor is not None:
            self._record_refusals(port)  # what it saw last
            self.node.driver.unwatch(monitor)

    def _record_refusals(self, port: ports.Port) -> None:
        rejections = self.node.rejections  # a real node bounds these rows per source; else each is a row
        for refusal in port.refusals():
            detail = f"{refusal.port}: {refusal.reason}"
            if rejections is not None:
                rejections.record(Kind.HANDSHAKE_REFUSED, refusal.peer or None, detail, self.component.instance_name, self.group_name)
            else:
                self._trace(Kind.HANDSHAKE_REFUSED, peer=refusal.peer or None, detail=detail)

    def leave(self) -> None:
        """Tell the group (``mlt``), stop timers, close the ports. No callback follows."""
        if self._left:
            return
        self._run(Leave())
        self.group._left = True
        self.node.discovery_unwatch(self.discovery_key, self._on_endpoint)
        self.node.discovery_unregister(self.endpoint)
        self._trace(Kind.GROUP_LEFT, peer=self.member_id.hex())
        self.abandon()

    def abandon(self) -> None:
        """Stop at once, without a farewell: no more input, timers cancelled, ports closed (a crash)."""
        self._left = True
        for handle in self._timers.values():
            self.node.driver.cancel(handle)
        self._timers.clear()
        self.close_ports()

    def close_ports(self) -> None:
        """Unwatch and close every port (also used when the node crashes)."""
        for port in self._ports():
            if port.getSocket() is not None:
                self._unwatch_refusals(port)
                self.node.driver.unwatch(port.getSocket())
                port.closeSocket()

    def _ports(self) -> list[ports.Port]:
        return [self.pub, self.sub] + ([self.qry, self.ans] if self.coordinated else [])

    def _on_endpoint(self, endpoint: Endpoint, present: bool) -> None:
        # Departures are not disconnected: see ConnPort.update (B18 and a libzmq abort).
        if present and not self._left and self.sub.getSocket() is not None:
            self.sub.update(endpoint.host, endpoint.port)

    # -- GroupBackend, for the Group facade ---------------------------------------------------------

    def submit(self, request: Input) -> object:
        """Run a local request of the component now; return the machine's ``Result`` value."""
        self._result = None
        self._run(request)
        return self._result

    def leader_id(self) -> bytes | None:
        return self.machine.leader

    def group_size(self) -> int:
        return self.machine.group_size

    # -- inputs ---------------------------------------------------------------------------------------

    def _run(self, event: Input, now: float | None = None) -> None:
        """Hand *event* to the machine at node time *now* (default: the clock now) and carry out its commands."""
        try:
            commands = self.machine.handle(event, self.node.driver.clock() if now is None else now)
        except CoordError:
            if event.origin == "local":
                raise
            log.exception("%s: machine refused %r", self, event)
            return
        self._execute(commands)

    def _receive_all(self, port: ports.Port, receive: Callable[[], list[bytes]], head: Callable[[list[bytes]], bytes] | None = None) -> None:
        """Drain *port*: decode each frame list into an input and run it (*head*: the sender's identity, if the port has one).

        This runs once per delivered message: the bound methods it calls are looked up once per drain,
        and a remote input goes to the machine here rather than through ``_run``.
        """
        socket = port.getSocket()
        origin_of = getattr(socket, "last_received", None)  # the network's ids: simulated sockets only
        node, group, instance = self.node, self.group_name, self.component.instance_name
        name, driver, record = node.name, node.driver, node.trace.record_message
        clock, true_time, execute, deliver = driver.clock, driver.true_time, self._execute, Kind.DELIVER
        while not self._left:
            try:
                frames = receive()
            except ports.PortError as error:
                if error.errno == errno.EAGAIN:
                    return
                self._trace(Kind.DROP, detail="malformed", peer=port.name)
                continue
            try:
                event = decode(frames[0], frames[1], sender=b"" if head is None else head(frames))
            except WireError as error:
                log.warning("%s: dropped a malformed %r message: %s", self, frames[0][:8], error)
                self._trace(Kind.DROP, detail="malformed", peer=error.__class__.__name__)
                continue
            if port.getSocket() is not socket:  # a handler rebound the port (the ans port, on election)
                socket = port.getSocket()
                origin_of = getattr(socket, "last_received", None)
            now = clock()  # one reading for the trace and the machine: nothing runs in between
            command = _COMMANDS.get(frames[0])
            if command is None:
                command = frames[0].decode("ascii", "replace")
            if origin_of is None:  # a real socket: the message's digest pairs it with its send
                source, msg_id = None, message_digest(frames[0], frames[1])
            elif (origin := origin_of()) is not None:
                source, msg_id = origin.source, origin.msg_id
            else:
                source = msg_id = None
            record(now, true_time(), name, instance, group, deliver, command, source, msg_id, len(frames[1]))
            try:  # self._run(event, now), inline
                commands = self.machine.handle(event, now)
            except CoordError:
                log.exception("%s: machine refused %r", self, event)
                continue
            if commands:
                execute(commands)
            # a real node measuring its loop is told how long this message took; a simulated one with a
            # processing cost is now busy, and says to leave the rest for later (its driver calls again)
            if node.probe is not None and node.probe.handled(clock() - now):
                return

    def _on_sub(self) -> None:
        self._receive_all(self.sub, self.sub.recvGroup)

    def _on_qry(self) -> None:
        self._receive_all(self.qry, self.qry.recvFromLeader)

    def _on_ans(self) -> None:
        self._receive_all(self.ans, self.ans.recvFromMember, lambda frames: self.ans.get_identity() or b"")

    def _on_timer(self, name: str) -> None:
        self._timers.pop(name, None)
        if not self._left:
            self._run(TimerFired(name=name))

    # -- commands -------------------------------------------------------------------------------------

    def _execute(self, commands: list[cmd.Command]) -> None:
        for command in commands:
            handler = _EXECUTORS.get(type(command))
            if handler is None:
                raise TypeError(f"{self!r}: no executor for {command!r}")
            handler(self, command)

    def _send(self, what: str, port: ports.Port, action: Callable[[], object], command: bytes, payload: bytes) -> None:
        at = self.node.driver.clock()  # before the send: on real ZeroMQ a peer may receive it before send_multipart returns
        try:
            action()
        except (ports.PortError, ports.OperationError) as error:
            self._trace(Kind.DROP, detail="send_failed", peer=what)
            self._run(SendFailed(what=what, reason=str(error)))
            return
        sent_id = getattr(port.getSocket(), "last_sent_id", None)  # the network's id: simulated sockets only
        self.node.record_message(
            Kind.SEND,
            self.component.instance_name,
            self.group_name,
            what,
            None,
            sent_id() if sent_id is not None else message_digest(command, payload),
            None,
            at,
        )

    def _persist(self, c: cmd.Persist) -> None:
        self.node.storage.save(self.group_name, c.state)

    def _publish(self, c: cmd.Publish) -> None:
        self._send(c.cmd.value.decode(), self.pub, lambda: self.pub.sendGroup(c.cmd.value, c.payload), c.cmd.value, c.payload)

    def _to_leader(self, c: cmd.SendToLeader) -> None:
        self._send(c.cmd.value.decode(), self.qry, lambda: self.qry.sendToLeader(c.cmd.value, c.payload), c.cmd.value, c.payload)

    def _to_member(self, c: cmd.SendToMember) -> None:
        def send() -> None:
            self.ans.set_identity(c.identity)
            self.ans.sendToMember(c.cmd.value, c.payload)

        self._send(c.cmd.value.decode(), self.ans, send, c.cmd.value, c.payload)

    def _follow(self, c: cmd.FollowLeader) -> None:
        self.qry.update(c.host, c.port)

    def _disconnect(self, c: cmd.Disconnect) -> None:
        self.qry.update(None, None)

    def _bind(self, c: cmd.BindAnswerPort) -> None:
        old = self.ans.getSocket()
        try:
            port = self.ans.updatePoller()
        except ports.SetupError as error:
            self._run(AnswerPortFailed(reason=str(error)))
            return
        if self.ans.getSocket() is not old:
            self.node.driver.unwatch(old)
            self.node.driver.watch(self.ans.getSocket(), self._on_ans)
            self._unwatch_refusals(self.ans)
            self._watch_refusals(self.ans)
        self._run(AnswerPortBound(host=self.node.host, port=port))

    def _arm(self, c: cmd.ArmTimer) -> None:
        previous = self._timers.pop(c.name, None)
        if previous is not None:
            self.node.driver.cancel(previous)
        self._timers[c.name] = self.node.driver.call_later(c.delay_s, lambda: self._on_timer(c.name))

    def _cancel(self, c: cmd.CancelTimer) -> None:
        handle = self._timers.pop(c.name, None)
        if handle is not None:
            self.node.driver.cancel(handle)

    def _notify(self, c: cmd.Notify) -> None:
        kind = _NOTIFY_KINDS.get(c.callback)
        group = self.group
        if kind is not None:
            self._trace(kind, peer=cast(bytes, c.args[0]).hex())
            self.node.run_handler(self.component, c.callback, group, c.args[0])
            return
        if c.callback == "handleVoteResult":
            rfv_id, result = c.args
            self._trace(Kind.VOTE_ANNOUNCED, msg_id=str(rfv_id), detail=str(result))
            self.node.run_handler(self.component, c.callback, group, rfv_id, result)
            return
        payload, identity, extra = c.args[0], None, cast(tuple[object, ...], ())
        if c.callback == "handleMessageToLeader":
            identity = c.args[1]
        elif c.callback == "handleVoteRequest":
            extra = (c.args[0],)
            payload = c.args[1]
        elif c.callback == "handleActionVoteRequest":
            extra = (c.args[0], c.args[2])
            payload = c.args[1]
        self._trace(Kind.CALLBACK, detail=c.callback)
        group._handing(payload, identity)  # type: ignore[arg-type]
        try:
            self.node.run_handler(self.component, c.callback, group, *extra)
        finally:
            group._handing(None)

    def _record(self, c: cmd.TraceEvent) -> None:
        fields: dict[str, Any] = {"term": c.term}
        if c.kind == "state":
            fields.update(peer=self.member_id.hex(), detail=c.role.lower())
        else:
            fields.update(peer=c.peer.hex() if c.peer else None, msg_id=c.rfv_id, detail=c.cause or None)
        self._trace(_TRACE_KINDS[c.kind], component=None, **fields)

    def _result_of(self, c: cmd.Result) -> None:
        self._result = c.value

    def _trace(self, kind: str, component: str | bool | None = True, **fields: Any) -> None:
        name = self.component.instance_name if component is True else component
        self.node.record(kind, name, self.group_name, **fields)  # type: ignore[arg-type]


_EXECUTORS: dict[type, Callable[[GroupMember, Any], None]] = {
    cmd.Persist: GroupMember._persist,
    cmd.Publish: GroupMember._publish,
    cmd.SendToLeader: GroupMember._to_leader,
    cmd.SendToMember: GroupMember._to_member,
    cmd.FollowLeader: GroupMember._follow,
    cmd.Disconnect: GroupMember._disconnect,
    cmd.BindAnswerPort: GroupMember._bind,
    cmd.ArmTimer: GroupMember._arm,
    cmd.CancelTimer: GroupMember._cancel,
    cmd.Notify: GroupMember._notify,
    cmd.TraceEvent: GroupMember._record,
    cmd.Result: GroupMember._result_of,
}
