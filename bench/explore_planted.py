"""What `explore` finds of a planted bug, against the unplanted protocol on the same schedules (the control).

Five members with ``groupMinSize`` 5, every fault kind; the planted protocol (``planted-double-vote``:
``fixed`` with a member that votes twice in a term) and ``fixed`` run the very same schedules. Prints
each protocol's violations by property and the schedules that fail the planted protocol only; a
finding counts only where the control passed. With ``--uniform`` the aimed templates are off.

    python bench/explore_planted.py [--schedules 300] [--seed 5] [--jobs 2] [--uniform]
"""

from __future__ import annotations

import argparse

from riaps_sim import GroupType, Scenario
from riaps_sim.examples import Groupie
from riaps_sim.explore import ScheduleSpace, explore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=300)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--uniform", action="store_true", help="no aimed templates (ScheduleSpace(aimed=0))")
    args = parser.parse_args()
    failed = {}
    for protocol in ("planted-double-vote", "fixed"):
        scenario = Scenario.group_of(5, Groupie, {"min_size": 5}, group=GroupType(name="TheGroup", protocol=protocol), name="five")
        space = ScheduleSpace(tuple(scenario.node_names()), aimed=0.0 if args.uniform else 0.5)
        result = explore(scenario, args.schedules, seed=args.seed, jobs=args.jobs, space=space, progress=False, shrink_failures=False)
        failed[protocol] = {o.index for o in result.failures}
        print(f"{protocol}: {len(result.failures)} of {args.schedules} schedules failed {result.by_property()}")
    killed = sorted(failed["planted-double-vote"] - failed["fixed"])
    print(f"planted bug found in {len(killed)} of {args.schedules} schedules where the control passed: {killed[:20]}")
    print(f"control (fixed) failed {len(failed['fixed'])} of {args.schedules}")


if __name__ == "__main__":
    main()
