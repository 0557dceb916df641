"""What a design costs per month: gateways by the hour, data by the GB over each path (VNet
peering, global peering, VNet-to-VNet VPN, site-to-site VPN, ExpressRoute), priced from a dated
table (``fabric.catalogue.prices``, azure-facts N6) that a user can overlay or replace.

Where the data goes is the control plane's answer: a flow's path is its connectivity trace
(``fabric.watcher.connectivity``), and every peering crossing, tunnel and gateway-transit hop
on it is billed as N6 describes (peering: out of the sending VNet and into the receiving one,
global peering by each side's billing zone; VNet-to-VNet VPN: out of the source zone, inbound
free, same region free, §3.6). The links are those that exist (``PeeringView``): a peering
Virtual Network Manager created bills like any other, a connected group like peering (N6), a
declared link Azure refused or Virtual Network Manager deleted not at all. A price the table
does not hold is reported as unknown, never guessed, and the answer's total is then marked
incomplete.

Monthly volumes come from a scenario's traffic or from the user. A scenario's run is taken as a
sample of the month: each flow's bytes over the scenario's duration, scaled to
``CostAssumptions.seconds_per_month``. Open-loop flows count their offered bytes (rate x time:
what crosses the first peering, whatever is dropped later); TCP flows have no offered rate, so
their bytes are what the simulated run delivered. Only the flow's own direction is counted
(TCP's acknowledgements are not).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import attrs
import yaml

from fabric.catalogue.prices import (
    INCLUDED_S2S_TUNNELS,
    ITEMS,
    PRICES,
    CostAssumptions,
    PriceError,
    PriceTable,
    billing_zone,
)
from fabric.control.connections import connection_status
from fabric.control.peering import CONNECTED, PeeringView
from fabric.control.plane import ControlPlane
from fabric.model import Fabric, FlowSpec

GATEWAYS = "gateways"
PEERING = "peering"
GLOBAL_PEERING = "global peering"
VPN = "VNet-to-VNet VPN"
S2S = "site-to-site VPN"
EXPRESSROUTE = "ExpressRoute"
PATHS = (GATEWAYS, PEERING, GLOBAL_PEERING, VPN, S2S, EXPRESSROUTE)
CONNECTED_GROUP = "connected_group"  # the resource kind of a connected-group crossing
TUNNEL_TYPES = ("Vnet2Vnet", "IPsec")
_UNIT_LABEL = {"GB": "GB", "hour": "h", "month": "month"}


@attrs.frozen(slots=True)
class Segment:
    """Data crossing one billed boundary in one direction: a peering link, a tunnel, an
    ExpressRoute connection. ``path`` is one of PATHS; regions are None for sites and circuits."""

    path: str
    source: str
    target: str
    source_region: str | None
    target_region: str | None
    resource: str
    note: str = ""  # printed on its line items: who made the link, what bills it

    def label(self) -> str:
        return f"{self.source} → {self.target} ({self.resource})"


@attrs.frozen(slots=True)
class LineItem:
    """One priced quantity: ``quantity`` units of ``item`` for ``key`` at ``unit_price`` (None:
    the table has no price for it)."""

    path: str
    what: str
    resource: str
    item: str
    key: str
    quantity: float
    unit_price: float | None
    source: str | None
    note: str = ""

    @property
    def unit(self) -> str:
        return ITEMS[self.item][0]

    @property
    def per_month(self) -> float | None:
        return None if self.unit_price is None else self.quantity * self.unit_price

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "what": self.what,
            "resource": self.resource,
            "item": self.item,
            "key": self.key,
            "quantity": round(self.quantity, 9),
            "unit": self.unit,
            "unit_price": self.unit_price,
            "per_month": None if self.per_month is None else round(self.per_month, 6),
            "price_source": self.source,
            "note": self.note,
        }


@attrs.frozen(slots=True)
class Volume:
    """Data sent each month from one end to the other, and the segments it crosses."""

    name: str
    gb_per_month: float
    how: str
    segments: tuple[Segment, ...]
    reachable: bool = True
    reason: str | None = None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "gb_per_month": round(self.gb_per_month, 9),
            "how": self.how,
            "reachable": self.reachable,
            "reason": self.reason,
            "crosses": [
                {"path": s.path, "from": s.source, "to": s.target, "resource": s.resource}
                for s in self.segments
            ],
        }


@attrs.frozen(slots=True, eq=False)
class CostEstimate:
    """A design's monthly cost: line items, the volumes behind the data items, the dated
    prices and the assumptions. Totals count known prices; ``complete`` says whether any
    price was unknown."""

    items: tuple[LineItem, ...]
    volumes: tuple[Volume, ...]
    prices: PriceTable
    assumptions: CostAssumptions
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        """The sum of every known line item, per month."""
        return sum(i.per_month for i in self.items if i.per_month is not None)

    @property
    def unknown(self) -> tuple[LineItem, ...]:
        return tuple(i for i in self.items if i.unit_price is None)

    @property
    def complete(self) -> bool:
        return not self.unknown

    def by_path(self) -> dict[str, dict]:
        """Per path: the known monthly sum and whether every price on it was known."""
        totals: dict[str, dict] = {}
        for item in self.items:
            entry = totals.setdefault(item.path, {"per_month": 0.0, "complete": True})
            if item.per_month is None:
                entry["complete"] = False
            else:
                entry["per_month"] += item.per_month
        order = {path: i for i, path in enumerate(PATHS)}
        return {
            path: {"per_month": round(v["per_month"], 6), "complete": v["complete"]}
            for path, v in sorted(totals.items(), key=lambda kv: order.get(kv[0], 99))
        }

    def to_json(self) -> dict:
        return {
            "currency": self.prices.currency,
            "prices": [source.to_json() for source in self.prices.sources],
            "total_per_month": round(self.total, 6),
            "complete": self.complete,
            "by_path": self.by_path(),
            "items": [item.to_json() for item in self.items],
            "unknown": [
                {"item": i.item, "key": i.key, "resource": i.resource, "what": i.what}
                for i in self.unknown
            ],
            "volumes": [volume.to_json() for volume in self.volumes],
            "assumptions": self.assumptions.assumptions(),
            "notes": list(self.notes),
        }

    def table(self, title: str = "") -> str:
        """A readable table; its first line is the prices' date and source."""
        currency = self.prices.currency
        lines = [f"Monthly cost{f' of {title}' if title else ''} in {currency}"]
        lines += [f"  {source.label()}" for source in self.prices.sources]
        lines.append(
            f"  {self.assumptions.hours_per_month:g} hours a month; "
            f"1 GB = {self.assumptions.bytes_per_gb:,.0f} bytes"
        )
        lines.append("")
        lines.append(f"  {'path':<18}{'what':<58}{'quantity':>14}{'price':>14}{'per month':>12}")
        for item in self.items:
            unit = _UNIT_LABEL[item.unit]
            price = "unknown" if item.unit_price is None else f"{item.unit_price:g}/{unit}"
            month = "unknown" if item.per_month is None else f"{item.per_month:.2f}"
            lines.append(
                f"  {item.path:<18}{_cut(item.what, 56):<58}"
                f"{_quantity(item.quantity)} {unit:<5}{price:>14}{month:>12}"
            )
        if not self.items:
            lines.append("  (nothing billed: no gateway and no traffic)")
        lines.append("")
        for path, entry in self.by_path().items():
            mark = "" if entry["complete"] else "  + unknown"
            lines.append(f"  {path:<18}{entry['per_month']:>12.2f} {currency}{mark}")
        mark = "" if self.complete else " (known prices only; see unknown below)"
        lines.append(f"  {'total':<18}{self.total:>12.2f} {currency} per month{mark}")
        for item in self.unknown:
            lines.append(
                f"  unknown: {item.item} for {item.key!r} ({item.what}): not in the price "
                "table; give it with --prices FILE"
            )
        if self.volumes:
            lines.append("")
            lines.append("  volumes:")
            for volume in self.volumes:
                crossing = ", ".join(s.path for s in volume.segments) or (
                    f"nothing billed: {volume.reason}" if not volume.reachable else "stays local"
                )
                lines.append(
                    f"    {volume.name}: {volume.gb_per_month:,.3f} GB/month ({volume.how}); "
                    f"{crossing}"
                )
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        return html_table(self)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _quantity(value: float) -> str:
    return f"{value:>10,.3f}" if value < 1e7 else f"{value:>10.3g}"


def html_table(estimate: CostEstimate) -> str:
    """The estimate as an HTML fragment (notebooks, the report)."""
    currency = html.escape(estimate.prices.currency)
    rows = []
    for item in estimate.items:
        unit = _UNIT_LABEL[item.unit]
        price = "unknown" if item.unit_price is None else f"{item.unit_price:g}/{unit}"
        month = "unknown" if item.per_month is None else f"{item.per_month:,.2f}"
        rows.append(
            f"<tr><td>{html.escape(item.path)}</td><td>{html.escape(item.what)}</td>"
            f"<td class='n'>{item.quantity:,.3f} {unit}</td><td class='n'>{price}</td>"
            f"<td class='n'>{month}</td></tr>"
        )
    for path, entry in estimate.by_path().items():
        mark = "" if entry["complete"] else " + unknown"
        rows.append(
            f"<tr class='sum'><td>{html.escape(path)}</td><td>total</td><td></td><td></td>"
            f"<td class='n'>{entry['per_month']:,.2f}{mark}</td></tr>"
        )
    mark = "" if estimate.complete else " (known prices only)"
    sources = "".join(f"<li>{html.escape(s.label())}</li>" for s in estimate.prices.sources)
    unknown = "".join(
        f"<li>{html.escape(i.item)} for {html.escape(repr(i.key))} ({html.escape(i.what)}): "
        "not in the price table; give it with <code>--prices FILE</code></li>"
        for i in estimate.unknown
    )
    return (
        f"<ul class='sources'>{sources}</ul>"
        f"<table><tr><th>path</th><th>what</th><th>quantity</th><th>price ({currency})</th>"
        f"<th>per month ({currency})</th></tr>{''.join(rows)}"
        f"<tr class='sum'><td colspan='4'><b>total per month{mark}</b></td>"
        f"<td class='n'><b>{estimate.total:,.2f}</b></td></tr></table>"
        + (f"<p>Unknown prices:</p><ul>{unknown}</ul>" if unknown else "")
    )


# -- prices --------------------------------------------------------------------------------------


def load_prices(path: str | Path) -> PriceTable:
    """The built-in table overlaid (or replaced) by a user's price file (YAML or JSON);
    ``fabric.io.InputError`` names the file, the line and the fix."""
    from fabric.io import InputError, Problem
    from fabric.io.yamlsource import line_of, load_yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(path), [Problem("", "no such price file")]) from None
    except (OSError, UnicodeDecodeError) as problem:
        raise InputError(str(path), [Problem("", f"cannot be read: {problem}")]) from None
    try:
        data = load_yaml(text)
    except (yaml.YAMLError, RecursionError) as problem:
        mark = getattr(problem, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        detail = getattr(problem, "problem", None) or "unreadable"
        raise InputError(str(path), [Problem("", f"not valid YAML/JSON: {detail}", line)]) from None
    try:
        table, replace = PriceTable.from_mapping(data, str(path))
        return PRICES.overlay(table, replace=replace)
    except PriceError as problem:
        node, line = data, None
        for key in problem.path.split(".") if problem.path else []:
            line = line_of(node, key) or line
            node = node.get(key) if isinstance(node, dict) else None
        message = str(problem).removeprefix(f"{problem.path}: ") if problem.path else str(problem)
        raise InputError(str(path), [Problem(problem.path, message, line)]) from None


# -- what the design is billed for ----------------------------------------------------------------


def _price_item(
    prices: PriceTable,
    path: str,
    what: str,
    resource: str,
    item: str,
    key: str,
    quantity: float,
    note: str = "",
) -> LineItem:
    price = prices.price(item, key)
    if price is None:
        return LineItem(path, what, resource, item, key, quantity, None, None, note)
    return LineItem(
        path, what, resource, item, key, quantity, price.amount, price.source, note or price.note
    )


def _zone_key(region: str | None) -> str:
    zone = billing_zone(region) if region else None
    return zone or f"billing zone of {region or 'an unknown region'}"


def hourly_items(
    fabric: Fabric, prices: PriceTable, assumptions: CostAssumptions
) -> list[LineItem]:
    """Gateways, extra tunnels, firewalls, route servers and circuits, for a month."""
    hours = assumptions.hours_per_month
    items = []
    for gateway in sorted(fabric.gateways.values(), key=lambda g: g.name):
        resource = f"gateway/{gateway.name}"
        if gateway.gateway_type == "ExpressRoute":
            items.append(
                _price_item(
                    prices,
                    GATEWAYS,
                    f"ExpressRoute gateway {gateway.name} ({gateway.sku})",
                    resource,
                    "express_route_gateway_hour",
                    gateway.sku,
                    hours,
                )
            )
            continue
        note = "active-active: same price as active-standby (N2.2)" if gateway.active_active else ""
        items.append(
            _price_item(
                prices,
                GATEWAYS,
                f"VPN gateway {gateway.name} ({gateway.sku})",
                resource,
                "vpn_gateway_hour",
                gateway.sku,
                hours,
                note,
            )
        )
        tunnels = sum(
            1
            for c in fabric.connections.values()
            if c.from_gateway == gateway.name and c.connection_type in TUNNEL_TYPES
        )
        if tunnels > INCLUDED_S2S_TUNNELS:
            extra = tunnels - INCLUDED_S2S_TUNNELS
            items.append(
                _price_item(
                    prices,
                    GATEWAYS,
                    f"{extra} tunnel(s) of {gateway.name} beyond the {INCLUDED_S2S_TUNNELS} "
                    "included",
                    resource,
                    "vpn_extra_tunnel_hour",
                    "*",
                    extra * hours,
                    "counts site-to-site and VNet-to-VNet connections (they share the tunnel "
                    "limit, §3.6)",
                )
            )
    for firewall in sorted(fabric.firewalls.values(), key=lambda f: f.name):
        items.append(
            _price_item(
                prices,
                GATEWAYS,
                f"Azure Firewall {firewall.name} ({firewall.sku_tier})",
                f"firewall/{firewall.name}",
                "firewall_hour",
                firewall.sku_tier,
                hours,
            )
        )
    for server in sorted(fabric.route_servers.values(), key=lambda s: s.name):
        items.append(
            _price_item(
                prices,
                GATEWAYS,
                f"Route Server {server.name}",
                f"route_server/{server.name}",
                "route_server_hour",
                "*",
                hours,
            )
        )
    circuits = getattr(fabric, "express_route_circuits", {}) or {}
    for name, circuit in sorted(circuits.items()):
        key = f"{getattr(circuit, 'sku_tier', '?')} {getattr(circuit, 'bandwidth_mbps', '?')} Mbps"
        items.append(
            _price_item(
                prices,
                EXPRESSROUTE,
                f"ExpressRoute circuit {name} ({key})",
                f"express_route_circuit/{name}",
                "express_route_circuit_month",
                key,
                1.0,
            )
        )
    return items


def data_items(segment: Segment, gb: float, prices: PriceTable) -> list[LineItem]:
    """What ``gb`` crossing ``segment`` is billed (N6): out of one side, into the other."""
    label = f"{segment.source} → {segment.target}"
    note = segment.note
    if segment.resource.startswith(f"{CONNECTED_GROUP}/"):
        label += " (connected group)"
    out_of, into = f"{label}, out of {segment.source}", f"{label}, into {segment.target}"
    source, target = segment.source_region, segment.target_region
    if segment.path == PEERING and (source is None or target is None):
        where = segment.target if source is not None else segment.source
        unknown = f"regional or global? the region of {where} is not known here"
        charges = [(out_of, "peering_egress_gb", unknown), (into, "peering_ingress_gb", unknown)]
    elif segment.path == PEERING:
        charges = [
            (out_of, "peering_egress_gb", "regional"),
            (into, "peering_ingress_gb", "regional"),
        ]
    elif segment.path == GLOBAL_PEERING:
        charges = [
            (out_of, "peering_egress_gb", _zone_key(source)),
            (into, "peering_ingress_gb", _zone_key(target)),
        ]
    elif segment.path == VPN:
        same = source is not None and source == target  # §3.6: same region is free
        charges = [
            (out_of, "vpn_vnet2vnet_egress_gb", "regional" if same else _zone_key(source)),
            (into, "vpn_vnet2vnet_ingress_gb", "*"),
        ]
    elif segment.path == S2S:  # one end is a site: Azure bills the Azure side only
        charges = (
            [(out_of, "vpn_s2s_egress_gb", _zone_key(source))]
            if source is not None
            else [(into, "vpn_s2s_ingress_gb", "*")]
        )
    else:
        charges = (
            [(out_of, "express_route_egress_gb", "*")]
            if source is not None
            else [(into, "express_route_ingress_gb", "*")]
        )
    return [
        _price_item(prices, segment.path, what, segment.resource, item, key, gb, note)
        for what, item, key in charges
    ]


def _region(fabric: Fabric, vnet: str) -> str | None:
    """A VNet's region, or None when it is not known here (outside the topology, or defined
    elsewhere)."""
    record = fabric.vnets.get(vnet)
    return None if record is None or record.external else record.region


def _segment(path: str, fabric: Fabric, a: str, b: str, resource: str, note: str = "") -> Segment:
    ra, rb = _region(fabric, a), _region(fabric, b)
    if path == PEERING and ra is not None and rb is not None and ra != rb:
        path = GLOBAL_PEERING
    return Segment(path, a, b, ra, rb, resource, note)


def _group_segment(fabric: Fabric, a: str, b: str, group: str) -> Segment:
    """A connected-group crossing from ``a`` to ``b``: N6 bills it like peering (regional or
    global by the two VNets' regions)."""
    note = (
        f"Virtual Network Manager connected group {group}: billed like peering, in and out at "
        "both ends (N6)"
    )
    return _segment(PEERING, fabric, a, b, f"{CONNECTED_GROUP}/{group}", note)


def _created_note(view: PeeringView, link) -> str:
    config = view.created_by(link)
    return "" if config is None else f"created by Virtual Network Manager configuration {config}"


def path_segments(plane: ControlPlane, path) -> list[Segment]:
    """The billed crossings of a forwarding Path: peering crossings (also the implicit ones of
    gateway transit, from a spoke to its hub's gateway and from a gateway to a spoke),
    connected-group crossings (billed like peering, N6) and tunnels."""
    from fabric.control.forwarding import (
        ApplianceHop,
        Arrival,
        Crossing,
        GatewayHop,
        GroupCrossing,
        TunnelHop,
    )

    fabric = plane.fabric
    segments: list[Segment] = []
    current = path.source.vnet.name

    def peer(to: str) -> None:
        nonlocal current
        if to != current:
            link = next((x for x in plane.peerings.links_of(current) if x.remote_vnet == to), None)
            resource = f"peering/{current}/{link.name}" if link else f"peering/{current}->{to}"
            segments.append(_segment(PEERING, fabric, current, to, resource))
            current = to

    for step in path.steps:
        if isinstance(step, Crossing):
            segments.append(
                _segment(
                    PEERING,
                    fabric,
                    step.vnet.name,
                    step.remote.name,
                    f"peering/{step.vnet.name}/{step.link.name}",
                    _created_note(plane.peerings, step.link),
                )
            )
            current = step.remote.name
        elif isinstance(step, GroupCrossing):
            segments.append(
                _group_segment(fabric, step.vnet.name, step.remote.name, step.group.name)
            )
            current = step.remote.name
        elif isinstance(step, GatewayHop | ApplianceHop):
            peer(step.vnet.name)
        elif isinstance(step, TunnelHop):
            peer(step.gateway.vnet)
            resource = f"connection/{step.connection.name}"
            if step.site is not None:
                region = _region(fabric, step.gateway.vnet)
                segments.append(
                    Segment(S2S, step.gateway.vnet, step.site.name, region, None, resource)
                )
            else:
                segments.append(
                    _segment(VPN, fabric, step.gateway.vnet, step.remote_vnet.name, resource)
                )
                current = step.remote_vnet.name
        elif isinstance(step, Arrival):
            peer(step.location.vnet.name)
    return segments


def link_segments(fabric: Fabric, view: PeeringView | None = None) -> list[Segment]:
    """Every path the design offers, each direction, as the control plane has it: the peering
    links that exist and are Connected (``PeeringView.links``: the declared ones less those
    absent, refused for a permission or deleted by Virtual Network Manager, plus those it
    created), the member pairs of connected groups that have a ConnectedGroup route (N8.1;
    billed like peering, N6), VNet-to-VNet tunnels that are up, site-to-site tunnels that are
    up, ExpressRoute connections."""
    view = view or PeeringView(fabric)
    segments = []
    for link in sorted(view.links, key=lambda x: (x.vnet, x.name)):
        if view.state(link) == CONNECTED:
            resource = f"peering/{link.vnet}/{link.name}"
            note = _created_note(view, link)
            segments.append(_segment(PEERING, fabric, link.vnet, link.remote_vnet, resource, note))
    if view.deployment.groups:
        for vnet, routes in sorted(view.mesh.routes.items()):
            reached: dict[str, str] = {}  # remote member -> the group that reaches it first
            for route in routes:
                reached.setdefault(route.link.remote_vnet, route.link.group.name)
            for remote, group in sorted(reached.items()):
                segments.append(_group_segment(fabric, vnet, remote, group))
    for connection in sorted(fabric.connections.values(), key=lambda c: c.name):
        gateway = fabric.gateways.get(connection.from_gateway)
        if gateway is None:
            continue
        resource = f"connection/{connection.name}"
        region = _region(fabric, gateway.vnet)
        if connection.connection_type == "Vnet2Vnet":
            remote = fabric.gateways.get(connection.to_gateway)
            if remote is not None and connection_status(fabric, connection).up:
                segments.append(_segment(VPN, fabric, gateway.vnet, remote.vnet, resource))
        elif connection.connection_type in ("IPsec", "ExpressRoute"):
            if connection.connection_type == "IPsec":
                if not connection_status(fabric, connection).up:
                    continue
                kind = S2S
            else:
                kind = EXPRESSROUTE
            far = connection.to_gateway
            segments.append(Segment(kind, gateway.vnet, far, region, None, resource))
            segments.append(Segment(kind, far, gateway.vnet, None, region, resource))
    return segments


def avnm_notes(fabric: Fabric, view: PeeringView) -> list[str]:
    """What N6 says Virtual Network Manager bills beyond the data: a fee per subscription that
    holds a VNet in an active configuration, which the fact sheet does not price (so it is
    said, not guessed, and not in the total)."""
    deployment = view.deployment
    members = {name for group in deployment.groups for name in group.members}
    members |= {name for link in deployment.peerings for name in (link.vnet, link.remote_vnet)}
    if not members:
        return []
    subscriptions = sorted(
        {fabric.vnets[n].subscription for n in members if fabric.vnets[n].subscription}
    )
    undeclared = any(not fabric.vnets[n].subscription for n in members)
    which = ", ".join(subscriptions)
    if undeclared:
        none = "the VNets declare no subscription" if not which else "and VNets that declare none"
        which = f"{which} {none}".strip()
    return [
        "Virtual Network Manager: the peerings it creates and its connected groups are billed "
        "like peering, in and out at both ends (N6); it also charges per subscription that holds "
        f"a VNet in an active configuration (here: {which}), which azure-facts N6 does not "
        "price, so that fee is not in the total"
    ]


def representative_address(plane: ControlPlane, name: str) -> str:
    """An address that stands for ``name``: a declared host (by name), the first host of a VNet
    (by VNet name), else the first usable address of the VNet's first subnet that is not
    GatewaySubnet (Azure reserves the first four, §1.1), else ``name`` itself (an address)."""
    fabric = plane.fabric
    vnet = fabric.vnets.get(name)
    if vnet is None:
        return name
    if vnet.hosts:
        return vnet.hosts[0].ip
    for subnet in vnet.subnets:
        if subnet.name != "GatewaySubnet":
            try:
                return str(ip_network(subnet.address_prefix, strict=False).network_address + 4)
            except ValueError:
                continue
    return name


# -- volumes -------------------------------------------------------------------------------------


def traffic_horizon(specs: list[FlowSpec], duration_s: float | None) -> float:
    """The span the traffic describes: the scenario's duration, else the end of the last flow."""
    if duration_s is not None:
        return duration_s
    return max((s.start_s + s.duration_s for s in specs), default=0.0)


def flow_volumes(
    plane: ControlPlane,
    specs: list[FlowSpec],
    horizon_s: float,
    assumptions: CostAssumptions,
    result: Any = None,
) -> list[Volume]:
    """Each flow's GB per month (see the module docstring) and the segments its path crosses."""
    from fabric.watcher import QuestionError, connectivity

    scale = assumptions.seconds_per_month / horizon_s if horizon_s > 0 else 0.0
    volumes = []
    for spec in specs:
        if spec.pattern == "tcp":
            delivered = result.flow(spec.name).delivered_payload_bytes if result else 0
            sample_bytes = float(delivered)
            how = f"TCP: {delivered:,} bytes delivered in {horizon_s:g} s simulated, scaled"
        else:
            active = max(0.0, min(spec.duration_s, horizon_s - spec.start_s))
            sample_bytes = spec.rate_mbps * 1e6 / 8 * active
            how = f"{spec.rate_mbps:g} Mbps offered for {active:g} s of {horizon_s:g} s, scaled"
        gb = sample_bytes * scale / assumptions.bytes_per_gb
        port = None if spec.protocol == "Icmp" else spec.destination_port
        try:
            trace = connectivity(plane, spec.src, spec.dst, protocol=spec.protocol, port=port)
        except QuestionError as problem:  # e.g. a host that does not exist (validation says)
            volumes.append(Volume(spec.name, gb, how, (), False, str(problem)))
            continue
        segments = tuple(path_segments(plane, trace.path)) if trace.reachable else ()
        volumes.append(Volume(spec.name, gb, how, segments, trace.reachable, trace.reason))
    return volumes


def pair_volumes(plane: ControlPlane, pairs: Mapping[tuple[str, str], float]) -> list[Volume]:
    """GB per month between named ends (VNets, hosts or addresses), along their traced path."""
    from fabric.watcher import connectivity

    volumes = []
    for (source, destination), gb in pairs.items():
        trace = connectivity(
            plane,
            representative_address(plane, source),
            representative_address(plane, destination),
        )
        segments = tuple(path_segments(plane, trace.path)) if trace.reachable else ()
        volumes.append(
            Volume(
                f"{source} → {destination}",
                float(gb),
                "given per month",
                segments,
                trace.reachable,
                trace.reason,
            )
        )
    return volumes


def every_link_volumes(fabric: Fabric, gb: float, view: PeeringView | None = None) -> list[Volume]:
    """``gb`` per month in each direction over every path the design offers."""
    return [
        Volume(segment.label(), float(gb), "given per month on every link, each way", (segment,))
        for segment in link_segments(fabric, view)
    ]


# -- the question --------------------------------------------------------------------------------


def cost(
    net: Any,
    traffic: Iterable[FlowSpec | dict] | None = None,
    *,
    duration_s: float | None = None,
    gb_per_month: float | Mapping[tuple[str, str], float] | None = None,
    prices: PriceTable | None = None,
    assumptions: CostAssumptions | None = None,
    result: Any = None,
    plane: ControlPlane | None = None,
) -> CostEstimate:
    """The monthly cost of a design (a Fabric or a loaded document).

    Args:
        traffic: flows (FlowSpec or mappings) whose volume to bill; default: the document's.
        duration_s: the span the traffic describes (default: the document's
            ``simulation.duration_s``, else the end of the last flow).
        gb_per_month: a number (GB each way over every peering, tunnel and ExpressRoute
            connection) or ``{(source, destination): GB}`` (VNets, hosts or addresses, traced).
        prices: the price table (default: the built-in one, ``fabric.catalogue.prices``).
        result: a simulation of ``traffic`` whose TCP flows' bytes to use (else they are
            simulated here when there are any).

    Returns:
        A CostEstimate; unknown prices are listed, never guessed.
    """
    simulation: dict = {}
    if not isinstance(net, Fabric):
        simulation = dict(getattr(net, "simulation", {}) or {})
        if traffic is None:
            traffic = list(getattr(net, "traffic", ()) or ())
        net = net.fabric
    prices = prices or PRICES
    assumptions = assumptions or CostAssumptions()
    plane = plane or ControlPlane(net)
    items = hourly_items(net, prices, assumptions)
    volumes: list[Volume] = []
    notes: list[str] = []
    specs = [
        t if isinstance(t, FlowSpec) else FlowSpec.from_mapping(dict(t)) for t in traffic or ()
    ]
    if specs:
        horizon = traffic_horizon(specs, duration_s or simulation.get("duration_s"))
        if result is None and any(s.pattern == "tcp" for s in specs):
            from fabric.sim.runs import simulate

            result = simulate(
                net,
                specs,
                duration_s=horizon,
                seed=simulation.get("seed", 1),
                parameters=simulation.get("parameters"),
                samples=False,  # the delivered bytes are exact without them
            )
        volumes += flow_volumes(plane, specs, horizon, assumptions, result)
        notes.append(
            f"the traffic is taken as a sample of the month: its {horizon:g} s repeat for "
            f"{assumptions.hours_per_month:g} hours"
        )
    if isinstance(gb_per_month, Mapping):
        volumes += pair_volumes(plane, gb_per_month)
    elif gb_per_month is not None:
        volumes += every_link_volumes(net, gb_per_month, plane.peerings)
    totals: dict[tuple, float] = {}
    item_notes: dict[tuple, str] = {}
    for volume in volumes:
        for segment in volume.segments:
            for item in data_items(segment, volume.gb_per_month, prices):
                key = (item.path, item.what, item.resource, item.item, item.key)
                totals[key] = totals.get(key, 0.0) + item.quantity
                item_notes.setdefault(key, segment.note)
    for (path, what, resource, item, key), gb in totals.items():
        note = item_notes[(path, what, resource, item, key)]
        items.append(_price_item(prices, path, what, resource, item, key, gb, note))
    for volume in volumes:
        if not volume.reachable:
            notes.append(
                f"{volume.name} is not reachable, so it is billed nowhere: {volume.reason}"
            )
    notes += avnm_notes(net, plane.peerings)
    return CostEstimate(tuple(items), tuple(volumes), prices, assumptions, tuple(notes))
