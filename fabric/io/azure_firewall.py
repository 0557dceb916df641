"""Azure Firewall network rules from classic rule collections or a firewall policy (N11.8).

Classic: ``properties.networkRuleCollections[] = {name, properties: {priority, action: {type},
rules[]}}``. Policy: ``firewallPolicies/ruleCollectionGroups`` with ``properties.priority`` and
``ruleCollections[]`` of ``FirewallPolicyFilterRuleCollection`` whose ``rules[]`` have
``ruleType: NetworkRule``; groups are processed by group priority, then collection priority.

What vnetsim's firewall record cannot hold (application and DNAT rules, FQDN and IP-group
matches) is reported through ``note`` with what that means for the verdicts; it is never
turned into a broader match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fabric.io.azure_values import BadValueError, choice, strings, whole
from fabric.model.records import (
    ACCESSES,
    FIREWALL_PROTOCOLS,
    FirewallNetworkRule,
    FirewallRuleCollection,
)

Note = Callable[[str, str], None]  # (code, message) -> records a warning finding

UNMATCHABLE = {
    "destinationFqdns": "destination FQDNs",
    "sourceIpGroups": "source IP groups",
    "destinationIpGroups": "destination IP groups",
}


def network_rule(rule: Any, where: str, note: Note) -> FirewallNetworkRule | None:
    """One network rule (classic or policy shape); None, with a note, when vnetsim cannot
    match what it names."""
    if not isinstance(rule, dict):
        raise BadValueError(f"{where} is not an object")
    name = rule.get("name")
    protocols = strings(rule.get("protocols") or rule.get("ipProtocols"), f"{where}.protocols")
    protocols = tuple(choice(p, FIREWALL_PROTOCOLS, f"{where}.protocols") for p in protocols)
    sources = strings(rule.get("sourceAddresses"), f"{where}.sourceAddresses")
    destinations = strings(rule.get("destinationAddresses"), f"{where}.destinationAddresses")
    ports = strings(rule.get("destinationPorts"), f"{where}.destinationPorts")
    unmatchable = [label for key, label in UNMATCHABLE.items() if rule.get(key)]
    if unmatchable:
        kept = "kept for its addresses only" if sources and destinations else "left out"
        note(
            "FirewallRuleNotModelled",
            f"{where} (rule {name!r}) matches {' and '.join(unmatchable)}, which vnetsim "
            f"cannot evaluate; the rule is {kept}, so flows it matches only that way get the "
            "firewall's default deny in vnetsim",
        )
    if not sources or not destinations:
        if not unmatchable:
            note(
                "FirewallRuleNotModelled",
                f"{where} (rule {name!r}) has no source or no destination addresses; left out",
            )
        return None
    return FirewallNetworkRule(
        str(name), protocols or ("Any",), sources, destinations, ports or ("*",)
    )


def classic_collections(properties: dict, where: str, note: Note) -> list[FirewallRuleCollection]:
    """The classic network rule collections of a firewall; application and NAT collections
    are noted as not modelled."""
    unmodelled = (("applicationRuleCollections", "application"), ("natRuleCollections", "NAT"))
    for key, label in unmodelled:
        if properties.get(key):
            note(
                "FirewallRulesNotModelled",
                f"{where}.properties.{key}: {label} rule collections are not modelled by "
                "vnetsim; traffic only they would allow is denied by vnetsim's firewall",
            )
    out = []
    for i, item in enumerate(properties.get("networkRuleCollections") or ()):
        path = f"{where}.properties.networkRuleCollections[{i}]"
        if not isinstance(item, dict):
            raise BadValueError(f"{path} is not an object")
        inner = item.get("properties") or {}
        rules = [
            network_rule(rule, f"{path}.rules[{j}]", note)
            for j, rule in enumerate(inner.get("rules") or ())
        ]
        out.append(
            FirewallRuleCollection(
                str(item.get("name")),
                whole(inner.get("priority"), f"{path}.properties.priority"),
                choice((inner.get("action") or {}).get("type"), ACCESSES, f"{path}.action.type"),
                tuple(r for r in rules if r is not None),
            )
        )
    return out


def _group_collections(
    group_name: str, properties: dict, where: str, note: Note
) -> list[tuple[int, FirewallRuleCollection]]:
    """(collection priority, collection) for the network rules of one rule collection group."""
    out = []
    for i, item in enumerate(properties.get("ruleCollections") or ()):
        path = f"{where}.properties.ruleCollections[{i}]"
        if not isinstance(item, dict):
            raise BadValueError(f"{path} is not an object")
        kind = str(item.get("ruleCollectionType", "")).lower()
        if kind == "firewallpolicynatrulecollection":
            note(
                "FirewallRulesNotModelled",
                f"{path} ({item.get('name')!r}) is a DNAT rule collection; not modelled by vnetsim",
            )
            continue
        rules = []
        for j, rule in enumerate(item.get("rules") or ()):
            if isinstance(rule, dict) and str(rule.get("ruleType", "")).lower() != "networkrule":
                note(
                    "FirewallRulesNotModelled",
                    f"{path}.rules[{j}] ({rule.get('name')!r}) is an {rule.get('ruleType')}; "
                    "only network rules are modelled, so traffic it alone allows is denied",
                )
                continue
            rules.append(network_rule(rule, f"{path}.rules[{j}]", note))
        rules = [r for r in rules if r is not None]
        if not rules:
            continue
        priority = whole(item.get("priority"), f"{path}.priority")
        action = choice((item.get("action") or {}).get("type"), ACCESSES, f"{path}.action.type")
        name = f"{group_name}/{item.get('name')}"
        out.append((priority, FirewallRuleCollection(name, priority, action, tuple(rules))))
    return out


def policy_collections(
    groups: list[tuple[str, dict, str]], policy: str, note: Note
) -> list[FirewallRuleCollection]:
    """Network rule collections of a policy's groups ``(name, properties, origin)``, in
    processing order: group priority, then collection priority (N11.9)."""
    ordered = []
    for name, properties, origin in groups:
        group_priority = whole(properties.get("priority"), f"{origin}.properties.priority")
        for priority, collection in _group_collections(name, properties, origin, note):
            ordered.append((group_priority, priority, collection))
    ordered.sort(key=lambda item: (item[0], item[1]))
    collections = [c for _, _, c in ordered]
    if [c.priority for c in collections] != sorted(c.priority for c in collections):
        note(
            "FirewallPolicyOrder",
            f"firewall policy {policy}: its collections are listed in processing order (group "
            "priority, then collection priority), but their own priorities alone would order "
            "them differently; the record keeps each collection's own priority",
        )
    return collections
