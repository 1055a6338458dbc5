"""How a group's sub ports find its members' pub ports: in simulation, and for real across processes and hosts."""

from .beacon import DEFAULT_BEACON_PORT, BeaconDiscovery, BeaconRejection, BeaconStatistics, broadcast_address
from .directory import Directory, Endpoint, Watcher

__all__ = ["BeaconDiscovery", "BeaconRejection", "BeaconStatistics", "DEFAULT_BEACON_PORT", "Directory", "Endpoint", "Watcher", "broadcast_address"]
