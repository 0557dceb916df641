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
# §3.5 (AD:includes/azure-virtual-network-gateway-limits.md, 2024): per VPN gateway.
VNET_PREFIXES_PER_VPN_GATEWAY = 600
BGP_ROUTES_PER_GATEWAY = 4_000  # the BGP session is dropped above it
PREFIXES_PER_LOCAL_NETWORK_GATEWAY = 1_000
SERVICE_TAG_ROUTES_PER_TABLE = 25
PRIVATE_IPS_PER_VNET = 65_536
PRIVATE_IPS_PER_PEERED_GROUP = 128_000
APPLICATION_SECURITY_GROUPS = 3_000
ASGS_PER_NIC = 20  # per IP configuration
ASGS_PER_RULE_SIDE = 10
ASGS_PER_NSG = 100  # across all rules of one NSG

# N3.2 (AD:articles/virtual-network/virtual-machine-network-throughput.md): flows per VM.
FLOWS_PER_VM_DIRECTION = 500_000  # 500k inbound + 500k outbound
FLOWS_PER_APPLIANCE = 250_000  # a VM forwarding traffic: 250k active connections

# N8.2 (AD:articles/virtual-network-manager/concept-limitations.md, 07/18/2023 and 09/16/2026;
# concept-connectivity-configuration.md, 11/18/2025): Azure Virtual Network Manager.
VNETS_PER_CONNECTED_GROUP = 250  # the default
# With the AllowHighScaleConnectedGroup feature: 3,000 on the newest limitations page
# (09/16/2026); the connectivity page (11/18/2025) says 5,000 (drift, N9.9). Model the newest.
VNETS_PER_CONNECTED_GROUP_HIGH_SCALE = 3_000
CONNECTED_GROUPS_PER_VNET = 2  # a soft limit in 2026, raisable by a request form
SPOKES_PER_AVNM_HUB = 1_000  # 2026; 2023: at most 500 VNets peered to the hub in total
# Security admin rules (concept-limitations, 2023 and 2026): IP prefixes across all admin
# rules, 1,000 in 2023, 20,000 in 2026 (the newest is modelled). The sheet's "<= 100 rules per
# level" does not say what a level is, so it is not checked.
ADMIN_RULE_IP_PREFIXES = 20_000

# N18.1 (AD:articles/virtual-network/nat-gateway/nat-overview.md, 03/17/2022): NAT gateway.
PUBLIC_IPS_PER_NAT_GATEWAY = 16  # public IPs and prefixes (Standard SKU, IPv4)
NAT_TCP_IDLE_TIMEOUT_MIN_MINUTES = 4  # also the default
NAT_TCP_IDLE_TIMEOUT_MAX_MINUTES = 120
NAT_UDP_IDLE_TIMEOUT_MINUTES = 4  # fixed
