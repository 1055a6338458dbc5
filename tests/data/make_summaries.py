"""Write the pinned summaries of tests/test_speed_semantics.py (run once, on main before the speed work: .venv/bin/python tests/data/make_summaries.py tests/data)."""

import sys
from riaps_sim.examples import Groupie
from riaps_sim.faults import Crash, Partition, Heal
from riaps_sim.runner import run_scenario
from riaps_sim.scenario import LEADER, Scenario, load_scenario


def main() -> None:
    out = sys.argv[1]
    cases = {
        "default": load_scenario("default"),
        "leader-crash": load_scenario("leader-crash"),
        "group32": Scenario.group_of(
            32,
            Groupie,
            {"ask_leader_every": 3.0, "vote_after": 8.0},
            faults=[Crash(at=12.0, node=LEADER), Partition(at=20.0, sides=[["n1", "n2", "n3"]]), Heal(at=26.0)],
            duration=32.0,
            seed=3,
            name="group32",
        ),
    }
    for name, scenario in cases.items():
        result = run_scenario(scenario)
        with open(f"{out}/summary-{name}.txt", "w") as f:
            f.write("\n".join(result.summary().lines(notes=False)) + "\n")
        print(name, len(result.trace), result.wall_s)


if __name__ == "__main__":
    main()
