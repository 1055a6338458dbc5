"""The user's own component classes go to real node processes and sweep workers, wherever they are defined.

A class defined in a notebook cell, a script's ``__main__``, a ``.py`` scenario file or a module
nobody can import by name must run in real mode and in sweeps, under every multiprocessing start
method; a class that truly cannot travel is a clear error before any process starts. Real runs,
interrupted or not, leave no temporary folder, process or namespace behind.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from wallclock import deadline_s

from riaps_sim import Scenario, run_scenario, sweep
from riaps_sim.runtime.process import NodePlan, RealRun
from riaps_sim.runtime.shipping import ByValue, ShippingError
from riaps_sim.model import GroupType
from riaps_sim.trace import Trace

ROOT = Path(__file__).resolve().parents[1]

MEMBER_SOURCE = '''
from riaps_sim import Component

GREETING = "hello from a class nobody can import"

def _tag(component):
    return f"{component.instance_name}:{GREETING}"

class Member(Component):
    """A member defined outside any importable module."""

    def handleActivate(self):
        self.group = self.joinGroup("TheGroup", "g1")
        self.logger.info(_tag(self))
'''


def _unimportable_module(name: str) -> types.ModuleType:
    """A module made from source, as a notebook cell or a runpy'd file is: not importable by name anywhere."""
    module = types.ModuleType(name)
    exec(compile(MEMBER_SOURCE, f"<{name}>", "exec"), module.__dict__)
    return module


def _node_processes() -> list[int]:
    """Pids of riaps-sim node processes whose parent is this process."""
    me = str(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if b"riaps_sim.runtime.nodeproc" in cmdline and stat.rsplit(")", 1)[1].split()[1] == me:
            found.append(int(entry.name))
    return found


def test_by_value_carries_a_class_nobody_can_import() -> None:
    """A class from a module that is not in sys.modules crosses pickle as its code into a fresh interpreter."""
    import pickle

    module = _unimportable_module("made_in_a_cell")
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(module.Member)  # what plain pickle, and so multiprocessing, does with it
    payload = pickle.dumps(ByValue(module.Member))
    reader = (
        "import pickle, sys\n"
        "from riaps_sim import Component\n"
        "cls = pickle.loads(sys.stdin.buffer.read())\n"
        "print(cls.__name__, issubclass(cls, Component), cls.__doc__)\n"
    )
    done = subprocess.run([sys.executable, "-c", reader], input=payload, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "Member True A member defined outside any importable module."


def test_a_component_that_cannot_travel_is_an_error_before_any_process_starts(tmp_path: Path) -> None:
    """A lock in a component's arguments cannot cross a process boundary: the error names node, component and what to do."""
    module = _unimportable_module("made_in_a_cell")
    exec("class Guarded(Member):\n    def __init__(self, lock=None):\n        self.lock = lock\n", module.__dict__)
    run = RealRun([GroupType(name="TheGroup")], tmp_path)
    with pytest.raises(ShippingError) as caught:
        run.add_node(NodePlan("n0", "127.0.0.1", {"member": (module.Guarded, {"lock": threading.Lock()})}))
    message = str(caught.value)
    assert "node 'n0', component 'member'" in message and "lock" in message and "top level" in message
    assert run.processes == {} and _node_processes() == []
    with pytest.raises(ShippingError, match="scenario"):
        sweep(Scenario.group_of(2, module.Guarded, {"lock": threading.Lock()}), range(2), progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_sweep_of_an_unimportable_class_under_every_start_method(method: str) -> None:
    """Worker processes of any start method run a class defined in no importable module."""
    module = _unimportable_module("made_in_a_cell")
    scenario = Scenario.group_of(3, module.Member, duration=6)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as pool:
        result = sweep(scenario, [4, 5], executor=pool, progress=False)
    assert [r.seed for r in result.runs] == [4, 5]
    assert all(r.first_leader_s is not None for r in result.runs)


@pytest.mark.slow
def test_notebook_class_runs_for_real_and_in_a_spawn_sweep(tmp_path: Path) -> None:
    """A Component subclass defined in a notebook cell runs as 3 real processes and in a spawn-context sweep."""
    book = nbformat.v4.new_notebook()
    book.cells = [
        nbformat.v4.new_code_cell(MEMBER_SOURCE),
        nbformat.v4.new_code_cell(
            "from riaps_sim import Scenario, run_scenario\n"
            "scenario = Scenario.group_of(3, Member, duration=6)\n"
            "result = run_scenario(scenario, mode='real', seed=2)\n"
            "summary = result.summary()\n"
            "print('REAL', summary.first_leader_s is not None, sorted({e.node for e in result.trace.select(kind='group_joined')}))"
        ),
        nbformat.v4.new_code_cell(
            "import multiprocessing\n"
            "from concurrent.futures import ProcessPoolExecutor\n"
            "from riaps_sim import sweep\n"
            "with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context('spawn')) as pool:\n"
            "    swept = sweep(scenario, range(3), executor=pool, progress=False)\n"
            "print('SWEEP', [r.first_leader_s is not None for r in swept.runs])"
        ),
    ]
    NotebookClient(book, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for cell in book.cells for o in cell.get("outputs", []) if o.get("output_type") == "stream")
    assert "REAL True ['n0', 'n1', 'n2']" in printed, printed
    assert "SWEEP [True, True, True]" in printed, printed


SCENARIO_FILE = (
    MEMBER_SOURCE
    + """
from riaps_sim import Scenario
from riaps_sim.faults import Crash, LEADER

scenario = Scenario.group_of(3, Member, faults=[Crash(at=4, node=LEADER)], duration=9, name="inline")
"""
)


@pytest.mark.slow
def test_py_scenario_with_an_inline_class_runs_for_real_from_the_cli(tmp_path: Path) -> None:
    """`riaps-sim run FILE.py --mode real` runs a class defined in the scenario file, through a leader crash."""
    path = tmp_path / "inline.py"
    path.write_text(SCENARIO_FILE)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "riaps_sim.cli", "run", str(path), "--mode", "real", "--out", str(out), "--check"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PicklingError" not in done.stderr and "Traceback" not in done.stderr
    progress = [line for line in done.stderr.splitlines() if line.startswith("riaps-sim: [")]  # a real run says how it goes
    assert any("leader: n" in line for line in progress) and any("fault: crash n" in line for line in progress), done.stderr
    trace = Trace.from_jsonl(out / "trace.jsonl")
    assert {e.node for e in trace.select(kind="group_joined")} == {"n0", "n1", "n2"}
    crashed = [e.detail for e in trace.select(kind="fault") if (e.detail or "").startswith("crash ")]
    assert len(crashed) == 1
    survivors = {"n0", "n1", "n2"} - {crashed[0].split()[1]}
    leaders_after = {e.node for e in trace.select(kind="state") if e.detail == "leader" and e.node in survivors}
    assert leaders_after, "no survivor became leader after the crash"


def _readme_python_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return next(b for b in readme.split("```")[1::2] if b.startswith("python\nfrom riaps_sim import")).removeprefix("python\n")


@pytest.mark.slow
def test_readme_python_block_runs_as_a_script_in_real_mode(tmp_path: Path) -> None:
    """The README's Python block, saved as a script (no __main__ guard) with mode="real", runs as written."""
    code = _readme_python_block()
    assert 'mode="sim"' in code and "range(1000)" in code
    code = code.replace('mode="sim"', 'mode="real"').replace("range(1000)", "range(3), progress=False")
    code += "\nprint('FIRST_LEADER', result.summary().first_leader_s is not None, result.mode)\n"
    script = tmp_path / "readme_example.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=240, cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FIRST_LEADER True real" in done.stdout


def _wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + deadline_s(timeout_s)
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.slow
def test_ctrl_c_stops_every_node_and_keeps_the_partial_run(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the foreground process group) during a real run: nodes stop, partial trace and
    summary are written, one line is printed, exit status 130, no traceback."""
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "riaps_sim.cli", "run", "default", "--mode", "real", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:

        def elected() -> bool:
            return any('"detail":"leader"' in p.read_text() for p in (out / "nodes").glob("n*.jsonl"))

        assert _wait_for(elected, 90), "no node became leader"
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    interrupted = [line for line in stderr.splitlines() if "interrupted" in line]
    assert len(interrupted) == 1 and str(out) in interrupted[0], stderr
    assert (out / "summary.txt").exists() and (out / "trace.jsonl").exists()
    assert Trace.from_jsonl(out / "trace.jsonl").select(kind="state"), "the partial trace lost the election"
    with pytest.raises(ProcessLookupError):  # nothing of the run's process group is left
        os.killpg(process.pid, 0)


@pytest.mark.slow
@pytest.mark.xdist_group("machine")  # its netns runs (as root) change the machine's links: one at a time with the netns tests
def test_twenty_real_runs_leave_no_folder_process_or_namespace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """20 consecutive real runs without out=: no temporary folder, node process or namespace is left."""
    from host import abilities

    from riaps_sim.runtime import netns

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    module = _unimportable_module("made_in_a_cell")
    use_netns = abilities().netns is None
    scenario = Scenario.group_of(2, module.Member, duration=1.0)
    ours = f"{netns.PREFIX}-{os.getpid()}-"  # other processes on this machine may be making their own
    before = set(netns.list_namespaces(ours)) if use_netns else set()
    for i in range(20):
        isolation = "netns" if use_netns and i % 5 == 4 else "loopback"
        result = run_scenario(scenario, mode="real", seed=i, isolation=isolation)
        assert result.trace.select(kind="group_joined"), f"run {i} ({isolation}) recorded no join"
        assert list(scratch.iterdir()) == [], f"run {i} left {list(scratch.iterdir())}"
        assert _node_processes() == [], f"run {i} left node processes"
    if use_netns:
        assert set(netns.list_namespaces(ours)) == before
