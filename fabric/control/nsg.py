"""NSG evaluation: the one place that says which security rule decides (azure-facts §5).

Rules are checked in priority order and the first match decides; every NSG carries the six
default rules (§5.2). Inbound traffic meets the subnet NSG, then the NIC NSG; outbound the NIC
NSG, then the subnet NSG; both must allow (§5.3). Flows are stateful: the reply of an allowed
flow is allowed (the forwarding walk's ``established``).

Modelling decisions, with their sources:
* Protocol ``*`` (Any) is TCP, UDP and ICMP (§5.1); ESP and AH are matched only by rules that
  name them. An ESP or AH packet that no rule names is denied by the NSG (nothing allowed it);
  IP flow verify then shows no rule, as Azure omits ``ruleName`` when nothing matched (§6.1).
* Traffic to or from the host platform addresses 168.63.129.16 and 169.254.169.254 is not
  filtered by NSG rules unless a rule names a tag that holds the address on that side
  (AzurePlatformDNS, AzurePlatformIMDS, AzurePlatformLKM, and AzureLoadBalancer for health
  probes from 168.63.129.16) (§1.4, NSG overview "Azure platform considerations").
* A rule side that names application security groups matches the NICs that are members (N14):
  the source's or the destination's NIC, by address.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from fabric.catalogue.servicetags import (
    AZURE_LOAD_BALANCER,
    INTERNET,
    PLATFORM_TAGS,
    VIRTUAL_NETWORK,
)
from fabric.control.addressing import (
    AddressError,
    IPAddress,
    IPNetwork,
    is_internet,
    is_platform,
    parse_prefix,
    prefix_text,
)
from fabric.control.ports import ANY_PORT, PortRangeError, parse_port_ranges, port_matches
from fabric.model.records import AdminRule, Nsg, SecurityRule

if TYPE_CHECKING:
    from fabric.control.avnm import AppliedAdminRule

# §5.2, exactly as the API spells them.
DEFAULT_RULES: tuple[SecurityRule, ...] = (
    SecurityRule(
        "AllowVnetInBound",
        65000,
        "Inbound",
        "Allow",
        "*",
        VIRTUAL_NETWORK,
        "*",
        VIRTUAL_NETWORK,
        "*",
    ),
    SecurityRule(
        "AllowAzureLoadBalancerInBound",
        65001,
        "Inbound",
        "Allow",
        "*",
        AZURE_LOAD_BALANCER,
        "*",
        "*",
        "*",
    ),
    # §5.2 prints 0.0.0.0/0; "*" is the same for IPv4 and also covers IPv6 (dual stack).
    SecurityRule("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*", "*", "*", "*"),
    SecurityRule(
        "AllowVnetOutBound",
        65000,
        "Outbound",
        "Allow",
        "*",
        VIRTUAL_NETWORK,
        "*",
        VIRTUAL_NETWORK,
        "*",
    ),
    SecurityRule("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "*", "*", INTERNET, "*"),
    SecurityRule("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*", "*", "*", "*"),
)
DEFAULT_RULE_NAMES = frozenset(rule.name for rule in DEFAULT_RULES)
ANY_PROTOCOL = frozenset({"Tcp", "Udp", "Icmp"})  # §5.1: Any = TCP + UDP + ICMP


@attrs.frozen(slots=True)
class Packet5Tuple:
    """What an NSG looks at. Ports are None for protocols without ports (ICMP, ESP, AH)."""

    protocol: str
    source: IPAddress
    destination: IPAddress
    source_port: int | None = None
    destination_port: int | None = None

    def reply(self) -> Packet5Tuple:
        """The 5-tuple of the return direction."""
        return Packet5Tuple(
            self.protocol, self.destination, self.source, self.destination_port, self.source_port
        )


@attrs.frozen(slots=True)
class TagScope:
    """Service-tag contents for the VNet whose NSGs are evaluated (see ``fabric.control``), and
    the members of each application security group (by NIC address)."""

    virtual_network: tuple[IPNetwork, ...]
    asg_members: dict[str, frozenset[IPAddress]] = attrs.field(factory=dict)

    def contains(self, tag: str, address: IPAddress) -> bool:
        if tag == VIRTUAL_NETWORK:
            return any(address in net for net in self.virtual_network)
        if tag in PLATFORM_TAGS:
            return address in PLATFORM_TAGS[tag]
        if tag == INTERNET:
            if not is_internet(address):
                return False
            return not any(address in net for net in self.virtual_network)
        return False  # tags without modelled contents match nothing (validation warns)

    def member(self, groups: tuple[str, ...], address: IPAddress) -> bool:
        """True when the NIC with ``address`` belongs to one of the application groups."""
        return any(address in self.asg_members.get(group, ()) for group in groups)


@attrs.frozen(slots=True)
class Verdict:
    """The decision of one NSG (or of no NSG: ``nsg`` None means allowed by absence), or of
    a security admin rule (``admin_configuration`` names its configuration; ``admin_access``
    is the rule's own access: Allow, AlwaysAllow or Deny)."""

    access: str
    rule_name: str | None
    nsg: str | None
    direction: str
    admin_configuration: str | None = None
    admin_access: str | None = None

    @property
    def allowed(self) -> bool:
        """True for Allow."""
        return self.access == "Allow"

    @property
    def qualified_rule(self) -> str | None:
        """``securityRules/x`` or ``defaultSecurityRules/x`` as Azure's tools print it."""
        if self.rule_name is None:
            return None
        kind = "defaultSecurityRules" if self.rule_name in DEFAULT_RULE_NAMES else "securityRules"
        return f"{kind}/{self.rule_name}"


def _address_matches(values: tuple[str, ...], address: IPAddress, scope: TagScope) -> bool:
    for value in values:
        if value == "*":
            return True
        if "/" in value or ":" in value or value[:1].isdigit():
            try:
                if address in parse_prefix(prefix_text(value)):
                    return True
            except AddressError:
                continue  # reported by validation
        elif scope.contains(value, address):
            return True
    return False


def _side_matches(
    prefixes: tuple[str, ...], groups: tuple[str, ...], address: IPAddress, scope: TagScope
) -> bool:
    """One side of a rule: its application security groups if it names any, else prefixes."""
    if groups:
        return scope.member(groups, address)
    return _address_matches(prefixes, address, scope)


def _ports(values: tuple[str, ...]) -> tuple[tuple[int, int], ...] | None:
    try:
        return parse_port_ranges(values)
    except PortRangeError:
        return None  # reported by validation; such a rule matches nothing


def rule_matches(rule: SecurityRule | AdminRule, packet: Packet5Tuple, scope: TagScope) -> bool:
    """Does ``rule`` match the 5-tuple? (Direction is checked by the caller.)"""
    if rule.protocol == "*":
        if packet.protocol not in ANY_PROTOCOL:
            return False
    elif rule.protocol != packet.protocol:
        return False
    for port, ranges in (
        (packet.source_port, rule.source_port_ranges),
        (packet.destination_port, rule.destination_port_ranges),
    ):
        parsed = _ports(ranges)
        if parsed is None:
            return False
        # Protocols without ports only match rules that allow any port.
        if (port is None and parsed != ANY_PORT) or (
            port is not None and not port_matches(port, parsed)
        ):
            return False
    return _side_matches(
        rule.source_address_prefixes,
        rule.source_application_security_groups,
        packet.source,
        scope,
    ) and _side_matches(
        rule.destination_address_prefixes,
        rule.destination_application_security_groups,
        packet.destination,
        scope,
    )


def ordered_rules(nsg: Nsg, direction: str) -> list[SecurityRule]:
    """Custom then default rules of one direction, in evaluation (priority) order."""
    rules = [r for r in (*nsg.security_rules, *DEFAULT_RULES) if r.direction == direction]
    return sorted(rules, key=lambda r: r.priority)


def _platform_side(rule: SecurityRule | AdminRule, direction: str) -> tuple[str, ...]:
    """The field of ``rule`` that names the far end: the source inbound, destination outbound."""
    if direction == "Inbound":
        return rule.source_address_prefixes
    return rule.destination_address_prefixes


def _first_match(
    rules: Sequence[SecurityRule | AdminRule],
    direction: str,
    packet: Packet5Tuple,
    scope: TagScope,
) -> int | None:
    """The index of the first of ``rules`` (in evaluation order) that matches the packet.
    Traffic to or from a platform address meets only the rules that name a platform tag on
    that side (§1.4)."""
    platform = is_platform(packet.source if direction == "Inbound" else packet.destination)
    for index, rule in enumerate(rules):
        if platform and not any(tag in PLATFORM_TAGS for tag in _platform_side(rule, direction)):
            continue
        if rule_matches(rule, packet, scope):
            return index
    return None


def evaluate_nsg(nsg: Nsg, direction: str, packet: Packet5Tuple, scope: TagScope) -> Verdict:
    """The first rule of ``nsg`` that matches decides; nothing matched denies (ESP/AH only)."""
    rules = ordered_rules(nsg, direction)
    index = _first_match(rules, direction, packet, scope)
    if index is not None:
        return Verdict(rules[index].access, rules[index].name, nsg.name, direction)
    if is_platform(packet.source if direction == "Inbound" else packet.destination):
        return Verdict("Allow", None, None, direction)  # not filtered by this NSG
    return Verdict("Deny", None, nsg.name, direction)


def evaluate_admin(
    admin: Sequence[AppliedAdminRule], direction: str, packet: Packet5Tuple, scope: TagScope
) -> Verdict | None:
    """§5.3: the first matching security admin rule, or None when none matches. Platform
    traffic is exempt as from NSG rules unless a rule names a platform tag (the fact sheet
    is silent; our reading)."""
    index = _first_match([applied.rule for applied in admin], direction, packet, scope)
    if index is None:
        return None
    applied = admin[index]
    return Verdict(
        "Deny" if applied.rule.access == "Deny" else "Allow",
        applied.rule.name,
        None,
        direction,
        admin_configuration=applied.configuration,
        admin_access=applied.rule.access,
    )


def evaluate_chain(
    nic_nsg: Nsg | None,
    subnet_nsg: Nsg | None,
    direction: str,
    packet: Packet5Tuple,
    scope: TagScope,
    *,
    admin: Sequence[AppliedAdminRule] = (),
) -> tuple[Verdict, list[Verdict]]:
    """§5.3: the VNet's security admin rules first: Deny and AlwaysAllow decide, Allow (or no
    match) goes on to the NSGs: inbound subnet NSG then NIC NSG, outbound NIC then subnet;
    both must allow.

    Returns the deciding verdict (the first deny, else the last allow) and every verdict made.
    """
    order = (subnet_nsg, nic_nsg) if direction == "Inbound" else (nic_nsg, subnet_nsg)
    verdicts = []
    if admin:
        decided = evaluate_admin(admin, direction, packet, scope)
        if decided is not None:
            verdicts.append(decided)
            if decided.admin_access != "Allow":  # AlwaysAllow and Deny end the evaluation
                return decided, verdicts
    for nsg in order:
        if nsg is None:
            continue
        verdict = evaluate_nsg(nsg, direction, packet, scope)
        verdicts.append(verdict)
        if not verdict.allowed:
            return verdict, verdicts
    if not verdicts:
        return Verdict("Allow", None, None, direction), verdicts
    return verdicts[-1], verdicts
