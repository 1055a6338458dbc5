"""What this machine lets the suite do beyond plain Python: network namespaces (root) and iptables.

A user's machine need not be root nor have iptables; CI installs both. Tests that need them carry
the marker of the need (``netns``, ``iptables``) and skip with the reason where it is missing
(``conftest.py`` does it). The machine is probed once per test process, on first use.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from enum import Enum

from riaps_sim.runtime import netns


class Need(Enum):
    """Something a test needs from the machine; the value is the marker's name."""

    NETNS = "netns"
    IPTABLES = "iptables"


@dataclass(frozen=True)
class Abilities:
    """Why each need cannot be met here, or ``None`` where it can."""

    netns: str | None
    iptables: str | None

    def missing(self, needs: set[Need]) -> str | None:
        """Why a test with *needs* cannot run here (each unmet need's reason), or ``None``."""
        reasons = [f"needs {need.value}: {why}" for need, why in ((Need.NETNS, self.netns), (Need.IPTABLES, self.iptables)) if need in needs and why]
        return "; ".join(reasons) or None


def _iptables_reason() -> str | None:
    """Why iptables firewall rules cannot be used here (missing, not root, not working), or ``None``."""
    if shutil.which("iptables-restore") is None or shutil.which("iptables") is None:
        return "iptables is missing (apt-get install -y iptables)"
    if os.geteuid() != 0:
        return "iptables needs root"
    listed = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True, check=False, timeout=30)
    if listed.returncode != 0:
        return f"`iptables -S` failed here: {listed.stderr.strip() or listed.returncode}"
    return None


@functools.cache
def abilities() -> Abilities:
    """This machine's abilities, probed once per process (a namespace is made and deleted to see)."""
    return Abilities(netns=netns.unavailable_reason(), iptables=_iptables_reason())
