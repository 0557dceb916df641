"""ExpressRoute (azure-facts.md Part II N1): gateways, circuits and what links them.

Connection rules (reach of a circuit's SKU, authorization, FastPath on the SKU, routing weight,
provisioning, the 1,000 advertised routes) are the control plane's and come out of
``check_connections``; this module checks what is not about one connection.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator

from fabric.catalogue import circuits as limits
from fabric.catalogue.skus import SCALE_UNIT_RANGE, UnknownSku
from fabric.checks.addresses import GATEWAY_SUBNET
from fabric.checks.context import Context, r
from fabric.control import connections
from fabric.control.addressing import AddressError, contains, parse_prefix, valid_networks
from fabric.control.expressroute import bgp_session_dropped, fastpath_supported, gateway_spec
from fabric.model import Connection, VpnGateway
from fabric.model.findings import Finding, error, warning

IPV6_GATEWAY_SUBNET_MAX_PREFIXLEN = 64  # N1.2


def check_express_route(ctx: Context) -> Iterator[Finding]:
    """Every ExpressRoute gateway and circuit of the fabric."""
    fabric = ctx.fabric
    links: dict[str, list[Connection]] = defaultdict(list)  # gateway -> its ER connections
    for connection in fabric.connections.values():
        if (
            connection.connection_type == "ExpressRoute"
            and connection.from_gateway in fabric.gateways
            and connection.to_gateway in fabric.express_route_circuits
        ):
            links[connection.from_gateway].append(connection)
    ours = [
        g
        for g in fabric.gateways.values()
        if g.gateway_type == "ExpressRoute" and g.vnet in fabric.vnets
    ]
    learned = connections.learned_routes(fabric, ctx.view) if ours else {}
    for gateway in ours:
        routes = len(learned.get(gateway.name, []))
        yield from _check_gateway(ctx, gateway, links.get(gateway.name, []), routes)
    yield from _check_circuits(ctx, links)
    yield from _check_remote_vnet_traffic(ctx, links)


# -- gateways ---------------------------------------------------------------------------------


def _check_gateway(
    ctx: Context, gateway: VpnGateway, links: list[Connection], learned: int
) -> Iterator[Finding]:
    fabric = ctx.fabric
    resource = r("gateway", gateway.name)
    if gateway.sku.lower() == "basic":  # N13.3
        yield error(
            "GatewaySkuDeprecated",
            f"gateway {gateway.name}: the Basic SKU is deprecated for use with ExpressRoute "
            "(N13.3); use ErGw1AZ or larger",
            resource,
        )
        return
    yield from _check_scale_units(gateway, resource)
    try:
        spec = gateway_spec(gateway)
    except UnknownSku as problem:
        yield error("InvalidGatewaySku", f"gateway {gateway.name}: {problem}", resource)
        return
    units = f" with {spec.scale_units} scale unit(s)" if spec.scale_units else ""
    if len(links) > spec.circuit_connections:  # N1.1
        yield error(
            "ExpressRouteCircuitConnectionLimitExceeded",
            f"gateway {gateway.name} ({spec.name}{units}) has {len(links)} circuit "
            f"connections; the SKU allows {spec.circuit_connections} (N1.1): use a larger SKU",
            resource,
        )
    vnet = fabric.vnets[gateway.vnet]
    subnet = _gateway_subnet(ctx, vnet.name)
    if subnet is not None:
        yield from _check_gateway_subnet(ctx, gateway, vnet.name, subnet, len(links))
    per_location = Counter(
        limits.location_key(fabric.express_route_circuits[c.to_gateway].peering_location)
        for c in links
    )
    for location, count in sorted(per_location.items()):
        if count > limits.CIRCUITS_PER_PEERING_LOCATION_PER_VNET:  # N1.1 / N1.5
            yield error(
                "TooManyCircuitsFromOnePeeringLocation",
                f"VNet {vnet.name} links {count} circuits from peering location {location}; at "
                f"most {limits.CIRCUITS_PER_PEERING_LOCATION_PER_VNET} circuits from one "
                "peering location can link to a VNet, whatever the gateway SKU (N1.1)",
                resource,
                r("vnet", vnet.name),
            )
    served = [gateway.vnet, *connections.transit_spokes(fabric, gateway, ctx.view)]
    vms = {h.vm_name for v in served if v in fabric.vnets for h in fabric.vnets[v].hosts}
    if len(vms) > spec.supported_vms:  # N1.1 footnote 1
        yield warning(
            "GatewaySupportedVmsExceeded",
            f"gateway {gateway.name} ({spec.name}{units}) serves {len(vms)} VMs in its VNet and "
            f"transit spokes; Microsoft estimates {spec.supported_vms} for this SKU, above "
            "which the gateway starts dropping packets (N1.1): use a larger SKU",
            resource,
        )
    if learned > spec.routes_learned:  # N1.1; what happens above it is not documented
        yield warning(
            "ExpressRouteGatewayRouteLimitExceeded",
            f"gateway {gateway.name} ({spec.name}) would learn {learned} routes; the SKU "
            f"supports {spec.routes_learned} (N1.1). Azure does not document what happens "
            "above it, so vnetsim keeps them all: summarise the prefixes",
            resource,
        )
    own = len(connections.owned_prefixes(fabric, gateway, ctx.view))
    if learned + own > limits.ROUTING_DOMAIN_ROUTES:  # N1.1
        yield warning(
            "ExpressRouteRoutingDomainTooLarge",
            f"gateway {gateway.name}'s routing domain holds {learned + own} routes (VNet "
            f"spaces, on-premises and peered VNets); Microsoft advises staying under "
            f"{limits.ROUTING_DOMAIN_ROUTES} (N1.1)",
            resource,
        )
    yield from _check_fastpath_ips(ctx, gateway, links, served)


def _check_scale_units(gateway: VpnGateway, resource: str) -> Iterator[Finding]:
    """N1.1: ErGwScale takes 1-40 scale units; other SKUs have none."""
    low, high = SCALE_UNIT_RANGE
    if gateway.sku.lower() != "ergwscale":
        if gateway.scale_units is not None:
            yield warning(
                "ScaleUnitsIgnored",
                f"gateway {gateway.name} sets scale_units, but only ErGwScale has scale units; "
                f"{gateway.sku} has fixed figures",
                resource,
            )
        return
    if gateway.scale_units is None:
        yield warning(
            "ScaleUnitsAssumed",
            f"gateway {gateway.name} is ErGwScale without scale units; vnetsim takes the "
            f"minimum, {low} (1,000 Mbps, 4 circuits, no FastPath): set scale_units (ARM "
            "autoScaleConfiguration.bounds.min)",
            resource,
        )
    elif not low <= gateway.scale_units <= high:
        yield error(
            "InvalidScaleUnits",
            f"gateway {gateway.name}: ErGwScale takes {low} to {high} scale units, not "
            f"{gateway.scale_units} (N1.1)",
            resource,
        )


def _gateway_subnet(ctx: Context, vnet: str):
    nets = [n for n in ctx.subnets.get((vnet, GATEWAY_SUBNET), ()) if n.version == 4]
    return nets[0] if nets else None


def _check_gateway_subnet(
    ctx: Context, gateway: VpnGateway, vnet: str, net, circuits: int
) -> Iterator[Finding]:
    """N1.2: coexistence needs /27 or shorter; 16 circuits need /26 or larger; a user route
    that drops the GatewaySubnet's own range blocks the gateway."""
    fabric = ctx.fabric
    subnet = r("vnet", vnet, "subnet", GATEWAY_SUBNET)
    vpn = fabric.gateways_in(vnet)
    if vpn and net.prefixlen > limits.COEXISTENCE_MAX_PREFIXLEN:
        yield error(
            "GatewaySubnetTooSmallForCoexistence",
            f"{vnet}/GatewaySubnet is /{net.prefixlen}; a VPN gateway ({vpn[0].name}) and an "
            f"ExpressRoute gateway ({gateway.name}) together need /27 or larger, else adding "
            "the ExpressRoute gateway fails (N1.2): delete the gateway, enlarge the subnet, "
            "recreate",
            subnet,
            r("gateway", gateway.name),
        )
    for other in vpn:
        if other.sku == "Basic" or other.vpn_type == "PolicyBased":
            yield error(
                "CoexistenceNotSupported",
                f"VPN gateway {other.name} is {other.sku} {other.vpn_type}; ExpressRoute and "
                "VPN gateways coexist only with a route-based VPN gateway other than Basic "
                "(N1.7, N13.1)",
                r("gateway", other.name),
                r("gateway", gateway.name),
            )
    if (
        circuits >= limits.SIXTEEN_CIRCUITS
        and net.prefixlen > limits.SIXTEEN_CIRCUITS_MAX_PREFIXLEN
    ):
        yield error(
            "GatewaySubnetTooSmallForCircuits",
            f"gateway {gateway.name} has {circuits} circuit connections; 16 circuits on one "
            f"gateway need a GatewaySubnet of /26 or larger, and {vnet}'s is /{net.prefixlen} "
            "(N1.2)",
            subnet,
            r("gateway", gateway.name),
        )
    for six in (n for n in ctx.subnets.get((vnet, GATEWAY_SUBNET), ()) if n.version == 6):
        if six.prefixlen > IPV6_GATEWAY_SUBNET_MAX_PREFIXLEN:  # N1.2: dual-stack
            yield error(
                "GatewaySubnetTooSmall",
                f"{vnet}/GatewaySubnet's IPv6 range {six} is smaller than /64; a dual-stack "
                f"ExpressRoute gateway needs /64 or larger (N1.2)",
                subnet,
                r("gateway", gateway.name),
            )
    table_name = next(
        (s.route_table for s in fabric.vnets[vnet].subnets if s.name == GATEWAY_SUBNET), None
    )
    table = fabric.route_tables.get(table_name or "")
    for route in table.routes if table is not None else ():
        try:
            prefix = parse_prefix(route.address_prefix)
        except AddressError:
            continue
        if route.next_hop_type == "None" and contains(prefix, net):
            yield error(
                "GatewaySubnetRouteBlocksGateway",
                f"route {route.name} ({route.address_prefix} -> None) of table {table.name} "
                f"covers {vnet}/GatewaySubnet itself; such routes are unsupported and block "
                f"creating ExpressRoute gateway {gateway.name} (N1.2)",
                r("route_table", table.name, "route", route.name),
                r("gateway", gateway.name),
            )


def _check_fastpath_ips(
    ctx: Context, gateway: VpnGateway, links: list[Connection], served: list[str]
) -> Iterator[Finding]:
    """N1.4: above a circuit's FastPath IP limit, new FastPath routes are not programmed and
    their traffic goes through the gateway. vnetsim counts the declared NICs it serves."""
    fabric = ctx.fabric
    if not fastpath_supported(gateway):
        return
    ips = sum(len(fabric.vnets[v].hosts) for v in served if v in fabric.vnets)
    for connection in links:
        if not connection.express_route_gateway_bypass:
            continue
        circuit = fabric.express_route_circuits[connection.to_gateway]
        limit = limits.fastpath_ip_limit(circuit.direct, circuit.bandwidth_mbps)
        if ips > limit:
            yield warning(
                "FastPathIpLimitExceeded",
                f"connection {connection.name}: FastPath to {ips} IPs behind gateway "
                f"{gateway.name} exceeds circuit {circuit.name}'s limit of {limit} (N1.4); "
                "above it new FastPath routes are not programmed and that traffic goes "
                "through the gateway (vnetsim cannot tell which IPs, and bypasses for all)",
                r("connection", connection.name),
            )


# -- circuits ---------------------------------------------------------------------------------


def _check_circuits(ctx: Context, links: dict[str, list[Connection]]) -> Iterator[Finding]:
    fabric = ctx.fabric
    linked: dict[str, set[str]] = defaultdict(set)  # circuit -> gateways linked to it
    for gateway, connections_ in links.items():
        for connection in connections_:
            linked[connection.to_gateway].add(gateway)
    per_subscription: Counter[str | None] = Counter()
    for circuit in fabric.express_route_circuits.values():
        resource = r("express_route_circuit", circuit.name)
        per_subscription[circuit.subscription] += 1
        sizes = limits.DIRECT_SIZES_MBPS if circuit.direct else limits.PROVIDER_SIZES_MBPS
        if circuit.bandwidth_mbps not in sizes:  # N1.5
            kind = "ExpressRoute Direct" if circuit.direct else "provider"
            yield error(
                "InvalidCircuitBandwidth",
                f"circuit {circuit.name}: {circuit.bandwidth_mbps:g} Mbps is not a {kind} "
                f"circuit size; use one of {', '.join(f'{s:,}' for s in sizes)} Mbps (N1.5)",
                resource,
            )
        if circuit.sku_tier == "Local" and circuit.sku_family != "UnlimitedData":  # N1.5
            yield error(
                "LocalCircuitRequiresUnlimitedData",
                f"circuit {circuit.name} is Local with {circuit.sku_family}; Local circuits "
                "come only with the UnlimitedData plan (N1.5)",
                resource,
            )
        for text in circuit.on_premises_prefixes:
            try:
                parse_prefix(text)
            except AddressError as problem:
                yield error("InvalidAddressPrefix", f"circuit {circuit.name}: {problem}", resource)
        if bgp_session_dropped(circuit):  # N1.5
            count = len([p for p in valid_networks(circuit.on_premises_prefixes) if p.version == 4])
            yield warning(
                "CircuitRouteLimitExceeded",
                f"circuit {circuit.name} ({circuit.sku_tier}) receives {count} IPv4 prefixes "
                f"from on-premises; above {limits.ON_PREMISES_ROUTES[circuit.sku_tier]:,} the "
                "private-peering BGP session drops, so no on-premises route is learned (N1.5): "
                "summarise, or use Premium (10,000)",
                resource,
            )
        if limits.peering_location(circuit.peering_location) is None:
            yield warning(
                "PeeringLocationUnknown",
                f"circuit {circuit.name}: peering location {circuit.peering_location!r} is not "
                "in vnetsim's metro table, so the regions its SKU reaches are not checked and "
                "its latency must be given (simulation.parameters.peering_location_rtt_ms)",
                resource,
            )
        gateways = linked.get(circuit.name, set())
        allowed = limits.vnet_links(circuit.bandwidth_mbps, circuit.sku_tier)
        if allowed is not None and len(gateways) > allowed:  # N1.5
            yield error(
                "ExpressRouteCircuitLinkLimitExceeded",
                f"circuit {circuit.name} ({circuit.bandwidth_mbps:g} Mbps, {circuit.sku_tier}) "
                f"links {len(gateways)} VNets; the limit is {allowed} (N1.5)"
                + ("; Premium raises it" if circuit.sku_tier != "Premium" else ""),
                resource,
            )
        yield from _check_reach_known(ctx, circuit, gateways, resource)
    for subscription, count in per_subscription.items():
        if count > limits.CIRCUITS_PER_SUBSCRIPTION:  # N1.5
            yield error(
                "TooManyExpressRouteCircuits",
                f"{count} circuits in subscription {subscription or '(default)'}; the limit is "
                f"{limits.CIRCUITS_PER_SUBSCRIPTION} (N1.5; raised by a support request)",
            )


def _check_reach_known(ctx: Context, circuit, gateways: set[str], resource: str):
    """A Standard circuit linked to a region whose geopolitical area vnetsim does not know."""
    if circuit.sku_tier != "Standard" or limits.peering_location(circuit.peering_location) is None:
        return
    for name in sorted(gateways):
        vnet = ctx.fabric.vnets.get(ctx.fabric.gateways[name].vnet)
        if vnet is not None and not vnet.external and limits.region_area(vnet.region) is None:
            yield warning(
                "CircuitReachNotChecked",
                f"circuit {circuit.name} is Standard and links VNet {vnet.name} in region "
                f"{vnet.region}, whose geopolitical area is not in vnetsim's table; whether the "
                "circuit may reach it (N1.5) is not checked",
                resource,
                r("vnet", vnet.name),
            )


# -- VNet-to-VNet over a shared circuit ---------------------------------------------------------


def _check_remote_vnet_traffic(
    ctx: Context, links: dict[str, list[Connection]]
) -> Iterator[Finding]:
    """N1.6: two VNets on one circuit reach each other over it only when both gateways allow
    remote VNet traffic (each filters what it learns). Reported for VNets not peered with
    each other, where the circuit would be their way."""
    fabric = ctx.fabric
    names = sorted(links)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = sorted({c.to_gateway for c in links[a]} & {c.to_gateway for c in links[b]})
            ga, gb = fabric.gateways[a], fabric.gateways[b]
            if not shared or ga.vnet == gb.vnet or _peered(ctx, ga.vnet, gb.vnet):
                continue
            closed = [g.name for g in (ga, gb) if not g.allow_remote_vnet_traffic]
            if not closed:
                continue
            one_way = len(closed) == 1
            yield warning(
                "RemoteVnetTrafficNotAllowed",
                f"VNets {ga.vnet} and {gb.vnet} share circuit {shared[0]}, but "
                + (
                    f"gateway {closed[0]} does"
                    if one_way
                    else f"gateways {' and '.join(closed)} do"
                )
                + " not allow traffic from remote virtual networks "
                "(off by default for new gateways, N1.6), so "
                + (
                    "only one direction is routed and replies do not return"
                    if one_way
                    else "they cannot reach each other over the circuit"
                )
                + ": peer the VNets (Microsoft's recommendation) or set "
                "allow_remote_vnet_traffic on both gateways",
                r("gateway", a),
                r("gateway", b),
                r("express_route_circuit", shared[0]),
            )


def _peered(ctx: Context, a: str, b: str) -> bool:
    return any(link.remote_vnet == b for link in ctx.view.connected_links(a))
