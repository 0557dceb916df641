"""NSG evaluation: the one place that says which security rule decides (azure-facts §5).

Rules are checked in priority order and the first match decides; every NSG carries the six
default rules (§5.2). Inbound traffic meets the subnet NSG, then the NIC NSG; outbound the NIC
NSG, then the subnet NSG; both must allow (§5.3). Flows are stateful: the reply of an allowed
flow is allowed (``FlowTable``).
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network

import attrs

from fabric.catalogue.servicetags import AZURE_LOAD_BALANCER, HOST_VIP, INTERNET, VIRTUAL_NETWORK
from fabric.control.addressing import AddressError, parse_prefix
from fabric.control.ports import ANY_PORT, PortRangeError, parse_port_ranges, port_matches
from fabric.model.records import Nsg, SecurityRule

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
        "0.0.0.0/0",
        "*",
    ),
    SecurityRule(
        "DenyAllInBound", 65500, "Inbound", "Deny", "*", "0.0.0.0/0", "*", "0.0.0.0/0", "*"
    ),
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
    SecurityRule(
        "AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "0.0.0.0/0", "*", INTERNET, "*"
    ),
    SecurityRule(
        "DenyAllOutBound", 65500, "Outbound", "Deny", "*", "0.0.0.0/0", "*", "0.0.0.0/0", "*"
    ),
)
DEFAULT_RULE_NAMES = frozenset(rule.name for rule in DEFAULT_RULES)

# Address space that is neither private/shared (RFC 1918, RFC 6598) nor special-purpose: the
# candidates for the Internet tag (§5.4; RFC 1918 space is not Internet, TC-NW-2).
_NOT_INTERNET = tuple(
    IPv4Network(p)
    for p in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)


@attrs.frozen(slots=True)
class Packet5Tuple:
    """What an NSG looks at. Ports are None for protocols without ports (ICMP, ESP, AH)."""

    protocol: str
    source: IPv4Address
    destination: IPv4Address
    source_port: int | None = None
    destination_port: int | None = None

    def reply(self) -> Packet5Tuple:
        """The 5-tuple of the return direction."""
        return Packet5Tuple(
            self.protocol, self.destination, self.source, self.destination_port, self.source_port
        )


@attrs.frozen(slots=True)
class TagScope:
    """Service-tag contents for the VNet whose NSGs are evaluated (see ``fabric.control``)."""

    virtual_network: tuple[IPv4Network, ...]

    def contains(self, tag: str, address: IPv4Address) -> bool:
        if tag == VIRTUAL_NETWORK:
            return any(address in net for net in self.virtual_network)
        if tag == AZURE_LOAD_BALANCER:
            return str(address) == HOST_VIP
        if tag == INTERNET:
            if any(address in net for net in _NOT_INTERNET):
                return False
            return not any(address in net for net in self.virtual_network)
        return False  # tags without modelled contents match nothing (validation warns)


@attrs.frozen(slots=True)
class Verdict:
    """The decision of one NSG (or of no NSG: ``nsg`` None means allowed by absence)."""

    access: str
    rule_name: str | None
    nsg: str | None
    direction: str

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


def _address_matches(values: tuple[str, ...], address: IPv4Address, scope: TagScope) -> bool:
    for value in values:
        if value == "*":
            return True
        if "/" in value or value[:1].isdigit():
            try:
                if address in parse_prefix(value if "/" in value else f"{value}/32"):
                    return True
            except AddressError:
                continue  # reported by validation
        elif scope.contains(value, address):
            return True
    return False


def _ports(values: tuple[str, ...]) -> tuple[tuple[int, int], ...] | None:
    try:
        return parse_port_ranges(values)
    except PortRangeError:
        return None  # reported by validation; such a rule matches nothing


def rule_matches(rule: SecurityRule, packet: Packet5Tuple, scope: TagScope) -> bool:
    """Does ``rule`` match the 5-tuple? (Direction is checked by the caller.)"""
    # '*' (Any) matches every protocol; a named protocol matches only itself.
    if rule.protocol != "*" and rule.protocol != packet.protocol:
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
    return _address_matches(
        rule.source_address_prefixes, packet.source, scope
    ) and _address_matches(rule.destination_address_prefixes, packet.destination, scope)


def ordered_rules(nsg: Nsg, direction: str) -> list[SecurityRule]:
    """Custom then default rules of one direction, in evaluation (priority) order."""
    rules = [r for r in (*nsg.security_rules, *DEFAULT_RULES) if r.direction == direction]
    return sorted(rules, key=lambda r: r.priority)


def evaluate_nsg(nsg: Nsg, direction: str, packet: Packet5Tuple, scope: TagScope) -> Verdict:
    """The first rule of ``nsg`` that matches decides."""
    for rule in ordered_rules(nsg, direction):
        if rule_matches(rule, packet, scope):
            return Verdict(rule.access, rule.name, nsg.name, direction)
    return Verdict("Deny", None, nsg.name, direction)  # unreachable: DenyAll matches everything


def evaluate_chain(
    nic_nsg: Nsg | None,
    subnet_nsg: Nsg | None,
    direction: str,
    packet: Packet5Tuple,
    scope: TagScope,
) -> tuple[Verdict, list[Verdict]]:
    """§5.3: inbound subnet NSG then NIC NSG, outbound NIC then subnet; both must allow.

    Returns the deciding verdict (the first deny, else the last allow) and every verdict made.
    """
    order = (subnet_nsg, nic_nsg) if direction == "Inbound" else (nic_nsg, subnet_nsg)
    verdicts = []
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


class FlowTable:
    """Stateful NSG behaviour (§5.3): remembers allowed flows so their replies pass."""

    __slots__ = ("_flows",)

    def __init__(self) -> None:
        self._flows: set[Packet5Tuple] = set()

    def allow(self, packet: Packet5Tuple) -> None:
        """Record an allowed flow (the 5-tuple as it was evaluated)."""
        self._flows.add(packet)

    def is_reply(self, packet: Packet5Tuple) -> bool:
        """True when ``packet`` is the return traffic of a recorded flow."""
        return packet.reply() in self._flows

    def check(self, packet: Packet5Tuple, evaluate: Callable[[Packet5Tuple], Verdict]) -> Verdict:
        """Replies of known flows pass; new flows are evaluated and remembered if allowed."""
        if self.is_reply(packet):
            return Verdict("Allow", "EstablishedFlow", None, "Reply")
        verdict = evaluate(packet)
        if verdict.allowed:
            self.allow(packet)
        return verdict
