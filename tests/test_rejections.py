"""Rejected peers cannot grow a node's trace or log without bound, and every rejection is still counted."""

from __future__ import annotations

import logging
import random
import select
import socket
import time
from pathlib import Path

import pytest
import zmq

import ports
from riaps_sim.discovery import BeaconDiscovery
from riaps_sim.runtime.nodeproc import close_context  # libzmq's term can hang (zeromq/libzmq#2586): bounded
from riaps_sim.runtime.rejections import OTHER_SOURCES, RejectionLog, Throttle, rejections_in
from riaps_sim.runtime.tracefiles import StreamingTrace
from riaps_sim.trace import Kind, Trace


class Clock:
    """The node's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _log_into(trace: Trace, clock: Clock) -> RejectionLog:
    def write(kind, peer, detail, component, group, data) -> None:  # type: ignore[no-untyped-def]
        trace.record(clock(), None, "n1", component, group, kind, peer=peer, detail=detail, data=data)

    return RejectionLog("n1", write, clock, Throttle(limit=5, window_s=10.0, max_sources=64))


def test_throttle_writes_the_first_few_per_source_and_window_then_counts() -> None:
    throttle = Throttle(limit=3, window_s=10.0)
    admitted = [throttle.admit(Kind.HANDSHAKE_REFUSED, "10.0.0.9", t * 0.5) for t in range(10)]  # 0.0 .. 4.5 s
    assert admitted == [True] * 3 + [False] * 7
    assert throttle.admit(Kind.BEACON_REJECTED, "10.0.0.9", 5.0)  # another kind: its own window
    assert throttle.admit(Kind.HANDSHAKE_REFUSED, "10.0.0.8", 5.0)  # another source: its own window
    assert throttle.due(9.9) == []
    (count,) = throttle.due(10.0)
    assert (count.kind, count.source, count.count, count.first_s, count.last_s) == (Kind.HANDSHAKE_REFUSED, "10.0.0.9", 7, 1.5, 4.5)
    assert throttle.due(10.0) == []  # each count once
    assert throttle.admit(Kind.HANDSHAKE_REFUSED, "10.0.0.9", 10.5)  # a new window writes again


def test_sources_beyond_the_bound_share_one_window() -> None:
    throttle = Throttle(limit=1, window_s=10.0, max_sources=4)
    admitted = [throttle.admit(Kind.BEACON_REJECTED, f"10.0.{i // 250}.{i % 250}", 1.0) for i in range(100)]
    assert admitted.count(True) == 4 + 1  # four sources, then the shared one
    (*_, shared) = throttle.drain()
    assert shared.source == OTHER_SOURCES and shared.count == 100 - 5


@pytest.mark.slow
def test_ten_thousand_bad_connections_grow_the_trace_file_by_a_bounded_amount(tmp_path: Path) -> None:
    """10,000 refusals from one peer and 10,000 forged beacons from 10,000 addresses over 20 s: a few
    kilobytes of trace, and the rows still count all 20,000 (the flood once added 965 KB)."""
    clock = Clock()
    trace = StreamingTrace(tmp_path / "n1.jsonl")
    rejections = _log_into(trace, clock)
    for i in range(10_000):
        clock.now = i * 0.002
        rejections.record(Kind.HANDSHAKE_REFUSED, "127.0.0.1", "g_pub: key not on the allow-list")
        rejections.record(
            Kind.BEACON_REJECTED, f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", "bad MAC: not signed with this application's beacon secret"
        )
        if i % 500 == 0:
            rejections.flush()  # the node's loop does this every window
    rejections.flush(final=True)
    trace.close()
    size = (tmp_path / "n1.jsonl").stat().st_size
    loaded = Trace.from_jsonl(tmp_path / "n1.jsonl")
    assert rejections_in(loaded.select(kind=Kind.HANDSHAKE_REFUSED)) == 10_000
    assert rejections_in(loaded.select(kind=Kind.BEACON_REJECTED)) == 10_000
    # per 10 s window: 5 rows + 1 count row for the one peer; 64 x 5 rows + 1 count row for the flood
    assert len(loaded) <= 2 * (6 + 64 * 5 + 1) + 4
    assert size < 150_000, f"{size} bytes"
    assert rejections.written + rejections.suppressed == 20_000


def test_the_log_is_bounded_like_the_trace(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    rejections = _log_into(Trace(), clock)
    with caplog.at_level(logging.WARNING, logger="riaps_sim.runtime"):
        for i in range(1000):
            clock.now = i * 0.001  # all in one window
            rejections.record(Kind.HANDSHAKE_REFUSED, "127.0.0.1", "g_pub: key not on the allow-list")
        rejections.flush(final=True)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 5 + 1 and "995 more from 127.0.0.1 over 0.994 s" in lines[-1]


@pytest.mark.slow
def test_zap_handler_logs_a_flood_sparsely_and_counts_it_all(caplog: pytest.LogCaptureFixture) -> None:
    """Without a callback: the first ten refusals, then the 100th and 1,000th, are warnings; with one, none."""
    for callback, warnings in ((None, 10 + 2), ([].append, 0)):
        context = zmq.Context()
        zap = ports.ZapHandler(context, [ports.CurveKeys.generate().public], callback)
        libzmq = context.socket(zmq.DEALER)
        libzmq.connect(ports.ZAP_ENDPOINT)
        caplog.clear()
        try:
            with caplog.at_level(logging.DEBUG, logger="ports"):
                for i in range(1000):
                    libzmq.send_multipart([b"", b"1.0", str(i).encode(), b"g_pub", b"10.0.0.9", b"", b"NULL"])
                    assert zap.socket.poll(5000) and zap.handle() == 1
                    assert libzmq.poll(5000) and libzmq.recv_multipart()[3] == b"400"
        finally:
            libzmq.close(linger=0)
            zap.close()
            close_context(context, timeout_s=5.0)
        assert zap.statistics().refused == 1000
        shown = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(shown) == warnings, shown
        if warnings:
            assert shown[-1].endswith("(1000 refused so far)") and shown[-2].endswith("(100 refused so far)")


def test_beacon_discovery_logs_a_flood_sparsely_and_counts_it_all(caplog: pytest.LogCaptureFixture) -> None:
    port = random.Random().randrange(40000, 47000)
    node = BeaconDiscovery("App", "n1", "127.0.0.2", port=port, destinations=[("127.0.0.2", port)], secret=b"s" * 32, clock=lambda: 1.0)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with caplog.at_level(logging.WARNING, logger="riaps_sim"):
            for i in range(1, 121):  # one at a time, so none is lost to a full socket buffer
                sender.sendto(b"RIAPS-SIM/2 forged", ("127.0.0.2", port))
                deadline = time.monotonic() + 10.0
                while node.statistics().rejected < i:
                    assert time.monotonic() < deadline, f"datagram {i} never arrived"
                    select.select([node.fileno()], [], [], 0.1)
                    node.receive(1.0)
    finally:
        sender.close()
        node.close()
    shown = [r.getMessage() for r in caplog.records if "beacon" in r.getMessage()]
    assert len(shown) == 10 + 1 and shown[-1].endswith("(100 rejected so far)")
