"""How a group's sub ports find its members' pub ports: in simulation, and for real across processes and hosts."""

from .beacon import DEFAULT_BEACON_PORT, BeaconDiscovery, BeaconRejection, BeaconStatistics, broadcast_address
from .directory import PROVIDER_OF, Directory, Endpoint, Watcher, message_port_key

__all__ = [
    "BeaconDiscovery",
    "BeaconRejection",
    "BeaconStatistics",
    "DEFAULT_BEACON_PORT",
    "Directory",
    "Endpoint",
    "PROVIDER_OF",
    "Watcher",
    "broadcast_address",
    "message_port_key",
]
