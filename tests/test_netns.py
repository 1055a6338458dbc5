"""Real runs in network namespaces (root only): firewall partitions, SIGKILL crashes, and clean-up.

Each node runs in its own namespace on a bridge; partitions are iptables rules inside the
namespaces. Every test checks that nothing it made is left: no namespace, no link, no rule, also
after a run that fails on purpose and after one stopped by SIGTERM. The tests are marked with what
they need (``netns``; ``iptables`` for firewall faults) and skip, saying why, when namespaces cannot
be made here (not root, or ``ip netns add`` not permitted) or iptables is missing (``conftest.py``); the runs without firewall faults need no iptables.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from riaps_sim.analysis import failovers
from riaps_sim.examples import Groupie
from riaps_sim.faults import Crash, FaultSchedule, Heal, Loss, Partition
from riaps_sim.model import GroupType
from riaps_sim.runtime.netns import Firewall, NamespaceNet, cleanup_stale, list_namespaces
from riaps_sim.runtime.process import LEADER, NodePlan, RealRun
from riaps_sim.trace import Kind, Trace

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.netns


def _root_state() -> tuple[str, str]:
    """The machine's own links and iptables rules, to compare before and after."""
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout if shutil.which("iptables") else ""
    return "\n".join(line.split(":", 2)[1].strip() for line in links.splitlines()), rules


def leftovers(pid: int) -> list[str]:
    """Namespaces made by process *pid* that still exist."""
    return [n for n in list_namespaces() if n.startswith(f"rsim-{pid}-")]


@pytest.fixture
def netns() -> Iterator[None]:
    """Check that a test leaves nothing behind: no namespace, no link or rule of the machine's own."""
    before = _root_state()
    yield
    assert leftovers(os.getpid()) == [], "namespaces left behind"
    after = _root_state()
    assert after[0] == before[0], "links of the machine's own namespace changed"
    assert after[1] == before[1], "iptables rules of the machine's own namespace changed"


def node_of(trace: Trace, member_hex: str) -> str:
    return next(e.node for e in trace.select(kind=Kind.GROUP_JOINED) if e.peer == member_hex)


@pytest.mark.iptables
def test_namespace_net_and_firewall_rules(netns: None) -> None:
    with NamespaceNet(["a", "b", "c"], firewall=True) as net:
        assert len(leftovers(os.getpid())) == 4
        assert net.addresses["a"].startswith("10.") and net.broadcast.endswith(".255")
        firewall = Firewall(net)
        firewall.apply(Partition(at=0, sides=[["a"]], mode="drop"))
        a, b = net.addresses["a"], net.addresses["b"]
        assert net.rules("a") == [
            f"-A RSIM -s {b}/32 -p tcp -j REJECT --reject-with tcp-reset",
            f"-A RSIM -s {b}/32 -j DROP",
            f"-A RSIM -s {net.addresses['c']}/32 -p tcp -j REJECT --reject-with tcp-reset",
            f"-A RSIM -s {net.addresses['c']}/32 -j DROP",
        ]
        assert net.rules("b") == [f"-A RSIM -s {a}/32 -p tcp -j REJECT --reject-with tcp-reset", f"-A RSIM -s {a}/32 -j DROP"]
        firewall.apply(Heal(at=0))
        assert net.rules("a") == net.rules("b") == []
        firewall.apply(Loss(at=0, a="a", b="b", rate=0.25, one_way=True))
        assert net.rules("b") == [f"-A RSIM -s {a}/32 -m length --length 65:65535 -m statistic --mode random --probability 0.25000000000 -j DROP"]
        assert net.rules("a") == []


def test_cleanup_stale_removes_what_dead_runs_left(netns: None) -> None:
    dead_pid = 2**22 + 1  # above the largest pid_max Linux allows: never a live process
    stale = f"rsim-{dead_pid}-dead00-hub"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    mine = NamespaceNet(["a"]).create()
    try:
        removed = cleanup_stale()
        assert stale in removed
        assert stale not in list_namespaces()
        assert len(leftovers(os.getpid())) == 2, "namespaces of a live process stay"
    finally:
        mine.destroy()
        subprocess.run(["ip", "netns", "del", stale], capture_output=True)


@pytest.mark.slow
@pytest.mark.iptables
def test_netns_run_fails_over_after_sigkill_and_firewall_partition(netns: None, tmp_path) -> None:
    """5 nodes in namespaces: the leader is SIGKILLed at 6 s, the next leader cut off by iptables at 12 s, healed at 18 s."""
    run = RealRun([GroupType(name="TheGroup")], tmp_path, seed=3, isolation="netns")
    for i in range(5):
        run.add_node(NodePlan(f"n{i}", f"127.0.0.{i + 1}", {"groupie": (Groupie, {})}))
    schedule = FaultSchedule([Crash(at=6.0, node=LEADER), Partition(at=12.0, sides=[[LEADER]]), Heal(at=18.0)])
    trace = run.run(21.0, schedule)
    faults = [e.detail or "" for e in trace.select(kind=Kind.FAULT)]
    assert len(faults) == 3 and faults[0].startswith("crash ") and faults[1].startswith("partition ") and faults[2] == "heal", faults
    crashed, cut_off = faults[0].split()[1], faults[1].split()[1]
    assert crashed != cut_off
    assert all(e.node == "network" or e.node in run.plans for e in trace)
    assert all(p.host.startswith("10.") for p in run.plans.values())
    by_cause = {f.cause.split()[0]: f for f in failovers(trace) if f.cause != "stepped down"}
    crash, partition = by_cause["crash"], by_cause["partition"]
    assert crash.new_leader is not None and node_of(trace, crash.old_leader) == crashed
    assert node_of(trace, crash.new_leader) == cut_off, "the leader cut off is the one elected after the crash"
    assert partition.new_leader is not None and node_of(trace, partition.new_leader) not in (crashed, cut_off)
    assert crash.duration is not None and crash.duration < 6.0
    assert partition.duration is not None and partition.duration < 6.0
    assert not trace.select(kind=Kind.DROP), "partitions are firewall rules here, not the message layer"
    assert not trace.select(kind=Kind.ERROR)


@pytest.mark.slow
@pytest.mark.iptables
def test_a_netns_run_that_fails_leaves_nothing(netns: None, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = RealRun([GroupType(name="TheGroup")], tmp_path, isolation="netns")
    for i in range(2):
        run.add_node(NodePlan(f"n{i}", f"127.0.0.{i + 1}", {"groupie": (Groupie, {})}))

    def fail(fault: object) -> None:
        raise RuntimeError("failing on purpose")

    monkeypatch.setattr(run, "_apply", fail)
    with pytest.raises(RuntimeError, match="on purpose"):
        run.run(10.0, FaultSchedule([Partition(at=0.5, sides=[["n0"]])]))
    assert not any(p.is_alive() for p in run.processes.values())


SCRIPT = textwrap.dedent(
    """
    import sys
    from riaps_sim.examples import Groupie
    from riaps_sim.faults import FaultSchedule, Partition
    from riaps_sim.model import GroupType
    from riaps_sim.runtime.process import NodePlan, RealRun

    if __name__ == "__main__":
        run = RealRun([GroupType(name="TheGroup")], sys.argv[1], isolation="netns")
        for i in range(2):
            run.add_node(NodePlan(f"n{i}", f"127.0.0.{i + 1}", {"groupie": (Groupie, {})}))
        run.run(60.0, FaultSchedule([Partition(at=0.5, sides=[["n0"]])]))
    """
)


@pytest.mark.slow
@pytest.mark.iptables
def test_a_netns_run_stopped_by_sigterm_leaves_nothing(netns: None, tmp_path) -> None:
    script = tmp_path / "netns_run.py"
    script.write_text(SCRIPT, encoding="utf-8")
    child = subprocess.Popen([sys.executable, str(script), str(tmp_path / "out")], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30.0
        while not _has_fault(tmp_path / "out" / "faults.jsonl"):  # the partition's rules are in place
            if time.monotonic() > deadline or child.poll() is not None:
                break
            time.sleep(0.1)
        assert child.poll() is None, "the run ended before it could be stopped"
        assert len(leftovers(child.pid)) == 3, "the run's hub and two node namespaces exist while it runs"
        child.send_signal(signal.SIGTERM)
        assert child.wait(30) == 128 + signal.SIGTERM
    finally:
        _stop_and_clean(child)
    assert leftovers(child.pid) == []


def _stop_and_clean(child: subprocess.Popen[bytes]) -> None:
    """Kill *child* if it still runs and delete any namespace of its run: never leave the machine dirty, even when a test fails."""
    if child.poll() is None:
        child.kill()
        child.wait(10)
    for name in leftovers(child.pid):
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _has_fault(path: Path) -> bool:
    return path.exists() and '"fault"' in path.read_text(encoding="utf-8")


PLAIN_SCRIPT = SCRIPT.replace('run.run(60.0, FaultSchedule([Partition(at=0.5, sides=[["n0"]])]))', "run.run(60.0)")  # no firewall


@pytest.mark.slow
def test_the_nodes_remove_their_namespaces_when_their_parent_is_killed(tmp_path) -> None:
    """SIGKILL of a netns run's parent: its node processes stop and remove the namespaces themselves."""
    assert "run.run(60.0)" in PLAIN_SCRIPT
    script = tmp_path / "netns_run.py"
    script.write_text(PLAIN_SCRIPT, encoding="utf-8")
    child = subprocess.Popen([sys.executable, str(script), str(tmp_path / "out")], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60.0
        while not _joined(tmp_path / "out", 2):  # both nodes run in their namespaces
            assert time.monotonic() < deadline and child.poll() is None, "the nodes never joined their group"
            time.sleep(0.1)
        assert len(leftovers(child.pid)) == 3
        child.kill()
        child.wait(10)
        deadline = time.monotonic() + 60.0
        while leftovers(child.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert leftovers(child.pid) == [], "the orphaned nodes left their namespaces"
    finally:
        _stop_and_clean(child)


def _joined(folder: Path, nodes: int) -> bool:
    files = list(folder.glob("n*.jsonl"))
    return len(files) == nodes and all('"group_joined"' in f.read_text(encoding="utf-8") for f in files)


def test_a_missing_tool_is_one_line_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`riaps-sim run --isolation netns` with partitions but no iptables: one line, what to install, exit 2, nothing made."""
    from riaps_sim.cli import main
    from riaps_sim.runtime import netns as netns_module

    real_which = shutil.which
    monkeypatch.setattr(netns_module.shutil, "which", lambda name, *a, **k: None if name.startswith("iptables") else real_which(name, *a, **k))
    scenario = tmp_path / "cut.toml"
    scenario.write_text(
        '[scenario]\nduration = 5\n[[group]]\nname = "TheGroup"\n'
        '[[node]]\nname = "n"\ncount = 2\ncomponents = { m = { class = "riaps_sim.examples:Groupie" } }\n'
        '[[fault]]\nkind = "partition"\nat = 1.0\nsides = [["n0"]]\n'
    )
    status = main(["run", str(scenario), "--mode", "real", "--isolation", "netns", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err, err  # a usage error, found before anything runs
    (line,) = [x for x in err.splitlines() if "netns" in x]
    assert ("apt-get install -y iptables" in line) if os.geteuid() == 0 else ("root" in line), line
    assert leftovers(os.getpid()) == []
