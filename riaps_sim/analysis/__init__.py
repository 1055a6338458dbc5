"""Metrics, invariant checks, the verdict and plots, computed from a trace alone (the same in both worlds).

Plotting functions live in :mod:`riaps_sim.analysis.plots` and import matplotlib when called.
"""

from .invariants import CHECKS, Violation, check_all
from .metrics import (
    Failover,
    Interval,
    VoteOutcome,
    agreed_leader_intervals,
    drops_by_cause,
    failovers,
    first_leader_time,
    leaderless_intervals,
    message_latencies,
    message_rates,
    split_brain_intervals,
    term_changes,
    vote_outcomes,
)
from .replay import GroupState, replay
from .verdict import Category, Verdict

__all__ = [
    "CHECKS",
    "Category",
    "Failover",
    "GroupState",
    "Interval",
    "Verdict",
    "Violation",
    "VoteOutcome",
    "agreed_leader_intervals",
    "check_all",
    "drops_by_cause",
    "failovers",
    "first_leader_time",
    "leaderless_intervals",
    "message_latencies",
    "message_rates",
    "replay",
    "split_brain_intervals",
    "term_changes",
    "vote_outcomes",
]
