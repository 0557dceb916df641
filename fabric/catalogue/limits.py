"""Azure networking limits (per subscription per region unless noted).

Source: azure-facts.md §1.5, AD:includes/azure-virtual-network-limits.md (2022 version);
service-tag routes: AD:articles/virtual-network/virtual-networks-udr-overview.md.
"""

VNETS_PER_REGION = 1_000
SUBNETS_PER_VNET = 3_000
PEERINGS_PER_VNET = 500
VPN_GATEWAYS_PER_VNET = 1
NSGS_PER_REGION = 5_000
RULES_PER_NSG = 1_000
ADDRESSES_PER_RULE_SIDE = 4_000
ROUTE_TABLES_PER_REGION = 200
ROUTES_PER_TABLE = 400
SERVICE_TAG_ROUTES_PER_TABLE = 25
