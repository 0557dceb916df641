"""Limits across the topology (§1.5)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from fabric.catalogue import limits
from fabric.checks.context import Context, r
from fabric.model.findings import Finding, error


def check_limits(ctx: Context) -> Iterator[Finding]:
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
    peerings_per_vnet = Counter(p.vnet for p in fabric.peerings.values())
    for vnet in fabric.vnets.values():
        if len(vnet.subnets) > limits.SUBNETS_PER_VNET:
            yield error(
                "TooManySubnets",
                f"VNet {vnet.name} has {len(vnet.subnets)} subnets; the limit is "
                f"{limits.SUBNETS_PER_VNET}",
                r("vnet", vnet.name),
            )
        peerings = peerings_per_vnet[vnet.name]
        if peerings > limits.PEERINGS_PER_VNET:
            yield error(
                "TooManyPeerings",
                f"VNet {vnet.name} has {peerings} peerings; the limit is "
                f"{limits.PEERINGS_PER_VNET} (use Virtual WAN or a second hub)",
                r("vnet", vnet.name),
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


def check_address_limits(ctx: Context) -> Iterator[Finding]:
    """§1.5: private IP addresses per VNet and per group of peered VNets (declared NICs)."""
    fabric = ctx.fabric
    counts = {name: len(vnet.hosts) for name, vnet in fabric.vnets.items()}
    for name, count in counts.items():
        if count > limits.PRIVATE_IPS_PER_VNET:
            yield error(
                "TooManyPrivateIpAddresses",
                f"VNet {name} holds {count} private IP addresses; the limit is "
                f"{limits.PRIVATE_IPS_PER_VNET}",
                r("vnet", name),
            )
    for group in _peered_groups(ctx):
        total = sum(counts[name] for name in group)
        if len(group) > 1 and total > limits.PRIVATE_IPS_PER_PEERED_GROUP:
            yield error(
                "TooManyPrivateIpAddressesInPeeredGroup",
                f"the peered VNets {', '.join(sorted(group))} hold {total} private IP addresses "
                f"together; the limit for a group of peered VNets is "
                f"{limits.PRIVATE_IPS_PER_PEERED_GROUP}",
                *(r("vnet", name) for name in sorted(group)),
            )


def _peered_groups(ctx: Context) -> list[set[str]]:
    """VNets joined by Connected peerings or Virtual Network Manager connected groups."""
    parent = {name: name for name in ctx.fabric.vnets}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for link in ctx.view.links:
        known = link.vnet in parent and link.remote_vnet in parent
        if known and ctx.view.state(link) == "Connected":
            parent[root(link.vnet)] = root(link.remote_vnet)
    for group in ctx.view.deployment.groups:  # N8.2: a connected group counts like peering
        for member in group.members[1:]:
            parent[root(member)] = root(group.members[0])
    groups: dict[str, set[str]] = {}
    for name in parent:
        groups.setdefault(root(name), set()).add(name)
    return list(groups.values())
