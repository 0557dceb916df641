"""Route tables (§4.3): prefixes, next hop types and next hop addresses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from fabric.catalogue import limits
from fabric.catalogue.servicetags import (
    ENDPOINT_SERVICE_TAGS,
    SERVICE_TAG_PREFIXES,
    endpoint_tag,
    is_service_tag,
)
from fabric.checks.context import Context, r
from fabric.control.addressing import (
    AddressError,
    IPNetwork,
    parse_address,
    parse_prefix,
)
from fabric.control.connections import gateway_for_vnet
from fabric.control.routing import broken_because
from fabric.model.findings import Finding, error, warning
from fabric.model.records import UDR_NEXT_HOP_TYPES, suggest

_SYSTEM_ONLY_NEXT_HOPS = (
    "VNetPeering",
    "VNetGlobalPeering",
    "ConnectedGroup",  # N8.1: created by Virtual Network Manager only
    "VirtualNetworkServiceEndpoint",
)


def check_gateway_routes(ctx: Context) -> Iterator[Finding]:
    """§4.3: a VirtualNetworkGateway route in a subnet whose VNet no gateway serves is Invalid
    (routing marks it so and drops its traffic; ``routing.broken_because`` decides)."""
    fabric = ctx.fabric
    for vnet in fabric.vnets.values():
        available = gateway_for_vnet(fabric, vnet.name, ctx.view) is not None
        coexists = available and (
            gateway_for_vnet(fabric, vnet.name, ctx.view, "ExpressRoute") is not None
        )
        for subnet in vnet.subnets:
            table = fabric.route_tables.get(subnet.route_table or "")
            for route in table.routes if table is not None else ():
                if route.next_hop_type != "VirtualNetworkGateway":
                    continue
                if available and coexists:  # §4.3
                    yield warning(
                        "GatewayRouteWithCoexistingGateways",
                        f"route {route.name} ({route.address_prefix}) of table {table.name}, "
                        f"used by {vnet.name}/{subnet.name}, sends traffic to "
                        f"VirtualNetworkGateway, which cannot be used where VPN and "
                        "ExpressRoute gateways coexist (§4.3): the route is Invalid and its "
                        "traffic is dropped; let BGP carry the prefix instead",
                        r("route_table", table.name, "route", route.name),
                        r("vnet", vnet.name, "subnet", subnet.name),
                    )
                elif broken_because(route, available):
                    yield warning(
                        "GatewayRouteWithoutGateway",
                        f"route {route.name} ({route.address_prefix}) of table {table.name}, "
                        f"used by {vnet.name}/{subnet.name}, sends traffic to "
                        f"VirtualNetworkGateway, but no VPN gateway serves {vnet.name} (its own "
                        "or through gateway transit): the route is Invalid and its traffic is "
                        "dropped",
                        r("route_table", table.name, "route", route.name),
                        r("vnet", vnet.name, "subnet", subnet.name),
                    )


def check_service_endpoints(ctx: Context) -> Iterator[Finding]:
    """N16: a subnet's service endpoints add VirtualNetworkServiceEndpoint routes; without the
    service's prefixes (the fact sheet has none) the route is listed but carries nothing."""
    known = {name.lower() for name in ENDPOINT_SERVICE_TAGS}
    for vnet in ctx.fabric.vnets.values():
        for subnet in vnet.subnets:
            where = r("vnet", vnet.name, "subnet", subnet.name)
            unknown = []
            for service in dict.fromkeys(subnet.service_endpoints):
                if service.lower() not in known:
                    yield warning(
                        "ServiceEndpointServiceNotRecognised",
                        f"{vnet.name}/{subnet.name}: service endpoint {service!r} is not a "
                        f"service vnetsim knows ({suggest(service, ENDPOINT_SERVICE_TAGS)}); "
                        "its route is listed under that name",
                        where,
                    )
                if not SERVICE_TAG_PREFIXES.get(endpoint_tag(service)):
                    unknown.append(service)
            if unknown:
                tags = ", ".join(f"{s} as {endpoint_tag(s)}" for s in unknown)
                yield warning(
                    "ServiceEndpointPrefixesUnknown",
                    f"{vnet.name}/{subnet.name} has service endpoints whose public prefixes "
                    f"vnetsim does not have ({tags}): their VirtualNetworkServiceEndpoint "
                    "routes are listed with the service tag in place of the prefixes, and "
                    "traffic to those services is not simulated (it follows the subnet's other "
                    "routes, e.g. 0.0.0.0/0) (N16)",
                    where,
                )


def check_route_tables(ctx: Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    hosts_by_ip = {h.ip: h for v in fabric.vnets.values() for h in v.hosts}
    subnet_nets = [net for nets in ctx.subnets.values() for net in nets]
    for table in fabric.route_tables.values():
        if len(table.routes) > limits.ROUTES_PER_TABLE:  # §1.5
            yield error(
                "TooManyRoutes",
                f"route table {table.name} has {len(table.routes)} routes; the limit is "
                f"{limits.ROUTES_PER_TABLE}",
                r("route_table", table.name),
            )
        tag_routes = sum(1 for r in table.routes if is_service_tag(r.address_prefix))
        if tag_routes > limits.SERVICE_TAG_ROUTES_PER_TABLE:  # §1.5 / §4.6
            yield error(
                "TooManyServiceTagRoutes",
                f"route table {table.name} has {tag_routes} service-tag routes; at most "
                f"{limits.SERVICE_TAG_ROUTES_PER_TABLE}",
                r("route_table", table.name),
            )
        prefixes: dict[str, str] = {}
        names: Counter[str] = Counter()
        for route in table.routes:
            resource = r("route_table", table.name, "route", route.name)
            where = f"route table {table.name} route {route.name}"
            names[route.name] += 1
            if not is_service_tag(route.address_prefix):
                try:
                    parse_prefix(route.address_prefix)
                except AddressError as problem:
                    yield error("InvalidAddressPrefix", f"{where}: {problem}", resource)
            elif not SERVICE_TAG_PREFIXES.get(route.address_prefix):
                yield warning(
                    "ServiceTagRouteNotModelled",
                    f"{where}: service tag {route.address_prefix} stands for public prefixes "
                    "vnetsim does not have, so the route carries no simulated traffic",
                    resource,
                )
            if route.address_prefix in prefixes:
                yield error(
                    "DuplicateRouteAddressPrefix",
                    f"{where}: prefix {route.address_prefix} is already routed by "
                    f"{prefixes[route.address_prefix]} in the same table",
                    resource,
                )
            prefixes.setdefault(route.address_prefix, route.name)
            hop = route.next_hop_type
            if hop in _SYSTEM_ONLY_NEXT_HOPS:  # §4.3
                yield error(
                    "NextHopTypeNotAllowedInUdr",
                    f"{where}: next hop {hop} exists only in system routes; use VirtualAppliance "
                    "with an NVA address, or peer the VNets",
                    resource,
                )
                continue
            if hop not in UDR_NEXT_HOP_TYPES:
                yield error(
                    "InvalidNextHopType",
                    f"{where}: next hop type {hop!r} is not valid; "
                    f"{suggest(hop, UDR_NEXT_HOP_TYPES)}",
                    resource,
                )
                continue
            if hop == "VirtualAppliance":
                if route.next_hop_ip_address is None:
                    yield error(
                        "NextHopIpAddressRequired",
                        f"{where}: a VirtualAppliance route needs next_hop_ip_address (the NVA's "
                        "private IP or an internal load balancer frontend)",
                        resource,
                    )
                    continue
                yield from _check_appliance_ip(
                    route.next_hop_ip_address, where, resource, hosts_by_ip, subnet_nets
                )
            elif route.next_hop_ip_address is not None:
                yield error(
                    "NextHopIpAddressNotAllowed",
                    f"{where}: next_hop_ip_address is only allowed with VirtualAppliance, not "
                    f"{hop}; remove it",
                    resource,
                )
        for name, count in names.items():
            if count > 1:
                yield error(
                    "DuplicateResourceName",
                    f"route table {table.name} has {count} routes named {name!r}",
                    r("route_table", table.name, "route", name),
                )


def _check_appliance_ip(
    text: str, where: str, resource: str, hosts_by_ip: dict, subnet_nets: list[IPNetwork]
) -> Iterator[Finding]:
    try:
        ip = parse_address(text)
    except AddressError as problem:
        yield error("InvalidNextHopIpAddress", f"{where}: {problem}", resource)
        return
    host = hosts_by_ip.get(str(ip))
    if host is not None and not host.enable_ip_forwarding:  # §4.3: NIC must forward
        yield warning(
            "NvaIpForwardingDisabled",
            f"{where}: next hop {ip} is host {host.name}, which does not have IP forwarding "
            "enabled, so it drops forwarded packets; set enable_ip_forwarding on its NIC",
            resource,
            r("host", host.name),
        )
    elif host is None and not any(ip in net for net in subnet_nets):
        yield warning(
            "NextHopIpNotInAnySubnet",
            f"{where}: next hop {ip} is in no subnet of this topology, so the route is invalid "
            "and its traffic is dropped",
            resource,
        )


def check_appliance_reach(ctx: Context) -> Iterator[Finding]:
    """§4.3: a VirtualAppliance next hop must be directly reachable, otherwise the UDR is
    invalid. Reachable means what forwarding searches: the subnet's own VNet, a Connected peer
    (service chaining, §2.7) or another member of its connected group (N8.1). An address in
    no subnet at all is ``NextHopIpNotInAnySubnet`` (``check_route_tables``)."""
    fabric, view = ctx.fabric, ctx.view
    holders: dict[str, set[str]] = {}  # next hop text -> the VNets whose subnets hold it
    for vnet in fabric.vnets.values():
        reach: set[str] | None = None
        # (table, route) -> the subnets of this VNet that use it: one finding for all of them
        unreachable: dict[tuple[str, str], tuple] = {}
        for subnet in vnet.subnets:
            table = fabric.route_tables.get(subnet.route_table or "")
            for route in table.routes if table is not None else ():
                text = route.next_hop_ip_address
                if route.next_hop_type != "VirtualAppliance" or text is None:
                    continue
                if text not in holders:
                    try:
                        ip = parse_address(text)
                    except AddressError:
                        holders[text] = set()  # reported by check_route_tables
                    else:
                        holders[text] = {
                            name
                            for (name, _), nets in ctx.subnets.items()
                            if any(ip in n for n in nets)
                        }
                if not holders[text]:
                    continue
                if reach is None:
                    reach = view.neighbours(vnet.name)
                if holders[text] & reach:
                    continue
                key = (table.name, route.name)
                unreachable.setdefault(key, (table, route, text, []))[3].append(subnet.name)
        for table, route, text, subnets in unreachable.values():
            used_by = ", ".join(f"{vnet.name}/{name}" for name in subnets)
            yield warning(
                "NextHopIpNotDirectlyReachable",
                f"route {route.name} ({route.address_prefix}) of table {table.name}, used by "
                f"{used_by}: next hop {text} is in VNet "
                f"{', '.join(sorted(holders[text]))}, which is neither {vnet.name} nor a "
                "Connected peer of it, so the route is invalid and its traffic is dropped "
                "(§4.3: the appliance must be directly reachable); peer the VNets",
                r("route_table", table.name, "route", route.name),
                *(r("vnet", vnet.name, "subnet", name) for name in subnets),
            )


def check_appliance_in_source_subnet(ctx: Context) -> Iterator[Finding]:
    """§4.3: "put the NVA in a different subnet from the sources to avoid loops". An NVA in a
    subnet whose own route table sends traffic to it receives the packets it forwards back
    again by the same route (a loop), so the route is reported once per table and subnet."""
    for vnet in ctx.fabric.vnets.values():
        for subnet in vnet.subnets:
            table = ctx.fabric.route_tables.get(subnet.route_table or "")
            nets = ctx.subnets.get((vnet.name, subnet.name)) or []
            for route in table.routes if table is not None else ():
                text = route.next_hop_ip_address
                if route.next_hop_type != "VirtualAppliance" or not text:
                    continue
                try:
                    ip = parse_address(text)
                except AddressError:
                    continue  # reported by check_route_tables
                if any(ip in net for net in nets):
                    yield warning(
                        "ApplianceInSourceSubnet",
                        f"route {route.name} ({route.address_prefix}) of table {table.name} "
                        f"sends the traffic of {vnet.name}/{subnet.name} to appliance {text}, "
                        "which is in that subnet itself: the packets it forwards match the "
                        "same route and come back to it (a loop). Put the appliance in a "
                        "subnet of its own, without this route (§4.3)",
                        r("route_table", table.name, "route", route.name),
                        r("vnet", vnet.name, "subnet", subnet.name),
                    )
