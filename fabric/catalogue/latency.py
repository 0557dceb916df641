"""The latency model: the region-pair round-trip table and the named modelling assumptions.

The table is data with a source and a date (azure-facts §7.2: AD:articles/networking/
azure-network-latency.md, dataset of 2024-06-20, P50 round trips in ms, directional). Every
number that Azure does not document is a named field of ``LatencyModel`` with its rationale,
and a scenario can override it (``simulation.parameters``).
"""

from __future__ import annotations

import difflib
import math

import attrs

from fabric.catalogue.circuits import location_key, peering_location

# source region -> destination region: round-trip ms (§7.2, as published, directional). The
# last two rows are §7.2's note: the West US <-> West US 2 cells are misaligned in the source,
# "treat West US <-> West US 2 as about 24-25 ms" (which direction holds which is not known).
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
West US | West US 2 | 24
West US 2 | West US | 25
"""


def _number_in(value: object, low: float, high: float) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and low <= value <= high
    )


def _suggest(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(choices))}"


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


# The two mappings of pair -> ms a scenario may extend: how a key is written, and its kind.
_PAIR_TABLES = {"region_rtt_ms": "region/region", "peering_location_rtt_ms": "Metro/region"}

# Parameters that bound a range (min, max): an override must keep min <= max.
_RANGE_PAIRS = (
    ("active_standby_planned_min_s", "active_standby_planned_max_s"),
    ("active_standby_unplanned_min_s", "active_standby_unplanned_max_s"),
)


def _assumption(default, unit: str, rationale: str, low: float = 0, high: float = 1e6):
    """A named modelling assumption: its default, unit, valid range and why (reported in
    results; a scenario's override outside ``[low, high]`` is refused)."""
    metadata = {"unit": unit, "rationale": rationale, "range": (low, high)}
    return attrs.field(default=default, metadata=metadata)


@attrs.frozen(slots=True)
class LatencyModel:
    """The simulator's named assumptions: every figure Azure does not publish, with its unit and
    rationale (``assumptions()`` lists them; results.json carries that list). A scenario can
    override any of them under ``simulation.parameters``.

    How a path's one-way latency is built (documented decision): a path that stays in one
    region adds one in-region leg per move between nodes (VM, appliance, gateway), the
    cross-zone figure when both ends' zones are known and differ; a path between regions takes
    the published region-pair figure once per region change (§7.2: it is VM to VM, end to end),
    so the in-region legs around it add nothing; every gateway and appliance the packet passes
    adds its processing time once.
    """

    in_region_one_way_ms: float = _assumption(
        0.25,
        "ms",
        "one move between nodes in one region, same zone or zone unknown: half of a 0.5 ms "
        "round trip; Azure publishes no absolute in-region figure (§7.1, §11)",
    )
    cross_zone_one_way_ms: float = _assumption(
        0.5,
        "ms",
        "one move between VMs in different availability zones: half of a 1 ms round trip, half "
        "of the documented bound of 2 ms between zones (§7.1)",
    )
    gateway_processing_ms: float = _assumption(
        0.3,
        "ms",
        "one VPN gateway instance handling a packet (ESP encapsulation or decapsulation and "
        "forwarding), added once per gateway traversed; not published",
    )
    appliance_processing_ms: float = _assumption(
        0.1, "ms", "a network virtual appliance forwarding a packet; not published"
    )
    firewall_processing_ms: float = _assumption(
        0.0,
        "ms",
        "Azure Firewall forwarding a packet: not published. The ~1 ms of its 'latency probe' "
        "metric is the firewall's internal baseline, not the delay it adds to a path (N11.3), "
        "so none is added unless set (1.0 models that baseline)",
    )
    firewall_capacity_mbps: float = _assumption(
        0.0,
        "Mbps",
        "what an Azure Firewall carries in a run; 0 means its tier's out-of-the-box capacity "
        "(Standard 3 Gbps, Premium 18 Gbps, Basic 250 Mbps, N11.2), because autoscaling takes "
        "5-7 minutes, longer than a simulated run; set it (up to the tier's ceiling of 30 or "
        "100 Gbps, N11.1) for a prescaled or scaled-out firewall",
        0,
        100_000,
    )
    on_premises_one_way_ms: float = _assumption(
        2.5,
        "ms",
        "from a VM in the gateway's region to an on-premises site over VPN, one way; not "
        "published for VPN: half the nearest published on-premises round trip (Seattle to West "
        "US 2 over ExpressRoute, 5 ms, N4.1); set it per site",
    )
    region_rtt_ms: dict[tuple[str, str], float] = attrs.field(
        factory=dict,
        metadata={
            "unit": "ms",
            "rationale": "extra region-pair round trips of the scenario",
            "range": (0, 1e4),
        },
    )
    express_route_gateway_processing_ms: float = _assumption(
        0.1,
        "ms",
        "one ExpressRoute gateway handling a packet (forwarding, no encryption: N1.6), added "
        "once per gateway traversed; not published: the appliance figure, since an ER gateway "
        "forwards without ESP work",
    )
    peering_location_tail_rtt_ms: float = _assumption(
        5.0,
        "ms",
        "round trip between a peering location (MSEE) and the Azure region in or nearest its "
        "metro: Microsoft measured 5 ms from an on-premises host in Seattle over ExpressRoute to "
        "a VM in West US 2, 191 km away (N4.1). A region farther away adds the published "
        "region-pair round trip (§7.2) between it and that nearest region: RTT(region, metro) "
        "= RTT(region, nearest region of the metro) + this (N1.6's derived model). The metro's "
        "nearest region comes from vnetsim's own table (fabric.catalogue.circuits."
        "PEERING_LOCATIONS; the fact sheet is silent on it). On-premises sits at the metro. "
        "Checked against N4.1: Seattle to East US 71 ms modelled vs 74 measured, to Japan East "
        "105 vs 106",
        0,
        1000,
    )
    peering_location_rtt_ms: dict[tuple[str, str], float] = attrs.field(
        factory=dict,
        metadata={
            "unit": "ms",
            "rationale": "round trips between a peering location and a region given by the "
            "scenario (as 'Metro/region'), used instead of the derived figure",
            "range": (0, 1e4),
        },
    )
    express_route_tcp_mss_bytes: int = _assumption(
        1360,
        "bytes",
        "TCP MSS of a flow through an ExpressRoute gateway: 1,400 - 40, so that its packets "
        "fit the documented 1,400-byte maximum TCP/UDP packet through the gateway (N1.1; larger "
        "ones are dropped: fragments are not supported, N9 item 3); Azure documents no clamp",
        536,
        8960,
    )
    gateway_buffer_ms: float = _assumption(
        16.0,
        "ms",
        "the queue a gateway instance (VPN or ExpressRoute), each tunnel and each direction of "
        "an ExpressRoute circuit hold before tail drop, as time at their "
        "caps: bytes = Mbps cap x 16 ms, packets = pps cap x 16 ms (whichever fills first), so "
        "neither large nor small packets wait longer; 16 ms is a common router buffer of a "
        "fraction of a WAN round trip; Azure publishes none",
    )
    nic_buffer_bytes: int = _assumption(
        1_000_000, "bytes", "the egress queue of a VM before tail drop; not published", 0, 1e10
    )
    tunnel_mtu_bytes: int = _assumption(
        1500,
        "bytes",
        "largest outer packet on a tunnel before fragmentation: the default VM MTU (§1.4)",
        576,
        9000,
    )
    tcp_mss_bytes: int = _assumption(
        1460, "bytes", "TCP MSS without a tunnel: MTU 1500 - 40 (§3.8)", 536, 8960
    )
    vpn_tcp_mss_bytes: int = _assumption(
        1350, "bytes", "TCP MSS through a tunnel: the documented clamp (§3.8)", 536, 8960
    )
    hop_limit: int = _assumption(
        64, "hops", "IP TTL of synthetic packets (each virtual switch decrements it)", 1, 255
    )
    send_jitter_us: float = _assumption(
        50.0,
        "us",
        "each packet of an open-loop flow's constant-rate stretches leaves up to this much late "
        "(uniformly, at most one packet gap), and each flow starts at a random phase, both from "
        "the flow's own random stream: Linux wakes a sleeping sender up to timer_slack_ns = 50 "
        "us late by default; without it, phase-locked identical senders let one flow win every "
        "race for a full queue's last slot (the phase effect of Floyd and Jacobson, 1992)",
    )

    # -- recovery: how the fabric behaves around a failure or a change (scenario events:) --
    active_standby_planned_min_s: float = _assumption(
        10.0,
        "s",
        "shortest outage of an active-standby VPN gateway when its active instance goes down "
        "for planned maintenance: N2.1, 'restored within 10 to 15 seconds' (2016 and 2024 "
        "docs); each such event draws its outage uniformly between the min and the max",
        0,
        3600,
    )
    active_standby_planned_max_s: float = _assumption(
        15.0, "s", "longest planned-maintenance outage of an active-standby gateway (N2.1)", 0, 3600
    )
    active_standby_unplanned_min_s: float = _assumption(
        60.0,
        "s",
        "shortest outage of an active-standby gateway whose active instance fails (unplanned): "
        "N2.1 (2024) 'about 1 to 3 minutes in the worst case'; the docs give no typical value, "
        "so each failure draws uniformly between the min and the max (the least-assuming "
        "distribution on the documented range); legacy 2016 text: 60 to 90 s",
        0,
        3600,
    )
    active_standby_unplanned_max_s: float = _assumption(
        180.0, "s", "longest unplanned failover of an active-standby gateway (N2.1, 2024)", 0, 3600
    )
    active_active_failover_s: float = _assumption(
        5.0,
        "s",
        "active-active gateway: time from an instance going down until its tunnels' traffic "
        "moves to the other instance; packets sent into the lost tunnels meanwhile are lost. "
        "Not published: N2.2 says only that the Azure side switches automatically (N2.1: "
        "'restored quickly'); 5 s reads N1.8's measured move of traffic to a surviving path, "
        "'a few seconds (less than 10)', as its middle",
        0,
        3600,
    )
    bgp_hold_time_s: float = _assumption(
        180.0,
        "s",
        "BGP hold timer: a BGP session whose tunnel went down is declared dead, and the routes "
        "learned over it withdrawn, this long after (N1.8: without BFD up to ~3 min, hold 180 "
        "s; documented for ExpressRoute, taken for VPN BGP sessions too, for which no BFD is "
        "documented)",
        0,
        3600,
    )
    bfd_detection_s: float = _assumption(
        0.9,
        "s",
        "BFD failure detection on ExpressRoute private peering: 300 ms x 3 (N1.8, on by default "
        "on the MSEE side); a circuit_link_down on a circuit with bfd: true is detected this "
        "long after (bgp_hold_time_s without BFD); not for VPN tunnels, which have no BFD",
        0,
        3600,
    )
    route_propagation_delay_s: float = _assumption(
        5.0,
        "s",
        "time for a configuration change's routes to reach the NICs (a route table edit, a new "
        "peering, routes re-learned after a tunnel returns, a circuit's routes withdrawn after "
        "its link failed or re-learned): §2.7 'new routes can take a little "
        "time', §11 'a few seconds, occasionally longer'; read as 5 s. Removals that tear down "
        "a data path (a deleted peering) and NSG rule changes act at once (not documented)",
        0,
        3600,
    )

    def in_region_ms(self, zone_a: str | None, zone_b: str | None) -> float:
        """One move inside a region: the cross-zone figure only for two known, different
        zones."""
        if zone_a is not None and zone_b is not None and zone_a != zone_b:
            return self.cross_zone_one_way_ms
        return self.in_region_one_way_ms

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

    def peering_location_round_trip_ms(self, location: str, region: str) -> float:
        """Round trip between a peering location (metro) and a region: the scenario's figure,
        else RTT(region, the metro's nearest region) + ``peering_location_tail_rtt_ms``
        (see that assumption); UnknownRegionPair says how to supply a missing one."""
        here = region_key(region)
        given = self.peering_location_rtt_ms.get((location_key(location), here))
        if given is not None:
            return given
        metro = peering_location(location)
        fix = (
            f"add it under simulation.parameters.peering_location_rtt_ms as "
            f"'{location}/{here}: <ms>'"
        )
        if metro is None:
            raise UnknownRegionPair(
                f"peering location {location!r} is not in vnetsim's metro table, so its round "
                f"trip to {here} is unknown; {fix}"
            )
        nearest = metro.nearest_region
        if here == nearest:
            return self.peering_location_tail_rtt_ms
        try:
            between = self.round_trip_ms(here, nearest)
        except UnknownRegionPair:
            raise UnknownRegionPair(
                f"no published round trip between {here} and {nearest} (the region nearest "
                f"peering location {metro.name}); {fix}, or add the region pair under "
                f"simulation.parameters.region_rtt_ms"
            ) from None
        return between + self.peering_location_tail_rtt_ms

    def one_way_ms(self, source: str, destination: str) -> float:
        """Half the round trip (latency is taken as symmetric within one direction's figure)."""
        return self.round_trip_ms(source, destination) / 2

    @staticmethod
    def problems(overrides: dict) -> list[tuple[str, str]]:
        """Every problem with a scenario's overrides, as (name, message): unknown names, wrong
        types, values outside a parameter's range (NaN and infinities included)."""
        fields = attrs.fields_dict(LatencyModel)
        found = []
        for name, value in overrides.items():
            field = fields.get(name)
            if field is None:
                found.append((name, f"unknown parameter {name!r}; {_suggest(name, fields)}"))
                continue
            low, high = field.metadata["range"]
            unit = field.metadata["unit"]
            if name in _PAIR_TABLES:
                shape = _PAIR_TABLES[name]
                if not isinstance(value, dict):
                    found.append((name, f"must be a mapping of '{shape}' to milliseconds"))
                    continue
                for pair, rtt in value.items():
                    if "/" not in str(pair):
                        found.append((f"{name}.{pair}", f"write the pair as '{shape}'"))
                    elif not _number_in(rtt, low, high):
                        found.append(
                            (f"{name}.{pair}", f"must be a number of ms in [{low}, {high}]")
                        )
                continue
            integral = field.type in ("int", int)
            if integral and (isinstance(value, bool) or not isinstance(value, int)):
                found.append((name, f"must be an integer ({unit}), got {value!r}"))
            elif not _number_in(value, low, high):
                found.append(
                    (name, f"must be a number of {unit} in [{low:g}, {high:g}], got {value!r}")
                )
        for low_name, high_name in _RANGE_PAIRS:
            if {low_name, high_name} & set(overrides) and not {low_name, high_name} & {
                name for name, _ in found
            }:
                low = overrides.get(low_name, fields[low_name].default)
                high = overrides.get(high_name, fields[high_name].default)
                if low > high:
                    name = high_name if high_name in overrides else low_name
                    found.append(
                        (name, f"{low_name} ({low:g}) must not exceed {high_name} ({high:g})")
                    )
        return found

    def with_overrides(self, overrides: dict) -> LatencyModel:
        """A copy with scenario overrides applied (any problem is a ValueError naming it)."""
        problems = self.problems(overrides)
        if problems:
            name, message = problems[0]
            raise ValueError(f"{name}: {message}")
        changes = dict(overrides)
        for table in _PAIR_TABLES:
            if table in changes:
                pairs = {}
                for key, value in changes[table].items():
                    a, _, b = str(key).partition("/")
                    pairs[(region_key(a), region_key(b))] = float(value)
                changes[table] = pairs
        return attrs.evolve(self, **changes)

    def assumptions(self) -> list[dict]:
        """Every named assumption with its value (as used), unit and rationale."""
        rows = []
        for field in attrs.fields(LatencyModel):
            value = getattr(self, field.name)
            if field.name in _PAIR_TABLES:
                value = {f"{a}/{b}": v for (a, b), v in sorted(value.items())}
            rows.append(
                {
                    "name": field.name,
                    "value": value,
                    "unit": field.metadata["unit"],
                    "rationale": field.metadata["rationale"],
                }
            )
        return rows
