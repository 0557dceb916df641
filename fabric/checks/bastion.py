"""Azure Bastion's subnet (N18.2): an NSG on ``AzureBastionSubnet`` must carry the rules
Bastion needs, or Azure refuses to create or update it.

The far end of each required flow is a service tag (GatewayManager, AzureCloud, Internet,
VirtualNetwork, AzureLoadBalancer) whose addresses vnetsim does not hold, so the rules are read
by what they name, in priority order: the first rule of the direction that covers the flow
(protocol TCP or Any, the port, the far end named as ``*`` or ``0.0.0.0/0``, as the tag itself
or as a tag that holds it, and the near end covering the subnet) decides it. The fact sheet says
the NSG must *contain* the rules, so a flow counts as allowed only when a rule of the NSG's own
allows it: the default rules (AllowVnetOutBound, AllowInternetOutBound) do not stand in for
them. Any other far end given as addresses is not matched (vnetsim cannot tell whether they
are the tag's), except for the users' sessions, which may come from public addresses the owner
chooses instead of the whole internet.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from fabric.catalogue.servicetags import INTERNET, VIRTUAL_NETWORK
from fabric.checks.addresses import BASTION_SUBNET
from fabric.checks.context import Context, r
from fabric.control.addressing import AddressError, parse_prefix, prefix_text
from fabric.control.nsg import DEFAULT_RULE_NAMES, ordered_rules
from fabric.control.ports import PortRangeError, parse_port_ranges, port_matches
from fabric.model.findings import Finding, error, warning
from fabric.model.records import Nsg, SecurityRule, Subnet

# Tags whose addresses are public Azure ones, so a rule naming Internet covers them too.
_IN_INTERNET = frozenset({"GatewayManager", "AzureCloud", INTERNET})
_EVERY_ADDRESS = frozenset({"*", "0.0.0.0/0", "::/0"})


@attrs.frozen(slots=True)
class BastionFlow:
    """One flow Bastion needs through its subnet's NSG.

    Attributes:
        direction: ``Inbound`` (far end is the source) or ``Outbound`` (far end is the
            destination).
        far_end: the service tag at the other end.
        port: the TCP destination port.
        purpose: what the flow is for, as the finding says it.
        chosen_addresses: whether a rule naming addresses serves it too (the users' sessions
            may come from public addresses the owner lists instead of the whole internet).
    """

    direction: str
    far_end: str
    port: int
    purpose: str
    chosen_addresses: bool = False


# N18.2, bastion-nsg.md (02/03/2020): what every revision requires.
REQUIRED: tuple[BastionFlow, ...] = (
    BastionFlow("Inbound", "GatewayManager", 443, "the control plane"),
    BastionFlow("Outbound", VIRTUAL_NETWORK, 3389, "RDP to the target VMs"),
    BastionFlow("Outbound", VIRTUAL_NETWORK, 22, "SSH to the target VMs"),
    BastionFlow("Outbound", "AzureCloud", 443, "diagnostics and metering in Azure"),
)

# N18.2 "(plus inbound 443 from the internet for users)": without it nobody can open a
# session, but Azure does not refuse the NSG for it, and it may name the users' own addresses.
USERS = BastionFlow(
    "Inbound", INTERNET, 443, "users' sessions, from the internet or addresses you choose", True
)

# N18.2: added by newer revisions of the page (date not captured).
NEWER: tuple[BastionFlow, ...] = (
    BastionFlow("Inbound", "AzureLoadBalancer", 443, "health probes"),
    BastionFlow("Inbound", VIRTUAL_NETWORK, 8080, "Bastion's data plane"),
    BastionFlow("Inbound", VIRTUAL_NETWORK, 5701, "Bastion's data plane"),
    BastionFlow("Outbound", VIRTUAL_NETWORK, 8080, "Bastion's data plane"),
    BastionFlow("Outbound", VIRTUAL_NETWORK, 5701, "Bastion's data plane"),
    BastionFlow("Outbound", INTERNET, 80, "session and certificate validation"),
)


def _names_far_end(values: tuple[str, ...], flow: BastionFlow, access: str) -> bool:
    """Does a rule side that lists ``values`` cover the far end of ``flow``: every address of
    its tag, or, for the users' sessions, addresses the owner chose to allow (a deny of some
    addresses leaves the others' sessions alone)?"""
    tag = flow.far_end
    chosen = flow.chosen_addresses and access == "Allow"
    return any(
        value in _EVERY_ADDRESS
        or value == tag
        or (value == INTERNET and tag in _IN_INTERNET)
        or (chosen and (value[:1].isdigit() or ":" in value))
        for value in values
    )


def _covers_subnet(values: tuple[str, ...], groups: tuple[str, ...], subnet: Subnet) -> bool:
    """Does a rule side cover the Bastion subnet (the near end)? Application security groups
    hold NICs, and the subnet holds none but Bastion's: such a side does not."""
    if groups:
        return False
    for value in values:
        if value in ("*", VIRTUAL_NETWORK):
            return True
        try:
            if parse_prefix(subnet.address_prefix).subnet_of(parse_prefix(prefix_text(value))):
                return True
        except (AddressError, TypeError, ValueError):
            continue  # another family, or a malformed value (reported by the NSG checks)
    return False


def _covers(rule: SecurityRule, flow: BastionFlow, subnet: Subnet) -> bool:
    if rule.protocol not in ("*", "Tcp"):
        return False
    try:
        if not port_matches(flow.port, parse_port_ranges(rule.destination_port_ranges)):
            return False
    except PortRangeError:
        return False  # reported by the NSG checks; such a rule matches nothing
    if flow.direction == "Inbound":
        far, near = rule.source_address_prefixes, rule.destination_address_prefixes
        near_groups = rule.destination_application_security_groups
        far_groups = rule.source_application_security_groups
    else:
        far, near = rule.destination_address_prefixes, rule.source_address_prefixes
        near_groups = rule.source_application_security_groups
        far_groups = rule.destination_application_security_groups
    return (
        not far_groups
        and _names_far_end(far, flow, rule.access)
        and _covers_subnet(near, near_groups, subnet)
    )


def deciding_rule(nsg: Nsg, flow: BastionFlow, subnet: Subnet) -> SecurityRule | None:
    """The first rule of ``nsg`` (defaults included) that covers ``flow``, if any."""
    return next(
        (rule for rule in ordered_rules(nsg, flow.direction) if _covers(rule, flow, subnet)),
        None,
    )


def _allowed(nsg: Nsg, flow: BastionFlow, subnet: Subnet) -> bool:
    rule = deciding_rule(nsg, flow, subnet)
    return rule is not None and rule.access == "Allow" and rule.name not in DEFAULT_RULE_NAMES


def _describe(flows: list[BastionFlow]) -> str:
    parts = []
    for flow in flows:
        side = "from" if flow.direction == "Inbound" else "to"
        parts.append(
            f"{flow.direction.lower()} TCP {flow.port} {side} {flow.far_end} ({flow.purpose})"
        )
    return "; ".join(parts)


def check_bastion_subnet_nsgs(ctx: Context) -> Iterator[Finding]:
    """N18.2: an NSG on AzureBastionSubnet without Bastion's rules is refused by Azure."""
    for vnet in ctx.fabric.vnets.values():
        for subnet in vnet.subnets:
            if subnet.name != BASTION_SUBNET or subnet.nsg is None:
                continue
            nsg = ctx.fabric.nsgs.get(subnet.nsg)
            if nsg is None:
                continue  # a missing NSG is reported with the subnet's other references
            resource = r("vnet", vnet.name, "subnet", subnet.name)
            missing = [flow for flow in REQUIRED if not _allowed(nsg, flow, subnet)]
            if missing:
                yield error(
                    "BastionSubnetNsgMissingRules",
                    f"NSG {nsg.name} on {vnet.name}/{BASTION_SUBNET} does not allow what Azure "
                    f"Bastion needs, so Azure refuses to associate or update it (N18.2): "
                    f"{_describe(missing)}. Add Allow rules for these (a rule of the NSG's own: "
                    "the default rules do not count), above any rule that denies them.",
                    resource,
                )
            if not _allowed(nsg, USERS, subnet):
                yield warning(
                    "BastionSubnetNsgMissingUserAccess",
                    f"NSG {nsg.name} on {vnet.name}/{BASTION_SUBNET} allows no {_describe([USERS])}"
                    " (N18.2): nobody can open a Bastion session. Allow TCP 443 from Internet, "
                    "or from the public addresses your users come from.",
                    resource,
                )
            newer = [flow for flow in NEWER if not _allowed(nsg, flow, subnet)]
            if newer:
                yield warning(
                    "BastionSubnetNsgMissingNewerRules",
                    f"NSG {nsg.name} on {vnet.name}/{BASTION_SUBNET}: newer revisions of "
                    f"Azure's Bastion NSG requirements also ask for {_describe(newer)} (N18.2).",
                    resource,
                )
