"""The public surface: what the packages export, and the command line."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

import ports
import riaps_sim
from riaps_sim.demo import run_ports_demo

ROOT = Path(__file__).resolve().parents[1]


def test_ports_exports_exactly_its_all() -> None:
    """Every name in ports.__all__ exists, and every public class of the package is in it."""
    assert sorted(ports.__all__) == sorted(set(ports.__all__))
    for name in ports.__all__:
        assert hasattr(ports, name), name
    public = {n for n, v in vars(ports).items() if isinstance(v, type) and not n.startswith("_")}
    assert public <= set(ports.__all__)


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_import_riaps_sim_stays_light() -> None:
    """Importing riaps_sim does not drag in matplotlib (plots import it when they draw)."""
    code = "import sys, riaps_sim, ports; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert riaps_sim.__version__


def test_ports_demo_reports_what_each_member_received() -> None:
    """In the demo every member hears all three greetings; the leader hears both questions; each asker gets its answer."""
    lines: list[str] = []
    received = run_ports_demo(say=lines.append)
    for name in "abc":
        greetings = sorted(line.split(" (")[0] for line in received[name] if line.startswith("sub:"))
        assert greetings == ["sub: hello from a", "sub: hello from b", "sub: hello from c"]
    assert sorted(line for line in received["a"] if line.startswith("ans:")) == ["ans: question from b (from b)", "ans: question from c (from c)"]
    assert [line for line in received["b"] if line.startswith("qry:")] == ["qry: answer to b"]
    assert [line for line in received["c"] if line.startswith("qry:")] == ["qry: answer to c"]
    assert any("leader, ans tcp://127.0.0.1:" in line for line in lines)


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_cli_demo_runs() -> None:
    """`riaps-sim demo` exits 0 and prints what each member received."""
    result = subprocess.run([sys.executable, "-m", "riaps_sim.cli", "demo"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "c received:" in result.stdout and "qry: answer to c" in result.stdout


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_cli_rejects_unknown_command() -> None:
    """An unknown subcommand is an argparse error naming the choices."""
    result = subprocess.run([sys.executable, "-m", "riaps_sim.cli", "fly"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "invalid choice: 'fly'" in result.stderr


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    """The README's first two code blocks are the main job and the tests; .ci/run runs the test command verbatim."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = readme.split("```")[1::2]
    main_job, tests = (b.strip().removeprefix("sh").strip() for b in blocks[:2])
    assert "riaps-sim" in main_job and "pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.slow  # over a quarter of a second (pytest --durations=0)
def test_readme_python_example_runs() -> None:
    """The README's Python example runs as written (with a shorter sweep)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = next(b for b in readme.split("```")[1::2] if b.startswith("python\nfrom riaps_sim import"))
    code = example.removeprefix("python\n").replace("range(1000)", "range(3), progress=False")
    module = types.ModuleType("readme_example")
    sys.modules["readme_example"] = module  # as a notebook's __main__: its classes pickle by name
    try:
        exec(compile(code, "README.md", "exec"), module.__dict__)
    finally:
        del sys.modules["readme_example"]
    assert module.result.summary().first_leader_s is not None


def test_riaps_sim_exports_exactly_its_all() -> None:
    """Every name in riaps_sim.__all__ exists."""
    assert all(hasattr(riaps_sim, name) for name in riaps_sim.__all__)


def test_sweep_of_a_class_made_by_exec_runs_in_worker_processes() -> None:
    """A scenario whose component is not importable by name sweeps in worker processes: it travels by value."""
    namespace: dict = {}
    exec(
        "from riaps_sim import Component\nclass Local(Component):\n    def handleActivate(self):\n        self.joinGroup('TheGroup', 'g1')\n",
        namespace,
    )
    scenario = riaps_sim.Scenario.group_of(3, namespace["Local"], duration=8)
    result = riaps_sim.sweep(scenario, range(2), jobs=2, progress=False)
    assert [r.seed for r in result.runs] == [0, 1]
    assert all(r.first_leader_s is not None for r in result.runs)
