"""Polls at the leader: opening, counting ballots and deciding, under two sets of rules.

``RiapsPolls`` is the reference's ``Poll``/``startPoll``/``checkPoll`` (riaps-pycom's ``dc.py``);
``FixedPolls`` fixes B17. Both are stateless rule objects; the open polls
live in the machine as :class:`Poll` records.

Deadlines: *timeout* is the request's ``timeout_s`` or, if 0, the default the machine passes in:
``consensusTimeout`` read as seconds by ``riaps`` (B3, as the reference: 1500 s) unless its timing
says ``reference_poll_timeout_units=False``, and as milliseconds by ``fixed``. The reference computes ``started + timeout - (now - started)``, which
subtracts the transit delay twice and mixes the requester's and the leader's clocks (``RiapsPolls``
keeps it). ``FixedPolls`` holds the poll to its **requester's** deadline, ``started + timeout``:
a request that reaches the leader late (held by a partition, slow links) gets only the time its
requester still waits, and one already past it is announced ``timeout`` at once. That reads the
requester's clock on the leader, as RIAPS nodes do (their clocks are synchronised); a skewed
requester's poll ends early or late by the skew, never later than *timeout* after it reached the
leader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .events import PollSpec

__all__ = ["Poll", "PollRules", "RiapsPolls", "FixedPolls"]


@dataclass(slots=True)
class Poll:
    """One open poll at the leader (mutable, internal to the machine).

    Attributes
    ----------
    spec : PollSpec
    requester : bytes
        Routing identity of the member that asked (``b''``: the leader's own component).
    deadline_s : float
        Leader's clock, seconds.
    electorate : tuple of bytes
        The members known when the poll opened (the leader included).
    ballots : dict
        Voter -> vote, for rules that de-duplicate; ``count``/``yes`` count every ballot.
    """

    spec: PollSpec
    requester: bytes
    deadline_s: float
    electorate: tuple[bytes, ...]
    count: int = 0
    yes: int = 0
    ballots: dict[bytes, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """The number of voters expected: ``numPeers`` when the poll opened."""
        return len(self.electorate)


class PollRules:
    """How a leader opens, counts and decides polls. Subclasses override the three hooks."""

    name = ""
    #: True: polls expire only when a ballot arrives or some timer fires (lazy, the reference's
    #: shared timer). False: the machine arms a dedicated ``poll`` timer at the next deadline.
    lazy_expiry = True

    def open(self, spec: PollSpec, requester: bytes, electorate: tuple[bytes, ...], now: float, default_timeout_s: float) -> Poll | None:
        """A new poll, or None if it is already past its timeout (announced as ``timeout``)."""
        timeout = spec.timeout_s if spec.timeout_s > 0.0 else default_timeout_s
        if not self._in_time(spec, now, timeout):
            return None
        return Poll(spec=spec, requester=requester, deadline_s=self._deadline(spec, now, timeout), electorate=electorate)

    def _in_time(self, spec: PollSpec, now: float, timeout: float) -> bool:
        return True

    def _deadline(self, spec: PollSpec, now: float, timeout: float) -> float:
        """When the poll opened at *now* times out, on the leader's clock: *timeout* from now."""
        return now + timeout

    def count(self, poll: Poll, voter: bytes, vote: str) -> str:
        """Count *voter*'s *vote*; return ``''`` if counted, else the cause of the drop."""
        raise NotImplementedError

    def decide(self, poll: Poll, now: float) -> str | None:
        """``'yes'``, ``'no'`` or ``'timeout'`` if the poll is over at *now* (s), else None."""
        raise NotImplementedError


class RiapsPolls(PollRules):
    """The reference's rules (§3.6); the default timeout is the machine's (B3 in ``riaps`` by default).

    - a request already older than its timeout (``now - started > timeout``, two clocks) is
      refused and announced as ``timeout``; otherwise its deadline is ``started + timeout - delta``
      (``delta = now - started``), as the reference computes it;
    - every ballot counts, duplicates and strangers included (B17);
    - the result is computed only when ``count == size`` exactly (B17): majority is
      ``yes >= size//2 + 1``, consensus ``yes == size``; past the deadline it is ``timeout``,
      checked first, lazily.
    """

    name = "riaps"
    lazy_expiry = True

    def _in_time(self, spec: PollSpec, now: float, timeout: float) -> bool:
        return not now - spec.started_s > timeout

    def _deadline(self, spec: PollSpec, now: float, timeout: float) -> float:
        """The reference's ``started + timeout - delta`` with ``delta = now - started``: the request's
        transit is taken off twice (and the requester's clock mixed with the leader's), so a poll that
        took long to reach the leader has little time left."""
        return spec.started_s + timeout - (now - spec.started_s)

    def count(self, poll: Poll, voter: bytes, vote: str) -> str:
        poll.count += 1
        poll.yes += vote == "yes"
        return ""

    def decide(self, poll: Poll, now: float) -> str | None:
        if now > poll.deadline_s:
            return "timeout"
        if poll.count == poll.size:
            threshold = poll.size // 2 + 1 if poll.spec.kind == "majority" else poll.size
            return "yes" if poll.yes >= threshold else "no"
        return None


class FixedPolls(PollRules):
    """Rules that fix B17.

    - only members of the electorate (those known when the poll opened) vote, once each;
      late members, strangers and second ballots are dropped with a cause;
    - the result is decided as soon as it is certain: ``yes`` once ``yes >= threshold``,
      ``no`` once the outstanding ballots can no longer reach it (majority: threshold
      ``size//2 + 1``; consensus: ``size``, so one ``no`` decides); ``timeout`` at the deadline,
      enforced by a dedicated timer, and for any ballot that arrives at or after it;
    - the deadline is the requester's, ``started + timeout``, and never more than *timeout* after
      the request reached the leader; a request already past it is announced ``timeout``.
    """

    name = "fixed"
    lazy_expiry = False

    def _in_time(self, spec: PollSpec, now: float, timeout: float) -> bool:
        return spec.started_s + timeout > now

    def _deadline(self, spec: PollSpec, now: float, timeout: float) -> float:
        """The requester's deadline, but at most *timeout* from now (a requester whose clock is behind)."""
        return min(spec.started_s + timeout, now + timeout)

    def count(self, poll: Poll, voter: bytes, vote: str) -> str:
        if voter not in poll.electorate:
            return "ballot from a member outside the poll's electorate"
        if voter in poll.ballots:
            return "second ballot from the same member"
        poll.ballots[voter] = vote
        poll.count += 1
        poll.yes += vote == "yes"
        return ""

    def decide(self, poll: Poll, now: float) -> str | None:
        if now >= poll.deadline_s:  # first: a ballot that arrives at or after the deadline decides nothing
            return "timeout"
        threshold = poll.size // 2 + 1 if poll.spec.kind == "majority" else poll.size
        if poll.yes >= threshold:
            return "yes"
        if poll.yes + (poll.size - poll.count) < threshold:
            return "no"
        return None
