"""NSG rules (§5.1): names, priorities, ports, addresses and service tags."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from fabric.catalogue import limits
from fabric.catalogue.servicetags import KNOWN_TAGS, is_service_tag
from fabric.checks.context import Context, r, unresolved
from fabric.control.addressing import AddressError, parse_prefix, prefix_text
from fabric.control.ports import PortRangeError, parse_port_ranges
from fabric.model.findings import Finding, error, warning
from fabric.model.records import suggest

RULE_NAME = re.compile(r"^\w([\w.\-]{0,78}[\w_])?$")  # §5.1: 80 chars, word chars . - _


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
        try:
            parse_prefix(prefix_text(value))
        except AddressError as problem:
            yield error("InvalidSecurityRuleAddress", f"{where}: {problem}", resource)


def check_nsgs(ctx: Context) -> Iterator[Finding]:
    for nsg in ctx.fabric.nsgs.values():
        if len(nsg.security_rules) > limits.RULES_PER_NSG:  # §1.5
            yield error(
                "TooManySecurityRules",
                f"NSG {nsg.name} has {len(nsg.security_rules)} rules; the limit is "
                f"{limits.RULES_PER_NSG}",
                r("nsg", nsg.name),
            )
        names: Counter[str] = Counter()
        priorities: dict[tuple[str, int], str] = {}
        for rule in nsg.security_rules:
            resource = r("nsg", nsg.name, "rule", rule.name)
            where = f"NSG {nsg.name} rule {rule.name}"
            names[rule.name] += 1
            if not unresolved(rule.name) and not RULE_NAME.match(rule.name):  # §5.1
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
                    r("nsg", nsg.name, "rule", name),
                )


def check_application_security_groups(ctx: Context) -> Iterator[Finding]:
    """N14.2: ASG references, their members in one VNet, and the limits of §1.5."""
    fabric = ctx.fabric
    declared = fabric.application_security_groups
    vnets_of: dict[str, set[str]] = {}
    for vnet in fabric.vnets.values():
        for host in vnet.hosts:
            resource = r("host", host.name)
            if len(host.application_security_groups) > limits.ASGS_PER_NIC:
                yield error(
                    "TooManyApplicationSecurityGroups",
                    f"host {host.name} is in {len(host.application_security_groups)} application "
                    f"security groups; the limit is {limits.ASGS_PER_NIC} per NIC",
                    resource,
                )
            for group in host.application_security_groups:
                if group not in declared:
                    yield error(
                        "ReferencedResourceNotFound",
                        f"host {host.name} joins application security group {group!r}, which "
                        f"is not declared ({suggest(group, declared)})",
                        resource,
                    )
                vnets_of.setdefault(group, set()).add(vnet.name)
    for group, vnets in sorted(vnets_of.items()):
        if len(vnets) > 1:  # N14.2: all NICs of one ASG in the same VNet
            yield error(
                "ApplicationSecurityGroupSpansVnets",
                f"application security group {group} has members in VNets "
                f"{', '.join(sorted(vnets))}; all its NICs must be in one VNet",
                r("application_security_group", group),
            )
    for nsg in fabric.nsgs.values():
        in_nsg: set[str] = set()
        for rule in nsg.security_rules:
            resource = r("nsg", nsg.name, "rule", rule.name)
            where = f"NSG {nsg.name} rule {rule.name}"
            groups = (
                *rule.source_application_security_groups,
                *rule.destination_application_security_groups,
            )
            in_nsg.update(groups)
            for side, prefixes, names in (
                ("source", rule.source_address_prefixes, rule.source_application_security_groups),
                (
                    "destination",
                    rule.destination_address_prefixes,
                    rule.destination_application_security_groups,
                ),
            ):
                if names and prefixes != ("*",):  # N14.2: exactly one of the two per side
                    yield error(
                        "SecurityRuleSideNeedsOneKind",
                        f"{where}: the {side} names both address prefixes and application "
                        "security groups; a side must specify exactly one of them",
                        resource,
                    )
                if len(names) > limits.ASGS_PER_RULE_SIDE:
                    yield error(
                        "TooManyApplicationSecurityGroups",
                        f"{where}: {len(names)} application security groups in the {side}; "
                        f"the limit is {limits.ASGS_PER_RULE_SIDE}",
                        resource,
                    )
                for group in names:
                    if group not in declared:
                        yield error(
                            "ReferencedResourceNotFound",
                            f"{where}: application security group {group!r} is not declared "
                            f"({suggest(group, declared)})",
                            resource,
                        )
            spanned = set().union(*(vnets_of.get(g, set()) for g in groups))
            if len(spanned) > 1:
                yield error(
                    "AllApplicationSecurityGroupsInSecurityRuleMustBeFromSameVnet",
                    f"{where}: its application security groups have members in VNets "
                    f"{', '.join(sorted(spanned))}; all ASGs on a rule must be from one VNet",
                    resource,
                )
        if len(in_nsg) > limits.ASGS_PER_NSG:
            yield error(
                "TooManyApplicationSecurityGroups",
                f"NSG {nsg.name} names {len(in_nsg)} application security groups; the limit is "
                f"{limits.ASGS_PER_NSG} across its rules",
                r("nsg", nsg.name),
            )
