"""The simulated world's fault applier: each fault of ``riaps_sim.faults``, applied by its type.

``SimFaults`` schedules a ``FaultSchedule`` on a ``Simulation``: timed faults at their time,
triggered ones ``delay`` seconds after the first trace event of their kind. When a fault falls due
its roles are resolved (``faults.resolve`` with the simulation's ``Roles``), it is recorded in the
trace in the same words as in the real world (``Fault.describe``), and one method per fault type
applies it through the network's and the nodes' public faces:

=============  ==============================================================================
Partition      ``Network.partition`` (a lone side is cut from all others), hold or drop
Heal           ``Network.heal``
Crash          ``Network.crash``: the host's sockets vanish, its node dies (``Simulation`` follows)
Restart        ``Network.restart``: a fresh node with fresh components; refused if it runs
Pause          the node's driver stalls: timers and handlers wait, traffic queues in its sockets
ClockSkew      ``Network.set_clock``
Loss           ``Network.impair(loss=)`` on the path between the two nodes, whatever the route
Duplicate      ``Network.impair(duplication=)``
Delay          ``Network.impair(extra_delay=)``
=============  ==============================================================================

A fault that cannot be applied when it falls due (a role that names nobody, a restart of a
running node) is not applied; it is recorded as a ``fault`` event ``refused <fault>: <reason>``,
which summaries count, exactly as the real world records it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..faults import ClockSkew, Crash, Delay, Duplicate, Fault, Heal, Loss, Partition, Pause, Restart, Roles, Unresolved, resolve
from ..trace import TraceEvent

if TYPE_CHECKING:
    from .sim import Simulation

__all__ = ["SimFaults", "refusal_text"]

log = logging.getLogger("riaps_sim.runtime")


def refusal_text(fault: Fault, reason: str) -> str:
    """The trace's words for a fault not applied: ``refused restart n1: it is running``."""
    return f"refused {fault.describe()}: {reason}"


class SimFaults:
    """Applies typed faults to a ``Simulation`` when they fall due."""

    def __init__(self, simulation: Simulation) -> None:
        self.sim = simulation
        self.crashed: list[str] = []  # nodes down, most recent crash last
        self.refused = 0
        self._appliers: dict[type[Fault], Callable[[Any], None]] = {
            Partition: self._partition,
            Heal: self._heal,
            Crash: self._crash,
            Restart: self._restart,
            Pause: self._pause,
            ClockSkew: self._clock,
            Loss: self._loss,
            Duplicate: self._duplicate,
            Delay: self._delay,
        }

    def __repr__(self) -> str:
        return f"<SimFaults crashed={self.crashed} refused={self.refused}>"

    # -- when -----------------------------------------------------------------------------------------------

    def schedule(self, faults: Iterable[Fault], start: float = 0.0) -> None:
        """Apply each fault when it falls due; *start* is the run's time 0 in virtual seconds."""
        env = self.sim.env
        for fault in faults:
            if fault.at is not None:
                env.timeout(max(0.0, start + fault.at - env.now)).callbacks.append(lambda _e, f=fault: self.fire(f))
            else:
                self._arm_trigger(fault)

    def _arm_trigger(self, fault: Fault) -> None:
        trace, env = self.sim.trace, self.sim.env
        assert fault.after is not None

        def triggered(event: TraceEvent) -> None:
            trace.unwatch(fault.after or "", triggered)
            env.timeout(fault.delay).callbacks.append(lambda _e: self.fire(fault))

        trace.watch(fault.after, triggered)

    # -- who ------------------------------------------------------------------------------------------------

    def roles(self) -> Roles:
        """Who leads, who is live and who crashed last, now."""
        live = [name for name, node in self.sim.nodes.items() if self.sim.network.host(name).alive]
        leading = [(member.term, name) for name in live for member in self.sim.nodes[name].members if member.is_leader]
        leader = max(leading)[1] if leading else None
        crashed = self.crashed[-1] if self.crashed else None
        return Roles(leader=leader, live=live, crashed=crashed, seed=self.sim.seed, nodes=list(self.sim.nodes))

    # -- what -----------------------------------------------------------------------------------------------

    def fire(self, fault: Fault) -> bool:
        """Apply *fault* now: resolve its roles, record it, apply it. ``False`` if it was refused."""
        try:
            resolved = resolve(fault, self.roles())
        except Unresolved as exc:
            return self._refuse(fault, str(exc))
        if isinstance(resolved, Restart) and self.sim.network.host(resolved.node).alive:
            return self._refuse(resolved, "it is running")
        if isinstance(resolved, (Crash, Pause)) and not self.sim.network.host(resolved.node).alive:
            return self._refuse(resolved, "it is down")
        self.sim.record_fault(resolved.describe(list(self.sim.nodes)))
        with self.sim.applying():
            self._appliers[type(resolved)](resolved)
        return True

    def _refuse(self, fault: Fault, reason: str) -> bool:
        self.refused += 1
        log.warning("fault %s at %.3f s not applied: %s", fault.describe(), self.sim.now, reason)
        self.sim.record_fault(refusal_text(fault, reason))
        return False

    def _partition(self, fault: Partition) -> None:
        sides = fault.full_sides(list(self.sim.nodes)) if fault.one_way else [list(s) for s in fault.sides]
        self.sim.network.partition(*sides, one_way=fault.one_way, mode=fault.mode)

    def _heal(self, fault: Heal) -> None:
        self.sim.network.heal()

    def _crash(self, fault: Crash) -> None:
        self.crashed.append(fault.node)
        self.sim.network.crash(fault.node)

    def _restart(self, fault: Restart) -> None:
        if fault.node in self.crashed:
            self.crashed.remove(fault.node)
        self.sim.network.restart(fault.node)

    def _pause(self, fault: Pause) -> None:
        self.sim.nodes[fault.node].driver.pause(fault.duration_s)  # type: ignore[attr-defined]

    def _clock(self, fault: ClockSkew) -> None:
        self.sim.network.set_clock(fault.node, offset=fault.offset_s, rate=fault.rate)

    def _loss(self, fault: Loss) -> None:
        self.sim.network.impair(fault.a, fault.b, loss=fault.rate, one_way=fault.one_way)

    def _duplicate(self, fault: Duplicate) -> None:
        self.sim.network.impair(fault.a, fault.b, duplication=fault.rate, one_way=fault.one_way)

    def _delay(self, fault: Delay) -> None:
        self.sim.network.impair(fault.a, fault.b, extra_delay=fault.latency_s, one_way=fault.one_way)
