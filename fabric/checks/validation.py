"""Validation: every rule Azure enforces on a topology, reported as findings (all, not the first).

Every number and rule comes from ../shared/reference/azure-facts.md; the section is cited beside
the check. Codes follow Azure's error names where one is documented or seen in real API
responses (NetcfgSubnetRangeOutsideVnet, NetcfgSubnetRangesOverlap, VnetAddressSpacesOverlap,
VnetAddressSpaceOverlapsWithAlreadyPeeredVnet, RemoteVnetHasNoGateways); the others are our own
CamelCase names (azure-facts §11: Azure's codes for them are not documented).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from ipaddress import IPv4Network

from fabric.catalogue import limits
from fabric.catalogue.servicetags import KNOWN_TAGS, is_service_tag
from fabric.catalogue.skus import UnknownSku, lookup
from fabric.control import connections
from fabric.control.addressing import (
    SMALLEST_SUBNET_PREFIXLEN,
    AddressError,
    forbidden_range_hit,
    parse_address,
    parse_prefix,
    reserved_addresses,
)
from fabric.control.peering import DISCONNECTED, INITIATED, PeeringView, sync_level
from fabric.control.ports import PortRangeError, parse_port_ranges
from fabric.model.container import Fabric
from fabric.model.findings import Finding, error, warning
from fabric.model.records import UDR_NEXT_HOP_TYPES, Peering, VNet, suggest

GATEWAY_SUBNET = "GatewaySubnet"
FIREWALL_SUBNET = "AzureFirewallSubnet"
RECOMMENDED_GATEWAY_SUBNET_PREFIXLEN = 27  # §1.3: /27 or larger recommended
FIREWALL_SUBNET_PREFIXLEN = 26  # §1.3
RULE_NAME = re.compile(r"^\w([\w.\-]{0,78}[\w_])?$")  # §5.1: 80 chars, word chars . - _


def validate(fabric: Fabric) -> list[Finding]:
    """All findings for ``fabric``, errors and warnings, in a stable order."""
    context = _Context(fabric)
    findings: list[Finding] = []
    for check in (
        _check_vnets,
        _check_hosts,
        _check_gateways,
        _check_connections,
        _check_peerings,
        _check_nsgs,
        _check_route_tables,
        _check_limits,
    ):
        findings.extend(check(context))
    return findings


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding is an error."""
    return any(f.severity == "Error" for f in findings)


class _Context:
    """Parsed prefixes shared by the checks, so each string is parsed once."""

    def __init__(self, fabric: Fabric) -> None:
        self.fabric = fabric
        self.view = PeeringView(fabric)
        self.space: dict[str, list[tuple[str, IPv4Network]]] = {}
        self.bad_space: dict[str, list[tuple[str, str]]] = {}
        for vnet in fabric.vnets.values():
            good, bad = [], []
            for text in vnet.address_prefixes:
                try:
                    good.append((text, parse_prefix(text)))
                except AddressError as problem:
                    bad.append((text, str(problem)))
            self.space[vnet.name] = good
            self.bad_space[vnet.name] = bad
        self.subnets: dict[tuple[str, str], IPv4Network | None] = {}
        for vnet in fabric.vnets.values():
            for subnet in vnet.subnets:
                try:
                    self.subnets[(vnet.name, subnet.name)] = parse_prefix(subnet.address_prefix)
                except AddressError:
                    self.subnets[(vnet.name, subnet.name)] = None

    def networks(self, vnet: str) -> list[IPv4Network]:
        return [net for _, net in self.space.get(vnet, [])]


def _r(kind: str, *names: str) -> str:
    return "/".join((kind, *names))


def _overlap_text(pairs: list[tuple[IPv4Network, IPv4Network]]) -> str:
    return ", ".join(f"{a} and {b}" for a, b in pairs)


# -- VNets and subnets ---------------------------------------------------------------------


def _check_vnets(ctx: _Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    for vnet in fabric.vnets.values():
        resource = _r("vnet", vnet.name)
        if vnet.external:
            continue  # defined elsewhere; the importer said so
        if not vnet.address_prefixes:  # §1.1: a VNet has one or more ranges
            yield error(
                "VnetWithoutAddressSpace",
                f"VNet {vnet.name} has no address prefixes; give it at least one, e.g. 10.0.0.0/16",
                resource,
            )
        for _text, problem in ctx.bad_space[vnet.name]:
            yield error("InvalidAddressPrefix", f"VNet {vnet.name}: {problem}", resource)
        nets = ctx.space[vnet.name]
        for text, net in nets:
            hit = forbidden_range_hit(net)
            if hit is not None:  # §1.1
                yield error(
                    "AddressSpaceContainsForbiddenRange",
                    f"VNet {vnet.name}: {text} overlaps {hit}, which Azure never allows in an "
                    "address space (multicast, broadcast, loopback, link-local, host VIP); "
                    "choose a private range such as 10.0.0.0/16",
                    resource,
                )
        for i, (text_a, a) in enumerate(nets):
            for text_b, b in nets[i + 1 :]:
                if a.overlaps(b):  # §1.1: a VNet's ranges must not overlap each other
                    yield error(
                        "VnetAddressPrefixesOverlap",
                        f"VNet {vnet.name}: address prefixes {text_a} and {text_b} overlap; "
                        "remove one or make them disjoint",
                        resource,
                    )
        yield from _check_subnets(ctx, vnet)


def _check_subnets(ctx: _Context, vnet: VNet) -> Iterator[Finding]:
    fabric = ctx.fabric
    names = Counter(subnet.name for subnet in vnet.subnets)
    for name, count in names.items():
        if count > 1:
            yield error(
                "DuplicateResourceName",
                f"VNet {vnet.name} declares subnet {name!r} {count} times; names must be unique",
                _r("vnet", vnet.name, "subnet", name),
            )
    parsed: list[tuple[str, IPv4Network]] = []
    space = ctx.networks(vnet.name)
    for subnet in vnet.subnets:
        resource = _r("vnet", vnet.name, "subnet", subnet.name)
        try:
            net = parse_prefix(subnet.address_prefix)
        except AddressError as problem:
            yield error(
                "InvalidAddressPrefix", f"subnet {vnet.name}/{subnet.name}: {problem}", resource
            )
            continue
        if space and not any(net.subnet_of(block) for block in space):  # §1.2
            yield error(
                "NetcfgSubnetRangeOutsideVnet",
                f"subnet {subnet.name} ({net}) is outside the address space of VNet {vnet.name} "
                f"({', '.join(vnet.address_prefixes)}); pick a range inside it or add a range",
                resource,
                _r("vnet", vnet.name),
            )
        if net.prefixlen > SMALLEST_SUBNET_PREFIXLEN:  # §1.2: smallest subnet /29
            yield error(
                "SubnetTooSmall",
                f"subnet {vnet.name}/{subnet.name} is /{net.prefixlen}; the smallest IPv4 subnet "
                "is /29 (8 addresses, 3 usable)",
                resource,
            )
        if net.prefixlen < 2:  # §1.2: largest subnet /2
            yield error(
                "SubnetTooLarge",
                f"subnet {vnet.name}/{subnet.name} is /{net.prefixlen}; the largest is /2",
                resource,
            )
        for other_name, other in parsed:
            if net.overlaps(other):  # §1.1: subnets must not overlap
                yield error(
                    "NetcfgSubnetRangesOverlap",
                    f"subnets {other_name} ({other}) and {subnet.name} ({net}) of VNet "
                    f"{vnet.name} overlap; give each its own range",
                    resource,
                    _r("vnet", vnet.name, "subnet", other_name),
                )
        parsed.append((subnet.name, net))
        for kind, ref, table in (
            ("NSG", subnet.nsg, fabric.nsgs),
            ("route table", subnet.route_table, fabric.route_tables),
        ):
            if ref is not None and ref not in table:
                yield error(
                    "ReferencedResourceNotFound",
                    f"subnet {vnet.name}/{subnet.name} references {kind} {ref!r}, which is not "
                    f"declared ({suggest(ref, table)})",
                    resource,
                )
        if subnet.name == GATEWAY_SUBNET:
            yield from _check_gateway_subnet(ctx, vnet, subnet.nsg, subnet.route_table, net)
        if subnet.name == FIREWALL_SUBNET:
            if net.prefixlen > FIREWALL_SUBNET_PREFIXLEN:  # §1.3
                yield warning(
                    "FirewallSubnetTooSmall",
                    f"{vnet.name}/AzureFirewallSubnet is /{net.prefixlen}; Azure Firewall needs "
                    "at least /26",
                    resource,
                )
            if subnet.nsg is not None:
                yield warning(
                    "NsgOnFirewallSubnet",
                    f"{vnet.name}/AzureFirewallSubnet has NSG {subnet.nsg}; NSGs are not "
                    "supported on it: remove the association",
                    resource,
                )


def _check_gateway_subnet(
    ctx: _Context, vnet: VNet, nsg: str | None, route_table: str | None, net: IPv4Network
) -> Iterator[Finding]:
    resource = _r("vnet", vnet.name, "subnet", GATEWAY_SUBNET)
    if nsg is not None:  # §1.3: do not attach an NSG
        yield warning(
            "NsgOnGatewaySubnet",
            f"{vnet.name}/GatewaySubnet has NSG {nsg}; the gateway may stop working: remove it",
            resource,
        )
    table = ctx.fabric.route_tables.get(route_table) if route_table else None
    if table is not None:
        if any(route.address_prefix == "0.0.0.0/0" for route in table.routes):
            yield warning(
                "DefaultRouteOnGatewaySubnet",
                f"{vnet.name}/GatewaySubnet uses route table {table.name} with a 0.0.0.0/0 "
                "route; Azure advises against it: remove that route",
                resource,
            )
        if table.disable_bgp_route_propagation:
            yield warning(
                "GatewayRoutePropagationDisabledOnGatewaySubnet",
                f"{vnet.name}/GatewaySubnet uses route table {table.name} with gateway route "
                "propagation disabled; never disable it on GatewaySubnet",
                resource,
            )
    if (
        ctx.fabric.gateways_in(vnet.name)
        and SMALLEST_SUBNET_PREFIXLEN >= net.prefixlen > RECOMMENDED_GATEWAY_SUBNET_PREFIXLEN
    ):
        yield warning(
            "GatewaySubnetBelowRecommendedSize",
            f"{vnet.name}/GatewaySubnet is /{net.prefixlen}; /29 is the minimum but Microsoft "
            "recommends /27 or larger",
            resource,
        )


def _check_hosts(ctx: _Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    seen_names: Counter[str] = Counter()
    for vnet in fabric.vnets.values():
        by_ip: dict[str, str] = {}
        for host in vnet.hosts:
            seen_names[host.name] += 1
            resource = _r("host", host.name)
            if host.subnet not in vnet.subnet_names:
                yield error(
                    "ReferencedResourceNotFound",
                    f"host {host.name} is in subnet {host.subnet!r}, which VNet {vnet.name} does "
                    f"not declare ({suggest(host.subnet, vnet.subnet_names)})",
                    resource,
                )
                continue
            if host.nsg is not None and host.nsg not in fabric.nsgs:
                yield error(
                    "ReferencedResourceNotFound",
                    f"host {host.name} references NSG {host.nsg!r}, which is not declared "
                    f"({suggest(host.nsg, fabric.nsgs)})",
                    resource,
                )
            if host.subnet == GATEWAY_SUBNET:  # §1.3: nothing else may be deployed there
                yield error(
                    "HostInGatewaySubnet",
                    f"host {host.name} is in {vnet.name}/GatewaySubnet; nothing but the gateway "
                    "may be deployed there: move it to another subnet",
                    resource,
                )
            try:
                ip = parse_address(host.ip)
            except AddressError as problem:
                yield error("InvalidIpAddress", f"host {host.name}: {problem}", resource)
                continue
            net = ctx.subnets.get((vnet.name, host.subnet))
            if net is None:
                continue
            if ip not in net:
                yield error(
                    "HostIpOutsideSubnet",
                    f"host {host.name} has IP {ip}, outside its subnet {vnet.name}/{host.subnet} "
                    f"({net}); use an address from {net}",
                    resource,
                )
            elif ip in reserved_addresses(net):  # §1.2: first four and last are reserved
                first = net.network_address + 4
                yield error(
                    "HostIpReserved",
                    f"host {host.name} has IP {ip}, one of the five addresses Azure reserves in "
                    f"{net} (network, gateway, two DNS, broadcast); the first usable is {first}",
                    resource,
                )
            if str(ip) in by_ip:
                yield error(
                    "DuplicateHostIp",
                    f"hosts {by_ip[str(ip)]} and {host.name} both have IP {ip} in VNet {vnet.name}",
                    resource,
                    _r("host", by_ip[str(ip)]),
                )
            by_ip[str(ip)] = host.name
    for name, count in seen_names.items():
        if count > 1:
            yield error(
                "DuplicateResourceName",
                f"{count} hosts are named {name!r}; host names must be unique",
                _r("host", name),
            )


# -- gateways and connections ----------------------------------------------------------------

# §3.9: ASNs reserved by Azure (65515 is the gateway default) and by IANA.
_AZURE_RESERVED_ASNS = frozenset({8074, 8075, 12076, 65517, 65518, 65519, 65520})


def _asn_reserved(asn: int) -> bool:
    return (
        asn in _AZURE_RESERVED_ASNS
        or asn == 23456
        or 64496 <= asn <= 64511
        or 65535 <= asn <= 65551
        or asn == 4294967295
    )


def _check_gateways(ctx: _Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    per_vnet: dict[str, list[str]] = defaultdict(list)
    for gateway in fabric.gateways.values():
        resource = _r("gateway", gateway.name)
        if gateway.vnet not in fabric.vnets:
            yield error(
                "ReferencedResourceNotFound",
                f"gateway {gateway.name} is in VNet {gateway.vnet!r}, which is not declared "
                f"({suggest(gateway.vnet, fabric.vnets)})",
                resource,
            )
            continue
        per_vnet[gateway.vnet].append(gateway.name)
        vnet = fabric.vnets[gateway.vnet]
        if GATEWAY_SUBNET not in vnet.subnet_names and not vnet.external:  # §1.3 / TC-VN-3
            close = [n for n in vnet.subnet_names if n.lower() == GATEWAY_SUBNET.lower()]
            hint = f" (found {close[0]!r}: the name is case-sensitive)" if close else ""
            yield error(
                "GatewaySubnetMissing",
                f"gateway {gateway.name} needs a subnet named exactly 'GatewaySubnet' in VNet "
                f"{vnet.name}{hint}; add one of /27 or larger",
                resource,
                _r("vnet", vnet.name),
            )
        try:
            spec = lookup(gateway.sku, gateway.generation)
        except UnknownSku as problem:
            yield error("InvalidGatewaySku", f"gateway {gateway.name}: {problem}", resource)
            continue
        if gateway.vpn_type == "PolicyBased" and not spec.policy_based:  # §3.1
            yield error(
                "PolicyBasedRequiresBasicSku",
                f"gateway {gateway.name} is PolicyBased on {spec.name}; PolicyBased gateways "
                "exist only on the Basic SKU: use RouteBased",
                resource,
            )
        if gateway.enable_bgp and not spec.bgp:  # §3.2-3.3
            yield error(
                "BgpNotSupportedOnSku",
                f"gateway {gateway.name}: the {spec.name} SKU does not support BGP; use VpnGw1 "
                "or larger",
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
    for vnet, names in per_vnet.items():
        if len(names) > limits.VPN_GATEWAYS_PER_VNET:  # §1.5
            yield error(
                "TooManyVpnGateways",
                f"VNet {vnet} has {len(names)} VPN gateways ({', '.join(names)}); at most "
                f"{limits.VPN_GATEWAYS_PER_VNET} is allowed per VNet",
                _r("vnet", vnet),
                *(_r("gateway", n) for n in names),
            )


def _check_connections(ctx: _Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    tunnels: Counter[str] = Counter()
    for connection in fabric.connections.values():
        resource = _r("connection", connection.name)
        missing = [
            g for g in (connection.from_gateway, connection.to_gateway) if g not in fabric.gateways
        ]
        for name in missing:
            yield error(
                "ReferencedResourceNotFound",
                f"connection {connection.name} names gateway {name!r}, which is not declared "
                f"({suggest(name, fabric.gateways)})",
                resource,
            )
        if missing:
            continue
        tunnels[connection.from_gateway] += 1
        if connection.connection_type != "Vnet2Vnet":
            yield warning(
                "ConnectionTypeNotModelled",
                f"connection {connection.name} is {connection.connection_type}; vnetsim models "
                "Vnet2Vnet connections only, so it carries no simulated traffic",
                resource,
            )
            continue
        local = fabric.gateways[connection.from_gateway]
        remote = fabric.gateways[connection.to_gateway]
        if local.vnet == remote.vnet:
            yield error(
                "ConnectionToSameVnet",
                f"connection {connection.name} joins two gateways in VNet {local.vnet}",
                resource,
            )
            continue
        for gateway in (local, remote):
            if gateway.vpn_type != "RouteBased":  # §3.1: VNet-to-VNet needs RouteBased on both
                yield error(
                    "Vnet2VnetRequiresRouteBased",
                    f"connection {connection.name}: gateway {gateway.name} is {gateway.vpn_type}; "
                    "VNet-to-VNet connections need RouteBased gateways on both sides",
                    resource,
                    _r("gateway", gateway.name),
                )
        pairs = [
            (a, b)
            for a in ctx.networks(local.vnet)
            for b in ctx.networks(remote.vnet)
            if a.overlaps(b)
        ]
        if pairs:  # §2.4: VNet-to-VNet connections require non-overlapping spaces
            yield error(
                "VnetAddressSpacesOverlap",
                f"connection {connection.name}: VNets {local.vnet} and {remote.vnet} cannot be "
                f"connected because their address spaces overlap ({_overlap_text(pairs)})",
                resource,
                _r("vnet", local.vnet),
                _r("vnet", remote.vnet),
            )
        partner = connections.partner(fabric, connection)
        if partner is None:  # TC-VPN-1: only one side created -> not connected
            yield warning(
                "ConnectionNotConnected",
                f"connection {connection.name} ({local.name} -> {remote.name}) has no partner "
                f"connection from {remote.name} back to {local.name}; create it with the same "
                "shared key",
                resource,
            )
            continue
        if connection.shared_key is None or connection.shared_key != partner.shared_key:
            # §9: Azure generates a random key when none is given, so two keyless sides differ.
            yield warning(
                "SharedKeyMismatch",
                f"connections {connection.name} and {partner.name} do not share one key, so the "
                "tunnel does not come up; set the same shared_key on both",
                resource,
                _r("connection", partner.name),
            )
        if connection.ipsec_policy != partner.ipsec_policy:  # §3.7: algorithms must match
            yield warning(
                "IpsecPolicyMismatch",
                f"connections {connection.name} and {partner.name} have different IPsec/IKE "
                "policies, so IKE negotiation fails; use the same policy on both",
                resource,
                _r("connection", partner.name),
            )
        if connection.enable_bgp and local.bgp_asn == remote.bgp_asn:
            yield error(
                "BgpAsnConflict",
                f"connection {connection.name} enables BGP between {local.name} and "
                f"{remote.name}, which both use ASN {local.bgp_asn}; give them different ASNs",
                resource,
            )
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
                _r("gateway", name),
            )


# -- peerings ------------------------------------------------------------------------------


def _check_peerings(ctx: _Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    links_by_pair: dict[tuple[str, str], list[Peering]] = defaultdict(list)
    use_remote: dict[str, list[Peering]] = defaultdict(list)
    for link in fabric.peerings.values():
        links_by_pair[(link.vnet, link.remote_vnet)].append(link)
        if link.use_remote_gateways:
            use_remote[link.vnet].append(link)
    for link in fabric.peerings.values():
        yield from _check_one_peering(ctx, link)
    for (vnet, remote), links in links_by_pair.items():
        if len(links) > 1:
            yield error(
                "DuplicatePeering",
                f"VNet {vnet} has {len(links)} peerings to {remote} "
                f"({', '.join(link.name for link in links)}); keep one",
                *(_r("peering", vnet, link.name) for link in links),
            )
    for vnet, links in use_remote.items():
        if len(links) > 1:  # §2.6: at most one link per VNet may set useRemoteGateways
            yield error(
                "MultipleUseRemoteGateways",
                f"VNet {vnet} sets use_remote_gateways on {len(links)} peerings "
                f"({', '.join(link.name for link in links)}); only one may",
                *(_r("peering", vnet, link.name) for link in links),
            )
    yield from _check_already_peered_overlaps(ctx)


def _check_one_peering(ctx: _Context, link: Peering) -> Iterator[Finding]:
    fabric = ctx.fabric
    resource = _r("peering", link.vnet, link.name)
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
    pairs: list[tuple[IPv4Network, IPv4Network]] = []
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
                f"spaces overlap ({_overlap_text(pairs)}); change one of the spaces",
                resource,
                _r("vnet", link.vnet),
                _r("vnet", link.remote_vnet),
            )
    state = ctx.view.state(link)
    if state == INITIATED and not pairs:  # §2.2 (an overlap is reported above instead)
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
    local_gateways = fabric.gateways_in(link.vnet)
    if link.use_remote_gateways:
        remote_gateways = fabric.gateways_in(link.remote_vnet)
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
                f"{link.vnet} has its own gateway {local_gateways[0].name}; remove one of them",
                resource,
            )
        other = ctx.view.counterpart(link)
        if other is not None and not other.allow_gateway_transit:
            yield error(
                "RemotePeeringDoesNotAllowGatewayTransit",
                f"peering {link.vnet}/{link.name} sets use_remote_gateways, but the remote link "
                f"{link.remote_vnet}/{other.name} does not set allow_gateway_transit; set it",
                resource,
                _r("peering", link.remote_vnet, other.name),
            )
    if link.allow_gateway_transit:
        if not local_gateways:
            yield warning(
                "GatewayTransitWithoutGateway",
                f"peering {link.vnet}/{link.name} allows gateway transit, but VNet {link.vnet} "
                "has no gateway, so there is nothing to share",
                resource,
            )
        for gateway in local_gateways:
            if gateway.sku == "Basic":  # §3.3 and §9: not supported, yet Azure accepts it
                yield warning(
                    "GatewayTransitNotSupportedOnBasicSku",
                    f"peering {link.vnet}/{link.name} allows gateway transit through "
                    f"{gateway.name}, a Basic gateway; Basic does not support transit",
                    resource,
                    _r("gateway", gateway.name),
                )


def _check_already_peered_overlaps(ctx: _Context) -> Iterator[Finding]:
    """§2.4 / TC-PR-3: two VNets peered with the same VNet must not overlap each other."""
    fabric = ctx.fabric
    for vnet in fabric.vnets:
        remotes: list[str] = []
        for link in fabric.peerings_of(vnet):
            remote = link.remote_vnet
            if remote not in fabric.vnets or remote in remotes:
                continue
            for earlier in remotes:
                pairs = [
                    (a, b)
                    for a in ctx.networks(remote)
                    for b in ctx.networks(earlier)
                    if a.overlaps(b)
                ]
                if pairs:
                    yield error(
                        "VnetAddressSpaceOverlapsWithAlreadyPeeredVnet",
                        f"VNet {remote} cannot be peered with {vnet}: its address space overlaps "
                        f"VNet {earlier}, which is already peered with {vnet} "
                        f"({_overlap_text(pairs)})",
                        _r("peering", vnet, link.name),
                        _r("vnet", remote),
                        _r("vnet", earlier),
                    )
            remotes.append(remote)


# -- NSGs and route tables -----------------------------------------------------------------


def _check_address_field(values: tuple[str, ...], where: str, resource: str) -> Iterator[Finding]:
    tags = [v for v in values if is_service_tag(v)]
    if len(tags) > 1 or (tags and len(values) > 1):  # §5.1: only one tag per field
        yield error(
            "InvalidSecurityRuleAddress",
            f"{where}: a field may hold one service tag alone, or a list of addresses; got "
            f"{', '.join(values)}",
            resource,
        )
    if len(values) > limits.ADDRESSES_PER_RULE_SIDE:  # §1.5
        yield error(
            "TooManyAddressesInRule",
            f"{where}: {len(values)} prefixes; the limit is {limits.ADDRESSES_PER_RULE_SIDE}",
            resource,
        )
    for value in values:
        if value == "*" or is_service_tag(value):
            if is_service_tag(value) and value not in KNOWN_TAGS:
                yield warning(
                    "ServiceTagNotModelled",
                    f"{where}: service tag {value!r} is not modelled; vnetsim matches no address "
                    f"for it (modelled: {', '.join(sorted(KNOWN_TAGS))})",
                    resource,
                )
            continue
        text = value if "/" in value else f"{value}/32"
        try:
            parse_prefix(text)
        except AddressError as problem:
            yield error("InvalidSecurityRuleAddress", f"{where}: {problem}", resource)


def _check_nsgs(ctx: _Context) -> Iterator[Finding]:
    for nsg in ctx.fabric.nsgs.values():
        if len(nsg.security_rules) > limits.RULES_PER_NSG:  # §1.5
            yield error(
                "TooManySecurityRules",
                f"NSG {nsg.name} has {len(nsg.security_rules)} rules; the limit is "
                f"{limits.RULES_PER_NSG}",
                _r("nsg", nsg.name),
            )
        names: Counter[str] = Counter()
        priorities: dict[tuple[str, int], str] = {}
        for rule in nsg.security_rules:
            resource = _r("nsg", nsg.name, "rule", rule.name)
            where = f"NSG {nsg.name} rule {rule.name}"
            names[rule.name] += 1
            if not RULE_NAME.match(rule.name):  # §5.1 naming
                yield error(
                    "InvalidSecurityRuleName",
                    f"{where}: names are up to 80 characters of letters, digits, '.', '-' and "
                    "'_', starting with a letter or digit",
                    resource,
                )
            if not 100 <= rule.priority <= 4096:  # §5.1
                yield error(
                    "SecurityRulePriorityOutOfRange",
                    f"{where}: priority {rule.priority} is outside 100-4096",
                    resource,
                )
            key = (rule.direction, rule.priority)
            if key in priorities:
                yield error(
                    "DuplicateSecurityRulePriority",
                    f"{where}: priority {rule.priority} ({rule.direction}) is already used by rule "
                    f"{priorities[key]}; two rules cannot share priority and direction",
                    resource,
                )
            priorities.setdefault(key, rule.name)
            for label, ports in (
                ("source port", rule.source_port_ranges),
                ("destination port", rule.destination_port_ranges),
            ):
                try:
                    parse_port_ranges(ports)
                except PortRangeError as problem:
                    yield error("InvalidPortRange", f"{where}: {label} {problem}", resource)
            yield from _check_address_field(
                rule.source_address_prefixes, f"{where} source", resource
            )
            yield from _check_address_field(
                rule.destination_address_prefixes, f"{where} destination", resource
            )
        for name, count in names.items():
            if count > 1:
                yield error(
                    "DuplicateResourceName",
                    f"NSG {nsg.name} has {count} rules named {name!r}; names must be unique",
                    _r("nsg", nsg.name, "rule", name),
                )


_SYSTEM_ONLY_NEXT_HOPS = ("VNetPeering", "VNetGlobalPeering", "VirtualNetworkServiceEndpoint")


def _check_route_tables(ctx: _Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    hosts_by_ip = {h.ip: h for v in fabric.vnets.values() for h in v.hosts}
    subnet_nets = [net for net in ctx.subnets.values() if net is not None]
    for table in fabric.route_tables.values():
        if len(table.routes) > limits.ROUTES_PER_TABLE:  # §1.5
            yield error(
                "TooManyRoutes",
                f"route table {table.name} has {len(table.routes)} routes; the limit is "
                f"{limits.ROUTES_PER_TABLE}",
                _r("route_table", table.name),
            )
        tag_routes = sum(1 for r in table.routes if is_service_tag(r.address_prefix))
        if tag_routes > limits.SERVICE_TAG_ROUTES_PER_TABLE:  # §1.5 / §4.6
            yield error(
                "TooManyServiceTagRoutes",
                f"route table {table.name} has {tag_routes} service-tag routes; at most "
                f"{limits.SERVICE_TAG_ROUTES_PER_TABLE}",
                _r("route_table", table.name),
            )
        prefixes: dict[str, str] = {}
        names: Counter[str] = Counter()
        for route in table.routes:
            resource = _r("route_table", table.name, "route", route.name)
            where = f"route table {table.name} route {route.name}"
            names[route.name] += 1
            if not is_service_tag(route.address_prefix):
                try:
                    parse_prefix(route.address_prefix)
                except AddressError as problem:
                    yield error("InvalidAddressPrefix", f"{where}: {problem}", resource)
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
                    _r("route_table", table.name, "route", name),
                )


def _check_appliance_ip(
    text: str, where: str, resource: str, hosts_by_ip: dict, subnet_nets: list[IPv4Network]
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
            _r("host", host.name),
        )
    elif host is None and not any(ip in net for net in subnet_nets):
        yield warning(
            "NextHopIpNotInAnySubnet",
            f"{where}: next hop {ip} is in no subnet of this topology, so the route is invalid "
            "and its traffic is dropped",
            resource,
        )


# -- limits across the topology --------------------------------------------------------------


def _check_limits(ctx: _Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    per_region: Counter[tuple[str | None, str]] = Counter(
        (vnet.subscription, vnet.region) for vnet in fabric.vnets.values()
    )
    for (subscription, region), count in per_region.items():
        if count > limits.VNETS_PER_REGION:  # §1.5
            yield error(
                "TooManyVirtualNetworks",
                f"{count} VNets in region {region} of subscription {subscription or '(default)'}; "
                f"the limit is {limits.VNETS_PER_REGION}",
            )
    for vnet in fabric.vnets.values():
        if len(vnet.subnets) > limits.SUBNETS_PER_VNET:
            yield error(
                "TooManySubnets",
                f"VNet {vnet.name} has {len(vnet.subnets)} subnets; the limit is "
                f"{limits.SUBNETS_PER_VNET}",
                _r("vnet", vnet.name),
            )
        peerings = len(fabric.peerings_of(vnet.name))
        if peerings > limits.PEERINGS_PER_VNET:
            yield error(
                "TooManyPeerings",
                f"VNet {vnet.name} has {peerings} peerings; the limit is "
                f"{limits.PEERINGS_PER_VNET} (use Virtual WAN or a second hub)",
                _r("vnet", vnet.name),
            )
    if len(fabric.nsgs) > limits.NSGS_PER_REGION:
        yield error(
            "TooManyNetworkSecurityGroups",
            f"{len(fabric.nsgs)} NSGs; the limit is {limits.NSGS_PER_REGION}",
        )
    if len(fabric.route_tables) > limits.ROUTE_TABLES_PER_REGION:
        yield error(
            "TooManyRouteTables",
            f"{len(fabric.route_tables)} route tables; the limit is "
            f"{limits.ROUTE_TABLES_PER_REGION}",
        )
