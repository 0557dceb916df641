"""Azure Route Server (N15): its subnet, its BGP peers and their limits, its gateways. Whether a
peer's session is up is asked of ``fabric.control.routeserver``, never restated here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from fabric.catalogue import routeserver as figures
from fabric.checks.context import Context, r, vnet_not_declared
from fabric.control.addressing import AddressError, parse_address, parse_prefix
from fabric.control.routeserver import (
    ROUTE_SERVER_SUBNET,
    peer_problems,
    served_vnets,
)
from fabric.model.findings import Finding, error, warning
from fabric.model.records import RouteServer, VNet


def check_route_servers(ctx: Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    per_vnet: dict[str, list[str]] = defaultdict(list)
    for server in sorted(fabric.route_servers.values(), key=lambda s: s.name):
        resource = r("route_server", server.name)
        vnet = fabric.vnets.get(server.vnet)
        if vnet is None:
            yield vnet_not_declared(fabric, f"route server {server.name}", server.vnet, resource)
            continue
        per_vnet[vnet.name].append(server.name)
        if not vnet.external:
            yield from _check_subnet(server, vnet)
        yield from _check_peers(ctx, server)
        yield from _check_gateways(ctx, server)
        yield from _check_scale(ctx, server)
    for vnet, names in per_vnet.items():
        if len(names) > 1:  # N15.1: one Route Server per VNet
            yield error(
                "TooManyRouteServers",
                f"VNet {vnet} has {len(names)} route servers ({', '.join(names)}); a VNet holds "
                "one (N15.1)",
                r("vnet", vnet),
                *(r("route_server", name) for name in names),
            )


def _check_subnet(server: RouteServer, vnet: VNet) -> Iterator[Finding]:
    """N15.1: a dedicated RouteServerSubnet of /27 or larger, without NSG or route table."""
    resource = r("route_server", server.name)
    if ROUTE_SERVER_SUBNET not in vnet.subnet_names:
        close = [n for n in vnet.subnet_names if n.lower() == ROUTE_SERVER_SUBNET.lower()]
        hint = f" (found {close[0]!r}: the name is case-sensitive)" if close else ""
        yield error(
            "RouteServerSubnetMissing",
            f"route server {server.name} needs a subnet named exactly '{ROUTE_SERVER_SUBNET}' "
            f"in VNet {vnet.name}{hint}; add one of /27 or larger (N15.1)",
            resource,
            r("vnet", vnet.name),
        )
        return
    subnet = vnet.subnet(ROUTE_SERVER_SUBNET)
    where = r("vnet", vnet.name, "subnet", subnet.name)
    try:
        net = parse_prefix(subnet.address_prefix)
    except AddressError:
        net = None  # reported by the address checks
    if net is not None and net.prefixlen > figures.SUBNET_MAX_PREFIXLEN:
        yield error(
            "RouteServerSubnetTooSmall",
            f"{vnet.name}/{ROUTE_SERVER_SUBNET} is {subnet.address_prefix}; Route Server needs "
            f"/{figures.SUBNET_MAX_PREFIXLEN} or larger (N15.1)",
            where,
            resource,
        )
    if subnet.nsg is not None:
        yield error(
            "RouteServerSubnetHasNsg",
            f"{vnet.name}/{ROUTE_SERVER_SUBNET} has NSG {subnet.nsg}; no NSG may be attached "
            "to it (N15.1): remove it",
            where,
            r("nsg", subnet.nsg),
        )
    if subnet.route_table is not None:
        yield error(
            "RouteServerSubnetHasRouteTable",
            f"{vnet.name}/{ROUTE_SERVER_SUBNET} has route table {subnet.route_table}; no route "
            "table may be attached to it (N15.1): remove it",
            where,
            r("route_table", subnet.route_table),
        )


def _check_peers(ctx: Context, server: RouteServer) -> Iterator[Finding]:
    """N15.1/N15.3 through ``peer_problems``; and what this input does not say."""
    silent = []
    for index, peer in enumerate(server.bgp_connections):
        for problem in peer_problems(server, peer, index):
            make = error if problem.refused else warning
            yield make(problem.code, problem.message, *problem.resources)
        if not peer.advertised_prefixes:
            silent.append(peer.name)
        else:
            yield from _check_nva(ctx, server, peer)
    if silent:
        yield warning(
            "RouteServerRoutesNotModelled",
            f"route server {server.name}: BGP peer(s) {', '.join(silent)} announce no prefixes "
            "in this input (what an NVA announces is in no template or Terraform "
            "configuration), so no route of theirs is programmed; give advertised_prefixes in "
            "the native format to model them",
            r("route_server", server.name),
        )


def _check_nva(ctx: Context, server: RouteServer, peer) -> Iterator[Finding]:
    """The NVA that traffic to a peer's routes goes to (N15.1: VM -> NVA directly)."""
    fabric = ctx.fabric
    resource = r("route_server", server.name, "bgp_connection", peer.name)
    try:
        ip = parse_address(peer.peer_ip)
    except AddressError:
        return  # InvalidBgpPeerIp
    nearby = [server.vnet] + [link.remote_vnet for link in ctx.view.connected_links(server.vnet)]
    hosts = [
        h
        for name in nearby
        if name in fabric.vnets
        for h in fabric.vnets[name].hosts
        if _same(h.ip, ip)
    ]
    if not hosts:
        yield warning(
            "RouteServerPeerNotFound",
            f"route server {server.name} peer {peer.name}: no NIC with IP {ip} in "
            f"{server.vnet} or its peered VNets, so traffic to its routes is dropped "
            "(NextHopApplianceNotFound); declare the NVA as a host",
            resource,
        )
    elif not hosts[0].enable_ip_forwarding:
        yield warning(
            "NvaIpForwardingDisabled",
            f"route server {server.name} peer {peer.name} is host {hosts[0].name}, which does "
            "not have IP forwarding enabled, so it drops the traffic its routes draw; set "
            "enable_ip_forwarding on its NIC",
            resource,
            r("host", hosts[0].name),
        )


def _same(text: str, ip) -> bool:
    try:
        return parse_address(text) == ip
    except AddressError:
        return False


def _check_gateways(ctx: Context, server: RouteServer) -> Iterator[Finding]:
    """N15.2 (2023 include): a VPN gateway beside a Route Server is active-active with ASN
    65515."""
    for gateway in ctx.fabric.gateways_in(server.vnet, "Vpn"):
        wrong = []
        if not gateway.active_active:
            wrong.append("is not active-active")
        if gateway.bgp_asn != figures.ROUTE_SERVER_ASN:
            wrong.append(f"has ASN {gateway.bgp_asn}")
        if wrong:
            yield warning(
                "RouteServerVpnGatewayRequirements",
                f"VPN gateway {gateway.name} beside route server {server.name} "
                f"{' and '.join(wrong)}; with Route Server it must be active-active with ASN "
                f"{figures.ROUTE_SERVER_ASN} (N15.2)",
                r("gateway", gateway.name),
                r("route_server", server.name),
            )


def _check_scale(ctx: Context, server: RouteServer) -> Iterator[Finding]:
    """N15.3: VMs in the VNet and its peered VNets, 4,000 with the default 2 routing
    infrastructure units."""
    fabric = ctx.fabric
    names = {server.vnet, *served_vnets(fabric, server, ctx.view)}
    names |= {link.remote_vnet for link in ctx.view.connected_links(server.vnet)}
    vms = {h.vm_name for n in names if n in fabric.vnets for h in fabric.vnets[n].hosts}
    if len(vms) > figures.SUPPORTED_VMS:
        yield warning(
            "RouteServerSupportedVmsExceeded",
            f"route server {server.name} serves {len(vms)} VMs in {server.vnet} and its peered "
            f"VNets; the default 2 routing infrastructure units support "
            f"{figures.SUPPORTED_VMS} (N15.3): add units",
            r("route_server", server.name),
        )
