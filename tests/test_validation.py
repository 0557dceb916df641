"""Every validation rule, mostly from azure-facts.md's documented examples (TC-*)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fabric.checks import has_errors, validate
from fabric.control.peering import peering_state, sync_level
from fabric.model.container import Fabric
from fabric.model.records import Route, SecurityRule


def codes(fabric: Fabric, severity: str | None = None) -> list[str]:
    return [f.code for f in validate(fabric) if severity is None or f.severity == severity]


def two_vnets(a_space="10.0.0.0/16", b_space="10.1.0.0/16") -> Fabric:
    fabric = Fabric()
    fabric.vnet("A", "westeurope", a_space)
    fabric.vnet("B", "westeurope", b_space)
    return fabric


def hub_with_gateway(sku="VpnGw1", generation="Generation1") -> Fabric:
    fabric = Fabric()
    fabric.vnet("hub", "eastus", "10.100.0.0/16")
    fabric.subnet("hub", "GatewaySubnet", "10.100.255.0/27")
    fabric.gateway("hub-gw", "hub", sku, generation=generation)
    fabric.vnet("spoke", "eastus", "10.1.0.0/16")
    return fabric


# -- addressing ----------------------------------------------------------------------------


def test_a_clean_topology_has_no_findings():
    fabric = two_vnets()
    fabric.subnet("A", "app", "10.0.1.0/24")
    fabric.host("A", "vm", "app", "10.0.1.4")
    fabric.peer("A", "B")
    assert validate(fabric) == []


@pytest.mark.parametrize(
    ("prefix", "hint"),
    [("10.0.0.1/16", "'10.0.0.0/16'"), ("10.0.0.0", "/32"), ("10.300.0.0/16", "")],
)
def test_invalid_cidr_and_host_bits_are_errors_with_the_fix(prefix, hint):
    fabric = Fabric()
    fabric.vnet("A", "westeurope", prefix)
    findings = validate(fabric)
    assert [f.code for f in findings] == ["InvalidAddressPrefix"]
    assert hint in findings[0].message


@pytest.mark.parametrize(
    "forbidden",
    ["224.0.0.0/4", "255.255.255.255/32", "127.0.0.0/8", "169.254.0.0/16", "168.63.129.16/32"],
)
def test_TC_VN_2_forbidden_ranges_are_rejected(forbidden):
    fabric = Fabric()
    fabric.vnet("A", "westeurope", ["10.0.0.0/16", forbidden])
    assert codes(fabric) == ["AddressSpaceContainsForbiddenRange"]


def test_subnet_outside_space_and_overlapping_subnets_use_azure_codes():
    fabric = two_vnets()
    fabric.subnet("A", "one", "10.0.1.0/24")
    fabric.subnet("A", "two", "10.0.1.128/25")
    fabric.subnet("A", "far", "10.9.0.0/24")
    assert codes(fabric) == ["NetcfgSubnetRangesOverlap", "NetcfgSubnetRangeOutsideVnet"]


def test_overlapping_ranges_within_one_vnet():
    fabric = Fabric()
    fabric.vnet("A", "westeurope", ["10.0.0.0/16", "10.0.128.0/17"])
    assert codes(fabric) == ["VnetAddressPrefixesOverlap"]


def test_TC_VN_1_subnet_size_limits_and_reserved_addresses():
    fabric = Fabric()
    fabric.vnet("A", "westeurope", "192.168.0.0/16")
    fabric.subnet("A", "tiny", "192.168.0.0/30")
    fabric.subnet("A", "web", "192.168.1.0/24")
    fabric.subnet("A", "small", "192.168.2.0/29")
    for i, last_octet in enumerate((0, 1, 2, 3, 255)):
        fabric.host("A", f"bad{i}", "web", f"192.168.1.{last_octet}")
    fabric.host("A", "first", "web", "192.168.1.4")
    fabric.host("A", "in-small", "small", "192.168.2.6")  # /29: .4-.6 usable
    found = codes(fabric)
    assert found.count("SubnetTooSmall") == 1
    assert found.count("HostIpReserved") == 5
    assert len(found) == 6
    message = next(f.message for f in validate(fabric) if f.code == "HostIpReserved")
    assert "first usable is 192.168.1.4" in message


def test_host_outside_subnet_and_duplicate_ips():
    fabric = two_vnets()
    fabric.subnet("A", "app", "10.0.1.0/24")
    fabric.host("A", "vm1", "app", "10.0.2.4")
    fabric.host("A", "vm2", "app", "10.0.1.9")
    fabric.host("A", "vm3", "app", "10.0.1.9")
    assert codes(fabric) == ["HostIpOutsideSubnet", "DuplicateHostIp"]


# -- gateway subnet and gateways -------------------------------------------------------------


def test_TC_VN_3_gateway_needs_a_subnet_named_exactly_GatewaySubnet():
    fabric = Fabric()
    fabric.vnet("A", "westeurope", "10.0.0.0/16")
    fabric.subnet("A", "gatewaysubnet", "10.0.255.0/27")
    fabric.gateway("gw", "A", "VpnGw1")
    findings = validate(fabric)
    assert [f.code for f in findings] == ["GatewaySubnetMissing"]
    assert "case-sensitive" in findings[0].message


@pytest.mark.parametrize(
    ("prefix", "found"),
    [
        ("10.0.255.0/29", ["GatewaySubnetBelowRecommendedSize"]),
        ("10.0.255.0/27", []),
        ("10.0.255.0/30", ["SubnetTooSmall"]),
    ],
)
def test_TC_VN_3_gateway_subnet_minimum_and_recommendation(prefix, found):
    fabric = Fabric()
    fabric.vnet("A", "westeurope", "10.0.0.0/16")
    fabric.subnet("A", "GatewaySubnet", prefix)
    fabric.gateway("gw", "A", "VpnGw1")
    assert codes(fabric) == found


def test_gateway_subnet_must_stay_empty_and_unfiltered():
    fabric = Fabric()
    fabric.vnet("A", "westeurope", "10.0.0.0/16")
    fabric.nsg("n")
    fabric.route_table(
        "rt", [Route("d", "0.0.0.0/0", "Internet")], disable_bgp_route_propagation=True
    )
    fabric.subnet("A", "GatewaySubnet", "10.0.255.0/27", nsg="n", route_table="rt")
    fabric.host("A", "vm", "GatewaySubnet", "10.0.255.4")
    assert sorted(codes(fabric)) == sorted(
        [
            "NsgOnGatewaySubnet",
            "DefaultRouteOnGatewaySubnet",
            "GatewayRoutePropagationDisabledOnGatewaySubnet",
            "HostInGatewaySubnet",
        ]
    )


def test_unknown_sku_and_generation_mismatch_name_the_fix():
    fabric = hub_with_gateway(sku="VpnGW2")
    (finding,) = validate(fabric)
    assert finding.code == "InvalidGatewaySku"
    assert "did you mean VpnGw2" in finding.message
    fabric = hub_with_gateway(sku="VpnGw4", generation="Generation1")
    (finding,) = validate(fabric)
    assert "Generation2" in finding.message


def test_TC_VPN_2_basic_refuses_bgp_active_active_and_policy_based_needs_basic():
    fabric = Fabric()
    fabric.vnet("A", "westeurope", "10.0.0.0/16")
    fabric.subnet("A", "GatewaySubnet", "10.0.255.0/27")
    fabric.gateway("gw", "A", "Basic", enable_bgp=True, active_active=True)
    assert codes(fabric) == ["BgpNotSupportedOnSku", "ActiveActiveNotSupportedOnSku"]
    fabric.gateways.clear()
    fabric.gateway("gw", "A", "VpnGw1", vpn_type="PolicyBased")
    assert codes(fabric) == ["PolicyBasedRequiresBasicSku"]


def test_second_vpn_gateway_in_a_vnet_is_rejected():
    fabric = hub_with_gateway()
    fabric.gateway("second", "hub", "VpnGw1")
    assert codes(fabric) == ["TooManyVpnGateways"]


@pytest.mark.parametrize("asn", [65517, 8075, 23456, 64500, 65540])
def test_reserved_bgp_asns_are_rejected(asn):
    fabric = hub_with_gateway()
    fabric.gateways["hub-gw"] = fabric.gateways["hub-gw"].__class__(
        "hub-gw", "hub", "VpnGw1", bgp_asn=asn
    )
    assert codes(fabric) == ["InvalidBgpAsn"]


# -- connections (TC-VPN-1, TC-VPN-2) ------------------------------------------------------


def tc_vpn_1() -> Fabric:
    """The portal VNet-to-VNet example: TestVNet1 (East US) and TestVNet4 (West US)."""
    fabric = Fabric()
    fabric.vnet("TestVNet1", "eastus", ["10.11.0.0/16", "10.12.0.0/16"])
    fabric.subnet("TestVNet1", "FrontEnd", "10.11.0.0/24")
    fabric.subnet("TestVNet1", "BackEnd", "10.12.0.0/24")
    fabric.subnet("TestVNet1", "GatewaySubnet", "10.11.255.0/27")
    fabric.gateway("TestVNet1GW", "TestVNet1", "VpnGw1")
    fabric.vnet("TestVNet4", "westus", ["10.41.0.0/16", "10.42.0.0/16"])
    fabric.subnet("TestVNet4", "FrontEnd", "10.41.0.0/24")
    fabric.subnet("TestVNet4", "BackEnd", "10.42.0.0/24")
    fabric.subnet("TestVNet4", "GatewaySubnet", "10.41.255.0/27")
    fabric.gateway("TestVNet4GW", "TestVNet4", "VpnGw1")
    fabric.connect_one_side(
        "TestVNet1toTestVNet4", "TestVNet1GW", "TestVNet4GW", shared_key="abc123"
    )
    fabric.connect_one_side(
        "TestVNet4toTestVNet1", "TestVNet4GW", "TestVNet1GW", shared_key="abc123"
    )
    return fabric


def test_TC_VPN_1_documented_vnet_to_vnet_pair_is_valid():
    assert validate(tc_vpn_1()) == []


def test_TC_VPN_1_derived_negatives():
    fabric = tc_vpn_1()
    fabric.connections["TestVNet4toTestVNet1"] = fabric.connections[
        "TestVNet4toTestVNet1"
    ].__class__("TestVNet4toTestVNet1", "TestVNet4GW", "TestVNet1GW", shared_key="other")
    assert set(codes(fabric)) == {"SharedKeyMismatch"}
    del fabric.connections["TestVNet4toTestVNet1"]
    assert codes(fabric) == ["ConnectionNotConnected"]
    fabric = tc_vpn_1()
    fabric.gateways["TestVNet4GW"] = fabric.gateways["TestVNet4GW"].__class__(
        "TestVNet4GW", "TestVNet4", "Basic", vpn_type="PolicyBased"
    )
    assert "Vnet2VnetRequiresRouteBased" in codes(fabric, "Error")


def test_TC_VPN_2_tunnel_limit_30_on_vpngw1_31st_rejected():
    fabric = Fabric()
    fabric.vnet("hub", "eastus", "10.0.0.0/16")
    fabric.subnet("hub", "GatewaySubnet", "10.0.255.0/27")
    fabric.gateway("hub-gw", "hub", "VpnGw1")
    for i in range(31):
        fabric.vnet(f"v{i}", "eastus", f"10.{i + 1}.0.0/16")
        fabric.subnet(f"v{i}", "GatewaySubnet", f"10.{i + 1}.255.0/27")
        fabric.gateway(f"g{i}", f"v{i}", "VpnGw1")
        fabric.connect("hub-gw", f"g{i}", shared_key="k")
        if i == 29:
            assert codes(fabric) == []
    findings = [f for f in validate(fabric) if f.code == "TunnelLimitExceeded"]
    assert len(findings) == 1
    assert "31 connections" in findings[0].message
    assert "30" in findings[0].message


def test_vpn_connected_vnets_must_not_overlap_and_bgp_asns_must_differ():
    fabric = tc_vpn_1()
    fabric.add_address_prefix("TestVNet4", "10.11.128.0/17")
    fabric.connections["TestVNet1toTestVNet4"] = fabric.connections[
        "TestVNet1toTestVNet4"
    ].__class__(
        "TestVNet1toTestVNet4", "TestVNet1GW", "TestVNet4GW", shared_key="abc123", enable_bgp=True
    )
    found = codes(fabric)
    assert "VnetAddressSpacesOverlap" in found
    assert "BgpAsnConflict" in found


# -- peering (TC-PR-*) ---------------------------------------------------------------------


def test_TC_PR_1_peering_state_machine():
    fabric = two_vnets()
    ab = fabric.peer_one_side("A", "B")
    assert peering_state(fabric, ab) == "Initiated"
    assert codes(fabric) == ["PeeringNotConnected"]
    ba = fabric.peer_one_side("B", "A")
    assert peering_state(fabric, fabric.peerings[("A", ab.name)]) == "Connected"
    assert peering_state(fabric, ba) == "Connected"
    assert validate(fabric) == []
    fabric.unpeer("B", ba.name)
    assert peering_state(fabric, fabric.peerings[("A", ab.name)]) == "Disconnected"
    assert codes(fabric) == ["PeeringDisconnected"]
    fabric.peer_one_side("B", "A")  # re-creating the deleted side alone does not fix it
    assert peering_state(fabric, fabric.peerings[("A", ab.name)]) == "Disconnected"
    fabric.unpeer("A", ab.name)
    fabric.unpeer("B", "B-to-A")
    fabric.peer("A", "B")
    assert all(peering_state(fabric, p) == "Connected" for p in fabric.peerings.values())


def test_TC_PR_3_overlapping_vnets_cannot_be_peered():
    fabric = two_vnets("10.0.0.0/16", "10.0.0.0/16")
    fabric.peer("A", "B")
    findings = validate(fabric)
    assert [f.code for f in findings] == ["VnetAddressSpacesOverlap"]
    assert set(findings[0].resources) >= {"vnet/A", "vnet/B"}
    assert "10.0.0.0/16" in findings[0].message


def test_TC_PR_3_spoke_overlapping_an_already_peered_spoke():
    fabric = Fabric()
    fabric.vnet("hub", "eastus", "10.100.0.0/16")
    fabric.vnet("spoke1", "eastus", "10.1.0.0/16")
    fabric.vnet("spoke2", "eastus", "10.1.0.0/24")
    fabric.peer("hub", "spoke1")
    fabric.peer("hub", "spoke2")
    findings = [f for f in validate(fabric) if f.severity == "Error"]
    assert [f.code for f in findings] == ["VnetAddressSpaceOverlapsWithAlreadyPeeredVnet"]
    assert "10.1.0.0/24" in findings[0].message
    assert "spoke2" in findings[0].message


def test_TC_PR_4_gateway_transit_happy_path_is_valid():
    fabric = hub_with_gateway()
    fabric.peer("hub", "spoke", a_allows_gateway_transit=True, b_uses_remote_gateways=True)
    assert validate(fabric) == []


def test_TC_PR_5_gateway_transit_failures():
    fabric = Fabric()
    fabric.vnet("hub", "eastus", "10.100.0.0/16")
    fabric.vnet("spoke", "eastus", "10.1.0.0/16")
    fabric.peer("hub", "spoke", a_allows_gateway_transit=True, b_uses_remote_gateways=True)
    assert "RemoteVnetHasNoGateways" in codes(fabric, "Error")

    fabric = hub_with_gateway()
    fabric.subnet("spoke", "GatewaySubnet", "10.1.255.0/27")
    fabric.gateway("spoke-gw", "spoke", "VpnGw1")
    fabric.peer("hub", "spoke", a_allows_gateway_transit=True, b_uses_remote_gateways=True)
    assert codes(fabric, "Error") == ["UseRemoteGatewaysWithLocalGateway"]

    fabric = hub_with_gateway()
    fabric.vnet("hub2", "eastus", "10.200.0.0/16")
    fabric.subnet("hub2", "GatewaySubnet", "10.200.255.0/27")
    fabric.gateway("hub2-gw", "hub2", "VpnGw1")
    fabric.peer("hub", "spoke", a_allows_gateway_transit=True, b_uses_remote_gateways=True)
    fabric.peer("hub2", "spoke", a_allows_gateway_transit=True, b_uses_remote_gateways=True)
    assert codes(fabric, "Error") == ["MultipleUseRemoteGateways"]

    fabric = hub_with_gateway(sku="Basic")
    fabric.peer("hub", "spoke", a_allows_gateway_transit=True, b_uses_remote_gateways=True)
    assert codes(fabric) == ["GatewayTransitNotSupportedOnBasicSku"]  # §9: accepted, warned


def test_use_remote_gateways_needs_the_remote_side_to_allow_transit():
    fabric = hub_with_gateway()
    fabric.peer("hub", "spoke", b_uses_remote_gateways=True)
    assert codes(fabric) == ["RemotePeeringDoesNotAllowGatewayTransit"]


def test_TC_PR_6_address_space_change_needs_sync():
    fabric = two_vnets()
    fabric.peer("A", "B")
    fabric.add_address_prefix("A", "10.3.0.0/16")
    a_link, b_link = fabric.peerings[("A", "A-to-B")], fabric.peerings[("B", "B-to-A")]
    assert sync_level(fabric, a_link) == "RemoteNotInSync"
    assert sync_level(fabric, b_link) == "LocalNotInSync"
    assert codes(fabric) == ["PeeringNotInSync"]
    fabric.sync_peering("B", "B-to-A")
    assert sync_level(fabric, fabric.peerings[("A", "A-to-B")]) == "FullyInSync"
    assert validate(fabric) == []


def test_TC_LIM_1_peering_limit_500_and_501st_rejected():
    fabric = Fabric()
    fabric.vnet("hub", "eastus", "10.0.0.0/16")
    for i in range(501):
        name = f"s{i}"
        fabric.vnet(name, "eastus", f"10.{1 + i // 256}.{i % 256}.0/24")
        fabric.peer_one_side("hub", name)
    found = codes(fabric, "Error")
    assert found == ["TooManyPeerings"]


# -- NSG and routes --------------------------------------------------------------------------


def test_security_rule_priority_range_uniqueness_ports_and_addresses():
    rules = [
        SecurityRule("ok", 100, "Inbound", "Allow", destination_port_ranges="443"),
        SecurityRule("low", 99, "Inbound", "Allow"),
        SecurityRule("same", 100, "Inbound", "Deny"),
        SecurityRule("other-direction", 100, "Outbound", "Deny"),
        SecurityRule("ports", 200, "Inbound", "Allow", destination_port_ranges="90-80"),
        SecurityRule("addr", 300, "Inbound", "Allow", source_address_prefixes="10.0.0.1/8"),
        SecurityRule(
            "tags", 400, "Inbound", "Allow", source_address_prefixes=["Internet", "10.0.0.0/8"]
        ),
        SecurityRule("bad name!", 500, "Inbound", "Allow"),
    ]
    fabric = Fabric()
    fabric.nsg("n", rules)
    assert codes(fabric) == [
        "SecurityRulePriorityOutOfRange",
        "DuplicateSecurityRulePriority",
        "InvalidPortRange",
        "InvalidSecurityRuleAddress",
        "InvalidSecurityRuleAddress",
        "InvalidSecurityRuleName",
    ]


def test_TC_LIM_1_rule_route_and_service_tag_route_limits():
    fabric = Fabric()
    fabric.nsg("n", [SecurityRule(f"r{i}", 100 + i, "Inbound", "Allow") for i in range(1001)])
    fabric.route_table(
        "rt", [Route(f"r{i}", f"10.{i // 256}.{i % 256}.0/24", "None") for i in range(401)]
    )
    fabric.route_table(
        "tags", [Route(f"t{i}", f"Storage.Region{i}", "Internet") for i in range(26)]
    )
    found = codes(fabric)
    assert "TooManySecurityRules" in found
    assert "TooManyRoutes" in found
    assert "TooManyServiceTagRoutes" in found


def test_next_hop_ip_exactly_when_virtual_appliance_and_no_system_only_hops():
    fabric = two_vnets()
    fabric.subnet("A", "nva", "10.0.2.0/24")
    fabric.host("A", "fw", "nva", "10.0.2.4")
    fabric.route_table(
        "rt",
        [
            Route("a", "10.1.0.0/16", "VirtualAppliance"),
            Route("b", "10.2.0.0/16", "Internet", "10.0.2.4"),
            Route("c", "10.3.0.0/16", "VNetPeering"),
            Route("d", "10.4.0.0/16", "VirtualApplience", "10.0.2.4"),
            Route("e", "10.5.0.0/16", "VirtualAppliance", "10.0.2.4"),
            Route("f", "10.5.0.0/16", "None"),
        ],
    )
    findings = validate(fabric)
    assert [f.code for f in findings] == [
        "NextHopIpAddressRequired",
        "NextHopIpAddressNotAllowed",
        "NextHopTypeNotAllowedInUdr",
        "InvalidNextHopType",
        "NvaIpForwardingDisabled",
        "DuplicateRouteAddressPrefix",
    ]
    assert "did you mean 'VirtualAppliance'" in findings[3].message


def test_references_to_missing_resources_are_errors_for_api_built_fabrics():
    fabric = two_vnets()
    fabric.subnet("A", "app", "10.0.1.0/24", nsg="nope", route_table="nada")
    assert codes(fabric) == ["ReferencedResourceNotFound", "ReferencedResourceNotFound"]


def test_warnings_alone_keep_a_topology_valid():
    fabric = two_vnets()
    fabric.peer_one_side("A", "B")
    assert not has_errors(validate(fabric))


def test_reported_peering_state_is_kept_when_the_remote_vnet_is_outside_the_topology():
    from fabric.model.records import Peering

    fabric = Fabric()
    fabric.vnet("A", "westeurope", "10.0.0.0/16")
    fabric.add_peering(Peering("to-remote", "A", "elsewhere", peering_state="Connected"))
    fabric.add_peering(Peering("to-old", "A", "gone", peering_state="Disconnected"))
    states = {link.name: peering_state(fabric, link) for link in fabric.peerings.values()}
    assert states == {"to-remote": "Connected", "to-old": "Disconnected"}
    assert codes(fabric) == [
        "RemoteVnetNotInTopology",
        "RemoteVnetNotInTopology",
        "PeeringDisconnected",
    ]


# -- property: the subnet overlap check finds exactly the overlapping pairs -------------------


@st.composite
def subnet_ranges(draw):
    ranges = []
    for _ in range(draw(st.integers(0, 30))):
        if draw(st.booleans()):
            length = draw(st.integers(8, 30))
            base = draw(st.integers(0, 2**16 - 1)) << 16 | draw(st.integers(0, 2**16 - 1))
            network = IPv4Network((10 << 24 | base & 0xFFFFFF, 32)).supernet(new_prefix=length)
        else:
            length = draw(st.sampled_from([64, 60, 56]))
            offset = draw(st.integers(0, 2**12 - 1)) << 64
            network = IPv6Network((int(IPv6Address("fd00::")) + offset, 128)).supernet(
                new_prefix=length
            )
        ranges.append(str(network))
    return ranges


@given(subnet_ranges())
def test_subnet_overlaps_are_the_brute_force_pairs(ranges):
    fabric = Fabric()
    fabric.vnet("v", "eastus", ["10.0.0.0/8", "fd00::/8"])
    for i, prefix in enumerate(ranges):
        fabric.subnet("v", f"s{i}", prefix)
    found = [
        (f.resources[1], f.resources[0])
        for f in validate(fabric)
        if f.code == "NetcfgSubnetRangesOverlap"
    ]
    nets = [ip_network(p) for p in ranges]
    expected = [
        (f"vnet/v/subnet/s{i}", f"vnet/v/subnet/s{j}")
        for j in range(len(nets))
        for i in range(j)
        if nets[i].version == nets[j].version and nets[i].overlaps(nets[j])
    ]
    assert found == expected


def test_a_bare_ipv6_address_in_a_rule_is_one_address():
    """An address without a length is one host: /32 for IPv4, /128 for IPv6 (a bare IPv6
    address read as /32 had host bits set and was refused)."""
    fabric = Fabric()
    fabric.nsg(
        "n",
        [
            SecurityRule("v6", 100, "Inbound", "Allow", source_address_prefixes="2001:db8::1"),
            SecurityRule("v4", 110, "Inbound", "Allow", source_address_prefixes="203.0.113.7"),
        ],
    )
    assert codes(fabric) == []
