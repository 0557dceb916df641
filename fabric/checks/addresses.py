"""VNets, subnets and the special subnets: address rules (§1.1-1.3)."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator

from fabric.checks.context import Context, r
from fabric.control.addressing import (
    IPV6_SUBNET_PREFIXLEN,
    LARGEST_SUBNET_PREFIXLEN,
    SMALLEST_SUBNET_PREFIXLEN,
    AddressError,
    IPNetwork,
    contains,
    forbidden_range_hit,
    parse_prefix,
)
from fabric.model.findings import Finding, error, warning
from fabric.model.records import BASTION_SUBNET, VNet, suggest

GATEWAY_SUBNET = "GatewaySubnet"
FIREWALL_SUBNET = "AzureFirewallSubnet"
RECOMMENDED_GATEWAY_SUBNET_PREFIXLEN = 27  # §1.3: /27 or larger recommended
FIREWALL_SUBNET_PREFIXLEN = 26  # §1.3
FIREWALL_MANAGEMENT_SUBNET = "AzureFirewallManagementSubnet"
BASTION_SUBNET_PREFIXLEN = 26  # N18.2


def check_vnets(ctx: Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    for vnet in fabric.vnets.values():
        resource = r("vnet", vnet.name)
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
        if any(net.version == 6 for _, net in nets):
            yield warning(
                "Ipv6NotSimulated",
                f"VNet {vnet.name} is dual-stack: vnetsim answers routes, next hop, NSG verdicts "
                "and reachability for its IPv6 ranges, but simulates IPv4 packets only",
                resource,
            )
        yield from _check_subnets(ctx, vnet)


def _check_subnets(ctx: Context, vnet: VNet) -> Iterator[Finding]:
    fabric = ctx.fabric
    names = Counter(subnet.name for subnet in vnet.subnets)
    for name, count in names.items():
        if count > 1:
            yield error(
                "DuplicateResourceName",
                f"VNet {vnet.name} declares subnet {name!r} {count} times; names must be unique",
                r("vnet", vnet.name, "subnet", name),
            )
    parsed = _RangeIndex()
    space = ctx.networks(vnet.name)
    for subnet in vnet.subnets:
        resource = r("vnet", vnet.name, "subnet", subnet.name)
        nets = []
        for text in subnet.prefixes:
            try:
                nets.append(parse_prefix(text))
            except AddressError as problem:
                yield error(
                    "InvalidAddressPrefix",
                    f"subnet {vnet.name}/{subnet.name}: {problem}",
                    resource,
                )
        for net in nets:
            yield from _check_subnet_range(ctx, vnet, subnet, net, parsed, space)
        if not nets:
            continue
        # the size rules (§1.3, N11.4, N18.2) are IPv4's: a dual-stack subnet's /64 is not small
        net = next((n for n in nets if n.version == 4), nets[0])
        for n in nets:
            parsed.add(subnet.name, n)
        for kind, ref, table in (
            ("NSG", subnet.nsg, fabric.nsgs),
            ("route table", subnet.route_table, fabric.route_tables),
            ("NAT gateway", subnet.nat_gateway, fabric.nat_gateways),
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
        if subnet.name == BASTION_SUBNET and net.prefixlen > BASTION_SUBNET_PREFIXLEN:
            yield warning(  # N18.2: a warning, as /27 deployments made before then still work
                "BastionSubnetTooSmall",
                f"{vnet.name}/AzureBastionSubnet is /{net.prefixlen}; Azure Bastion deployed on "
                "or after 2 Nov 2021 needs /26 or larger",
                resource,
            )
        if subnet.name == FIREWALL_MANAGEMENT_SUBNET:
            yield from _check_firewall_management_subnet(ctx, vnet, subnet.route_table, net)
        if subnet.name == FIREWALL_SUBNET:
            if net.prefixlen > FIREWALL_SUBNET_PREFIXLEN:  # §1.3, N11.4: minimum /26
                # An error once a firewall is deployed there (it needs the /26); a warning for
                # a subnet waiting for one.
                deployed = [f.name for f in fabric.firewalls.values() if f.vnet == vnet.name]
                yield (error if deployed else warning)(
                    "FirewallSubnetTooSmall",
                    f"{vnet.name}/AzureFirewallSubnet is /{net.prefixlen}; Azure Firewall needs "
                    "at least /26"
                    + (f" (firewall {deployed[0]} is deployed there)" if deployed else ""),
                    resource,
                )
            if subnet.nsg is not None:
                yield warning(
                    "NsgOnFirewallSubnet",
                    f"{vnet.name}/AzureFirewallSubnet has NSG {subnet.nsg}; NSGs are not "
                    "supported on it: remove the association",
                    resource,
                )


def _check_firewall_management_subnet(
    ctx: Context, vnet: VNet, route_table: str | None, net: IPNetwork
) -> Iterator[Finding]:
    """N11.4: AzureFirewallManagementSubnet is /26 or larger; the only route allowed on it is a
    default route to the internet, and "Propagate gateway routes" must be disabled."""
    resource = r("vnet", vnet.name, "subnet", FIREWALL_MANAGEMENT_SUBNET)
    where = f"{vnet.name}/{FIREWALL_MANAGEMENT_SUBNET}"
    if net.prefixlen > FIREWALL_SUBNET_PREFIXLEN:
        yield warning(
            "FirewallManagementSubnetTooSmall",
            f"{where} is /{net.prefixlen}; Azure Firewall's management subnet needs at least /26",
            resource,
        )
    table = ctx.fabric.route_tables.get(route_table or "")
    if table is None:
        return
    others = [
        route.name
        for route in table.routes
        if (route.address_prefix, route.next_hop_type) != ("0.0.0.0/0", "Internet")
    ]
    problems = []
    if others:
        problems.append(f"routes {', '.join(others)} (only 0.0.0.0/0 -> Internet is allowed)")
    if not table.disable_bgp_route_propagation:
        problems.append("gateway route propagation enabled (it must be disabled)")
    if problems:
        yield warning(
            "FirewallManagementSubnetRouteTable",
            f"{where} uses route table {table.name} with {' and '.join(problems)}; the firewall's "
            "management traffic needs direct internet access",
            resource,
            r("route_table", table.name),
        )


def _check_subnet_range(
    ctx: Context,
    vnet: VNet,
    subnet,
    net: IPNetwork,
    parsed: _RangeIndex,
    space: list[IPNetwork],
) -> Iterator[Finding]:
    """One range of a subnet: inside the VNet's space, its size, no overlap with the others."""
    resource = r("vnet", vnet.name, "subnet", subnet.name)
    if space and not any(contains(block, net) for block in space):  # §1.2
        yield error(
            "NetcfgSubnetRangeOutsideVnet",
            f"subnet {subnet.name} ({net}) is outside the address space of VNet {vnet.name} "
            f"({', '.join(vnet.address_prefixes)}); pick a range inside it or add a range",
            resource,
            r("vnet", vnet.name),
        )
    if net.version == 6:
        if net.prefixlen != IPV6_SUBNET_PREFIXLEN:  # §1.2: an IPv6 subnet is exactly /64
            yield error(
                "InvalidIpv6SubnetSize",
                f"subnet {vnet.name}/{subnet.name} has IPv6 range {net}; an IPv6 subnet must be "
                "exactly /64",
                resource,
            )
    elif net.prefixlen > SMALLEST_SUBNET_PREFIXLEN:  # §1.2: smallest subnet /29
        yield error(
            "SubnetTooSmall",
            f"subnet {vnet.name}/{subnet.name} is /{net.prefixlen}; the smallest IPv4 subnet "
            "is /29 (8 addresses, 3 usable)",
            resource,
        )
    elif net.prefixlen < LARGEST_SUBNET_PREFIXLEN:  # §1.2: largest subnet /2
        yield error(
            "SubnetTooLarge",
            f"subnet {vnet.name}/{subnet.name} is /{net.prefixlen}; the largest is /2",
            resource,
        )
    for other_name, other in parsed.overlapping(net):  # §1.1: subnets must not overlap
        yield error(
            "NetcfgSubnetRangesOverlap",
            f"subnets {other_name} ({other}) and {subnet.name} ({net}) of VNet "
            f"{vnet.name} overlap; give each its own range",
            resource,
            r("vnet", vnet.name, "subnet", other_name),
        )


class _RangeIndex:
    """The subnet ranges of a VNet seen so far, by family and prefix length, so that the ones
    a new range overlaps are found with a lookup per prefix length rather than a comparison
    with each (a VNet may hold 3,000 subnets, §1.5). Two CIDR ranges overlap exactly when one
    holds the other: the shorter ones that hold the new range share its masked start; the
    longer ones it holds start inside it."""

    def __init__(self) -> None:
        self._items: list[tuple[str, IPNetwork]] = []
        self._starts: dict[tuple[int, int], dict[int, list[int]]] = {}
        self._sorted: dict[tuple[int, int], list[int]] = {}

    def add(self, name: str, net: IPNetwork) -> None:
        key = (net.version, net.prefixlen)
        start = int(net.network_address)
        starts = self._starts.setdefault(key, {})
        if start not in starts:
            bisect.insort(self._sorted.setdefault(key, []), start)
        starts.setdefault(start, []).append(len(self._items))
        self._items.append((name, net))

    def overlapping(self, net: IPNetwork) -> list[tuple[str, IPNetwork]]:
        """The ranges added before that overlap ``net``, in the order they were added."""
        start, end = int(net.network_address), int(net.broadcast_address)
        bits = net.max_prefixlen
        found: list[int] = []
        for (version, length), starts in self._starts.items():
            if version != net.version:
                continue
            if length <= net.prefixlen:
                found += starts.get(start >> (bits - length) << (bits - length), ())
            else:
                ordered = self._sorted[(version, length)]
                low = bisect.bisect_left(ordered, start)
                high = bisect.bisect_right(ordered, end)
                for inside in ordered[low:high]:
                    found += starts[inside]
        return [self._items[i] for i in sorted(found)]


def _check_gateway_subnet(
    ctx: Context, vnet: VNet, nsg: str | None, route_table: str | None, net: IPNetwork
) -> Iterator[Finding]:
    resource = r("vnet", vnet.name, "subnet", GATEWAY_SUBNET)
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
        ctx.fabric.gateways_in(vnet.name, None)  # §1.3, N1.2: VPN and ExpressRoute alike
        and SMALLEST_SUBNET_PREFIXLEN >= net.prefixlen > RECOMMENDED_GATEWAY_SUBNET_PREFIXLEN
    ):
        yield warning(
            "GatewaySubnetBelowRecommendedSize",
            f"{vnet.name}/GatewaySubnet is /{net.prefixlen}; /29 is the minimum but Microsoft "
            "recommends /27 or larger",
            resource,
        )
