"""N18.2: an NSG on AzureBastionSubnet must carry Bastion's rules, or Azure refuses it."""

from __future__ import annotations

import attrs
import pytest

from fabric.checks import validate
from fabric.checks.bastion import NEWER, REQUIRED, USERS, deciding_rule
from fabric.model.container import Fabric
from fabric.model.records import SecurityRule


def rule(name, priority, direction, access, protocol, source, destination, ports):
    return SecurityRule(
        name, priority, direction, access, protocol, source, "*", destination, ports
    )


# The rules Microsoft's hub-and-spoke reference template puts on its Bastion subnet.
FULL = (
    rule("AllowWebExperienceInbound", 100, "Inbound", "Allow", "Tcp", "Internet", "*", "443"),
    rule("AllowControlPlaneInbound", 110, "Inbound", "Allow", "Tcp", "GatewayManager", "*", "443"),
    rule("AllowHealthProbesInbound", 120, "Inbound", "Allow", "Tcp", "AzureLoadBalancer", "*",
         "443"),
    rule("AllowHostToHostIn", 130, "Inbound", "Allow", "*", "VirtualNetwork", "VirtualNetwork",
         ("8080", "5701")),
    rule("DenyAllInbound", 1000, "Inbound", "Deny", "*", "*", "*", "*"),
    rule("AllowSshToVnetOutbound", 100, "Outbound", "Allow", "Tcp", "*", "VirtualNetwork", "22"),
    rule("AllowRdpToVnetOutbound", 110, "Outbound", "Allow", "Tcp", "*", "VirtualNetwork", "3389"),
    rule("AllowControlPlaneOutbound", 120, "Outbound", "Allow", "Tcp", "*", "AzureCloud", "443"),
    rule("AllowHostToHostOut", 130, "Outbound", "Allow", "*", "VirtualNetwork", "VirtualNetwork",
         ("8080", "5701")),
    rule("AllowCertificateValidation", 140, "Outbound", "Allow", "*", "*", "Internet", "80"),
    rule("DenyAllOutbound", 1000, "Outbound", "Deny", "*", "*", "*", "*"),
)  # fmt: skip


def findings(rules, *, nsg=True):
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    if nsg:
        fabric.nsg("nsg-bastion", rules)
    fabric.subnet("hub", "AzureBastionSubnet", "10.0.1.0/26", nsg="nsg-bastion" if nsg else None)
    return {f.code: f for f in validate(fabric) if f.code.startswith("BastionSubnetNsg")}


def test_the_reference_templates_rules_are_enough():
    assert findings(FULL) == {}


def test_no_nsg_needs_no_rules():
    assert findings((), nsg=False) == {}


def test_an_nsg_of_inbound_rules_only_is_refused_for_what_goes_out():
    """The default outbound rules would let the traffic through, but Azure asks for the
    NSG's own rules (N18.2: the NSG must contain them)."""
    found = findings(FULL[:5])
    problem = found["BastionSubnetNsgMissingRules"]
    assert problem.severity == "Error"
    for text in ("outbound TCP 3389 to VirtualNetwork", "outbound TCP 22 to VirtualNetwork",
                 "outbound TCP 443 to AzureCloud"):  # fmt: skip
        assert text in problem.message
    assert "inbound" not in problem.message.split("(N18.2): ")[1]


def test_a_deny_above_the_allow_takes_the_control_plane_away():
    deny = rule("DenyGatewayManager", 100, "Inbound", "Deny", "*", "GatewayManager", "*", "*")
    later = [attrs.evolve(r, priority=r.priority + 5) for r in FULL[:4]]
    problem = findings((deny, *later, *FULL[4:]))["BastionSubnetNsgMissingRules"]
    assert "inbound TCP 443 from GatewayManager" in problem.message
    assert "from Internet" not in problem.message


@pytest.mark.parametrize(
    ("source", "covers_gateway_manager"),
    [("Internet", True), ("*", True), ("GatewayManager", True), ("AzureCloud", False),
     ("52.0.0.0/8", False)],
)  # fmt: skip
def test_what_names_the_control_planes_far_end(source, covers_gateway_manager):
    """A rule covers GatewayManager when it names it, ``*``, or Internet (its addresses are
    public Azure ones); addresses are not matched (vnetsim cannot tell whose they are)."""
    allow = rule("AllowIn", 100, "Inbound", "Allow", "Tcp", source, "*", "443")
    out = [r for r in FULL if r.direction == "Outbound"]
    problem = findings((allow, *out)).get("BastionSubnetNsgMissingRules")
    missing = problem is not None and "from GatewayManager" in problem.message
    assert missing is not covers_gateway_manager


def test_the_near_end_must_cover_the_subnet():
    """An allow whose destination is another subnet's prefix does not count for Bastion's."""
    elsewhere = rule("AllowCP", 110, "Inbound", "Allow", "Tcp", "GatewayManager", "10.0.9.0/24",
                     "443")  # fmt: skip
    problem = findings((elsewhere, *FULL[2:]))["BastionSubnetNsgMissingRules"]
    assert "from GatewayManager" in problem.message
    inside = rule("AllowCP", 110, "Inbound", "Allow", "Tcp", "GatewayManager", "10.0.0.0/16", "443")
    found = findings((inside, *FULL[2:]))
    assert "BastionSubnetNsgMissingRules" not in found
    assert "BastionSubnetNsgMissingUserAccess" in found  # no users' rule: a warning


def test_the_newer_revisions_rules_are_a_warning():
    only_2020 = [r for r in FULL if r.name not in ("AllowHealthProbesInbound",
                                                   "AllowCertificateValidation")]  # fmt: skip
    found = findings(only_2020)
    assert "BastionSubnetNsgMissingRules" not in found
    warning = found["BastionSubnetNsgMissingNewerRules"]
    assert warning.severity == "Warning"
    assert "inbound TCP 443 from AzureLoadBalancer" in warning.message
    assert "outbound TCP 80 to Internet" in warning.message


def test_the_lists_are_the_fact_sheets():
    assert {(f.direction, f.far_end, f.port) for f in REQUIRED} == {
        ("Inbound", "GatewayManager", 443), ("Outbound", "VirtualNetwork", 3389),
        ("Outbound", "VirtualNetwork", 22), ("Outbound", "AzureCloud", 443),
    }  # fmt: skip
    assert (USERS.direction, USERS.far_end, USERS.port) == ("Inbound", "Internet", 443)
    assert len(NEWER) == 6


def test_the_deciding_rule_is_the_first_in_priority_order():
    """The users' Internet rule comes first and covers GatewayManager too (its addresses are
    public Azure ones); with no rule of its own, an NSG's default DenyAllInBound decides."""
    from fabric.model.records import Nsg, Subnet

    subnet = Subnet("AzureBastionSubnet", "10.0.1.0/26")
    control_plane = REQUIRED[0]
    assert deciding_rule(Nsg("n", FULL), control_plane, subnet).name == (
        "AllowWebExperienceInbound"
    )
    assert deciding_rule(Nsg("n", FULL[1:]), control_plane, subnet).name == (
        "AllowControlPlaneInbound"
    )
    assert deciding_rule(Nsg("empty"), control_plane, subnet).name == "DenyAllInBound"


def test_users_may_come_from_chosen_addresses_and_their_absence_is_a_warning():
    """N18.2 lists users' 443 from the internet apart ("plus"): an NSG that admits only the
    company's public range is correct; one that admits no user is not refused by Azure, but
    nobody can open a session."""
    users = rule("AllowUsers", 100, "Inbound", "Allow", "Tcp", "203.0.113.0/24", "*", "443")
    assert findings((users, *FULL[1:])) == {}
    found = findings(FULL[1:])
    assert set(found) == {"BastionSubnetNsgMissingUserAccess"}
    assert found["BastionSubnetNsgMissingUserAccess"].severity == "Warning"
    # A deny of some addresses leaves the others' sessions alone.
    some = rule("DenySome", 100, "Inbound", "Deny", "Tcp", "198.51.100.0/24", "*", "443")
    later = [attrs.evolve(r, priority=r.priority + 5) for r in FULL[:4]]
    assert findings((some, *later, *FULL[4:])) == {}


@pytest.mark.parametrize("every", ["0.0.0.0/0", "*"])
def test_every_address_counts_as_the_tag_for_an_allow_and_for_a_deny(every):
    allow = rule("AllowCP", 110, "Inbound", "Allow", "Tcp", every, "*", "443")
    assert findings((FULL[0], allow, *FULL[2:])) == {}
    deny = rule("Deny443", 100, "Inbound", "Deny", "Tcp", every, "*", "443")
    later = [attrs.evolve(r, priority=r.priority + 5) for r in FULL[:4]]
    found = findings((deny, *later, *FULL[4:]))
    assert "inbound TCP 443 from GatewayManager" in found["BastionSubnetNsgMissingRules"].message
    assert "BastionSubnetNsgMissingUserAccess" in found


def _bastion_estate(spoke_rules=()):
    """A hub with Bastion's subnet and NSG, a spoke peered with it (a VM whose NSG holds
    ``spoke_rules``), and a VNet peered only with the spoke."""
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    fabric.nsg("nsg-bastion", FULL)
    fabric.subnet("hub", "AzureBastionSubnet", "10.0.1.0/26", nsg="nsg-bastion")
    fabric.nsg("nsg-spoke", spoke_rules)
    for i, name in ((1, "spoke"), (2, "beyond")):
        fabric.vnet(name, "westeurope", f"10.{i}.0.0/16")
        fabric.subnet(name, "app", f"10.{i}.0.0/24", nsg="nsg-spoke" if i == 1 else None)
        fabric.host(name, f"{name}-vm", "app", f"10.{i}.0.4")
    fabric.peer("hub", "spoke")
    fabric.peer("spoke", "beyond")
    return fabric


@pytest.mark.parametrize(
    ("destination", "port", "spoke_rules", "codes"),
    [
        ("spoke-vm", 3389, (), ()),  # AllowVnetInBound: the hub is in the spoke's tag
        ("spoke-vm", 22, (), ()),
        # Not peered with the hub: no route, and outside the VirtualNetwork tag that Bastion's
        # NSG allows RDP to, so its DenyAllOutbound is the first cause.
        ("beyond-vm", 3389, (), ("DeniedByNsg", "PeeringNotTransitive")),
        ("spoke-vm", 3389,
         (rule("DenyRdp", 100, "Inbound", "Deny", "Tcp", "10.0.1.0/26", "*", "3389"),),
         ("DeniedByNsg",)),
    ],
)  # fmt: skip
def test_what_bastion_reaches_is_a_trace_from_its_subnet(destination, port, spoke_rules, codes):
    """docs/cli.md: a connectivity trace from an address of AzureBastionSubnet answers whether
    Bastion can open RDP or SSH to a VM (N18.2): directly peered VNets, NSGs both ends."""
    from fabric.control.plane import ControlPlane
    from fabric.watcher import connectivity

    plane = ControlPlane(_bastion_estate(spoke_rules))
    trace = connectivity(plane, "10.0.1.4", destination, protocol="Tcp", port=port)
    assert trace.reachable is (codes == ())
    assert trace.codes == codes
