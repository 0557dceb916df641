"""Azure Firewall: its private address and the verdict of its network rules (N11).

The one place that decides what an Azure Firewall lets through. Rules (N11.7): deny until a
rule allows; classic collections in priority order (a policy's in processing order: group
priority, then collection priority); the first matching rule decides, with its collection's
action. ``Any`` is every IP protocol; a rule with explicit destination ports matches TCP and
UDP only. The firewall is stateful (N11.6): the reply of an allowed flow passes without rules.

Not modelled: application and DNAT rules, FQDNs, IP groups and service tags in network rules
(they match nothing here, so traffic only they would allow gets the default deny), threat
intelligence, SNAT of network-rule traffic to public destinations.
"""

from __future__ import annotations

from ipaddress import ip_address

import attrs

from fabric.control.addressing import (
    AddressError,
    IPAddress,
    parse_address,
    parse_prefix,
    reserved_addresses,
    valid_networks,
)
from fabric.control.nsg import Packet5Tuple
from fabric.control.ports import PortRangeError, parse_port_ranges, port_matches
from fabric.model.records import Firewall, FirewallNetworkRule, VNet

FIREWALL_SUBNET = "AzureFirewallSubnet"  # N11.4: the data subnet's exact name
PORTED = ("Tcp", "Udp")


@attrs.frozen(slots=True)
class FirewallVerdict:
    """What the firewall decided for one packet, and which collection and rule decided it.
    ``known`` is False when the firewall's rules are not in the input (a policy defined
    elsewhere): the packet is then let through and the trace says it was assumed."""

    allowed: bool
    collection: str | None = None
    rule: str | None = None
    known: bool = True

    def describe(self, firewall: str) -> str:
        if not self.known:
            return f"firewall {firewall}: its rules are not in this input; assumed to allow"
        if self.rule is None:
            return f"firewall {firewall}: no network rule allows it (default deny, N11.7)"
        action = "allowed" if self.allowed else "denied"
        return f"firewall {firewall}: {action} by rule {self.collection}/{self.rule}"


def derived_address(vnet: VNet, taken: set[str]) -> IPAddress | None:
    """The address Azure gives a firewall whose private IP is not stated: the lowest free
    address of AzureFirewallSubnet, normally ``.4`` (N11.5, derived: no doc states it)."""
    try:
        subnet = vnet.subnet(FIREWALL_SUBNET)
    except KeyError:
        return None
    for network in valid_networks(subnet.prefixes):
        if network.version != 4:
            continue
        reserved = set(reserved_addresses(network))
        for address in network:
            if address not in reserved and str(address) not in taken:
                return address
    return None


def evaluate(firewall: Firewall, packet: Packet5Tuple) -> FirewallVerdict:
    """The verdict of ``firewall``'s network rules for a new flow's ``packet``."""
    collections = firewall.network_rule_collections
    if collections is None:
        return FirewallVerdict(True, known=False)
    if firewall.firewall_policy is None:  # classic: by priority (a policy's come in order)
        collections = tuple(sorted(collections, key=lambda c: c.priority))
    for collection in collections:
        for rule in collection.rules:
            if _matches(rule, packet):
                return FirewallVerdict(collection.action == "Allow", collection.name, rule.name)
    return FirewallVerdict(False)


def _matches(rule: FirewallNetworkRule, packet: Packet5Tuple) -> bool:
    try:
        ports = parse_port_ranges(rule.destination_ports)
    except PortRangeError:
        return False
    explicit_ports = "*" not in rule.destination_ports
    protocols = {p.upper() for p in rule.protocols}
    if "ANY" in protocols:  # every IP protocol since Nov 2020; TCP+UDP with explicit ports
        if explicit_ports and packet.protocol not in PORTED:
            return False
    elif packet.protocol.upper() not in protocols:
        return False
    if packet.protocol in PORTED and not port_matches(packet.destination_port or 0, ports):
        return False
    return _address_in(packet.source, rule.source_addresses) and _address_in(
        packet.destination, rule.destination_addresses
    )


def _address_in(address: IPAddress, entries: tuple[str, ...]) -> bool:
    """``*``, an address, a prefix or a range ``a-b``; anything else (an FQDN, a tag, an IP
    group) matches nothing."""
    for entry in entries:
        text = entry.strip()
        if text == "*":
            return True
        low, sep, high = text.partition("-")
        try:
            if sep:
                first, last = ip_address(low.strip()), ip_address(high.strip())
                if first.version == address.version and first <= address <= last:
                    return True
            elif "/" in text:
                if address in parse_prefix(text):
                    return True
            elif address == parse_address(text):
                return True
        except (AddressError, ValueError, TypeError):
            continue
    return False
