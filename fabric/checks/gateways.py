"""Gateways and their connections (§3): SKUs, VPN types, BGP, tunnels and their limits."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator

from fabric.catalogue import limits
from fabric.catalogue.skus import LEGACY_SKUS, UnknownSku, lookup
from fabric.checks.addresses import GATEWAY_SUBNET
from fabric.checks.context import Context, overlap_text, r, vnet_not_declared
from fabric.control import connections
from fabric.control.addressing import (
    AddressError,
    parse_address,
    parse_prefix,
)
from fabric.model.findings import Finding, error, warning
from fabric.model.records import suggest

_AZURE_RESERVED_ASNS = frozenset({8074, 8075, 12076, 65517, 65518, 65519, 65520})


def _asn_reserved(asn: int) -> bool:
    return (
        asn in _AZURE_RESERVED_ASNS
        or asn == 23456
        or 64496 <= asn <= 64511
        or 65535 <= asn <= 65551
        or asn == 4294967295
    )


def check_gateways(ctx: Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    per_vnet: dict[str, list[str]] = defaultdict(list)
    for gateway in fabric.gateways.values():
        resource = r("gateway", gateway.name)
        if gateway.vnet not in fabric.vnets:
            yield vnet_not_declared(fabric, f"gateway {gateway.name}", gateway.vnet, resource)
            continue
        per_vnet[(gateway.vnet, gateway.gateway_type)].append(gateway.name)
        vnet = fabric.vnets[gateway.vnet]
        if GATEWAY_SUBNET not in vnet.subnet_names and not vnet.external:  # §1.3 / TC-VN-3
            close = [n for n in vnet.subnet_names if n.lower() == GATEWAY_SUBNET.lower()]
            hint = f" (found {close[0]!r}: the name is case-sensitive)" if close else ""
            yield error(
                "GatewaySubnetMissing",
                f"gateway {gateway.name} needs a subnet named exactly 'GatewaySubnet' in VNet "
                f"{vnet.name}{hint}; add one of /27 or larger",
                resource,
                r("vnet", vnet.name),
            )
        if gateway.gateway_type == "ExpressRoute":
            continue  # fabric.checks.expressroute
        try:
            spec = lookup(gateway.sku, gateway.generation)
        except UnknownSku as problem:
            yield error("InvalidGatewaySku", f"gateway {gateway.name}: {problem}", resource)
            continue
        yield from _check_gateway_scale(ctx, gateway, spec)
        if spec.legacy:  # N13.2
            yield warning(
                "LegacyGatewaySku",
                f"gateway {gateway.name} uses the legacy {spec.name} SKU: no new {spec.name} "
                "gateways can be created since 1 Dec 2023 (Azure answers 'New creations for "
                "Standard or HighPerformance sku is not supported'); an existing one keeps its "
                f"legacy numbers ({spec.aggregate_mbps:g} Mbps) until migrated to "
                f"{LEGACY_SKUS[spec.name]}. Deploy {LEGACY_SKUS[spec.name]} instead",
                resource,
            )
        if gateway.vpn_type == "PolicyBased" and not spec.policy_based:  # §3.1
            yield error(
                "PolicyBasedRequiresBasicSku",
                f"gateway {gateway.name} is PolicyBased on {spec.name}; PolicyBased gateways "
                "exist only on the Basic SKU: use RouteBased",
                resource,
            )
        asked = gateway.enable_bgp or gateway.bgp_asn != connections.DEFAULT_ASN
        if asked and not spec.bgp:  # §3.2-3.3, §9: the gateway flag or an ASN of its own
            how = "enables BGP" if gateway.enable_bgp else f"sets BGP ASN {gateway.bgp_asn}"
            yield error(
                "BgpNotSupportedOnSku",
                f"gateway {gateway.name} {how}, but the {spec.name} SKU does not support BGP; "
                "use VpnGw1 or larger",
                resource,
            )
        if gateway.active_active and not spec.active_active:  # §3.3
            yield error(
                "ActiveActiveNotSupportedOnSku",
                f"gateway {gateway.name}: the {spec.name} SKU does not support active-active",
                resource,
            )
        if _asn_reserved(gateway.bgp_asn):  # §3.9
            yield error(
                "InvalidBgpAsn",
                f"gateway {gateway.name}: ASN {gateway.bgp_asn} is reserved by Azure or IANA; "
                "use 64512-65514 or 65521-65534",
                resource,
            )
    for (vnet, kind), names in per_vnet.items():
        if len(names) > limits.VPN_GATEWAYS_PER_VNET:  # §1.5: one VPN and one ER per VNet
            label = "VPN" if kind == "Vpn" else "ExpressRoute"
            yield error(
                "TooManyVpnGateways" if kind == "Vpn" else "TooManyExpressRouteGateways",
                f"VNet {vnet} has {len(names)} {label} gateways ({', '.join(names)}); at most "
                f"{limits.VPN_GATEWAYS_PER_VNET} is allowed per VNet",
                r("vnet", vnet),
                *(r("gateway", n) for n in names),
            )
    yield from _check_sites(ctx)


def _check_gateway_scale(ctx: Context, gateway, spec) -> Iterator[Finding]:
    """§3.2 supported VMs, §3.5 VNet prefixes and BGP routes per gateway."""
    fabric = ctx.fabric
    resource = r("gateway", gateway.name)
    served = [gateway.vnet, *connections.transit_spokes(fabric, gateway, ctx.view)]
    vms = {h.vm_name for v in served if v in fabric.vnets for h in fabric.vnets[v].hosts}
    if spec.supported_vms and len(vms) > spec.supported_vms:  # 0: not published (legacy)
        yield warning(
            "GatewaySupportedVmsExceeded",
            f"gateway {gateway.name} ({spec.name}) serves {len(vms)} VMs in its VNet and transit "
            f"spokes; Microsoft supports {spec.supported_vms} on this SKU, above which the "
            "gateway may drop packets: use a larger SKU",
            resource,
        )
    prefixes = connections.owned_prefixes(fabric, gateway, ctx.view)
    if len(prefixes) > limits.VNET_PREFIXES_PER_VPN_GATEWAY:
        yield error(
            "TooManyVnetPrefixesForGateway",
            f"gateway {gateway.name} serves {len(prefixes)} VNet address prefixes (its VNet and "
            f"transit spokes); the limit is {limits.VNET_PREFIXES_PER_VPN_GATEWAY}",
            resource,
        )
    bgp = connections.bgp_route_count(fabric, gateway, ctx.view)
    if bgp > limits.BGP_ROUTES_PER_GATEWAY:  # accepted, but the session drops: a warning
        yield warning(
            "BgpRouteLimitExceeded",
            f"gateway {gateway.name} would learn {bgp} routes over BGP; above "
            f"{limits.BGP_ROUTES_PER_GATEWAY} Azure drops the BGP session, so none of them is "
            "learned: summarise the prefixes",
            resource,
        )


def _check_sites(ctx: Context) -> Iterator[Finding]:
    """N12.1: local network gateways' prefixes."""
    for site in ctx.fabric.local_network_gateways.values():
        resource = r("local_network_gateway", site.name)
        for text in site.address_prefixes:
            try:
                parse_prefix(text)
            except AddressError as problem:
                yield error("InvalidAddressPrefix", f"site {site.name}: {problem}", resource)
        if len(site.address_prefixes) > limits.PREFIXES_PER_LOCAL_NETWORK_GATEWAY:
            yield error(
                "TooManyLocalNetworkPrefixes",
                f"site {site.name} has {len(site.address_prefixes)} prefixes; the limit is "
                f"{limits.PREFIXES_PER_LOCAL_NETWORK_GATEWAY}",
                resource,
            )
        if not site.address_prefixes and site.bgp_settings is None:
            yield error(
                "LocalNetworkAddressSpaceRequired",
                f"site {site.name} has no address prefixes and no BGP: without BGP a non-empty "
                "address space is mandatory (N12.4)",
                resource,
            )


def check_connections(ctx: Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    tunnels: Counter[str] = Counter()
    parallel: Counter[tuple[str, str]] = Counter()
    for connection in fabric.connections.values():
        resource = r("connection", connection.name)
        site_connection = connection.connection_type == "IPsec"
        circuit_connection = connection.connection_type == "ExpressRoute"
        targets = fabric.local_network_gateways if site_connection else fabric.gateways
        kinds = ("gateway", "local network gateway" if site_connection else "gateway")
        if circuit_connection:
            targets, kinds = fabric.express_route_circuits, ("gateway", "ExpressRoute circuit")
        missing = False
        for name, table, kind in (
            (connection.from_gateway, fabric.gateways, kinds[0]),
            (connection.to_gateway, targets, kinds[1]),
        ):
            if name not in table:
                missing = True
                yield error(
                    "ReferencedResourceNotFound",
                    f"connection {connection.name} names {kind} {name!r}, which is not declared "
                    f"({suggest(name, table)})",
                    resource,
                )
        if missing:
            continue
        if not circuit_connection:  # circuit connections: fabric.checks.expressroute
            tunnels[connection.from_gateway] += 1
        local = fabric.gateways[connection.from_gateway]
        if connection.connection_type == "Vnet2Vnet":
            remote = fabric.gateways[connection.to_gateway]
            if local.vnet == remote.vnet:
                yield error(
                    "ConnectionToSameVnet",
                    f"connection {connection.name} joins two gateways in VNet {local.vnet}",
                    resource,
                )
                continue
            parallel[(local.name, remote.name)] += 1
            yield from _overlap(ctx, connection, local.vnet, remote.vnet)
            if connection.enable_bgp and local.bgp_asn == remote.bgp_asn:
                yield error(
                    "BgpAsnConflict",
                    f"connection {connection.name} enables BGP between {local.name} and "
                    f"{remote.name}, which both use ASN {local.bgp_asn}; give them different ASNs",
                    resource,
                )
        elif site_connection:
            yield from _check_site(ctx, connection, local)
        for problem in connections.connection_problems(fabric, connection):
            severity = error if problem.refused else warning
            yield severity(problem.code, problem.message, *problem.resources)
    for name, count in tunnels.items():
        gateway = fabric.gateways[name]
        try:
            spec = lookup(gateway.sku, gateway.generation)
        except UnknownSku:
            continue
        limit = 1 if gateway.vpn_type == "PolicyBased" else spec.s2s_tunnels  # §3.1-3.2
        if count > limit:
            yield error(
                "TunnelLimitExceeded",
                f"gateway {name} ({spec.name}, {gateway.vpn_type}) has {count} connections; the "
                f"limit is {limit} tunnels: use a larger SKU or Virtual WAN",
                r("gateway", name),
            )
    for (a, b), count in parallel.items():
        gateways = (fabric.gateways[a], fabric.gateways[b])
        if count > 1 and not any(g.active_active for g in gateways):  # §3.3
            yield error(
                "RedundantTunnelsNeedActiveActive",
                f"gateway {a} has {count} connections to {b}; redundant tunnels between the same "
                "two VNets need at least one of the gateways in active-active mode",
                r("gateway", a),
                r("gateway", b),
            )


def _overlap(ctx: Context, connection, vnet_a: str, vnet_b: str) -> Iterator[Finding]:
    pairs = [(a, b) for a in ctx.networks(vnet_a) for b in ctx.networks(vnet_b) if a.overlaps(b)]
    if pairs:  # §2.4: VNet-to-VNet connections require non-overlapping spaces
        yield error(
            "VnetAddressSpacesOverlap",
            f"connection {connection.name}: VNets {vnet_a} and {vnet_b} cannot be connected "
            f"because their address spaces overlap ({overlap_text(pairs)})",
            r("connection", connection.name),
            r("vnet", vnet_a),
            r("vnet", vnet_b),
        )


def _check_site(ctx: Context, connection, gateway) -> Iterator[Finding]:
    """N12: a site-to-site connection's local network gateway against the VNet and the other
    sites of the same gateway (the spaces must not overlap), and its BGP ASN."""
    fabric = ctx.fabric
    site = fabric.local_network_gateways[connection.to_gateway]
    resource = r("connection", connection.name)
    prefixes = connections.site_prefixes(site)
    own = list(connections.owned_prefixes(fabric, gateway, ctx.view))
    for other in fabric.connections.values():  # §2.4: VNets joined VNet-to-VNet too
        far = fabric.gateways.get(other.to_gateway)
        if other.from_gateway == gateway.name and other.connection_type == "Vnet2Vnet" and far:
            own += connections.owned_prefixes(fabric, far, ctx.view)
    pairs = [(a, b) for a in prefixes for b in dict.fromkeys(own) if a.overlaps(b)]
    for other in fabric.connections.values():
        if (
            other.name < connection.name
            and other.from_gateway == gateway.name
            and other.connection_type == "IPsec"
            and other.to_gateway in fabric.local_network_gateways
            and other.to_gateway != site.name
        ):
            theirs = connections.site_prefixes(fabric.local_network_gateways[other.to_gateway])
            pairs += [(a, b) for a in prefixes for b in theirs if a.overlaps(b)]
    if pairs:  # N12.3: Azure answers ConnectionOverlappingAddressSpaces
        yield error(
            "ConnectionOverlappingAddressSpaces",
            f"connection {connection.name}: the on-premises prefixes of {site.name} overlap "
            f"address space the gateway {gateway.name} already reaches ({overlap_text(pairs)}); "
            "give the site and the VNets disjoint ranges",
            resource,
            r("local_network_gateway", site.name),
        )
    bgp = site.bgp_settings
    if connection.enable_bgp and bgp is not None:
        if bgp.asn == gateway.bgp_asn:
            yield error(
                "BgpAsnConflict",
                f"connection {connection.name} enables BGP between {gateway.name} and site "
                f"{site.name}, which both use ASN {bgp.asn}; on-premises and Azure need "
                "different ASNs",
                resource,
            )
        if bgp.asn == connections.DEFAULT_ASN or _asn_reserved(bgp.asn):  # §3.9, TC-BGP-1
            yield error(
                "InvalidBgpAsn",
                f"site {site.name}: ASN {bgp.asn} is reserved by Azure or IANA and cannot be "
                "used on premises; use 64512-65514 or 65521-65534",
                r("local_network_gateway", site.name),
            )
        yield from _check_bgp_peer_address(ctx, connection, gateway, site)
        if not site.address_prefixes and not bgp.advertised_prefixes:
            yield warning(
                "SiteRoutesNotModelled",
                f"connection {connection.name}: site {site.name} declares no address space "
                "(N12.4: with BGP it may be left empty) and no prefixes it announces over BGP "
                "(what a device announces is in no template), so only its BGP peer address is "
                "routed to it; give bgp_settings.advertised_prefixes in the native format to "
                "model the networks behind it",
                resource,
                r("local_network_gateway", site.name),
            )


def _check_bgp_peer_address(ctx: Context, connection, gateway, site) -> Iterator[Finding]:
    """N12.4 (BGP FAQ, 10/18/2023): the on-premises BGP peer IP must be neither the device's
    public IP nor inside the VNet address space (the session would not come up)."""
    text = site.bgp_settings.bgp_peering_address
    if not text:
        return
    try:
        address = parse_address(text)
    except AddressError as problem:
        yield error(
            "InvalidBgpPeeringAddress",
            f"site {site.name}: {problem}",
            r("local_network_gateway", site.name),
        )
        return
    inside = [net for net in ctx.networks(gateway.vnet) if address in net]
    why = None
    if inside:
        why = f"is inside the address space of VNet {gateway.vnet} ({inside[0]})"
    elif site.gateway_ip_address and text.strip() == site.gateway_ip_address.strip():
        why = "is the device's own public IP (gateway_ip_address)"
    if why:
        yield error(
            "InvalidBgpPeeringAddress",
            f"connection {connection.name}: the BGP peer address {text} of site {site.name} "
            f"{why}; give the device a BGP address of its own outside the VNet (N12.4)",
            r("connection", connection.name),
            r("local_network_gateway", site.name),
        )
