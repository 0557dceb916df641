"""Gateway SKU catalogue: VPN (tunnels, P2S pools, throughput, BGP, zones, per-tunnel caps)
and ExpressRoute (Mbps, packets per second, VMs, flows, routes, circuits, FastPath; N1.1).

Data, not code: two tables copied from ../shared/reference/azure-facts.md and parsed at import.
Sources: §3.2 AD:includes/vpn-gateway-table-gwtype-aggtput-include.md (2023 and newest);
§3.3 AD:articles/vpn-gateway/about-gateway-skus.md; §3.4
AD:includes/vpn-gateway-table-sku-performance.md (2024). Read 2026-11-26.
"""

from __future__ import annotations

import difflib

import attrs

# gen | sku | s2s tunnels | p2s sstp | p2s ikev2/openvpn (0 = not supported) | aggregate Mbps |
# bgp | zone redundant | supported VMs
_AGGREGATE_TABLE = """
1 Basic     10  128     0   100  no  no   200
1 VpnGw1    30  128   250   650 yes  no   450
1 VpnGw2    30  128   500  1000 yes  no  1300
1 VpnGw3    30  128  1000  1250 yes  no  4000
1 VpnGw1AZ  30  128   250   650 yes yes  1000
1 VpnGw2AZ  30  128   500  1000 yes yes  2000
1 VpnGw3AZ  30  128  1000  1250 yes yes  5000
2 VpnGw2    30  128   500  1250 yes  no   685
2 VpnGw3    30  128  1000  2500 yes  no  2240
2 VpnGw4   100  128  5000  5000 yes  no  5300
2 VpnGw5   100  128 10000 10000 yes  no  6700
2 VpnGw2AZ  30  128   500  1250 yes yes  2000
2 VpnGw3AZ  30  128  1000  2500 yes yes  3300
2 VpnGw4AZ 100  128  5000  5000 yes yes  4400
2 VpnGw5AZ 100  128 10000 10000 yes yes  9000
1 Standard  10  128     0   100 yes  no     0
1 HighPerformance 30 128 0  200 yes  no     0
"""
# The last two rows are the legacy SKUs (N13.1): aggregate "a rough estimate based on the
# measurements between VNets in the same Azure region"; P2S 128 (SSTP); no published count of
# supported VMs (0 = not published) and no per-tunnel table, so the aggregate is the tunnel cap.
LEGACY_SKUS = {"Standard": "VpnGw1AZ", "HighPerformance": "VpnGw2AZ"}  # N13.2: auto-upgrade to

# gen | skus sharing the row | GCMAES256 Mbps pps | AES256+SHA256 Mbps pps | DES3+SHA256 Mbps pps
_PER_TUNNEL_TABLE = """
1 VpnGw1,VpnGw1AZ  650  62000 500 47000 130 12000
1 VpnGw2          1200 100000 650 61000 140 13000
1 VpnGw2AZ        1200 110000 650 61000 140 13000
1 VpnGw3,VpnGw3AZ 1250 120000 700 66000 140 13000
2 VpnGw2,VpnGw2AZ 1250 120000 550 52000 130 12000
2 VpnGw3,VpnGw3AZ 1500 140000 700 66000 140 13000
2 VpnGw4,VpnGw4AZ 2300 220000 700 66000 140 13000
2 VpnGw5,VpnGw5AZ 2300 220000 700 66000 140 13000
"""

GENERATIONS = {"Generation1": 1, "Generation2": 2}
CIPHER_COLUMNS = ("GCMAES256", "AES256_SHA256", "DES3_SHA256")
DEFAULT_CIPHER = "GCMAES256"  # derived (§3.7): both Azure gateways offer GCM-AES256 first


@attrs.frozen(slots=True)
class TunnelCap:
    """Measured per-tunnel throughput for one cipher (§3.4)."""

    mbps: float
    pps: int


@attrs.frozen(slots=True)
class SkuSpec:
    """What one VPN gateway SKU of one generation can do."""

    name: str
    generation: int
    s2s_tunnels: int
    p2s_sstp: int
    p2s_ikev2: int
    aggregate_mbps: float
    bgp: bool
    zone_redundant: bool
    supported_vms: int
    tunnel_caps: dict[str, TunnelCap] = attrs.field(factory=dict, eq=False)

    @property
    def active_active(self) -> bool:
        """§3.3: every SKU except Basic supports active-active; of the legacy SKUs only
        HighPerformance (N13.1)."""
        return self.name not in ("Basic", "Standard")

    @property
    def legacy(self) -> bool:
        """A retired SKU (N13.2): no new gateways since 1 Dec 2023; existing ones keep the
        legacy numbers until migrated (to ``LEGACY_SKUS[name]``)."""
        return self.name in LEGACY_SKUS

    @property
    def gateway_transit(self) -> bool:
        """§3.3: no gateway transit on Basic (§9: accepted by Azure, so only a warning)."""
        return self.name != "Basic"

    @property
    def policy_based(self) -> bool:
        """§3.1: PolicyBased gateways exist only on Basic."""
        return self.name == "Basic"

    def tunnel_cap(self, cipher: str) -> TunnelCap | None:
        """Per-tunnel cap for ``cipher``; None where Microsoft published no figure (Basic)."""
        return self.tunnel_caps.get(cipher)


def _parse() -> dict[tuple[str, int], SkuSpec]:
    caps: dict[tuple[str, int], dict[str, TunnelCap]] = {}
    for line in _PER_TUNNEL_TABLE.strip().splitlines():
        gen, names, *numbers = line.split()
        values = [int(n) for n in numbers]
        row = {
            cipher: TunnelCap(values[2 * i], values[2 * i + 1])
            for i, cipher in enumerate(CIPHER_COLUMNS)
        }
        for name in names.split(","):
            caps[(name, int(gen))] = row
    catalogue = {}
    for line in _AGGREGATE_TABLE.strip().splitlines():
        gen, name, s2s, sstp, ikev2, mbps, bgp, zones, vms = line.split()
        key = (name, int(gen))
        catalogue[key] = SkuSpec(
            name=name,
            generation=int(gen),
            s2s_tunnels=int(s2s),
            p2s_sstp=int(sstp),
            p2s_ikev2=int(ikev2),
            aggregate_mbps=float(mbps),
            bgp=bgp == "yes",
            zone_redundant=zones == "yes",
            supported_vms=int(vms),
            tunnel_caps=caps.get(key, {}),
        )
    return catalogue


CATALOGUE: dict[tuple[str, int], SkuSpec] = _parse()
SKU_NAMES: tuple[str, ...] = tuple(dict.fromkeys(name for name, _ in CATALOGUE))


class UnknownSku(LookupError):  # noqa: N818 - reads as a finding name
    """A SKU/generation pair that Azure does not offer; the message names the alternatives."""


def generation_number(generation: str | int) -> int:
    """``Generation1``/``Generation2`` (ARM spelling) or 1/2 to the number."""
    if generation in (1, 2):
        return int(generation)
    if generation in GENERATIONS:
        return GENERATIONS[generation]
    raise UnknownSku(f"unknown gateway generation {generation!r}; use Generation1 or Generation2")


def lookup(sku: str, generation: str | int = "Generation1") -> SkuSpec:
    """The catalogue entry for ``sku`` in ``generation``, or UnknownSku with a suggestion."""
    gen = generation_number(generation)
    spec = CATALOGUE.get((sku, gen))
    if spec is not None:
        return spec
    if sku in SKU_NAMES:
        gens = sorted(f"Generation{g}" for name, g in CATALOGUE if name == sku)
        raise UnknownSku(
            f"SKU {sku} is not offered in Generation{gen}; it exists in {', '.join(gens)}"
        )
    close = difflib.get_close_matches(sku, SKU_NAMES, n=1)
    hint = f"; did you mean {close[0]}?" if close else f"; known SKUs: {', '.join(SKU_NAMES)}"
    raise UnknownSku(f"unknown VPN gateway SKU {sku!r}{hint}")


def sku(name: str, generation: str | int = "Generation1") -> SkuSpec:
    """Public shorthand for ``lookup``: ``fabric.sku("VpnGw2", "Generation2")``."""
    return lookup(name, generation)


# -- ExpressRoute gateway SKUs ----------------------------------------------------------------
# N1.1 (AD:includes/expressroute-gwsku-include.md 11/06/2025, expressroute-gateway-performance-
# include.md 07/09/2024, scalable-gateway.md 06/25/2025): the "maximum supported limits" table.
# N1.3: the AZ SKUs and ErGwScale are zone-redundant (or zonal); the classic three are not.
# sku (the names that share the row) | Mbps | packets/s | supported VMs | flows | routes learned |
# max circuit connections | FastPath | zone redundant
_EXPRESS_ROUTE_TABLE = """
Standard,ErGw1AZ                1000   100000  2000   200000 4000  4 no  no,yes
HighPerformance,ErGw2AZ         2000   200000  4500   400000 9500  8 no  no,yes
UltraPerformance,ErGw3AZ       10000  1000000 11000  1000000 9500 16 yes no,yes
"""
# N1.1 ErGwScale, per scale unit: units 1-10 give 1,000 Mbps, 100,000 pps, 2,000 VMs and 100,000
# flows each; units 11-40 give 1,000 Mbps, 200,000 pps, 1,000 VMs and 100,000 flows each (the
# per-unit rows add up: 40 units = 7,000,000 pps and 50,000 VMs, as N9 item 2 derives).
SCALE_UNIT_RANGE = (1, 40)  # N1.1: min >= 1, max <= 40
_SCALE_FIRST_TIER_UNITS = 10
_SCALE_PER_UNIT = {"mbps": 1000, "flows": 100_000}
_SCALE_TIERS = {"pps": (100_000, 200_000), "vms": (2_000, 1_000)}
_SCALE_ROUTES = 9_500  # per gateway (N9 item 2: the 2025/2026 figure, not the 2024 60,000)
_SCALE_CONNECTIONS = ((10, 16), (2, 8), (1, 4))  # (at least this many units, circuits)
_SCALE_FASTPATH_UNITS = 10  # N1.4: FastPath on ErGwScale needs >= 10 scale units
EXPRESS_ROUTE_BASIC_MBPS = 500  # N13.1/N13.3: deprecated for use with ExpressRoute
EXPRESS_ROUTE_MAX_PACKET_BYTES = 1_400  # N1.1: largest TCP/UDP packet through an ER gateway


@attrs.frozen(slots=True)
class ExpressRouteSkuSpec:
    """What one ExpressRoute gateway SKU can do (N1.1); for ErGwScale, at ``scale_units``."""

    name: str
    mbps: float
    pps: int
    supported_vms: int
    flows: int
    routes_learned: int
    circuit_connections: int
    fastpath: bool
    zone_redundant: bool
    scale_units: int | None = None


def _parse_express_route() -> dict[str, ExpressRouteSkuSpec]:
    catalogue = {}
    for line in _EXPRESS_ROUTE_TABLE.strip().splitlines():
        names, mbps, pps, vms, flows, routes, circuits, fastpath, zones = line.split()
        for name, zone_redundant in zip(names.split(","), zones.split(","), strict=True):
            catalogue[name.lower()] = ExpressRouteSkuSpec(
                name,
                float(mbps),
                int(pps),
                int(vms),
                int(flows),
                int(routes),
                int(circuits),
                fastpath == "yes",
                zone_redundant == "yes",
            )
    return catalogue


EXPRESS_ROUTE_CATALOGUE: dict[str, ExpressRouteSkuSpec] = _parse_express_route()
EXPRESS_ROUTE_SKU_NAMES: tuple[str, ...] = (
    *(spec.name for spec in EXPRESS_ROUTE_CATALOGUE.values()),
    "ErGwScale",
)


def scalable(units: int) -> ExpressRouteSkuSpec:
    """ErGwScale at ``units`` scale units (N1.1): the per-unit figures added up."""
    low, high = SCALE_UNIT_RANGE
    if isinstance(units, bool) or not isinstance(units, int) or not low <= units <= high:
        raise UnknownSku(f"ErGwScale takes {low} to {high} scale units, not {units!r}")
    first = min(units, _SCALE_FIRST_TIER_UNITS)
    rest = units - first
    pps = first * _SCALE_TIERS["pps"][0] + rest * _SCALE_TIERS["pps"][1]
    vms = first * _SCALE_TIERS["vms"][0] + rest * _SCALE_TIERS["vms"][1]
    circuits = next(count for floor, count in _SCALE_CONNECTIONS if units >= floor)
    return ExpressRouteSkuSpec(
        "ErGwScale",
        float(units * _SCALE_PER_UNIT["mbps"]),
        pps,
        vms,
        units * _SCALE_PER_UNIT["flows"],
        _SCALE_ROUTES,
        circuits,
        units >= _SCALE_FASTPATH_UNITS,
        True,
        units,
    )


def express_route_sku(name: str, scale_units: int | None = None) -> ExpressRouteSkuSpec:
    """The ExpressRoute gateway SKU ``name`` (any case: ARM writes ``ErGw1AZ``, the docs
    ``ErGw1Az``); ErGwScale at ``scale_units`` (None: the minimum, 1). UnknownSku otherwise,
    naming the deprecated Basic SKU (N13.3) and the nearest known name."""
    key = str(name).lower()
    if key == "ergwscale":
        return scalable(SCALE_UNIT_RANGE[0] if scale_units is None else scale_units)
    spec = EXPRESS_ROUTE_CATALOGUE.get(key)
    if spec is not None:
        return spec
    if key == "basic":
        raise UnknownSku(
            f"the Basic SKU ({EXPRESS_ROUTE_BASIC_MBPS} Mbps) is deprecated for use with "
            "ExpressRoute (N13.3); use ErGw1AZ or larger"
        )
    close = difflib.get_close_matches(str(name), EXPRESS_ROUTE_SKU_NAMES, n=1, cutoff=0.5)
    hint = (
        f"; did you mean {close[0]}?"
        if close
        else f"; known SKUs: {', '.join(EXPRESS_ROUTE_SKU_NAMES)}"
    )
    raise UnknownSku(f"unknown ExpressRoute gateway SKU {name!r}{hint}")
