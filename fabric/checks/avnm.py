"""Azure Virtual Network Manager (N8) and peering permissions across subscriptions and tenants
(§2.9, N7). What a configuration creates is asked of ``fabric.control.avnm`` through the
peering view; here are only the findings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from fabric.catalogue import limits
from fabric.checks.context import Context, r
from fabric.control.avnm import HUB_AND_SPOKE, MESH, manager_of
from fabric.control.permissions import ROLE_ACTIONS
from fabric.model.findings import Finding, error, warning

# Exclusions that Azure refuses (the rest: the VNet is simply not managed).
_REFUSED = ("ConnectedGroupAddressOverlap",)
_SHOWN = 5  # names listed in a message about many VNets


def check_permissions(ctx: Context) -> Iterator[Finding]:
    """§2.9: links that cannot be created for want of ``peer/action``; grants that hold
    nothing vnetsim knows."""
    for (vnet, name), gap in ctx.view.blocked.items():
        yield error(
            "LinkedAuthorizationFailed",
            gap.message,
            r("peering", vnet, name),
            r("vnet", gap.link.remote_vnet),
        )
    for grant in ctx.fabric.permissions.values():
        if grant.role is not None and grant.role not in ROLE_ACTIONS:
            yield warning(
                "RoleNotModelled",
                f"permission {grant.name} names role {grant.role!r}; vnetsim knows the actions "
                f"of {', '.join(ROLE_ACTIONS)} (§2.9). List the role's actions under actions, "
                "or the grant holds none",
                r("permission", grant.name),
            )


def check_network_managers(ctx: Context) -> Iterator[Finding]:
    """N8: configurations, their groups and hubs, what they leave out, overlaps, limits."""
    fabric = ctx.fabric
    yield from _references(ctx)
    for config in fabric.connectivity_configurations.values():
        resource = r("connectivity_configuration", config.name)
        if config.connectivity_topology == HUB_AND_SPOKE and not config.hubs:
            yield error(
                "HubVnetRequired",
                f"connectivity configuration {config.name} is HubAndSpoke but names no hub; "
                "add hubs: [<hub VNet>]",
                resource,
            )
        if config.connectivity_topology == MESH and config.hubs:
            yield warning(
                "HubIgnoredInMesh",
                f"connectivity configuration {config.name} is a Mesh, which has no hub; its "
                f"hubs ({', '.join(config.hubs)}) are ignored",
                resource,
            )
    deployment = ctx.view.deployment
    for gap in deployment.hubs_without_gateway:
        yield error(
            "RemoteVnetHasNoGateways",
            f"connectivity configuration {gap.configuration} uses hub {gap.hub} as a gateway "
            f"(use_hub_gateway), but {gap.hub} has no gateway: Virtual Network Manager creates "
            f"the hub's links and the spokes' links fail (N8.1), so {_names(gap.spokes)} have no "
            f"connectivity to {gap.hub}. Deploy a gateway in {gap.hub} or set use_hub_gateway "
            "false",
            r("connectivity_configuration", gap.configuration),
            r("vnet", gap.hub),
        )
    for exclusion in deployment.exclusions:
        make = error if exclusion.code in _REFUSED else warning
        yield make(
            exclusion.code,
            exclusion.detail,
            r("vnet", exclusion.vnet),
            r("connectivity_configuration", exclusion.configuration),
        )
    if deployment.groups:
        yield from _overlaps(ctx)
    yield from _limits(ctx)
    if fabric.security_admin_configurations:
        yield from _security_admin(ctx)


def _security_admin(ctx: Context) -> Iterator[Finding]:
    """§5.3 and N8.1-N8.2: what security admin configurations leave out, one configuration per
    region, and the IP prefixes their rules hold."""
    fabric = ctx.fabric
    applied = ctx.plane.admin_rules
    for exclusion in applied.exclusions:
        yield warning(
            exclusion.code,
            exclusion.detail,
            r("vnet", exclusion.vnet),
            r("security_admin_configuration", exclusion.configuration),
        )
    by_region: dict[str, set[str]] = {}
    for vnet, rules in applied.by_vnet.items():
        region = fabric.vnets[vnet].region
        by_region.setdefault(region, set()).update(a.configuration for a in rules)
    for region, configs in sorted(by_region.items()):
        if len(configs) > 1:
            names = sorted(configs)
            yield error(
                "TooManySecurityAdminConfigurations",
                f"security admin configurations {', '.join(names)} all apply to VNets in "
                f"{region}: Virtual Network Manager deploys one security admin configuration "
                "per region (N8.1). Merge their rule collections into one configuration",
                *(r("security_admin_configuration", name) for name in names),
            )
    prefixes = sum(
        1
        for config in fabric.security_admin_configurations.values()
        for collection in config.rule_collections
        for rule in collection.rules
        for value in (*rule.source_address_prefixes, *rule.destination_address_prefixes)
        if value != "*" and (value[:1].isdigit() or ":" in value)
    )
    if prefixes > limits.ADMIN_RULE_IP_PREFIXES:
        yield error(
            "TooManyAdminRulePrefixes",
            f"the security admin rules hold {prefixes:,} IP prefixes; Virtual Network Manager "
            f"allows {limits.ADMIN_RULE_IP_PREFIXES:,} across all admin rules (N8.2). Use "
            "service tags or wider prefixes",
            *(r("security_admin_configuration", n) for n in fabric.security_admin_configurations),
        )


def _references(ctx: Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    for group in fabric.network_groups.values():
        for member in group.members:
            if member not in fabric.vnets:
                yield error(
                    "ReferencedResourceNotFound",
                    f"network group {group.name} has member {member!r}, which is not declared",
                    r("network_group", group.name),
                )
        if group.network_manager and group.network_manager not in fabric.network_managers:
            yield error(
                "ReferencedResourceNotFound",
                f"network group {group.name} names network manager {group.network_manager!r}, "
                "which is not declared",
                r("network_group", group.name),
            )
    for admin in fabric.security_admin_configurations.values():
        for collection in admin.rule_collections:
            for name in collection.applies_to_groups:
                if name not in fabric.network_groups:
                    yield error(
                        "ReferencedResourceNotFound",
                        f"security admin configuration {admin.name}'s rule collection "
                        f"{collection.name} applies to network group {name!r}, which is not "
                        "declared",
                        r("security_admin_configuration", admin.name),
                    )
    for config in fabric.connectivity_configurations.values():
        for name in config.group_names:
            if name not in fabric.network_groups:
                yield error(
                    "ReferencedResourceNotFound",
                    f"connectivity configuration {config.name} applies to network group "
                    f"{name!r}, which is not declared",
                    r("connectivity_configuration", config.name),
                )
        for hub in config.hubs:
            if hub not in fabric.vnets:
                yield error(
                    "ReferencedResourceNotFound",
                    f"connectivity configuration {config.name} has hub {hub!r}, which is not a "
                    "declared VNet",
                    r("connectivity_configuration", config.name),
                )


def _overlaps(ctx: Context) -> Iterator[Finding]:
    """N8.1 (Allowed): an overlapping prefix is removed from the mesh; say so once each."""
    for overlap in ctx.view.mesh.overlaps:
        holders = (*overlap.owners, *overlap.outside)
        outside = (
            f"; {', '.join(overlap.outside)} (outside the group, peered with a member) gets that "
            "space from its peer"
            if overlap.outside
            else ""
        )
        yield warning(
            "ConnectedGroupPrefixRemoved",
            f"{overlap.prefix} is claimed by {', '.join(holders)} in connected group "
            f"{overlap.group.name}: Virtual Network Manager removes the overlapping prefix from "
            f"the mesh and the other members' traffic to it is dropped (N8.1){outside}. Give "
            "the members disjoint spaces, or set connected_group_address_overlap Disallowed to "
            "have such VNets refused",
            *(r("vnet", name) for name in holders),
            r("connectivity_configuration", overlap.group.configuration),
        )


def _limits(ctx: Context) -> Iterator[Finding]:
    """N8.2: VNets per connected group, connected groups per VNet, spokes per hub."""
    fabric = ctx.fabric
    deployment = ctx.view.deployment
    per_vnet: Counter[str] = Counter()
    for group in deployment.groups:
        per_vnet.update(group.members)
        config = fabric.connectivity_configurations[group.configuration]
        manager = manager_of(fabric, config.network_manager)
        high = manager is not None and manager.allow_high_scale_connected_group
        limit = limits.VNETS_PER_CONNECTED_GROUP
        if high:
            limit = limits.VNETS_PER_CONNECTED_GROUP_HIGH_SCALE
        if len(group.members) > limit:
            how = (
                "with the high-scale feature (3,000 on the newest limitations page; 5,000 on the "
                "connectivity page)"
                if high
                else "by default (register AllowHighScaleConnectedGroup on the network manager "
                "for more: allow_high_scale_connected_group)"
            )
            yield error(
                "ConnectedGroupVnetLimitExceeded",
                f"connected group {group.name} has {len(group.members)} VNets; the limit is "
                f"{limit} {how} (N8.2)",
                r("connectivity_configuration", group.configuration),
            )
    for vnet, count in sorted(per_vnet.items()):
        if count > limits.CONNECTED_GROUPS_PER_VNET:
            names = [g.name for g in deployment.groups if vnet in g.members]
            yield error(
                "TooManyConnectedGroups",
                f"VNet {vnet} is in {count} connected groups ({', '.join(names)}); the limit is "
                f"{limits.CONNECTED_GROUPS_PER_VNET} per VNet (N8.2, raisable by request)",
                r("vnet", vnet),
            )
    for hub, spokes in deployment.spokes.items():
        others = len([p for p in fabric.peerings_of(hub) if p.remote_vnet not in spokes])
        if len(spokes) + others > limits.SPOKES_PER_AVNM_HUB:
            yield error(
                "TooManySpokesPerHub",
                f"hub {hub} is peered with {len(spokes)} spokes by Virtual Network Manager"
                + (f" and {others} other VNets" if others else "")
                + f"; the limit is {limits.SPOKES_PER_AVNM_HUB} spokes per hub (N8.2)",
                r("vnet", hub),
            )


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_SHOWN])
    more = len(names) - _SHOWN
    return f"spokes {shown}" + (f" and {more} more" if more > 0 else "")
