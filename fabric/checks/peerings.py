"""Peerings (§2): state, overlaps, gateway transit settings. The links checked are those that
exist (the peering view's: declared ones Azure creates, and those Virtual Network Manager
creates); a declared link that does not exist is reported by ``fabric.checks.avnm``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from fabric.catalogue.clouds import cloud_of
from fabric.checks.context import Context, overlap_text, r
from fabric.control.addressing import IPNetwork
from fabric.control.peering import DISCONNECTED, INITIATED, sync_level
from fabric.control.routeserver import route_server_in
from fabric.model.findings import Finding, error, warning
from fabric.model.records import Peering


def check_peerings(ctx: Context) -> Iterator[Finding]:
    links_by_pair: dict[tuple[str, str], list[Peering]] = defaultdict(list)
    use_remote: dict[str, list[Peering]] = defaultdict(list)
    links = ctx.view.links
    for link in links:
        links_by_pair[(link.vnet, link.remote_vnet)].append(link)
        if link.use_remote_gateways:
            use_remote[link.vnet].append(link)
    for link in links:
        yield from _check_one_peering(ctx, link)
    for (vnet, remote), links in links_by_pair.items():
        if len(links) > 1:
            yield error(
                "DuplicatePeering",
                f"VNet {vnet} has {len(links)} peerings to {remote} "
                f"({', '.join(link.name for link in links)}); keep one",
                *(r("peering", vnet, link.name) for link in links),
            )
    for vnet, links in use_remote.items():
        if len(links) > 1:  # §2.6: at most one link per VNet may set useRemoteGateways
            yield error(
                "MultipleUseRemoteGateways",
                f"VNet {vnet} sets use_remote_gateways on {len(links)} peerings "
                f"({', '.join(link.name for link in links)}); only one may (vnetsim's code: "
                "Azure documents none, §11)",
                *(r("peering", vnet, link.name) for link in links),
            )
    yield from _check_already_peered_overlaps(ctx)


def _check_one_peering(ctx: Context, link: Peering) -> Iterator[Finding]:
    fabric = ctx.fabric
    resource = r("peering", link.vnet, link.name)
    if link.vnet not in fabric.vnets:
        yield error(
            "ReferencedResourceNotFound",
            f"peering {link.name} lives in VNet {link.vnet!r}, which is not declared",
            resource,
        )
        return
    if link.remote_vnet == link.vnet:
        yield error(
            "PeeringToSelf", f"peering {link.name} points VNet {link.vnet} at itself", resource
        )
        return
    remote_known = link.remote_vnet in fabric.vnets
    pairs: list[tuple[IPNetwork, IPNetwork]] = []
    if not remote_known:
        yield warning(
            "RemoteVnetNotInTopology",
            f"peering {link.vnet}/{link.name} points at VNet {link.remote_vnet!r}, which this "
            "topology does not declare; its routes and state are taken as reported",
            resource,
        )
    else:
        pairs = [
            (a, b)
            for a in ctx.networks(link.vnet)
            for b in ctx.networks(link.remote_vnet)
            if a.overlaps(b)
        ]
        other = ctx.view.counterpart(link)
        if pairs and (other is None or link.vnet < link.remote_vnet):  # §2.4 / TC-PR-3, once
            yield error(
                "VnetAddressSpacesOverlap",
                f"VNets {link.vnet} and {link.remote_vnet} cannot be peered because their address "
                f"spaces overlap ({overlap_text(pairs)}); change one of the spaces",
                resource,
                r("vnet", link.vnet),
                r("vnet", link.remote_vnet),
            )
    across_clouds = ctx.view.across_clouds(link)
    if across_clouds and (ctx.view.counterpart(link) is None or link.vnet < link.remote_vnet):
        # §2.1, once a pair
        here, there = fabric.vnets[link.vnet], fabric.vnets[link.remote_vnet]
        yield error(
            "PeeringAcrossClouds",
            f"VNets {link.vnet} ({here.region}, {cloud_of(here.region)}) and {link.remote_vnet} "
            f"({there.region}, {cloud_of(there.region)}) cannot be peered: global peering works "
            "only within one cloud (public, China or Government); connect them another way",
            resource,
            r("vnet", link.vnet),
            r("vnet", link.remote_vnet),
        )
    state = ctx.view.state(link)
    avnm_link = ctx.view.created_by(link) is not None  # its failures are reported apart
    if (
        state == INITIATED and not pairs and not across_clouds and not avnm_link
    ):  # §2.2 (overlaps: above)
        yield warning(
            "PeeringNotConnected",
            f"peering {link.vnet}/{link.name} is Initiated: there is no link from "
            f"{link.remote_vnet} back to {link.vnet}, so no traffic flows; create that link",
            resource,
        )
    elif state == DISCONNECTED:
        yield warning(
            "PeeringDisconnected",
            f"peering {link.vnet}/{link.name} is Disconnected (its remote side was deleted), so "
            "no traffic flows; delete this link and create both sides again",
            resource,
        )
    level = sync_level(fabric, link, ctx.view)
    if level in ("LocalNotInSync", "LocalAndRemoteNotInSync"):  # §2.3
        yield warning(
            "PeeringNotInSync",
            f"peering {link.vnet}/{link.name} is {level}: its copy of {link.remote_vnet}'s "
            f"address space is stale, so new ranges are not routed; sync this link",
            resource,
        )
    # §2.6: "the gateway (VPN or ExpressRoute)": either type is shared, and either blocks
    # use_remote_gateways on its own VNet.
    local_gateways = fabric.gateways_in(link.vnet, None)
    if link.use_remote_gateways:
        # N15.2: "use the remote virtual network's gateway or Route Server"
        remote_gateways = fabric.gateways_in(link.remote_vnet, None) or route_server_in(
            fabric, link.remote_vnet
        )
        if remote_known and not remote_gateways:  # §2.6 failure modes
            yield error(
                "RemoteVnetHasNoGateways",
                f"peering {link.vnet}/{link.name} cannot have use_remote_gateways set to true "
                f"because remote VNet {link.remote_vnet} does not have any gateways",
                resource,
            )
        if local_gateways:
            yield error(
                "UseRemoteGatewaysWithLocalGateway",
                f"peering {link.vnet}/{link.name} sets use_remote_gateways, but VNet "
                f"{link.vnet} has its own gateway {local_gateways[0].name}; remove one of them "
                "(vnetsim's code: Azure documents none, §11)",
                resource,
            )
        other = ctx.view.counterpart(link)
        if other is not None and not other.allow_gateway_transit:
            yield error(
                "RemotePeeringDoesNotAllowGatewayTransit",
                f"peering {link.vnet}/{link.name} sets use_remote_gateways, but the remote link "
                f"{link.remote_vnet}/{other.name} does not set allow_gateway_transit; set it",
                resource,
                r("peering", link.remote_vnet, other.name),
            )
    if link.allow_gateway_transit:
        if not local_gateways and route_server_in(fabric, link.vnet) is None:  # N15.2
            yield warning(
                "GatewayTransitWithoutGateway",
                f"peering {link.vnet}/{link.name} allows gateway transit, but VNet {link.vnet} "
                "has no gateway, so there is nothing to share",
                resource,
            )
        for gateway in local_gateways:
            if gateway.gateway_type == "Vpn" and gateway.sku == "Basic":  # §3.3 and §9
                yield warning(
                    "GatewayTransitNotSupportedOnBasicSku",
                    f"peering {link.vnet}/{link.name} allows gateway transit through "
                    f"{gateway.name}, a Basic gateway; Basic does not support transit",
                    resource,
                    r("gateway", gateway.name),
                )


def _check_already_peered_overlaps(ctx: Context) -> Iterator[Finding]:
    """§2.4 / TC-PR-3: two VNets peered with the same VNet must not overlap each other. The
    remotes' CIDR blocks nest or are disjoint, so one sorted sweep finds every overlap."""
    fabric = ctx.fabric
    for vnet in fabric.vnets:
        order: dict[str, tuple[int, Peering]] = {}
        for link in ctx.view.links_of(vnet):
            if link.remote_vnet in fabric.vnets and link.remote_vnet not in order:
                order[link.remote_vnet] = (len(order), link)
        if len(order) < 2:
            continue
        blocks = sorted(
            ((net, name) for name in order for net in ctx.networks(name)),
            key=lambda b: (b[0].version, int(b[0].network_address), b[0].prefixlen),
        )
        clashes: dict[tuple[str, str], list[tuple[IPNetwork, IPNetwork]]] = defaultdict(list)
        stack: list[tuple[IPNetwork, str]] = []
        for net, name in blocks:
            while stack and (
                stack[-1][0].version != net.version
                or int(stack[-1][0].broadcast_address) < int(net.network_address)
            ):
                stack.pop()
            for outer, other in stack:
                if other != name:
                    later, earlier = sorted((name, other), key=lambda n: order[n][0], reverse=True)
                    pair = (outer, net) if later == other else (net, outer)
                    clashes[(later, earlier)].append(pair)
            stack.append((net, name))
        for (remote, earlier), pairs in sorted(clashes.items(), key=lambda c: order[c[0][0]][0]):
            link = order[remote][1]
            yield error(
                "VnetAddressSpaceOverlapsWithAlreadyPeeredVnet",
                f"VNet {remote} cannot be peered with {vnet}: its address space overlaps "
                f"VNet {earlier}, which is already peered with {vnet} "
                f"({overlap_text(pairs)})",
                r("peering", vnet, link.name),
                r("vnet", remote),
                r("vnet", earlier),
            )
