"""NSG rules (§5.1): names, priorities, ports, addresses and service tags."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from fabric.catalogue import limits
from fabric.catalogue.servicetags import KNOWN_TAGS, is_service_tag
from fabric.checks.context import Context, r
from fabric.control.addressing import (
    AddressError,
    parse_prefix,
)
from fabric.control.ports import PortRangeError, parse_port_ranges
from fabric.model.findings import Finding, error, warning

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
        text = value if "/" in value else f"{value}/32"
        try:
            parse_prefix(text)
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
                    r("nsg", nsg.name, "rule", name),
                )
