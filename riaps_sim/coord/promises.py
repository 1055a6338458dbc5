"""What a protocol may promise: the names its machine class lists in ``PROMISES``.

A checker holds a protocol to what it promises and to nothing else, never to its name: a user's
variant of ``fixed`` that drops a promise is not held to it, and one that keeps ``fixed``'s name but
breaks a promise it still lists is caught. The model checker (``riaps_sim.check``) checks the
promises about single steps; the trace checks (``riaps_sim.analysis``) those about time.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Promise"]


class Promise(StrEnum):
    """One promise a protocol may make (its value is the name a class lists in ``PROMISES``)."""

    ONE_LEADER_PER_TERM = "one_leader_per_term"  #: at most one member leads a term, across restarts
    POLL_RESULTS_AGREE = "poll_results_agree"  #: no two members are told different results a leader decided
    RESULT_ONLY_FOR_OPENED_POLL = "result_only_for_opened_poll"  #: a result only for a poll a leader opened
    ONE_RESULT_PER_POLL = "one_result_per_poll"  #: each member is told a poll's result at most once
    NO_LOWER_TERM_LEADER = "no_lower_term_leader"  #: nobody follows a leader of a lower term than its own
    STEPS_DOWN_WITHOUT_QUORUM = "steps_down_without_quorum"  #: a leader cut off from a majority stops leading in time (check-quorum)
    MEMBER_SYMMETRIC = "member_symmetric"  #: behaviour does not depend on which member has which id
