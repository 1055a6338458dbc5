"""Coordination protocols (membership, leader election, polls) as pure state machines.

Bring your own I/O: a machine takes inputs (decoded frames, timer expiries, port reports,
the component's requests) with the node's clock reading, and returns the commands to carry out
(publish, send, arm a named timer, notify a callback, trace). It never touches a socket, a clock,
a thread or the global random generator. :mod:`.wire` turns frames into inputs and back.

The re-exported names below are the public API; the submodules hold the details.
"""

from .commands import (
    CALLBACKS,
    TRACE_KINDS,
    ArmTimer,
    BindAnswerPort,
    CancelTimer,
    Command,
    Disconnect,
    DurableState,
    FollowLeader,
    Notify,
    Persist,
    Publish,
    Result,
    SendToLeader,
    SendToMember,
    TraceEvent,
)
from .election import TIMERS, Case, Role, Row, TermChange, differences, format_table, input_key
from .errors import CoordError, WireError
from .events import (
    VOTE_RESULTS,
    GroupMessage,
    Heartbeat,
    Input,
    LeaderAnnounce,
    MemberLeave,
    MessageFromLeader,
    MessageToLeader,
    PollAnnounce,
    PollOpened,
    PollRequest,
    PollSpec,
    PreVoteReply,
    PreVoteRequest,
    RequestVote,
    VoteCast,
    VoteReply,
)
from .fixed import FixedProtocol
from .fixed_table import FIXED_TABLE
from .machine import GroupMachine, RandomLike
from .membership import Membership
from .polls import FixedPolls, Poll, PollRules, RiapsPolls
from .protocol import PROTOCOLS, make_machine
from .requests import AnswerPortBound, AnswerPortFailed, AskVote, CastVote, Join, Leave, Post, PostToLeader, PostToMember, SendFailed, TimerFired
from .riaps import RIAPS_TABLE, RiapsProtocol
from .timing import Timing
from .wire import Code, FORMATS, decode, encode

__all__ = [
    # machines
    "GroupMachine",
    "RiapsProtocol",
    "FixedProtocol",
    "PROTOCOLS",
    "make_machine",
    "RandomLike",
    "Timing",
    "Role",
    "Row",
    "RIAPS_TABLE",
    "FIXED_TABLE",
    "TIMERS",
    "differences",
    "Case",
    "TermChange",
    "format_table",
    "input_key",
    "Membership",
    "Poll",
    "PollRules",
    "RiapsPolls",
    "FixedPolls",
    # inputs
    "Input",
    "PollSpec",
    "VOTE_RESULTS",
    "Heartbeat",
    "RequestVote",
    "VoteReply",
    "PreVoteRequest",
    "PreVoteReply",
    "LeaderAnnounce",
    "MemberLeave",
    "GroupMessage",
    "MessageToLeader",
    "MessageFromLeader",
    "PollRequest",
    "PollOpened",
    "VoteCast",
    "PollAnnounce",
    "TimerFired",
    "AnswerPortBound",
    "AnswerPortFailed",
    "SendFailed",
    "Join",
    "Leave",
    "Post",
    "PostToLeader",
    "PostToMember",
    "AskVote",
    "CastVote",
    # commands
    "Command",
    "Persist",
    "DurableState",
    "Publish",
    "SendToLeader",
    "SendToMember",
    "FollowLeader",
    "Disconnect",
    "BindAnswerPort",
    "ArmTimer",
    "CancelTimer",
    "Notify",
    "TraceEvent",
    "Result",
    "CALLBACKS",
    "TRACE_KINDS",
    # wire
    "Code",
    "FORMATS",
    "encode",
    "decode",
    "WireError",
    "CoordError",
]
