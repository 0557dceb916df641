"""Azure's address and platform rules from the fact sheet: platform addresses (§1.4), reserved
addresses (§1.2), multicast/broadcast (§1.4), private space and the internet route, the §4.7
None routes, the VirtualNetwork tag (§5.4), protocol Any (§5.1), application security groups
(N14), invalid gateway routes (§4.3), per-VM bandwidth (N3.1) and IPv6 (§1.2)."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fabric.checks import validate
from fabric.control.addressing import is_multicast_or_broadcast
from fabric.control.plane import ControlPlane
from fabric.model import Fabric, Route, SecurityRule
from fabric.sim.runs import simulate
from fabric.watcher import connectivity, ip_flow, next_hop
from tests.fabrics import hub_and_spokes, routing_example


def one_vm(rules=(), route_table=None) -> Fabric:
    fabric = Fabric()
    fabric.nsg("nsg", rules)
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    fabric.subnet("v", "s", "10.0.0.0/24", nsg="nsg", route_table=route_table)
    fabric.host("v", "vm", "s", "10.0.0.4")
    return fabric


# -- §1.4 platform addresses -------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["168.63.129.16", "169.254.169.254"])
def test_platform_addresses_are_answered_whatever_the_udrs_say(platform):
    fabric = one_vm(route_table="rt")
    fabric.route_table("rt", [Route("all-dropped", "0.0.0.0/0", "None")])
    trace = connectivity(ControlPlane(fabric), "10.0.0.4", platform, protocol="Udp", port=53)
    assert trace.reachable, trace
    assert [h.type for h in trace.hops] == ["Source", "AzurePlatform"]


def test_platform_traffic_ignores_ordinary_nsg_rules_but_not_platform_tags():
    deny_all_out = SecurityRule("deny-all-out", 100, "Outbound", "Deny")
    plane = ControlPlane(one_vm([deny_all_out]))
    assert connectivity(plane, "10.0.0.4", "168.63.129.16", protocol="Udp", port=53).reachable
    assert not connectivity(plane, "10.0.0.4", "8.8.8.8").reachable
    deny_dns = SecurityRule(
        "deny-dns",
        100,
        "Outbound",
        "Deny",
        destination_address_prefixes="AzurePlatformDNS",
    )
    plane = ControlPlane(one_vm([deny_dns]))
    trace = connectivity(plane, "10.0.0.4", "168.63.129.16", protocol="Udp", port=53)
    assert trace.code == "DeniedByNsg"
    assert "deny-dns" in trace.reason
    # AzurePlatformDNS does not hold the metadata service
    assert connectivity(plane, "10.0.0.4", "169.254.169.254", protocol="Tcp", port=80).reachable


# -- §1.2 / §1.4 addresses nobody can deliver to -------------------------------------------------


@pytest.mark.parametrize(
    ("address", "word"),
    [
        ("10.0.0.0", "network"),
        ("10.0.0.1", "default gateway"),
        ("10.0.0.2", "DNS"),
        ("10.0.0.3", "DNS"),
        ("10.0.0.255", "broadcast"),
    ],
)
def test_TC_VN_1_the_five_reserved_addresses_are_not_reachable(address, word):
    fabric = one_vm()
    fabric.subnet("v", "t", "10.0.1.0/24")
    fabric.host("v", "other", "t", "10.0.1.4")
    trace = connectivity(ControlPlane(fabric), "10.0.1.4", address, protocol="Icmp", port=None)
    assert trace.code == "ReservedAddress"
    assert word in trace.reason


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("224.0.0.5", "MulticastNotSupported"),
        ("239.1.2.3", "MulticastNotSupported"),
        ("255.255.255.255", "BroadcastNotSupported"),
    ],
)
def test_multicast_and_broadcast_are_dropped(address, code):
    trace = connectivity(ControlPlane(one_vm()), "10.0.0.4", address, protocol="Udp", port=5000)
    assert trace.code == code


def test_private_space_sent_to_the_internet_is_not_reachable():
    fabric = one_vm(route_table="rt")
    fabric.route_table("rt", [Route("to-internet", "0.0.0.0/0", "Internet")])
    plane = ControlPlane(fabric)
    # §4.7: the default UDR removes the reserved None routes, so private space follows it to
    # the Internet, where it is not routable.
    assert next_hop(plane, "10.0.0.4", "10.5.0.1").next_hop_type == "Internet"
    assert connectivity(plane, "10.0.0.4", "10.5.0.1").code == "NotRoutableOnInternet"
    assert connectivity(plane, "10.0.0.4", "13.107.21.200").reachable
    fabric.route_table("rt2", [Route("cgnat", "100.64.0.0/10", "Internet")])
    fabric.subnet("v", "u", "10.0.2.0/24", route_table="rt2")
    trace = connectivity(ControlPlane(fabric), "10.0.2.9", "100.64.1.1")
    assert trace.code == "NotRoutableOnInternet"


def test_4_7_none_routes_removed_by_a_default_user_route():
    plane = ControlPlane(routing_example())
    subnet1 = {str(r.prefix) for r in plane.routes("Virtual-network-1", "Subnet1").routes}
    assert not {"10.0.0.0/8", "192.168.0.0/16", "100.64.0.0/10"} & subnet1
    subnet2 = {str(r.prefix) for r in plane.routes("Virtual-network-1", "Subnet2").routes}
    assert {"10.0.0.0/8", "192.168.0.0/16", "100.64.0.0/10"} <= subnet2


# -- §5.4 VirtualNetwork tag, §5.1 protocol Any ------------------------------------------------


def test_virtual_network_tag_holds_udr_prefixes_and_the_host_vip():
    fabric = one_vm(route_table="rt")
    fabric.route_table("rt", [Route("onprem", "172.20.0.0/16", "VirtualAppliance", "10.0.0.10")])
    scope = ControlPlane(fabric).tag_scope("v")
    assert scope.contains("VirtualNetwork", ip_address("172.20.1.1"))
    assert scope.contains("VirtualNetwork", ip_address("168.63.129.16"))
    assert not scope.contains("VirtualNetwork", ip_address("8.8.8.8"))


def test_a_default_udr_puts_every_address_in_the_virtual_network_tag():
    """§5.4: the tag holds UDR prefixes and "might also contain default routes": with a UDR
    0.0.0.0/0 the default AllowVnetInBound admits any source, the well-known trap."""
    fabric = one_vm(route_table="rt")
    fabric.route_table("rt", [Route("default", "0.0.0.0/0", "VirtualAppliance", "10.0.0.10")])
    scope = ControlPlane(fabric).tag_scope("v")
    assert scope.contains("VirtualNetwork", ip_address("8.8.8.8"))


def test_protocol_any_is_tcp_udp_icmp_and_esp_needs_its_own_rule():
    allow_any_in = SecurityRule("allow-any", 100, "Inbound", "Allow", "*")
    plane = ControlPlane(one_vm([allow_any_in]))
    assert ip_flow(
        plane, "10.1.0.4", "10.0.0.4", protocol="Udp", port=500, direction="Inbound"
    ).allowed
    esp = ip_flow(plane, "10.1.0.4", "10.0.0.4", protocol="Esp", port=None, direction="Inbound")
    assert (esp.access, esp.rule_name) == ("Deny", None)  # no rule names ESP
    allow_esp = SecurityRule("allow-esp", 110, "Inbound", "Allow", "Esp")
    plane = ControlPlane(one_vm([allow_any_in, allow_esp]))
    esp = ip_flow(plane, "10.1.0.4", "10.0.0.4", protocol="Esp", port=None, direction="Inbound")
    assert (esp.access, esp.rule_name) == ("Allow", "allow-esp")


# -- N14 application security groups -----------------------------------------------------------


def asg_example() -> Fabric:
    """N14.1's worked example: NSG1 on both subnets; web, logic and db tiers as ASGs."""
    fabric = Fabric()
    for group in ("AsgWeb", "AsgLogic", "AsgDb"):
        fabric.application_security_group(group)
    fabric.nsg(
        "NSG1",
        [
            SecurityRule(
                "Allow-HTTP-Inbound-Internet",
                100,
                "Inbound",
                "Allow",
                "Tcp",
                source_address_prefixes="Internet",
                destination_port_ranges="80",
                destination_application_security_groups="AsgWeb",
            ),
            SecurityRule(
                "Allow-Database-BusinessLogic",
                110,
                "Inbound",
                "Allow",
                "Tcp",
                destination_port_ranges="1433",
                source_application_security_groups="AsgLogic",
                destination_application_security_groups="AsgDb",
            ),
            SecurityRule(
                "Deny-Database-All",
                120,
                "Inbound",
                "Deny",
                "*",
                destination_port_ranges="1433",
                destination_application_security_groups="AsgDb",
            ),
        ],
    )
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    fabric.subnet("v", "front", "10.0.1.0/24", nsg="NSG1")
    fabric.subnet("v", "back", "10.0.2.0/24", nsg="NSG1")
    fabric.host("v", "web", "front", "10.0.1.4", application_security_groups=["AsgWeb"])
    fabric.host("v", "logic", "front", "10.0.1.5", application_security_groups=["AsgLogic"])
    fabric.host("v", "db", "back", "10.0.2.4", application_security_groups=["AsgDb"])
    return fabric


def test_N14_worked_example():
    plane = ControlPlane(asg_example())

    def inbound(src, dst, port):
        return ip_flow(plane, src, dst, protocol="Tcp", port=port, direction="Inbound")

    assert inbound("10.0.1.5", "10.0.2.4", 1433).rule_name == "Allow-Database-BusinessLogic"
    assert (inbound("10.0.1.4", "10.0.2.4", 1433).access, "Deny") == ("Deny", "Deny")
    assert inbound("10.0.1.4", "10.0.2.4", 1433).rule_name == "Deny-Database-All"
    assert inbound("203.0.113.9", "10.0.1.5", 80).rule_name == "DenyAllInBound"
    assert inbound("203.0.113.9", "10.0.1.4", 80).rule_name == "Allow-HTTP-Inbound-Internet"
    assert not [f for f in validate(asg_example()) if f.severity == "Error"]


def test_asg_constraints():
    fabric = asg_example()
    fabric.vnet("w", "eastus", "10.9.0.0/16")
    fabric.subnet("w", "s", "10.9.0.0/24")
    fabric.host("w", "stray", "s", "10.9.0.4", application_security_groups=["AsgDb"])
    codes = {f.code for f in validate(fabric)}
    assert "ApplicationSecurityGroupSpansVnets" in codes
    assert "AllApplicationSecurityGroupsInSecurityRuleMustBeFromSameVnet" in codes
    fabric = asg_example()
    rule = SecurityRule(
        "both",
        200,
        "Inbound",
        "Allow",
        source_address_prefixes="10.0.0.0/8",
        source_application_security_groups="AsgWeb",
    )
    fabric.nsgs["NSG1"] = fabric.nsgs["NSG1"].__class__(
        "NSG1", (*fabric.nsgs["NSG1"].security_rules, rule)
    )
    assert "SecurityRuleSideNeedsOneKind" in {f.code for f in validate(fabric)}


# -- §4.3 a gateway route with no gateway --------------------------------------------------------


def test_gateway_udr_without_a_gateway_is_invalid_and_drops_naming_the_route():
    fabric = one_vm(route_table="rt")
    fabric.route_table("rt", [Route("force", "0.0.0.0/0", "VirtualNetworkGateway")])
    plane = ControlPlane(fabric)
    states = {r.name: r.state for r in plane.routes("v", "s").routes if r.source == "User"}
    assert states == {"force": "Invalid"}
    trace = connectivity(plane, "10.0.0.4", "8.8.8.8")
    assert trace.code == "RouteInvalid"
    assert "force" in trace.reason
    assert "GatewayRouteWithoutGateway" in {f.code for f in validate(fabric)}
    assert connectivity(ControlPlane(hub_and_spokes()), "10.1.0.4", "10.50.1.4").reachable


# -- N3.1 bandwidth per VM -----------------------------------------------------------------------


def test_the_nics_of_one_vm_share_its_egress_cap():
    fabric = Fabric()
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    for i in (1, 2, 3):
        fabric.subnet("v", f"s{i}", f"10.0.{i}.0/24")
    fabric.host("v", "nva-nic1", "s1", "10.0.1.4", vm="nva", bandwidth_mbps=100)
    fabric.host("v", "nva-nic2", "s2", "10.0.2.4", vm="nva", bandwidth_mbps=100)
    fabric.host("v", "sink", "s3", "10.0.3.4")
    flows = [
        {"name": name, "src": name, "dst": "sink", "rate_mbps": 100, "duration_s": 0.2}
        for name in ("nva-nic1", "nva-nic2")
    ]
    result = simulate(fabric, flows)
    total = sum(f.goodput_mbps(0.05, 0.2) for f in result.flows)
    # one 100 Mbps VM, not two; the cap meters whole packets, goodput counts UDP payload
    assert total == pytest.approx(100 * (1400 - 28) / 1400, rel=0.02)


# -- §1.2 IPv6 -----------------------------------------------------------------------------------


def dual_stack() -> Fabric:
    fabric = Fabric()
    fabric.vnet("a", "eastus", ["10.0.0.0/16", "fd00:a::/48"])
    fabric.vnet("b", "eastus", ["10.1.0.0/16", "fd00:b::/48"])
    fabric.subnet("a", "s", "10.0.0.0/24")
    fabric.subnet("b", "s", "10.1.0.0/24")
    for name, v6 in (("a", "fd00:a::/64"), ("b", "fd00:b::/64")):
        subnet = fabric.vnets[name].subnets[0]
        vnet = fabric.vnets[name]
        fabric.vnets[name] = vnet.__class__(
            name,
            vnet.region,
            vnet.address_prefixes,
            (subnet.__class__(subnet.name, subnet.address_prefix, additional_prefixes=v6),),
        )
    fabric.peer("a", "b")
    return fabric


def test_ipv6_spaces_validate_route_and_answer_next_hop():
    fabric = dual_stack()
    findings = validate(fabric)
    assert not [f for f in findings if f.severity == "Error"], findings
    assert {f.code for f in findings} == {"Ipv6NotSimulated"}
    plane = ControlPlane(fabric)
    assert next_hop(plane, "fd00:a::4", "fd00:b::4").next_hop_type == "VNetPeering"
    assert next_hop(plane, "fd00:a::4", "fd00:a::9").next_hop_type == "VnetLocal"
    assert next_hop(plane, "fd00:a::4", "2001:db8::1").next_hop_type == "Internet"
    assert next_hop(plane, "10.0.0.4", "10.1.0.4").next_hop_type == "VNetPeering"
    assert connectivity(plane, "fd00:a::4", "fd00:b::4").reachable


def test_ipv6_subnets_are_exactly_64_and_overlap_like_ipv4():
    fabric = dual_stack()
    vnet = fabric.vnets["a"]
    subnet = vnet.subnets[0]
    fabric.vnets["a"] = vnet.__class__(
        "a",
        vnet.region,
        vnet.address_prefixes,
        (subnet.__class__("s", "10.0.0.0/24", additional_prefixes="fd00:a::/80"),),
    )
    assert "InvalidIpv6SubnetSize" in {f.code for f in validate(fabric)}
    fabric.add_address_prefix("b", "fd00:a:0:1::/64")
    assert "VnetAddressSpacesOverlap" in {f.code for f in validate(fabric)}


@given(st.ip_addresses())
def test_multicast_or_broadcast_agrees_with_the_published_ranges(address) -> None:
    """The integer test equals membership of 224.0.0.0/4, ff00::/8 or 255.255.255.255 (§1.4)."""
    expected = address == ip_address("255.255.255.255") or any(
        address in net
        for net in (ip_network("224.0.0.0/4"), ip_network("ff00::/8"))
        if net.version == address.version
    )
    assert is_multicast_or_broadcast(address) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("224.0.0.0", True),
        ("239.255.255.255", True),
        ("223.255.255.255", False),
        ("240.0.0.0", False),
        ("255.255.255.255", True),
        ("255.255.255.254", False),
        ("ff02::1", True),
        ("fe80::1", False),
        ("::e000:1", False),  # an IPv6 address whose low bits look like IPv4 multicast
    ],
)
def test_multicast_or_broadcast_at_the_edges(text: str, expected: bool) -> None:
    assert is_multicast_or_broadcast(ip_address(text)) is expected
