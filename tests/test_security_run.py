"""A real run is closed to strangers: what they try is refused, traced and summarised.

Three node processes run with the default security (fresh key material for the run). A stranger
who knows the application's public key but holds its own key pair, and one with no keys at all,
try the members' pub ports (SUB) and the leader's ans port (DEALER): they get nothing, the nodes
trace each refusal with the port's name and the stranger's address, and the summary counts them.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import zmq
from wallclock import deadline_s

from riaps_sim import Scenario
from riaps_sim.discovery import BeaconDiscovery
from riaps_sim.examples import Groupie
from riaps_sim.model import GroupType
from riaps_sim.runner import RunResult
from riaps_sim.runtime.nodeproc import close_context  # libzmq's term can hang (zeromq/libzmq#2586): bounded
from riaps_sim.runtime.process import NodePlan, RealRun
from riaps_sim.runtime.rejections import rejections_in

DEADLINE = 60.0


def _elected(trace) -> bool:
    return any(e.detail == "leader" for e in trace.select(kind="state"))


def _endpoints(run: RealRun, timeout_s: float) -> dict[str, tuple[str, int]]:
    """Every member's group pub endpoint, as the beacons tell (signed beacons: read with the run's secret)."""
    listener = BeaconDiscovery(
        run.app, "observer", "127.0.0.99", port=run.beacon_port, destinations=[("127.0.0.99", 9)], secret=run.keys.beacon_secret, clock=time.time
    )
    found: dict[str, tuple[str, int]] = {}
    try:
        deadline = time.monotonic() + deadline_s(timeout_s)
        while time.monotonic() < deadline:
            listener.receive(time.time())
            found = {e.node: (e.host, e.port) for e in listener.directory.known("Msg@TheGroup.g1")}
            if len(found) == len(run.plans):
                return found
            time.sleep(0.1)
        raise AssertionError(f"beacons named only {sorted(found)}")
    finally:
        listener.close()


@pytest.mark.slow
def test_strangers_get_nothing_and_every_refusal_is_traced_and_counted(tmp_path: Path) -> None:
    run = RealRun([GroupType(name="TheGroup")], tmp_path, seed=3)
    for i in range(3):
        run.add_node(NodePlan(f"n{i}", f"127.0.0.{i + 31}", {"member": (Groupie, {"ask_leader_every": 1.0})}))
    assert run.secure
    context = zmq.Context()
    strangers = []
    try:
        run.start(120)
        assert run.wait_until(_elected, deadline_s(DEADLINE)), "no leader"
        pubs = _endpoints(run, DEADLINE)
        own_public, own_secret = zmq.curve_keypair()

        def stranger(kind: int, host: str, port: int, keyed: bool) -> zmq.Socket:
            sock = context.socket(kind)
            if keyed:  # its own pair, and the application's *public* key as the server's
                sock.curve_secretkey, sock.curve_publickey, sock.curve_serverkey = own_secret, own_public, run.keys.curve.public
            sock.connect(f"tcp://{host}:{port}")
            strangers.append(sock)
            return sock

        subs = []
        for host, port in pubs.values():
            for keyed in (True, False):
                sub = stranger(zmq.SUB, host, port, keyed)
                sub.setsockopt(zmq.SUBSCRIBE, b"")
                subs.append(sub)
        time.sleep(3.0)  # three heartbeats of every member, had the strangers been let in
        assert all(not sub.poll(0) for sub in subs), "a stranger received group traffic"

        def refused(trace) -> bool:
            events = trace.select(kind="handshake_refused")
            keyed = [e for e in events if "allow-list" in (e.detail or "") and e.peer == "127.0.0.1"]
            keyless = [e for e in events if "allow-list" not in (e.detail or "")]
            return {e.node for e in keyed} == set(run.plans) and {e.node for e in keyless} == set(run.plans)

        assert run.wait_until(refused, deadline_s(DEADLINE)), "not every refusal reached the trace"
        trace = run.trace()
        assert all("_pub:" in (e.detail or "") for e in trace.select(kind="handshake_refused"))
        assert not trace.select(kind="beacon_rejected")
        delivered_from_strangers = [e for e in trace.select(kind="deliver") if e.peer == "127.0.0.1"]
        assert delivered_from_strangers == []
    finally:
        for sock in strangers:
            sock.close(0)
        close_context(context, timeout_s=5.0)
        run.stop()
    scenario = Scenario.group_of(3, Groupie, duration=10)
    result = RunResult(scenario, "real", 3, 10.0, run.trace(), 0.0, start=0.0, secure=True)
    (line,) = result.security_lines()
    count = rejections_in(run.trace().select(kind="handshake_refused"))  # rows, and count rows beyond a few per source
    assert f"{count} handshake(s) refused, 0 beacon(s) rejected" in line and count >= 6
