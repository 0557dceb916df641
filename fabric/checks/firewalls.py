"""Azure Firewalls (N11.4, N11.5, N11.7): where they live, their address, their rules."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from fabric.checks.context import Context, r
from fabric.control.addressing import AddressError, parse_address
from fabric.control.firewall import FIREWALL_SUBNET
from fabric.model.findings import Finding, error, warning
from fabric.model.records import suggest

NAME_MAX = 50  # N11.4: a firewall name has at most 50 characters
PRIORITY_RANGE = (100, 65_000)  # N11.7: rule collection priorities
COLLECTION_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")  # N11.7


def check_firewalls(ctx: Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    per_vnet: dict[str, list[str]] = defaultdict(list)
    for firewall in fabric.firewalls.values():
        resource = r("firewall", firewall.name)
        vnet = fabric.vnets.get(firewall.vnet)
        if vnet is None:
            yield error(
                "ReferencedResourceNotFound",
                f"firewall {firewall.name} is in VNet {firewall.vnet!r}, which is not declared "
                f"({suggest(firewall.vnet, fabric.vnets)})",
                resource,
            )
            continue
        per_vnet[vnet.name].append(firewall.name)
        if len(firewall.name) > NAME_MAX:
            yield error(
                "InvalidResourceName",
                f"firewall name {firewall.name!r} has {len(firewall.name)} characters; Azure "
                f"allows at most {NAME_MAX}",
                resource,
            )
        if FIREWALL_SUBNET not in vnet.subnet_names and not vnet.external:
            close = [n for n in vnet.subnet_names if n.lower() == FIREWALL_SUBNET.lower()]
            hint = f" (found {close[0]!r}: the name is case-sensitive)" if close else ""
            yield error(
                "AzureFirewallSubnetMissing",
                f"firewall {firewall.name} needs a subnet named exactly {FIREWALL_SUBNET} "
                f"(/26) in VNet {vnet.name}{hint}",
                resource,
                r("vnet", vnet.name),
            )
        elif firewall.private_ip is not None:
            yield from _check_address(ctx, firewall, vnet.name, resource)
        yield from _check_rules(firewall, resource)
    for vnet, names in per_vnet.items():
        if len(names) > 1:  # N11.4
            yield error(
                "TooManyFirewallsInVnet",
                f"VNet {vnet} has {len(names)} Azure Firewalls ({', '.join(names)}); two "
                "firewalls cannot exist in the same virtual network",
                r("vnet", vnet),
                *(r("firewall", n) for n in names),
            )


def _check_address(ctx: Context, firewall, vnet: str, resource: str) -> Iterator[Finding]:
    try:
        address = parse_address(firewall.private_ip)
    except AddressError as problem:
        yield error("InvalidIpAddress", f"firewall {firewall.name}: {problem}", resource)
        return
    if not any(address in net for net in ctx.subnets.get((vnet, FIREWALL_SUBNET), [])):
        yield error(
            "FirewallAddressOutsideSubnet",
            f"firewall {firewall.name}'s private IP {address} is not in {vnet}/"
            f"{FIREWALL_SUBNET}; Azure allocates it there (N11.5)",
            resource,
        )


def _check_rules(firewall, resource: str) -> Iterator[Finding]:
    collections = firewall.network_rule_collections
    if collections is None:
        if firewall.firewall_policy is None:  # an importer already said so for a policy
            yield warning(
                "FirewallRulesUnknown",
                f"firewall {firewall.name} declares no network rule collections, so vnetsim "
                "cannot say what it allows and lets every flow through (an Azure Firewall "
                "denies all until a rule allows, N11.7); declare its network_rule_collections",
                resource,
            )
        return
    if firewall.firewall_policy is not None:
        return  # a policy's collections: priorities are per group, checked on import
    for collection in collections:
        where = f"firewall {firewall.name} collection {collection.name}"
        low, high = PRIORITY_RANGE
        if not low <= collection.priority <= high:
            yield error(
                "InvalidFirewallRuleCollectionPriority",
                f"{where}: priority {collection.priority} is outside {low}-{high}",
                resource,
            )
        if not COLLECTION_NAME.match(collection.name):
            yield error(
                "InvalidResourceName",
                f"{where}: a rule collection name has 1-80 letters, digits, '_', '.' or '-', "
                "starts with a letter or digit and ends with one or '_'",
                resource,
            )
    if not any(rule for c in collections for rule in c.rules):
        yield warning(
            "FirewallDeniesEverything",
            f"firewall {firewall.name} has no network rules: it denies every flow routed to it "
            "(default deny, N11.7)",
            resource,
        )
