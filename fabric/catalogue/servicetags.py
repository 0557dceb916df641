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


# -- service endpoints (N16) and service-tag routes (§4.4 rule 4) ------------------------------

# N16: the services a subnet can have an endpoint for (the 2019 list of the service-endpoints
# overview), with the service tag of each: what ``routes`` shows as the address prefix of the
# endpoint's route while vnetsim has no prefixes for it. ``Storage`` is the tag §4.4 names; the
# others are the tags of Microsoft's service-tag list (not in azure-facts.md: our mapping).
ENDPOINT_SERVICE_TAGS: dict[str, str] = {
    "Microsoft.Storage": "Storage",
    "Microsoft.Sql": "Sql",
    "Microsoft.AzureCosmosDB": "AzureCosmosDB",
    "Microsoft.KeyVault": "AzureKeyVault",
    "Microsoft.ServiceBus": "ServiceBus",
    "Microsoft.EventHub": "EventHub",
    "Microsoft.Web": "AppService",
    "Microsoft.CognitiveServices": "CognitiveServicesManagement",
    "Microsoft.AzureActiveDirectory": "AzureActiveDirectory",
    "Microsoft.ContainerRegistry": "AzureContainerRegistry",
}

# Public prefixes of service tags, by tag. azure-facts.md gives none (N16: "no public prefix data
# is needed to show the route"), so the table is empty: an endpoint's route is then listed but
# not installed, and a service-tag UDR is left out of the FIB. A row added here needs its source
# (Microsoft's Service Tags JSON, with its change number). The Python API can pass prefixes to
# ``ControlPlane(service_tag_prefixes=...)`` instead.
SERVICE_TAG_PREFIXES: dict[str, tuple[str, ...]] = {}


def endpoint_tag(service: str) -> str:
    """The service tag that stands for ``service``'s prefixes (any case of the name; an unknown
    service stands for itself)."""
    for name, tag in ENDPOINT_SERVICE_TAGS.items():
        if name.lower() == service.lower():
            return tag
    return service


def tag_level(tag: str) -> int:
    """§4.4 rule 4: among service-tag routes of one prefix, a regional tag (``Storage.EastUS``)
    wins over a top-level tag (``Storage``), which wins over ``AzureCloud.<region>``, which
    wins over ``AzureCloud``. Lower wins."""
    top, _, region = tag.partition(".")
    if top.lower() == "azurecloud":
        return 2 if region else 3
    return 0 if region else 1
