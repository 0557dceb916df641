"""Azure Route Server figures (azure-facts.md N15).

Sources: AD:includes/route-server-limits.md (07/26/2022 to 02/07/2025), AD:articles/route-server/
route-server-faq.md (07/31/2022, 09/17/2025), AD:articles/route-server/quickstart-configure-route-
server-powershell.md (08/11/2023).
"""

ROUTE_SERVER_ASN = 65515  # N15.1: virtualRouterAsn, what the Route Server speaks as
SUBNET_MAX_PREFIXLEN = 27  # N15.1: RouteServerSubnet is /27 or larger
BGP_PEERS = 8  # N15.3: every revision
# N15.3 (drift, N19 item 10): 200 (preview), then 1,000; the 02/07/2025 include says 1,000,
# raisable to 4,000 by a support case; the 09/17/2025 FAQ gives 4,000 as the maximum. Above the
# limit the session is torn down. vnetsim applies the default and names the raised one.
ROUTES_PER_PEER = 1_000
ROUTES_PER_PEER_RAISED = 4_000
# N15.3: VMs in the VNet and its peered VNets: 2 routing infrastructure units by default, 4,000
# VMs (+1,000 per extra unit).
SUPPORTED_VMS = 4_000
# N15.1: an NVA's ASN is 16-bit and not reserved: 65515-65520 (N15.1) and the Azure and IANA
# reservations of §3.9.
RESERVED_PEER_ASNS = frozenset({8074, 8075, 12076, 23456, *range(64496, 64512), 65535})
RESERVED_PEER_ASN_RANGE = (65515, 65520)
MAX_PEER_ASN = 65535  # no 32-bit ASNs
