"""The four RIAPS group ports over any zmq-like context.

``GroupPubPort`` and ``GroupSubPort`` form a group's PUB/SUB mesh; ``GroupQryPort`` and
``GroupAnsPort`` (DEALER to ROUTER) are a member's line to the elected leader. A ``Part`` supplies
the context: a ``zmq.Context`` for the real world, a simulated context from ``riaps_sim.net`` for
the simulated one. The port classes are the same in both.

Frames are byte-compatible with RIAPS (riaps-pycom v2). ``_pyobj`` methods use pickle: never
unpickle from untrusted peers; turn CURVE on (``Part(keys=...)``) and bind a ``ZapHandler`` with
the application's allow-list in the context, so only holders of the application's keys can talk.
"""

from ._errors import OperationError, PortError, SetupError
from ._frames import pack_timestamp, unpack_timestamp
from ._group import GroupDuplexPort, GroupSimplexPort
from ._info import PortInfo, PortScope
from ._part import CurveKeys, Part, PortOptions
from ._port import BindPort, ConnPort, Port, PortStatistics
from ._pubsub import GROUP_MSG, GroupPubPort, GroupSubPort
from ._qryans import GROUP_MFL, GROUP_MTL, GroupAnsPort, GroupQryPort, unique_identity
from ._zap import ZAP_ENDPOINT, HandshakeRefusal, ZapHandler, ZapStatistics

__all__ = [
    "BindPort",
    "ConnPort",
    "CurveKeys",
    "GROUP_MFL",
    "GROUP_MSG",
    "GROUP_MTL",
    "GroupAnsPort",
    "GroupDuplexPort",
    "GroupPubPort",
    "GroupQryPort",
    "GroupSimplexPort",
    "GroupSubPort",
    "HandshakeRefusal",
    "OperationError",
    "Part",
    "Port",
    "PortError",
    "PortInfo",
    "PortOptions",
    "PortScope",
    "PortStatistics",
    "SetupError",
    "pack_timestamp",
    "unique_identity",
    "unpack_timestamp",
    "ZAP_ENDPOINT",
    "ZapHandler",
    "ZapStatistics",
]
