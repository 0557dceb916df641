"""The latency model: the region-pair round-trip table and the named modelling assumptions.

The table is data with a source and a date (azure-facts §7.2: AD:articles/networking/
azure-network-latency.md, dataset of 2024-06-20, P50 round trips in ms, directional). Every
number that Azure does not document is a named field of ``LatencyModel`` with its rationale,
and a scenario can override it (``simulation.parameters``).
"""

from __future__ import annotations

import attrs

# source region -> destination region: round-trip ms (§7.2, as published, directional).
_RTT_TABLE = """
East US | East US 2 | 9
East US 2 | East US | 10
East US | Central US | 31
North Central US | Central US | 14
South Central US | Central US | 27
Canada Central | East US | 20
East US | West US | 71
East US | West US 2 | 66
Central US | West US | 41
South Central US | West US | 36
West Central US | West US 2 | 25
Brazil South | East US | 119
UK South | East US | 79
West Europe | East US | 90
East US | West Europe | 89
North Europe | West US | 156
North Europe | West Europe | 19
West Europe | North Europe | 20
UK South | West Europe | 11
France Central | West Europe | 12
Germany West Central | West Europe | 11
Sweden Central | West Europe | 27
UK West | UK South | 7
UK South | UK West | 8
Japan West | Japan East | 12
Korea Central | Japan East | 33
Japan East | Southeast Asia | 73
East Asia | Southeast Asia | 36
Central India | Southeast Asia | 55
South India | Central India | 26
Australia Southeast | Australia East | 16
Australia East | Southeast Asia | 91
Japan East | West US 2 | 100
Australia East | West US | 140
Southeast Asia | East US | 234
Central India | East US | 203
"""


def region_key(name: str) -> str:
    """``West Europe``, ``westeurope`` and ``WestEurope`` all become ``westeurope``."""
    return "".join(name.split()).lower()


def _parse() -> dict[tuple[str, str], float]:
    table = {}
    for line in _RTT_TABLE.strip().splitlines():
        source, destination, rtt = (part.strip() for part in line.split("|"))
        table[(region_key(source), region_key(destination))] = float(rtt)
    return table


REGION_RTT_MS: dict[tuple[str, str], float] = _parse()


class UnknownRegionPair(LookupError):  # noqa: N818 - reads as what happened
    """No published latency for a region pair; the message says how to supply one."""


@attrs.frozen(slots=True)
class LatencyModel:
    """Latency figures used by the trace and the dataplane. Fields without a published source
    are our assumptions, named here so that a scenario can override them.

    Attributes:
        in_region_one_way_ms: VM to VM inside one region (same VNet or regionally peered).
            Azure publishes no absolute figure (§7.1, §11); 0.25 ms is half of a 0.5 ms round
            trip, a typical in-region figure, and within the "< 2 ms between zones" bound.
        gateway_processing_ms: time one VPN gateway instance spends on a packet (ESP
            encapsulation or decapsulation and forwarding). Not published; 0.3 ms assumed.
        appliance_processing_ms: time an NVA spends forwarding a packet. Not published; 0.1 ms.
        region_rtt_ms: extra region-pair round trips (keys are region_key() pairs) that extend
            or override the published table.
        gateway_buffer_bytes: waiting room of a gateway instance before tail drop. Not
            published; 2 MB (16 ms at 1 Gbps) assumed.
        nic_buffer_bytes: waiting room of a VM NIC's egress queue. Not published; 1 MB assumed.
        tunnel_mtu_bytes: largest outer packet on the tunnel before fragmentation: 1500, the
            default VM MTU (§1.4). An encapsulated packet above it becomes two outer packets.
        tcp_mss_bytes: TCP MSS on paths without a tunnel: MTU 1500 - 40 = 1460 (§3.8).
        vpn_tcp_mss_bytes: TCP MSS on tunnel paths: the documented clamp of 1350 (§3.8).
        hop_limit: IP TTL of synthetic packets; each virtual switch decrements it.
        on_premises_one_way_ms: from an Azure VPN gateway to an on-premises VPN device, one
            way. Not published for VPN; 2.5 ms assumed: half the nearest published on-premises
            round trip (Seattle -> West US 2 over ExpressRoute, 5 ms, N4.1). Set it per site.
    """

    in_region_one_way_ms: float = 0.25
    gateway_processing_ms: float = 0.3
    appliance_processing_ms: float = 0.1
    region_rtt_ms: dict[tuple[str, str], float] = attrs.field(factory=dict)
    gateway_buffer_bytes: int = 2_000_000
    nic_buffer_bytes: int = 1_000_000
    tunnel_mtu_bytes: int = 1500
    tcp_mss_bytes: int = 1460
    vpn_tcp_mss_bytes: int = 1350
    hop_limit: int = 64
    on_premises_one_way_ms: float = 2.5

    def round_trip_ms(self, source: str, destination: str) -> float:
        """Round trip between two regions: the table (either direction), else an error."""
        a, b = region_key(source), region_key(destination)
        if a == b:
            return 2 * self.in_region_one_way_ms
        for table in (self.region_rtt_ms, REGION_RTT_MS):
            forward, backward = table.get((a, b)), table.get((b, a))
            if forward is not None:
                return forward
            if backward is not None:
                return backward
        raise UnknownRegionPair(
            f"no published round-trip time between {source} and {destination}; add it under "
            f"simulation.parameters.region_rtt_ms as '{a}/{b}: <ms>'"
        )

    def one_way_ms(self, source: str, destination: str) -> float:
        """Half the round trip (latency is taken as symmetric within one direction's figure)."""
        return self.round_trip_ms(source, destination) / 2

    def with_overrides(self, overrides: dict) -> LatencyModel:
        """A copy with scenario overrides applied (unknown names are an error)."""
        known = {f.name for f in attrs.fields(LatencyModel)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown latency parameter(s) {unknown}; known: {sorted(known)}")
        changes = dict(overrides)
        if "region_rtt_ms" in changes:
            pairs = {}
            for key, value in changes["region_rtt_ms"].items():
                a, _, b = str(key).partition("/")
                pairs[(region_key(a), region_key(b))] = float(value)
            changes["region_rtt_ms"] = pairs
        return attrs.evolve(self, **changes)
