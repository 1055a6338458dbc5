"""What the message codes in traces, summaries and charts mean, in a few words each.

The trace's ``send`` and ``deliver`` events name a message by its 3-byte command code (frame 0 on
the wire, ``riaps_sim.coord.wire.Code``). Charts label them with these meanings; the
documentation's glossary is built from the same table, and a test keeps it complete.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MessageCode", "MESSAGE_CODES", "meaning"]


@dataclass(frozen=True, slots=True)
class MessageCode:
    """One command code: its short meaning, how it travels, and what it is for."""

    code: str
    meaning: str
    path: str
    purpose: str


MESSAGE_CODES: dict[str, MessageCode] = {
    c.code: c
    for c in [
        MessageCode(
            "tic", "heartbeat", "PUB to all", "every member, every heartbeat period; members that stay silent for the peer timeout are dropped"
        ),
        MessageCode("req", "vote request", "PUB to all", "a candidate asks for votes in its new term"),
        MessageCode("vot", "vote reply", "PUB to all", "a member grants (or refuses) its vote to a candidate"),
        MessageCode("ldr", "leader heartbeat", "PUB to all", "the leader announces itself, its term and the address of its answer port"),
        MessageCode("msg", "group message", "PUB to all", "an application message to every member, the sender included"),
        MessageCode("mtl", "message to leader", "qry to ans", "an application message from a member to the leader"),
        MessageCode("mfl", "message from leader", "ans to qry", "the leader's application message to one member"),
        MessageCode("rfv", "request for vote", "qry to ans", "a member asks the leader to poll the group"),
        MessageCode("rcm", "call for votes", "PUB to all", "the leader publishes the poll to every member"),
        MessageCode("rtc", "reply to call", "qry to ans", "a member's ballot (yes or no) to the leader"),
        MessageCode("ann", "poll result", "PUB to all", "the leader announces yes, no or timeout"),
        MessageCode("mlt", "member leaves", "PUB to all", "a member says goodbye as it leaves the group"),
        MessageCode(
            "pvq", "pre-vote request", "PUB to all", "``fixed`` only (not in the reference): could this member win the next term? No term changes"
        ),
        MessageCode("pva", "pre-vote reply", "PUB to all", "``fixed`` only: yes unless the member hears a live leader or is in that term already"),
    ]
}


def meaning(code: str) -> str:
    """The short meaning of *code* (``"tic"`` is ``"heartbeat"``); the code itself if unknown."""
    entry = MESSAGE_CODES.get(code)
    return entry.meaning if entry is not None else code
