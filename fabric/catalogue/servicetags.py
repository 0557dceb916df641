"""Service tags that vnetsim models, and how to tell a tag from an address.

§5.4 of azure-facts.md: ``VirtualNetwork`` (own space, Connected peers with
allow_virtual_network_access, spaces reachable through the VNet's gateway), ``AzureLoadBalancer``
(the host VIP 168.63.129.16) and ``Internet`` (public space outside the VNet; RFC 1918 space is
not in it). Expansion lives in ``fabric.nsg``, which knows the topology.
"""

from __future__ import annotations

import re

VIRTUAL_NETWORK = "VirtualNetwork"
AZURE_LOAD_BALANCER = "AzureLoadBalancer"
INTERNET = "Internet"
KNOWN_TAGS = frozenset({VIRTUAL_NETWORK, AZURE_LOAD_BALANCER, INTERNET})
HOST_VIP = "168.63.129.16"

_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)?$")


def is_service_tag(value: str) -> bool:
    """True for a name like ``VirtualNetwork`` or ``Storage.EastUS`` (not ``*``, not an IP)."""
    return bool(_TAG.match(value))
