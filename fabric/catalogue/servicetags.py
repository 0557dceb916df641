"""Service tags that vnetsim models, and how to tell a tag from an address.

§5.4 of azure-facts.md: ``VirtualNetwork`` (own space, Connected peers with
allow_virtual_network_access, spaces reachable through the VNet's gateway, the host VIP, UDR
prefixes), ``AzureLoadBalancer`` (the host VIP 168.63.129.16) and ``Internet`` (public space
outside the VNet; RFC 1918 space is not in it). The platform tags of the NSG overview's "Azure
platform considerations": ``AzurePlatformDNS`` (168.63.129.16), ``AzurePlatformIMDS``
(169.254.169.254) and ``AzurePlatformLKM`` (Windows licensing: its addresses are not in the
fact sheet, so it matches nothing and validation says so). Expansion of the topology-dependent
tags lives in ``fabric.control``.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address

VIRTUAL_NETWORK = "VirtualNetwork"
AZURE_LOAD_BALANCER = "AzureLoadBalancer"
INTERNET = "Internet"
HOST_VIP = IPv4Address("168.63.129.16")
IMDS = IPv4Address("169.254.169.254")
# The tags that hold host platform addresses, with their contents.
PLATFORM_TAGS: dict[str, frozenset[IPv4Address]] = {
    AZURE_LOAD_BALANCER: frozenset({HOST_VIP}),
    "AzurePlatformDNS": frozenset({HOST_VIP}),
    "AzurePlatformIMDS": frozenset({IMDS}),
    "AzurePlatformLKM": frozenset(),
}
KNOWN_TAGS = frozenset({VIRTUAL_NETWORK, INTERNET, *PLATFORM_TAGS}) - {"AzurePlatformLKM"}

_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)?$")


def is_service_tag(value: str) -> bool:
    """True for a name like ``VirtualNetwork`` or ``Storage.EastUS`` (not ``*``, not an IP)."""
    return bool(_TAG.match(value))
