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
    for vnet in fabric.vnets.values():
        if len(vnet.subnets) > limits.SUBNETS_PER_VNET:
            yield error(
                "TooManySubnets",
                f"VNet {vnet.name} has {len(vnet.subnets)} subnets; the limit is "
                f"{limits.SUBNETS_PER_VNET}",
                r("vnet", vnet.name),
            )
        peerings = len(fabric.peerings_of(vnet.name))
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
