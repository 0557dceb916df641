"""ExpressRoute circuits: sizes, SKU tiers, VNet links, route limits, and the peering locations.

Data with sources (azure-facts.md Part II N1): N1.5 (AD:articles/expressroute/expressroute-faqs.md
03/24/2022; AD:includes/expressroute-limits.md; AD:articles/expressroute/expressroute-erdirect-
about.md 07/10/2019), N1.1 (gateway-wide limits), N1.4 (FastPath IP limits).

The peering-location table is vnetsim's own, not the fact sheet's: N1.5 states the rules (a
Local circuit reaches only the region(s) in or near its metro; a Standard circuit, the regions of
its geopolitical area) but not which regions those are. ``PEERING_LOCATIONS`` names, for the
metros it knows, the Azure region(s) in or nearest the metro and the geopolitical area, after
Microsoft's ExpressRoute locations page; ``REGION_AREAS`` names the areas of regions. A metro or
region missing from them is not guessed: reach is then not checked (a finding says so) and the
latency needs an override (``LatencyModel.peering_location_rtt_ms``).
"""

from __future__ import annotations

import attrs

TIERS = ("Local", "Standard", "Premium")
FAMILIES = ("MeteredData", "UnlimitedData")
PROVISIONED = "Provisioned"
PROVISIONING_STATES = ("NotProvisioned", "Provisioning", PROVISIONED, "Deprovisioning")

# N1.5: provider circuit sizes; ExpressRoute Direct circuits on 10 Gbps ports (1/2/5/10 Gbps)
# and 100 Gbps ports (5/10/40/100 Gbps).
PROVIDER_SIZES_MBPS = (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000)
DIRECT_SIZES_MBPS = (1_000, 2_000, 5_000, 10_000, 40_000, 100_000)

# N1.5: VNet links per circuit by size, Local/Standard vs Premium (Global Reach connections count
# against the same number; Global Reach is not modelled).
_LINKS_TABLE = """
50      10  20
100     10  25
200     10  25
500     10  40
1000    10  50
2000    10  60
5000    10  75
10000   10 100
40000   10 100
100000  10 100
"""
VNET_LINKS: dict[int, tuple[int, int]] = {
    int(size): (int(standard), int(premium))
    for size, standard, premium in (line.split() for line in _LINKS_TABLE.strip().splitlines())
}

# N1.5: IPv4 routes on-premises may advertise into private peering; above it the BGP session
# drops until the count is under the limit again.
ON_PREMISES_ROUTES = {"Local": 4_000, "Standard": 4_000, "Premium": 10_000}
CIRCUITS_PER_SUBSCRIPTION = 50  # N1.5 (raise via support)
# N1.1
GATEWAY_ADVERTISED_ROUTES = 1_000  # IPv4, gateway -> circuit; above it the connection drops
ROUTING_DOMAIN_ROUTES = 11_000  # VNet spaces + on-premises + peered VNets: stay under it
CIRCUITS_PER_PEERING_LOCATION_PER_VNET = 4  # whatever the SKU
ROUTING_WEIGHT_RANGE = (0, 32_000)  # N1.7, default 0
AZURE_ASN = 12076  # N1.7: the AS path Azure shows for ER-learned routes starts with 12076
# N1.4: FastPath IP limits (above them new FastPath routes are not programmed: via the gateway)
FASTPATH_IPS_PROVIDER = 25_000
FASTPATH_IPS_DIRECT_10G = 100_000
FASTPATH_IPS_DIRECT_100G = 200_000
# N1.2: GatewaySubnet sizes for ExpressRoute
COEXISTENCE_MAX_PREFIXLEN = 27  # ER + VPN in one VNet: /27 or shorter, else creation fails
SIXTEEN_CIRCUITS = 16
SIXTEEN_CIRCUITS_MAX_PREFIXLEN = 26  # 16 circuits on one gateway: /26 or larger


def vnet_links(bandwidth_mbps: float, tier: str) -> int | None:
    """N1.5: how many VNets may link to a circuit of this size and tier (None: not a size)."""
    row = VNET_LINKS.get(int(bandwidth_mbps)) if float(bandwidth_mbps).is_integer() else None
    if row is None:
        return None
    return row[1] if tier == "Premium" else row[0]


def fastpath_ip_limit(direct: bool, bandwidth_mbps: float) -> int:
    """N1.4: FastPath IP limit of a circuit. A Direct circuit above 10 Gbps is on a 100 Gbps
    port; at or below 10 Gbps the port is taken as 10 Gbps (the smaller limit: the port's size is
    not in the model)."""
    if not direct:
        return FASTPATH_IPS_PROVIDER
    return FASTPATH_IPS_DIRECT_100G if bandwidth_mbps > 10_000 else FASTPATH_IPS_DIRECT_10G


@attrs.frozen(slots=True)
class PeeringLocation:
    """A metro where circuits meet Microsoft (MSEE pair): the Azure region(s) in or nearest it
    (the first is the nearest) and its geopolitical area."""

    name: str
    regions: tuple[str, ...]
    area: str

    @property
    def nearest_region(self) -> str:
        return self.regions[0]


# metro | region(s) in or nearest it, nearest first | geopolitical area  (vnetsim's table)
_LOCATIONS_TABLE = """
Amsterdam      | westeurope               | Europe
Amsterdam2     | westeurope               | Europe
Dublin         | northeurope              | Europe
London         | uksouth                  | Europe
London2        | uksouth                  | Europe
Newport(Wales) | ukwest                   | Europe
Paris          | francecentral            | Europe
Frankfurt      | germanywestcentral       | Europe
Stockholm      | swedencentral            | Europe
Washington DC  | eastus, eastus2          | North America
Chicago        | northcentralus           | North America
San Antonio    | southcentralus           | North America
Des Moines     | centralus                | North America
Silicon Valley | westus                   | North America
Seattle        | westus2                  | North America
Toronto        | canadacentral            | North America
Sao Paulo      | brazilsouth              | South America
Tokyo          | japaneast                | Japan
Osaka          | japanwest                | Japan
Seoul          | koreacentral             | Korea
Singapore      | southeastasia            | Asia
Hong Kong      | eastasia                 | Asia
Pune           | centralindia             | India
Chennai        | southindia               | India
Sydney         | australiaeast            | Australia
Melbourne      | australiasoutheast       | Australia
"""

# region | geopolitical area  (vnetsim's table, after Microsoft's ExpressRoute locations page)
_AREAS_TABLE = """
Europe        | westeurope northeurope uksouth ukwest francecentral germanywestcentral
                swedencentral norwayeast switzerlandnorth italynorth polandcentral spaincentral
North America | eastus eastus2 centralus northcentralus southcentralus westcentralus westus
                westus2 westus3 canadacentral canadaeast
South America | brazilsouth
Japan         | japaneast japanwest
Korea         | koreacentral koreasouth
Asia          | eastasia southeastasia
India         | centralindia southindia westindia
Australia     | australiaeast australiasoutheast australiacentral
"""


def location_key(name: str) -> str:
    """``Washington DC``, ``washingtondc`` and ``WASHINGTON DC`` all become ``washingtondc``
    (the same folding as ``latency.region_key``, so regions are keyed alike)."""
    return "".join(str(name).split()).lower()


region_key = location_key


def _parse_locations() -> dict[str, PeeringLocation]:
    table = {}
    for line in _LOCATIONS_TABLE.strip().splitlines():
        name, regions, area = (part.strip() for part in line.split("|"))
        found = tuple(region_key(r) for r in regions.split(","))
        table[location_key(name)] = PeeringLocation(name, found, area)
    return table


def _parse_areas() -> dict[str, str]:
    areas: dict[str, str] = {}
    area = ""
    for line in _AREAS_TABLE.strip().splitlines():
        label, _, regions = line.rpartition("|")
        area = label.strip() or area
        for region in regions.split():
            areas[region_key(region)] = area
    return areas


PEERING_LOCATIONS: dict[str, PeeringLocation] = _parse_locations()
REGION_AREAS: dict[str, str] = _parse_areas()


def peering_location(name: str) -> PeeringLocation | None:
    """The known metro called ``name`` (any case and spacing), else None."""
    return PEERING_LOCATIONS.get(location_key(name))


def region_area(region: str) -> str | None:
    """The geopolitical area of ``region`` (vnetsim's table), else None."""
    return REGION_AREAS.get(region_key(region))


@attrs.frozen(slots=True)
class Reach:
    """Whether a circuit of ``tier`` at ``location`` may link a VNet in ``region`` (N1.5):
    ``allowed`` None when vnetsim's tables do not know the metro or the region."""

    allowed: bool | None
    why: str


def reach(tier: str, location: str, region: str) -> Reach:
    """N1.5: Local reaches the region(s) in or near its metro, Standard the regions of its
    geopolitical area, Premium every region."""
    if tier == "Premium":
        return Reach(True, "a Premium circuit reaches every region")
    metro = peering_location(location)
    if metro is None:
        return Reach(None, f"peering location {location!r} is not in vnetsim's metro table")
    here = region_key(region)
    if tier == "Local":
        if here in metro.regions:
            return Reach(True, f"{here} is local to {metro.name}")
        return Reach(
            False,
            f"a Local circuit at {metro.name} reaches only {', '.join(metro.regions)}, not "
            f"{here}; use Standard (same geopolitical area) or Premium",
        )
    area = region_area(here)
    if area is None:
        return Reach(None, f"region {here} is not in vnetsim's geopolitical-area table")
    if area == metro.area:
        return Reach(True, f"{here} and {metro.name} are both in {area}")
    return Reach(
        False,
        f"a Standard circuit at {metro.name} ({metro.area}) reaches only regions in "
        f"{metro.area}, not {here} ({area}); use Premium",
    )
