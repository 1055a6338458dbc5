"""``Directory``: what one node knows about the group pub endpoints of its peers.

Both discovery services (simulated and real) feed a directory: the node's own registrations go in
at once, endpoints heard from other nodes arrive later, and endpoints that vanish (a member left,
or its node fell silent) are reported as gone. A sub port watches its group and connects to each
endpoint present, its own member's included, as RIAPS does. Unlike RIAPS discovery, departures are
reported (the reference never sends a negative update, B18).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Endpoint", "Directory", "Watcher", "PROVIDER_OF", "message_port_key"]

#: RIAPS message ports: the provider kind each consumer kind looks up (sub→pub, req→rep, clt→srv, qry→ans).
PROVIDER_OF = {"sub": "pub", "req": "rep", "clt": "srv", "qry": "ans"}


def message_port_key(provider_kind: str, message: str, host: str | None = None) -> str:
    """The discovery key of a RIAPS message port provider: ``"pub/Msg"``, ``"rep/Req#Rep"``; ``"pub/Msg@<host>"`` for local scope.

    RIAPS's key is ``/<app>/<msgType>/<kind>`` plus a host suffix for local scope: ports match on
    the message type and the complementary kind (a sub finds the pubs of its message type), never
    on port or component names. The app is left out: each run's discovery serves one application. Group keys
    (``"<Msg>@<type>.<instance>"``) contain no ``/``, so the two kinds of keys never meet.
    """
    if provider_kind not in PROVIDER_OF.values():
        raise ValueError(f"provider kind must be one of {sorted(PROVIDER_OF.values())}, got {provider_kind!r}")
    return f"{provider_kind}/{message}" + (f"@{host}" if host else "")


@dataclass(frozen=True, slots=True, order=True)
class Endpoint:
    """A provider endpoint: its discovery key, host, port and node.

    The key (field ``group``) is a group's (``"<Msg>@<type>.<instance>"``, for its pub ports) or a
    RIAPS message port provider's (``message_port_key``: ``"pub/Msg"``, ``"rep/Req#Rep"``...).
    """

    group: str
    host: str
    port: int
    node: str

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ValueError(f"Endpoint port must be 1..65535, got {self.port!r}")


#: Called with an endpoint and whether it is now present (True) or gone (False).
Watcher = Callable[[Endpoint, bool], None]


class Directory:
    """Local registrations, endpoints heard from peers, and the watchers of each group."""

    def __init__(self) -> None:
        self._local: dict[Endpoint, None] = {}
        self._heard: dict[Endpoint, float] = {}  # endpoint -> time it expires, in seconds
        self._watchers: dict[str, list[Watcher]] = {}

    def __repr__(self) -> str:
        return f"<Directory local={len(self._local)} heard={len(self._heard)} groups watched={len(self._watchers)}>"

    def local(self) -> list[Endpoint]:
        """This node's own registrations, in registration order."""
        return list(self._local)

    def known(self, group: str) -> list[Endpoint]:
        """Every endpoint of *group* present now, own and heard, sorted."""
        return sorted({e for e in [*self._local, *self._heard] if e.group == group})

    def register(self, endpoint: Endpoint) -> None:
        """Announce one of this node's pubs; its watchers hear of it at once."""
        if endpoint not in self._local:
            self._local[endpoint] = None
            if endpoint not in self._heard:
                self._notify(endpoint, True)

    def unregister(self, endpoint: Endpoint) -> None:
        """Withdraw one of this node's pubs; its watchers hear it is gone."""
        if endpoint in self._local:
            del self._local[endpoint]
            if endpoint not in self._heard:
                self._notify(endpoint, False)

    def watch(self, group: str, watcher: Watcher) -> None:
        """Call *watcher* for every endpoint of *group* known now and for every later change."""
        self._watchers.setdefault(group, []).append(watcher)
        for endpoint in self.known(group):
            watcher(endpoint, True)

    def unwatch(self, group: str, watcher: Watcher) -> None:
        """Stop calling *watcher* for *group*."""
        watchers = self._watchers.get(group, [])
        if watcher in watchers:
            watchers.remove(watcher)

    def heard(self, endpoints: list[Endpoint], node: str, expires: float) -> None:
        """Record that *node* currently announces exactly *endpoints*, valid until *expires*.

        Endpoints *node* announced before but not now are gone: the member left.
        """
        for endpoint in [e for e in self._heard if e.node == node and e not in endpoints]:
            del self._heard[endpoint]
            if endpoint not in self._local:
                self._notify(endpoint, False)
        for endpoint in endpoints:
            is_new = endpoint not in self._heard and endpoint not in self._local
            self._heard[endpoint] = expires
            if is_new:
                self._notify(endpoint, True)

    def expire(self, now: float) -> list[Endpoint]:
        """Forget heard endpoints whose time ran out by *now*; return them (watchers hear they are gone)."""
        gone = [e for e, until in self._heard.items() if until <= now]
        for endpoint in gone:
            del self._heard[endpoint]
            if endpoint not in self._local:
                self._notify(endpoint, False)
        return gone

    def _notify(self, endpoint: Endpoint, present: bool) -> None:
        for watcher in list(self._watchers.get(endpoint.group, ())):
            watcher(endpoint, present)
