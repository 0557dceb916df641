"""Azure list prices for what joins VNets: a dated, sourced table that a user can replace.

Data, not code: the table below is azure-facts.md N6 (with §3.6 and N1.1 for the documented
zeros), parsed at import. N6's prices are a *secondary* transcription of the Azure pricing pages
(an AZ-104 study note, undated, content c. 2023-2024, i.e. before the 1 Jan 2025 AZ-SKU price
cut; USD list prices, no region stated), so every answer prints the table's date and source,
and ``PriceTable.from_mapping`` reads a user's own table (``vnetsim cost --prices FILE``).

What N6 does not give is **unknown**, never guessed: ExpressRoute gateway hours (except ErGwScale,
free in preview), circuit fees and metered egress, Azure Firewall and Route Server hours, data
to and from on-premises over site-to-site VPN, legacy gateway SKUs. ``UNKNOWN_ITEMS`` names them
so that an answer can say which price is missing and a price file can supply it.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import attrs

from fabric.catalogue.latency import region_key

CURRENCY = "USD"
BUILT_IN = "built-in"
BUILT_IN_DATE = "c. 2023-2024"  # N6: "undated, content c. 2023-2024"
BUILT_IN_RECORDED = "2026-11-30"  # when N6 entered azure-facts.md (Part II)
BUILT_IN_SOURCE = (
    "azure-facts.md N6: secondary transcription of the Azure pricing pages (AZ-104 study note), "
    "undated, content c. 2023-2024 (before the 1 Jan 2025 AZ-SKU price cut), USD list prices, "
    "no region stated; recorded 2026-11-30"
)
INCLUDED_S2S_TUNNELS = 10  # N6: "S2S tunnels 1-10 included, extra tunnels per hour"

# item | key | USD | source. Keys: a SKU, a billing zone, "regional" (both ends in one region)
# or "*" (any). Units follow from the item's suffix: _gb per GB, _hour per hour, _month per month.
_TABLE = """
peering_ingress_gb       | regional | 0.01  | N6: peering, same region, inbound
peering_egress_gb        | regional | 0.01  | N6: peering, same region, outbound
peering_ingress_gb       | Zone 1   | 0.035 | N6: global peering, inbound
peering_ingress_gb       | Zone 2   | 0.09  | N6: global peering, inbound
peering_ingress_gb       | Zone 3   | 0.16  | N6: global peering, inbound
peering_ingress_gb       | US Gov   | 0.044 | N6: global peering, inbound
peering_egress_gb        | Zone 1   | 0.035 | N6: global peering, outbound
peering_egress_gb        | Zone 2   | 0.09  | N6: global peering, outbound
peering_egress_gb        | Zone 3   | 0.16  | N6: global peering, outbound
peering_egress_gb        | US Gov   | 0.044 | N6: global peering, outbound
vpn_vnet2vnet_egress_gb  | regional | 0     | §3.6: same-region VNet-to-VNet traffic is free
vpn_vnet2vnet_egress_gb  | Zone 1   | 0.035 | N6: inter-VNet VPN data, outbound by source zone
vpn_vnet2vnet_egress_gb  | Zone 2   | 0.09  | N6: inter-VNet VPN data, outbound by source zone
vpn_vnet2vnet_egress_gb  | Zone 3   | 0.16  | N6: inter-VNet VPN data, outbound by source zone
vpn_vnet2vnet_ingress_gb | *        | 0     | N6: inter-VNet VPN data, inbound free
vpn_gateway_hour         | Basic    | 0.04  | N6: VPN gateway (non-AZ)
vpn_gateway_hour         | VpnGw1   | 0.19  | N6: VPN gateway (non-AZ)
vpn_gateway_hour         | VpnGw2   | 0.49  | N6: VPN gateway (non-AZ)
vpn_gateway_hour         | VpnGw3   | 1.25  | N6: VPN gateway (non-AZ)
vpn_gateway_hour         | VpnGw4   | 2.10  | N6: VPN gateway (non-AZ)
vpn_gateway_hour         | VpnGw5   | 3.65  | N6: VPN gateway (non-AZ)
vpn_gateway_hour         | VpnGw1AZ | 0.361 | N6: VPN gateway (AZ, pre-2025)
vpn_gateway_hour         | VpnGw2AZ | 0.564 | N6: VPN gateway (AZ, pre-2025)
vpn_gateway_hour         | VpnGw3AZ | 1.438 | N6: VPN gateway (AZ, pre-2025)
vpn_gateway_hour         | VpnGw4AZ | 2.42  | N6: VPN gateway (AZ, pre-2025)
vpn_gateway_hour         | VpnGw5AZ | 4.20  | N6: VPN gateway (AZ, pre-2025)
vpn_extra_tunnel_hour    | *        | 0.015 | N6: S2S tunnel 11+, each
express_route_gateway_hour | ErGwScale | 0  | N1.1, N6: ErGwScale is free while in preview
express_route_ingress_gb | *        | 0     | N6: ExpressRoute, all ingress free (not Global Reach)
"""

# Every item a table may price: unit, what its key is, and what it means. The items with no row
# above are the ones N6 does not price (unknown until a price file gives them).
ITEMS: dict[str, tuple[str, str, str]] = {
    "peering_ingress_gb": ("GB", "regional or billing zone", "VNet peering, data in"),
    "peering_egress_gb": ("GB", "regional or billing zone", "VNet peering, data out"),
    "vpn_vnet2vnet_egress_gb": ("GB", "regional or billing zone", "VNet-to-VNet VPN, data out"),
    "vpn_vnet2vnet_ingress_gb": ("GB", "*", "VNet-to-VNet VPN, data in"),
    "vpn_s2s_egress_gb": ("GB", "* or billing zone", "site-to-site VPN, data to on-premises"),
    "vpn_s2s_ingress_gb": ("GB", "*", "site-to-site VPN, data from on-premises"),
    "vpn_gateway_hour": ("hour", "gateway SKU", "VPN gateway, per hour provisioned"),
    "vpn_extra_tunnel_hour": ("hour", "*", "each tunnel beyond the included ten, per hour"),
    "express_route_gateway_hour": ("hour", "gateway SKU", "ExpressRoute gateway, per hour"),
    "express_route_circuit_month": ("month", "'<tier> <Mbps> Mbps'", "ExpressRoute circuit"),
    "express_route_egress_gb": ("GB", "* or billing zone", "ExpressRoute metered data out"),
    "express_route_ingress_gb": ("GB", "*", "ExpressRoute data in"),
    "firewall_hour": ("hour", "Basic, Standard or Premium", "Azure Firewall deployment hour"),
    "route_server_hour": ("hour", "*", "Azure Route Server, per hour"),
}

# N6 "Billing zones (same secondary transcription)".
_ZONES = {
    "Zone 1": (
        "Australia Central, Australia Central 2, Canada Central, Canada East, Central US, "
        "East US, East US 2, France Central, France South, Germany North, Germany West Central, "
        "North Central US, North Europe, Norway East, Norway West, South Central US, "
        "Switzerland North, Switzerland West, UK South, UK West, West Central US, West Europe, "
        "West US, West US 2"
    ),
    "Zone 2": (
        "Australia East, Australia Southeast, Central India, South India, West India, East Asia, "
        "Japan East, Japan West, Korea Central, Korea South, Southeast Asia"
    ),
    "Zone 3": "Brazil South, South Africa North, South Africa West, UAE Central, UAE North",
    "US Gov": "US Gov Arizona, US Gov Texas, US Gov Virginia",
}
BILLING_ZONES: dict[str, str] = {
    region_key(region): zone for zone, regions in _ZONES.items() for region in regions.split(", ")
}


def billing_zone(region: str) -> str | None:
    """The N6 billing zone of an Azure region (any spelling), or None when N6 does not list it."""
    return BILLING_ZONES.get(region_key(region))


def _assumption(default, unit: str, rationale: str, low: float, high: float):
    metadata = {"unit": unit, "rationale": rationale, "range": (low, high)}
    return attrs.field(default=default, metadata=metadata)


@attrs.frozen(slots=True)
class CostAssumptions:
    """The conventions a monthly cost rests on that the fact sheet does not state."""

    hours_per_month: float = _assumption(
        730.0,
        "hours",
        "a month of a provisioned gateway: 365 x 24 / 12 = 730 h; azure-facts N6 gives hourly "
        "prices but no monthly convention",
        1,
        744,
    )
    bytes_per_gb: float = _assumption(
        1e9,
        "bytes",
        "a billed GB taken as 10^9 bytes (decimal); azure-facts N6 does not say which",
        1e9,
        2**30,
    )

    @property
    def seconds_per_month(self) -> float:
        return self.hours_per_month * 3600

    def assumptions(self) -> list[dict]:
        """Every named assumption with its value, unit and rationale."""
        return [
            {
                "name": field.name,
                "value": getattr(self, field.name),
                "unit": field.metadata["unit"],
                "rationale": field.metadata["rationale"],
            }
            for field in attrs.fields(CostAssumptions)
        ]


@attrs.frozen(slots=True)
class PriceSource:
    """Where a set of prices comes from, and the date they were true."""

    name: str
    date: str
    description: str

    def label(self) -> str:
        """``prices of <date> (<description>)``: what every answer prints."""
        return f"prices of {self.date} ({self.description})"

    def to_json(self) -> dict:
        return {"name": self.name, "date": self.date, "description": self.description}


@attrs.frozen(slots=True)
class Price:
    """One price: item, key, amount in the table's currency per unit, and its source."""

    item: str
    key: str
    amount: float
    source: str  # a PriceSource name
    note: str = ""

    @property
    def unit(self) -> str:
        return ITEMS[self.item][0]


class PriceError(ValueError):
    """A price table that cannot be used; ``path`` says where in the file."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


def _suggest(name: str, choices) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.5)
    return f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(choices))}"


def _amount(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PriceError(path, f"a price is a number, got {value!r}")
    if value < 0:
        raise PriceError(path, f"a price cannot be negative, got {value!r}")
    return float(value)


@attrs.frozen(slots=True)
class PriceTable:
    """Prices by (item, key), each with its source; ``sources`` are dated."""

    prices: dict[tuple[str, str], Price]
    sources: tuple[PriceSource, ...]
    currency: str = CURRENCY

    def price(self, item: str, key: str) -> Price | None:
        """The price of ``item`` for ``key`` (a SKU, zone or 'regional'), else its '*' price,
        else None (unknown)."""
        if item not in ITEMS:
            raise KeyError(f"no price item {item!r}; {_suggest(item, ITEMS)}")
        return self.prices.get((item, key)) or self.prices.get((item, "*"))

    def source(self, name: str) -> PriceSource:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def label(self) -> str:
        """Every source's date and description, the line each answer starts with."""
        return "; ".join(source.label() for source in self.sources)

    def rows(self) -> list[dict]:
        """The table as rows (item, key, price, unit, source), sorted."""
        return [
            {
                "item": p.item,
                "key": p.key,
                "price": p.amount,
                "unit": p.unit,
                "source": p.source,
                "note": p.note,
            }
            for (_, _), p in sorted(self.prices.items())
        ]

    def overlay(self, other: PriceTable, *, replace: bool = False) -> PriceTable:
        """This table with ``other``'s prices winning (``replace``: ``other`` alone)."""
        if replace:
            return other
        if other.currency != self.currency:
            raise PriceError(
                "currency",
                f"{other.currency} prices cannot be mixed with the built-in {self.currency} "
                "table; add 'replace: true' to use your table alone",
            )
        return PriceTable(
            {**self.prices, **other.prices}, (*self.sources, *other.sources), self.currency
        )

    @classmethod
    def from_mapping(cls, data: Any, name: str) -> tuple[PriceTable, bool]:
        """A user's price table (a parsed YAML/JSON mapping) and whether it replaces the
        built-in one. Shape::

            date: 2025-06-01                    # required: when these prices were true
            source: Azure pricing page, West Europe, read 2025-06-01   # required
            currency: USD                       # optional, USD by default
            replace: false                      # optional: true drops the built-in table
            prices:
              vpn_gateway_hour: {VpnGw1AZ: 0.19}
              express_route_gateway_hour: {ErGw1AZ: 0.30}
              vpn_extra_tunnel_hour: 0.015      # a bare number is the price for any key

        PriceError names the key that is wrong and the fix.
        """
        if not isinstance(data, dict):
            raise PriceError("", "a price file is a mapping with date, source and prices")
        allowed = ("date", "source", "currency", "replace", "prices")
        for key in data:
            if key not in allowed:
                raise PriceError(str(key), f"unknown key; {_suggest(key, allowed)}")
        for key in ("date", "source", "prices"):
            if key not in data or data[key] in (None, ""):
                raise PriceError(key, "is required (prices change: say when and where from)")
        date, description = str(data["date"]), str(data["source"])
        currency = str(data.get("currency", CURRENCY))
        replace = data.get("replace", False)
        if not isinstance(replace, bool):
            raise PriceError("replace", f"must be true or false, got {replace!r}")
        if not isinstance(data["prices"], dict) or not data["prices"]:
            raise PriceError("prices", "a mapping of price items to prices")
        prices = {}
        for item, value in data["prices"].items():
            path = f"prices.{item}"
            if item not in ITEMS:
                raise PriceError(path, f"unknown price item; {_suggest(item, ITEMS)}")
            entries = value if isinstance(value, dict) else {"*": value}
            if not entries:
                raise PriceError(path, "give at least one price")
            for key, amount in entries.items():
                price = Price(item, str(key), _amount(amount, f"{path}.{key}"), name)
                prices[(item, str(key))] = price
        return cls(prices, (PriceSource(name, date, description),), currency), replace


def _parse() -> PriceTable:
    prices = {}
    for line in _TABLE.strip().splitlines():
        item, key, amount, note = (part.strip() for part in line.split("|"))
        assert item in ITEMS, item
        prices[(item, key)] = Price(item, key, float(amount), BUILT_IN, note)
    return PriceTable(prices, (PriceSource(BUILT_IN, BUILT_IN_DATE, BUILT_IN_SOURCE),))


PRICES: PriceTable = _parse()
UNKNOWN_ITEMS: tuple[str, ...] = tuple(
    item for item in ITEMS if not any(p.item == item for p in PRICES.prices.values())
)
