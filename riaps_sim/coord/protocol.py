"""The protocol registry: pick a coordination machine by name (a user's own ``module:Class`` is
resolved above protocol code, by ``riaps_sim.protocols``)."""

from __future__ import annotations

from .commands import DurableState
from .fixed import FixedProtocol
from .machine import GroupMachine, RandomLike
from .planted import DoubleVoteProtocol
from .riaps import RiapsProtocol
from .timing import Timing

__all__ = ["PROTOCOLS", "make_machine"]

#: Protocol name -> machine class. ``planted-double-vote`` has a bug planted on purpose, for testing the explorer.
PROTOCOLS: dict[str, type[GroupMachine]] = {"riaps": RiapsProtocol, "fixed": FixedProtocol, DoubleVoteProtocol.name: DoubleVoteProtocol}


def make_machine(
    protocol: str,
    *,
    member_id: bytes,
    rng: RandomLike,
    timing: Timing | None = None,
    group_min_size: int = 2,
    durable: DurableState | tuple[int, bytes | None] | None = None,
) -> GroupMachine:
    """A new machine of the protocol called *protocol* (``'riaps'`` or ``'fixed'``).

    Parameters
    ----------
    protocol : str
        A key of :data:`PROTOCOLS`.
    member_id, rng, timing, group_min_size, durable
        As for :class:`~riaps_sim.coord.machine.GroupMachine` (*durable*: the
        :class:`~riaps_sim.coord.commands.DurableState` a restarted member resumes from, for
        protocols that keep it).

    Raises
    ------
    ValueError
        For an unknown protocol name (the message lists the known ones).

    Examples
    --------
    >>> import random
    >>> make_machine("fixed", member_id=bytes(16), rng=random.Random(0))
    <FixedProtocol 00000000.. not joined term=0 peers=0>
    """
    try:
        cls = PROTOCOLS[protocol]
    except (KeyError, TypeError):
        raise ValueError(f"unknown coordination protocol {protocol!r}; choose one of {sorted(PROTOCOLS)}") from None
    return cls(member_id=member_id, rng=rng, timing=timing, group_min_size=group_min_size, durable=durable)
