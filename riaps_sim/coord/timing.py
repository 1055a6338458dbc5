"""The group timing parameters (RIAPS model names, milliseconds) and their validation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["Timing", "MODEL_NAMES"]

#: RIAPS model parameter name -> our field name.
MODEL_NAMES = {
    "heartbeat": "heartbeat_ms",
    "electionMin": "election_min_ms",
    "electionMax": "election_max_ms",
    "peerTimeout": "peer_timeout_ms",
    "consensusTimeout": "consensus_timeout_ms",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """Timing of a coordinated group, in integer **milliseconds** as in a RIAPS model.

    Machines convert these to seconds once, at construction; inside, time is float seconds.

    Parameters
    ----------
    heartbeat_ms : int
        Period of ``tic`` and of the leader's ``ldr`` (default 1000).
    election_min_ms, election_max_ms : int
        A candidate waits ``randrange(election_min_ms, election_max_ms)`` for votes
        (defaults 1500, 2000).
    peer_timeout_ms : int
        A member silent for longer is dropped (default 3000). A follower's deadline for the
        leader is ``randrange(election_max_ms, peer_timeout_ms)``.
    consensus_timeout_ms : int
        Default poll timeout (default 1500), for a poll asked with no timeout.
    reference_poll_timeout_units : bool
        ``riaps`` only: read *consensus_timeout_ms* as **seconds**, as the reference does (B3), so a
        poll asked with no timeout effectively never times out (1500 s with the default). Default
        True: ``riaps`` is the reference, bugs included; set False for ``riaps`` with B3 repaired.
        ``fixed`` always reads milliseconds.

    Raises
    ------
    ValueError
        Unless each value is a positive int and ``heartbeat < electionMin < electionMax <
        peerTimeout`` and ``consensusTimeout < electionMax``; the message names the values.
    """

    heartbeat_ms: int = 1000
    election_min_ms: int = 1500
    election_max_ms: int = 2000
    peer_timeout_ms: int = 3000
    consensus_timeout_ms: int = 1500
    reference_poll_timeout_units: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.reference_poll_timeout_units, bool):
            raise ValueError(f"Timing.reference_poll_timeout_units must be true or false, got {self.reference_poll_timeout_units!r}")
        for f in fields(self):
            if f.name == "reference_poll_timeout_units":
                continue
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Timing.{f.name} must be a positive int of milliseconds, got {value!r}")
        h, lo, hi, peer, cons = (self.heartbeat_ms, self.election_min_ms, self.election_max_ms, self.peer_timeout_ms, self.consensus_timeout_ms)
        if not (h < lo < hi < peer and cons < hi):
            raise ValueError(
                "group timing parameters incorrectly ordered: need heartbeat < electionMin < electionMax < "
                f"peerTimeout and consensusTimeout < electionMax, got heartbeat={h}, electionMin={lo}, "
                f"electionMax={hi}, peerTimeout={peer}, consensusTimeout={cons} (ms)"
            )

    @classmethod
    def from_model(cls, params: Mapping[str, int]) -> Timing:
        """Timing from a RIAPS model's group ``params`` (``{'heartbeat': 1000, ...}``, ms).

        Missing names take the defaults. Unlike the reference, a value of 0 is an error, not a
        silent fallback to the default, and an unknown name is an error.
        """
        unknown = sorted(set(params) - set(MODEL_NAMES))
        if unknown:
            raise ValueError(f"unknown group timing parameter(s) {unknown}; known: {sorted(MODEL_NAMES)}")
        values: dict[str, Any] = {MODEL_NAMES[name]: value for name, value in params.items()}
        return cls(**values)

    @property
    def heartbeat_s(self) -> float:
        """Heartbeat period in seconds."""
        return self.heartbeat_ms / 1000.0

    @property
    def peer_timeout_s(self) -> float:
        """Peer timeout in seconds."""
        return self.peer_timeout_ms / 1000.0

    @property
    def consensus_timeout_s(self) -> float:
        """Default poll timeout in seconds, as ``fixed`` reads it (``riaps`` may keep B3: see *reference_poll_timeout_units*)."""
        return self.consensus_timeout_ms / 1000.0
