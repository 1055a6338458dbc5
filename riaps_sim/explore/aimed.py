"""Fault schedules aimed at where election and vote bugs live, mixed with the uniform ones.

Random times rarely make two candidates stand in one term, a member crash just after it voted, or a
request outlive a term change; a search that only draws uniformly cannot see the bugs that need
them (a planted double vote went unfound in 400 uniform schedules). Each template here builds one
such situation from the typed faults, with the rest drawn at random, and ``draw_schedule`` draws
one for a share of the schedules (``ScheduleSpace.aimed``), as swarm testing mixes its generators:

- ``two_candidates``: the leader crashes, two members stop hearing each other and are paused
  together, so their deadlines pass at once on resume: each can win a pre-vote from the others
  and stand in the same term;
- ``early_leader_death``: the leader dies within 0.3 s of the first election (event-triggered);
- ``crash_after_vote``: the leader crashes and a member crashes about when the next election's
  votes are cast, then restarts from its durable state;
- ``paused_leader_cut_off``: the leader is paused past its followers' deadlines and cut off as
  it resumes;
- ``held_across_term_change``: a member is cut off (its traffic held) while the leader crashes
  and a new term begins, then healed: its requests and the old term's messages arrive late;
- ``duplicated_across_term_change``: every message between one member and the others is
  duplicated while the leader crashes.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..faults import CRASHED, LEADER, Crash, Duplicate, Fault, Heal, Partition, Pause, Restart

__all__ = ["TEMPLATES", "aimed_schedule", "draw_time"]


def draw_time(rng: random.Random, low: float, high: float) -> float:
    """A time in ``[low, high]`` seconds, to the millisecond (schedules print and replay as written)."""
    return round(rng.uniform(low, high), 3)


def two_candidates(nodes: list[str], phase_s: float, rng: random.Random) -> list[Fault]:
    at = draw_time(rng, 3.0, phase_s - 9.0)
    a, b = rng.sample(nodes, 2)
    pause_at, pause_s = draw_time(rng, at, at + 0.5), draw_time(rng, 0.5, 3.5)
    return [
        Crash(at=at, node=LEADER),
        Partition(at=at, sides=[[a], [b]], mode=rng.choice(("hold", "drop"))),
        Pause(at=pause_at, node=a, duration_s=pause_s),
        Pause(at=pause_at, node=b, duration_s=pause_s),
        Heal(at=round(at + 8.0, 3)),
    ]


def early_leader_death(nodes: list[str], phase_s: float, rng: random.Random) -> list[Fault]:
    """The first leader dies within 0.3 s of its election and stays down (a triggered crash is not restarted:
    whether and when it falls is known only in the run)."""
    return [Crash(node=LEADER, after="leader_elected", delay=draw_time(rng, 0.0, 0.3))]


def crash_after_vote(nodes: list[str], phase_s: float, rng: random.Random) -> list[Fault]:
    at = draw_time(rng, 3.0, phase_s - 8.0)
    voter_down = draw_time(rng, at + 2.0, at + 3.5)  # leader deadlines are 2-3 s: about when the next votes go out
    return [
        Crash(at=at, node=LEADER),
        Crash(at=voter_down, node=rng.choice(nodes)),
        Restart(at=draw_time(rng, voter_down + 0.05, voter_down + 1.5), node=CRASHED),
    ]


def paused_leader_cut_off(nodes: list[str], phase_s: float, rng: random.Random) -> list[Fault]:
    at, pause_s = draw_time(rng, 3.0, phase_s - 12.0), draw_time(rng, 2.5, 4.5)
    cut = round(at + pause_s - rng.uniform(0.0, 0.5), 3)
    return [
        Pause(at=at, node=LEADER, duration_s=pause_s),
        Partition(at=cut, sides=[[LEADER]], mode=rng.choice(("hold", "drop"))),
        Heal(at=round(cut + 6.0, 3)),
    ]


def held_across_term_change(nodes: list[str], phase_s: float, rng: random.Random) -> list[Fault]:
    at = draw_time(rng, 3.0, phase_s - 12.0)
    return [
        Partition(at=at, sides=[[rng.choice(nodes)]], mode="hold"),
        Crash(at=draw_time(rng, at + 0.2, at + 2.0), node=LEADER),
        Heal(at=draw_time(rng, at + 5.0, at + 10.0)),
    ]


def duplicated_across_term_change(nodes: list[str], phase_s: float, rng: random.Random) -> list[Fault]:
    at = draw_time(rng, 3.0, phase_s - 8.0)
    member = rng.choice(nodes)
    duplicates: list[Fault] = [Duplicate(at=at, a=member, b=other, rate=1.0) for other in nodes if other != member]
    return [*duplicates, Crash(at=draw_time(rng, at + 0.5, at + 3.0), node=LEADER)]


#: The templates by name, each ``(nodes, fault phase in s, rng) -> faults``.
TEMPLATES: dict[str, Callable[[list[str], float, random.Random], list[Fault]]] = {
    "two_candidates": two_candidates,
    "early_leader_death": early_leader_death,
    "crash_after_vote": crash_after_vote,
    "paused_leader_cut_off": paused_leader_cut_off,
    "held_across_term_change": held_across_term_change,
    "duplicated_across_term_change": duplicated_across_term_change,
}


def aimed_schedule(nodes: list[str], phase_s: float, rng: random.Random) -> list[Fault]:
    """One template's faults, drawn with *rng* (the template drawn first), for a fault phase of *phase_s* seconds (at least 15)."""
    return TEMPLATES[rng.choice(sorted(TEMPLATES))](nodes, phase_s, rng)
