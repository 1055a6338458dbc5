"""Stopping sweeps and explorations: SIGINT or SIGTERM stops them promptly with a partial result written.

The subprocess tests start ``riaps-sim`` as a supervisor or a script would (no terminal, a session
of its own), wait until the first result exists (the parent's debug line for it), signal, and
assert that the command ends within a deadline with a partial result on disk that says so.
"""

from __future__ import annotations

import csv
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from riaps_sim.batch import Call, Interrupted, StopSignal, WorkerPool, gather, stop_signals
from riaps_sim.sweep import RunMetrics, sweep

#: seconds for a command to start and finish its first run, and to stop after the signal; generous
#: because the suite must hold at a load of 20 on 2 cores (unloaded: about 2 s and 1 s)
START_S = 120.0
STOP_S = 60.0


def _metrics(seed: int) -> RunMetrics:
    return RunMetrics(seed, 1.0, None, 0.0, 0.0, 0, 0, 0.01)


def _interrupt_at(stop_at: int, signum: signal.Signals = signal.SIGINT) -> Callable[[int], RunMetrics]:
    def call(seed: int) -> RunMetrics:
        if seed == stop_at:
            raise StopSignal(signum)  # what the main thread's handler raises, here from a task
        return _metrics(seed)

    return call


def test_gather_returns_what_finished_when_interrupted() -> None:
    """A KeyboardInterrupt ends the batch: results so far are kept, the rest cancelled, nothing raised."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        batch = gather([Call(_interrupt_at(2), (seed,)) for seed in range(6)], 6, lambda run, runs: False, pool)
    assert [r.seed for r in batch.results] == [0, 1]
    assert batch.total == 6 and batch.stopped_by is signal.SIGINT


class _RunsFirst(Executor):
    """An executor that runs the first *n* calls at once and leaves the rest pending (to be cancelled)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        future: Future[object] = Future()
        if self.submitted < self.n:
            future.set_result(fn(*args, **kwargs))
        self.submitted += 1
        return future


def test_gather_stops_early_when_told_enough() -> None:
    """When *on_result* says enough, the calls not started are cancelled and not waited for."""
    batch = gather([Call(_metrics, (seed,)) for seed in range(50)], 50, lambda run, runs: len(runs) >= 3, _RunsFirst(5))
    assert len(batch.results) == 5 and batch.total == 50 and batch.stopped_by is None  # the five finished are all kept


def test_sweep_interrupted_raises_with_a_partial_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library raises a KeyboardInterrupt that carries the seeds done, marked partial, with its signal."""
    import importlib

    sweep_module = importlib.import_module("riaps_sim.sweep")
    monkeypatch.setattr(sweep_module, "measure", lambda scenario, seed, mode: _interrupt_at(3, signal.SIGTERM)(seed))
    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(Interrupted) as stopped:
        sweep("leader-crash", range(10), executor=pool, progress=False)
    partial = stopped.value.partial
    assert isinstance(stopped.value, KeyboardInterrupt) and stopped.value.exit_status == 143
    assert [r.seed for r in partial.runs] == [0, 1, 2] and partial.planned == 10 and partial.partial
    assert str(partial).startswith("leader-crash: PARTIAL (interrupted by SIGTERM): 3 of 10 seeds done")
    assert "3 of 10 seeds (partial)" in repr(partial)


def test_stop_signals_raises_once_then_restores_the_handlers(capsys: pytest.CaptureFixture[str]) -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(StopSignal) as stopped, stop_signals():
        signal.raise_signal(signal.SIGTERM)
    assert stopped.value.signum == signal.SIGTERM
    with stop_signals():
        with pytest.raises(StopSignal):
            signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)  # the second one is noted, not raised: clean-up goes on
    assert "already stopping" in capsys.readouterr().err
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def _block_forever(marker: str) -> None:
    Path(marker).write_text("started", encoding="utf-8")
    while True:
        time.sleep(3600)


def test_worker_pool_stops_a_call_in_progress(tmp_path: Path) -> None:
    """``terminate_workers`` ends a worker busy with a call that would never return, and ignores SIGINT in workers."""
    marker = tmp_path / "started"
    pool = WorkerPool(1)
    future = pool.submit(_block_forever, str(marker))
    deadline = time.monotonic() + START_S
    while not marker.exists():
        assert time.monotonic() < deadline, "the worker never started the call"
        time.sleep(0.05)
    started = time.monotonic()
    pool.terminate_workers()
    assert future.exception(timeout=STOP_S) is not None  # the pool reports its worker gone
    assert time.monotonic() - started < STOP_S


def _start(args: list[str], ignore_sigint: bool = False) -> subprocess.Popen[str]:
    """``riaps-sim -vv ARGS`` in a new session, without a terminal; with *ignore_sigint* as a shell's background job starts."""
    command = [sys.executable, "-m", "riaps_sim.cli", "-vv", *args]
    if ignore_sigint:  # exec keeps an ignored signal ignored, as sh does for `cmd &`
        command = [
            sys.executable,
            "-c",
            "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])",
            *command,
        ]
    return subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_line(process: subprocess.Popen[str], text: str, timeout_s: float) -> list[str]:
    """The stderr lines of *process* up to the first containing *text*; fails at the deadline or at exit."""
    assert process.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    lines: list[str] = []
    while time.monotonic() < deadline:
        if selector.select(timeout=deadline - time.monotonic()):
            line = process.stderr.readline()
            assert line, f"the command ended before {text!r}: {''.join(lines[-20:])}"
            lines.append(line)
            if text in line:
                return lines
    pytest.fail(f"no {text!r} within {timeout_s} s: {''.join(lines[-20:])}")


def _stop(process: subprocess.Popen[str], signum: signal.Signals, whole_group: bool) -> tuple[int, str, str, float]:
    """Send *signum*; the exit status, stdout, the rest of stderr and the seconds it took to end."""
    sent = time.monotonic()
    if whole_group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    try:
        out, err = process.communicate(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"still running {STOP_S} s after {signum.name}")
    return process.returncode, out, err, time.monotonic() - sent


@pytest.mark.slow
@pytest.mark.parametrize(
    "signum, whole_group, ignore_sigint",
    [
        (signal.SIGINT, True, False),  # Ctrl-C at a terminal: the whole process group
        (signal.SIGINT, False, True),  # a supervisor, to a command a script started in the background
        (signal.SIGTERM, True, False),
    ],
    ids=["sigint-group", "sigint-parent-background", "sigterm-group"],
)
def test_sweep_stopped_by_a_signal_writes_a_partial_result(tmp_path: Path, signum: signal.Signals, whole_group: bool, ignore_sigint: bool) -> None:
    out = tmp_path / "sweep"
    process = _start(["sweep", "leader-crash", "--seeds", "0-19999", "--jobs", "1", "--out", str(out)], ignore_sigint)
    _wait_for_line(process, "finished 1 of 20000 calls", START_S)
    status, stdout, stderr, took = _stop(process, signum, whole_group)
    assert status == 128 + signum, stderr
    summary = (out / "sweep.txt").read_text(encoding="utf-8")
    assert summary.startswith(f"leader-crash: PARTIAL (interrupted by {signum.name}): ") and " of 20000 seeds done" in summary
    done = int(summary.split(": ")[2].split(" of ")[0])
    with (out / "sweep.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert 1 <= done == len(rows) < 20000
    assert summary in stdout + "\n" and "Traceback" not in stderr
    assert f"interrupted by {signum.name} after {done} of 20000 seeds; the partial result is in {out}" in stderr
    assert took < STOP_S


@pytest.mark.slow
def test_explore_stopped_by_sigint_writes_a_partial_result(tmp_path: Path) -> None:
    out = tmp_path / "explore"
    process = _start(["explore", "leader-crash", "--schedules", "20000", "--jobs", "2", "--out", str(out)])
    _wait_for_line(process, "finished 1 of 20000 calls", START_S)
    status, stdout, stderr, _ = _stop(process, signal.SIGINT, whole_group=True)
    assert status == 130, stderr
    summary = (out / "explore.txt").read_text(encoding="utf-8")
    assert summary.startswith("explore leader-crash: PARTIAL (interrupted by SIGINT): ") and " of 20000 schedules run" in summary
    with (out / "explore.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert 1 <= len(rows) < 20000 and f"{len(rows)} of 20000 schedules run" in summary
    assert "Traceback" not in stderr and summary.splitlines()[0] in stdout


def test_explore_interrupted_while_shrinking_keeps_every_schedule_and_the_shrunk_so_far(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """All schedules ran: the partial result has them all and says how far shrinking got; ``save`` writes it."""
    import importlib

    from riaps_sim.analysis.invariants import Violation
    from riaps_sim.explore import Outcome, explore

    explore_module = importlib.import_module("riaps_sim.explore")

    def run_schedule(scenario, faults, seed, quiet_from, duration_s, index=0, liveness=True, time_limit_s=None):  # type: ignore[no-untyped-def]
        broken = (Violation("one_leader_per_term", 1.0, (), (), "two leaders"),) if index % 2 else ()
        return Outcome(index, seed, tuple(faults), quiet_from, duration_s, broken, (), "", 0.01)

    def shrink_one(base, space, outcome, budget):  # type: ignore[no-untyped-def]
        raise StopSignal(signal.SIGINT)  # Ctrl-C during the first shrink

    monkeypatch.setattr(explore_module, "run_schedule", run_schedule)
    monkeypatch.setattr(explore_module, "_shrink_one", shrink_one)
    with ThreadPoolExecutor(max_workers=2) as pool, pytest.raises(Interrupted) as stopped:
        explore("leader-crash", 6, executor=pool, progress=False, out=tmp_path)
    partial = stopped.value.partial
    assert [o.index for o in partial.outcomes] == list(range(6)) and len(partial.failures) == 3
    assert partial.partial and partial.to_shrink == 1 and partial.shrunk == []
    assert str(partial).startswith("explore leader-crash: PARTIAL (interrupted by SIGINT): all 6 schedules run, 0 of 1 kinds of failure shrunk")
    text, table = partial.save(tmp_path)
    assert text.read_text(encoding="utf-8").startswith("explore leader-crash: PARTIAL") and len(table.read_text(encoding="utf-8").splitlines()) == 7


def test_explore_interrupted_while_drawing_schedules_still_returns_a_partial_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C before every schedule is even drawn (a long exploration starts by drawing them) is no bare KeyboardInterrupt."""
    import importlib

    from riaps_sim.explore import explore

    explore_module = importlib.import_module("riaps_sim.explore")
    draw = explore_module.schedule_for

    def schedule_for(space, seed, index):  # type: ignore[no-untyped-def]
        if index == 3:
            raise StopSignal(signal.SIGTERM)
        return draw(space, seed, index)

    monkeypatch.setattr(explore_module, "schedule_for", schedule_for)
    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(Interrupted) as stopped:
        explore("leader-crash", 1000, executor=pool, progress=False)
    partial = stopped.value.partial
    assert partial.planned == 1000 and partial.interrupted is signal.SIGTERM and len(partial.outcomes) <= 3
    assert str(partial).startswith(f"explore leader-crash: PARTIAL (interrupted by SIGTERM): {len(partial.outcomes)} of 1000 schedules run")
