"""The node's clock and generator behind a component module's time, random and datetime (riaps_sim.apps.virtual)."""

from __future__ import annotations

import datetime
import gc
import random
import sys
import time
import types

import pytest
from test_apps_run import VOTING

from riaps_sim import Scenario, run_scenario
from riaps_sim.apps.virtual import BlockingCallError, NodeRandom, NodeTime, virtualize


def module_with(source: str) -> types.ModuleType:
    module = types.ModuleType("component_under_test")
    exec(source, vars(module))
    return module


def test_every_way_of_importing_time_random_and_datetime_is_rebound() -> None:
    """import x, from x import f, and from datetime import datetime all read the node's clock and generator."""
    module = module_with(
        "import time, random, datetime\nfrom time import time as now, ctime\nfrom random import randint\n"
        "from datetime import datetime as DT\n"
        "def read():\n    return time.time(), now(), ctime(), random.random(), randint(1, 10**9), datetime.datetime.now(), DT.now(), time.monotonic()\n"
    )
    rebound = virtualize(module, lambda: 86400.0 * 365, random.Random(5), "test")
    assert {"time", "random", "datetime", "now", "ctime", "randint", "DT"} <= set(rebound)
    state = random.getstate()
    t, n, c, r, i, d1, d2, m = module.read()
    assert random.getstate() == state
    expected = random.Random(5)
    assert (t, n, m) == (86400.0 * 365,) * 3 and c == time.ctime(86400.0 * 365)
    assert (r, i) == (expected.random(), expected.randint(1, 10**9))
    assert d1 == d2 == datetime.datetime.fromtimestamp(86400.0 * 365)
    assert module.time.struct_time is time.struct_time and module.random.Random is random.Random  # the rest is the real module's
    assert time.time() > 1e9 and not isinstance(time, NodeTime)  # nothing global is patched


def test_sleep_is_refused_with_the_remedy() -> None:
    """time.sleep raises BlockingCallError naming the call, where, and the sporadic timer to use instead."""
    clock = NodeTime(lambda: 1.0, "Sensor on node n1")
    with pytest.raises(BlockingCallError, match=r"time\.sleep\(0\.5\) in Sensor on node n1: .*setDelay"):
        clock.sleep(0.5)
    assert isinstance(NodeRandom(random.Random(1), "x").Random(3), random.Random)


def test_module_copies_leave_with_their_nodes() -> None:
    """Each node's module copies are in sys.modules while it lives and gone once the run is collected."""
    before = {n for n in sys.modules if n.startswith("_riaps_app__Voting__")}
    result = run_scenario(Scenario.from_riaps_app(VOTING, duration=2, seed=1), mode="sim")
    del result
    gc.collect()
    assert {n for n in sys.modules if n.startswith("_riaps_app__Voting__")} <= before
