"""Many small tasks on an executor, stopped cleanly: what sweeps and explorations share.

``gather`` submits calls to a ``concurrent.futures`` executor and hands each result back as it
finishes. On ``KeyboardInterrupt`` (Ctrl-C, or the signals ``stop_signals`` turns into one) it
cancels what has not started, stops the workers of its own pool at once (a run in progress is
lost, every finished one is kept) and reports the batch as interrupted, so the caller can write a
partial result instead of nothing.

Its own pool is a ``WorkerPool``: its workers ignore SIGINT, so a Ctrl-C sent to the whole
process group (what a terminal does) reaches only the parent, which decides; the workers never
print a traceback of their own. It is fed a few calls per worker ahead rather than all of them at
once, so a batch of 100,000 starts at once and has little to cancel. A user's executor (Dask, Ray, a thread pool) is left running:
pending calls are cancelled, calls in progress are that executor's business.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from types import FrameType
from typing import Any, Generic, TypeVar

log = logging.getLogger("riaps_sim")

__all__ = ["Call", "Gathered", "Interrupted", "StopSignal", "WorkerPool", "gather", "signal_of", "stop_signals"]

R = TypeVar("R")
P = TypeVar("P")


class StopSignal(KeyboardInterrupt):
    """SIGINT or SIGTERM while ``stop_signals`` is active: a ``KeyboardInterrupt`` that names its signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def signal_of(stop: KeyboardInterrupt) -> signal.Signals:
    """The signal behind *stop*: its own for a ``StopSignal``, SIGINT for a plain ``KeyboardInterrupt``."""
    return signal.Signals(stop.signum) if isinstance(stop, StopSignal) else signal.SIGINT


class Interrupted(KeyboardInterrupt, Generic[P]):
    """A sweep or exploration stopped by a signal; ``partial`` holds what it finished.

    It is a ``KeyboardInterrupt``, so a script that does not catch it stops as Ctrl-C always
    stopped it; one that does catches the partial result with it::

        try:
            result = sweep("leader-crash", range(10_000))
        except KeyboardInterrupt as stop:
            result = stop.partial if isinstance(stop, Interrupted) else None
    """

    def __init__(self, partial: P, signum: signal.Signals) -> None:
        super().__init__(f"{signum.name}: stopped early")
        self.partial = partial
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """The shell's status for a command stopped by this signal: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + int(self.signum)


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """While active, the first SIGINT or SIGTERM raises ``StopSignal`` in the main thread.

    Python leaves SIGINT ignored when it started ignored (a command put in the background by a
    script, a supervisor's child), and SIGTERM kills without clean-up; under this context both
    stop the work the same way, as Ctrl-C does at a terminal. Later signals are noted on stderr
    and otherwise ignored, so the clean-up that the first one started (stopping workers, writing
    the partial result) is not cut short. Outside the main thread it does nothing (Python only
    lets the main thread set handlers).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal raised
        if raised:
            print(f"riaps-sim: {signal.Signals(signum).name} again: already stopping, writing what is done", file=sys.stderr, flush=True)
            return
        raised = True
        raise StopSignal(signum)

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _worker_signals() -> None:
    """A worker's initializer: Ctrl-C to the process group is the parent's to handle, not the worker's.

    SIGTERM gets its default action back (a forked worker inherits the parent's handler, which
    would keep it alive), so ``terminate_workers`` ends it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class WorkerPool(ProcessPoolExecutor):
    """A process pool whose workers ignore SIGINT and that can stop its workers at once."""

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__(max_workers=max_workers, initializer=_worker_signals)
        self.workers = max_workers or os.cpu_count() or 1  #: how many worker processes it runs at most

    def terminate_workers(self) -> None:
        """Cancel what is pending and SIGTERM every worker, without waiting for calls in progress.

        Python 3.14 has this method; before it, this is its backport (which, like it, reads the
        base class's table of worker processes). The pool's own thread cancels the pending calls
        (``shutdown(cancel_futures=True)``): a caller that cancelled them itself could race with
        that thread when a worker dies, which Python 3.11 reports as an ``InvalidStateError``.
        """
        workers = list((self._processes or {}).values())
        self.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            with contextlib.suppress(ValueError, ProcessLookupError):  # closed or just ended
                if worker.is_alive():
                    worker.terminate()
        for worker in workers:
            with contextlib.suppress(ValueError):
                worker.join(timeout=5.0)
                if worker.is_alive():
                    worker.kill()
        # The workers are gone: let the pool's own thread see it and end, so that it is no longer in
        # concurrent.futures' list of pools to wake at exit (3.11 then writes to the pipe the thread
        # closed, and prints an OSError traceback as the interpreter exits).
        self.shutdown(wait=True)


@dataclass(frozen=True, slots=True)
class Call(Generic[R]):
    """One task of a batch: a picklable function and its arguments."""

    fn: Callable[..., R]
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Gathered(Generic[R]):
    """A batch's results in the order they finished, of how many calls, and the signal that cut it short."""

    results: list[R]
    total: int
    interrupted: KeyboardInterrupt | None = None

    @property
    def stopped_by(self) -> signal.Signals | None:
        """The signal that cut the batch short, or ``None`` when it ran to its end."""
        return signal_of(self.interrupted) if self.interrupted is not None else None


def gather(
    calls: Iterable[Call[R]], total: int, on_result: Callable[[R, list[R]], bool], executor: Executor | None = None, jobs: int | None = None
) -> Gathered[R]:
    """Run the *total* *calls* on *executor* (default: a ``WorkerPool`` of *jobs*); hand each result to *on_result*.

    *calls* may be a generator: it is drawn from here, as calls are submitted, so an interruption
    while they are still being made (thousands of schedules to draw) is handled like any other.
    The default pool gets a few calls per worker ahead of time, not all of them, so a sweep of
    100,000 seeds starts at once and stops at once; a given executor gets them all (it schedules
    them itself). *on_result* gets each result, in the order they finish, and all results so far;
    when it returns true, the calls not yet started are cancelled and not waited for (calls in
    progress finish and are counted). A ``KeyboardInterrupt`` (``StopSignal`` included) ends the
    batch early and is returned in ``interrupted``, never raised; any other error of a call is
    raised, as ``Future.result`` raises it.
    """
    pool = executor if executor is not None else WorkerPool(jobs)
    ahead = 4 * pool.workers if isinstance(pool, WorkerPool) and executor is None else None
    finished: queue.SimpleQueue[Future[R]] = queue.SimpleQueue()  # done futures, in the order they finish
    waiting: set[Future[R]] = set()
    pending = iter(calls)
    results: list[R] = []
    interrupted: KeyboardInterrupt | None = None
    enough = False

    def submit_more() -> None:
        while not enough and (ahead is None or len(waiting) < ahead):
            call = next(pending, None)
            if call is None:
                return
            future = pool.submit(call.fn, *call.args)
            waiting.add(future)
            future.add_done_callback(finished.put)  # at once if it is already done

    try:
        submit_more()
        while waiting:
            future = finished.get()  # a signal interrupts the wait
            waiting.discard(future)
            if future.cancelled():
                continue
            results.append(future.result())
            log.debug("finished %d of %d calls", len(results), total)
            if on_result(results[-1], results) and not enough:
                enough = True
                for other in waiting:
                    other.cancel()  # a cancelled call is done at once: its callback queues it, and it is skipped
            submit_more()
    except KeyboardInterrupt as stop:
        interrupted = stop
        if executor is not None:  # the default pool's own thread cancels its pending calls (terminate_workers)
            for other in waiting:
                other.cancel()
        log.info("interrupted after %d of %d calls; stopping", len(results), total)
    finally:
        if isinstance(pool, WorkerPool) and executor is None:
            if interrupted is not None:
                pool.terminate_workers()
            else:
                pool.shutdown(cancel_futures=True)
    return Gathered(results, total, interrupted)
