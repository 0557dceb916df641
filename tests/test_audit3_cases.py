"""Third acceptance audit: rules of azure-facts.md that the §10 cases and the first two audits
do not probe, each test failing before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabric.checks import validate
from fabric.control.forwarding import QuestionError, locate_source
from fabric.control.plane import ControlPlane
from fabric.io.native import load_native
from fabric.io.yamlsource import load_yaml
from fabric.watcher import connectivity
from fabric.watcher.nexthop import next_hop


def fabric_of(text: str):
    return load_native(load_yaml(text), "case.yaml").fabric


def codes(fabric) -> list[str]:
    return [f.code for f in validate(fabric)]


ER_HUB = """
vnets:
  - name: hub
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets: [{name: GatewaySubnet, address_prefix: 10.0.255.0/27}]
  - name: spoke
    region: westeurope
    address_prefixes: [10.1.0.0/16]
    subnets: [{name: s, address_prefix: 10.1.1.0/24}]
    hosts: [{name: spoke-vm, subnet: s, ip: 10.1.1.4}]
gateways:
  - {name: hub-er, vnet: hub, gateway_type: ExpressRoute, sku: ErGw1AZ}
express_route_circuits:
  - {name: prov, peering_location: Amsterdam, bandwidth_mbps: 1000,
     on_premises_prefixes: [172.20.0.0/16], peer_asn: 65010}
connections:
  - {name: c1, connection_type: ExpressRoute, from: hub-er, to: prov}
peerings:
  - {name: h-s, from: hub, to: spoke, allow_gateway_transit: true}
  - {name: s-h, from: spoke, to: hub, use_remote_gateways: true}
"""


def test_2_6_a_hub_with_only_an_expressroute_gateway_offers_gateway_transit():
    """§2.6: allowGatewayTransit shares "the gateway (VPN or ExpressRoute)"."""
    fabric = fabric_of(ER_HUB)
    assert codes(fabric) == []
    trace = connectivity(ControlPlane(fabric), "10.1.1.4", "172.20.1.1")
    assert trace.reachable


def test_2_6_a_spoke_with_its_own_expressroute_gateway_cannot_use_remote_gateways():
    """§2.6: use_remote_gateways needs a local VNet without a gateway of its own (any type)."""
    text = ER_HUB.replace(
        "    subnets: [{name: s, address_prefix: 10.1.1.0/24}]",
        "    subnets: [{name: s, address_prefix: 10.1.1.0/24},"
        " {name: GatewaySubnet, address_prefix: 10.1.255.0/27}]",
    ).replace(
        "express_route_circuits:",
        "  - {name: spoke-er, vnet: spoke, gateway_type: ExpressRoute, sku: ErGw1AZ}\n"
        "express_route_circuits:",
    )
    assert "UseRemoteGatewaysWithLocalGateway" in codes(fabric_of(text))


FORCED = """
vnets:
  - name: v
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets:
      - {name: GatewaySubnet, address_prefix: 10.0.255.0/27}
      - {name: app, address_prefix: 10.0.1.0/24, route_table: rt}
    hosts: [{name: vm, subnet: app, ip: 10.0.1.4}]
gateways:
  - {name: gw, vnet: v, sku: VpnGw1}
local_network_gateways:
  - {name: onprem, gateway_ip_address: 203.0.113.10, address_prefixes: [172.20.0.0/16]}
connections:
  - {name: c, connection_type: IPsec, from: gw, to: onprem, shared_key: k}
route_tables:
  - name: rt
    routes: [{name: force, address_prefix: 0.0.0.0/0, next_hop_type: VirtualNetworkGateway}]
"""


@pytest.mark.parametrize("destination", ["192.168.5.5", "10.50.0.1", "100.64.0.9"])
def test_4_7_a_forced_tunnelling_default_route_removes_the_reserved_none_routes(destination):
    """§4.7: Azure removed the reserved None routes "when the 0.0.0.0/0 UDR was added", so
    private space follows the default route to the gateway."""
    plane = ControlPlane(fabric_of(FORCED))
    prefixes = {str(r.prefix) for r in plane.routes("v", "app").routes if r.source == "Default"}
    assert not {"10.0.0.0/8", "192.168.0.0/16", "100.64.0.0/10"} & prefixes
    hop = next_hop(plane, "10.0.1.4", destination)
    assert (hop.next_hop_type, hop.to_json()["route_table"]) == ("VirtualNetworkGateway", "rt")


OVERLAPPING_MESH = """
vnets:
  - {name: b, region: westeurope, address_prefixes: [10.2.0.0/16],
     subnets: [{name: s, address_prefix: 10.2.1.0/24}],
     hosts: [{name: b-vm, subnet: s, ip: 10.2.1.4}]}
  - {name: c, region: westeurope, address_prefixes: [10.2.0.0/16],
     subnets: [{name: s, address_prefix: 10.2.1.0/24}],
     hosts: [{name: c-vm, subnet: s, ip: 10.2.1.4}]}
  - {name: d, region: westeurope, address_prefixes: [10.4.0.0/16],
     subnets: [{name: s, address_prefix: 10.4.1.0/24}],
     hosts: [{name: d-vm, subnet: s, ip: 10.4.1.4}]}
network_groups:
  - {name: g, members: [b, c, d]}
connectivity_configurations:
  - {name: m, connectivity_topology: Mesh, applies_to_groups: [{network_group: g}]}
"""


@pytest.mark.parametrize(("host", "vnet"), [("b-vm", "b"), ("c-vm", "c")])
def test_n8_1_a_host_named_in_overlapping_mesh_members_is_located_in_its_own_vnet(host, vnet):
    """N8.1 lets mesh members overlap; a question naming a host means that host's VNet (an
    address alone would be ambiguous and is refused)."""
    plane = ControlPlane(fabric_of(OVERLAPPING_MESH))
    assert locate_source(plane, host).vnet.name == vnet
    with pytest.raises(QuestionError, match="several VNets"):
        locate_source(plane, "10.2.1.4")


UNPEERED_SPOKE = """
vnets:
  - name: hub
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets:
      - {name: AzureFirewallSubnet, address_prefix: 10.0.1.0/26}
      - {name: shared, address_prefix: 10.0.2.0/24}
  - name: spoke
    region: westeurope
    address_prefixes: [10.1.0.0/16]
    subnets: [{name: app, address_prefix: 10.1.0.0/24, route_table: rt}]
route_tables:
  - name: rt
    routes: [{name: def, address_prefix: 0.0.0.0/0, next_hop_type: VirtualAppliance,
              next_hop_ip_address: 10.0.1.4}]
firewalls:
  - {name: fw, vnet: hub, network_rule_collections: [{name: c, priority: 100, action: Allow,
     rules: [{name: all}]}]}
"""


def test_n11_6_no_return_route_warning_for_a_spoke_that_cannot_reach_the_firewall():
    """§4.3: an appliance outside the VNet and its Connected peers is not reachable, so the
    spoke's traffic never meets the firewall and there is no asymmetry to fix (N11.6)."""
    assert codes(fabric_of(UNPEERED_SPOKE)) == ["NextHopIpNotDirectlyReachable"]


def test_a_trace_keeps_its_columns_apart_for_long_names():
    text = """
vnets:
  - name: a-rather-long-hub-network-name
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets: [{name: a-long-workload-subnet, address_prefix: 10.0.1.0/24}]
"""
    trace = connectivity(ControlPlane(fabric_of(text)), "10.0.1.4", "10.0.1.5")
    source = str(trace).splitlines()[1]
    assert "(any NIC) 10.0.1.4" in source


BGP_SITE = """
vnets:
  - name: hub
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets:
      - {name: GatewaySubnet, address_prefix: 10.0.255.0/27}
      - {name: app, address_prefix: 10.0.1.0/24}
gateways:
  - {name: gw, vnet: hub, sku: VpnGw1, enable_bgp: true}
local_network_gateways:
  - name: site
    gateway_ip_address: 203.0.113.10
    bgp_settings: {asn: 65010, bgp_peering_address: 192.168.255.1ADVERTISED}
connections:
  - {name: c1, from: gw, to: site, connection_type: IPsec, shared_key: k, enable_bgp: true}
"""


def test_n12_4_the_gateway_routes_the_bgp_peer_address_of_a_site_without_address_space():
    """N12.4: with BGP the site's address space may be empty; the gateway "will internally add
    a route of your BGP peer IP address" to the tunnel. What the device announces is in no
    template: a warning says so."""
    fabric = fabric_of(BGP_SITE.replace("ADVERTISED", ""))
    hop = next_hop(ControlPlane(fabric), "10.0.1.4", "192.168.255.1")
    assert (hop.next_hop_type, hop.to_json()["address_prefix"]) == (
        "VirtualNetworkGateway",
        "192.168.255.1/32",
    )
    assert codes(fabric) == ["SiteRoutesNotModelled"]
    announced = fabric_of(BGP_SITE.replace("ADVERTISED", ", advertised_prefixes: [172.20.0.0/16]"))
    assert codes(announced) == []
    assert next_hop(ControlPlane(announced), "10.0.1.4", "172.20.1.1").next_hop_type == (
        "VirtualNetworkGateway"
    )


B2B = (Path(__file__).parent / "data" / "er_vpn_branch_to_branch.yaml").read_text()


def test_n15_2_branch_to_branch_carries_traffic_between_expressroute_and_vpn():
    """N15.2: Route Server with branch-to-branch on passes routes between a VNet's VPN and
    ExpressRoute gateways (ER <-> S2S VPN transit; N1.7: the VPN gateway on ASN 65515). A VNet
    linked to the same circuit reaches the VPN site through the hub's two gateways."""
    trace = connectivity(ControlPlane(fabric_of(B2B)), "10.5.1.4", "172.20.1.1")
    assert trace.reachable
    gateways = [hop.name for hop in trace.hops if hop.type == "VirtualNetworkGateway"]
    assert gateways == ["far-er", "hub-er", "hub-vpn"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("allow_branch_to_branch_traffic: true", "allow_branch_to_branch_traffic: false"),
        (
            "{name: hub-vpn, vnet: hub, sku: VpnGw1}",
            "{name: hub-vpn, vnet: hub, sku: VpnGw1, bgp_asn: 65010}",
        ),
    ],
)
def test_n1_7_without_branch_to_branch_or_asn_65515_there_is_no_transit(change, why):
    trace = connectivity(
        ControlPlane(fabric_of(B2B.replace(change, why))), "10.5.1.4", "172.20.1.1"
    )
    assert trace.code == "NextHopNone"  # the hub's ER gateway announces no VPN site


@pytest.mark.parametrize(("with_firewall", "severity"), [(True, "Error"), (False, "Warning")])
def test_n11_4_a_firewall_subnet_under_26_is_an_error_once_a_firewall_is_in_it(
    with_firewall, severity
):
    text = UNPEERED_SPOKE.replace("10.0.1.0/26", "10.0.1.0/27")
    if not with_firewall:
        text = text[: text.index("firewalls:")].replace(
            "next_hop_ip_address: 10.0.1.4", "next_hop_ip_address: 10.0.2.4"
        )
    found = [f for f in validate(fabric_of(text)) if f.code == "FirewallSubnetTooSmall"]
    assert [f.severity for f in found] == [severity]


def test_7_a_peering_link_carries_each_path_with_its_own_latency():
    """§7: a path inside one region adds in-region legs, a path between regions takes the
    region pair's end-to-end figure (its in-region legs add nothing). Two flows crossing the
    same peering link, one from another region, must each keep their own latency whatever
    their order (the link's delay was the first path's for both)."""
    import attrs

    from fabric.io import load_topology
    from fabric.sim.runs import run_document

    document = load_topology(Path(__file__).parent / "data" / "shared_link_latency.yaml")
    plane = ControlPlane(document.fabric)
    expected = {
        "s2-s1": connectivity(plane, "10.2.1.4", "10.1.1.4", protocol="Udp", port=5000).latency_ms,
        "dr-s1": connectivity(plane, "10.50.1.4", "10.1.1.4", protocol="Udp", port=5000).latency_ms,
    }
    for order in (document.traffic, tuple(reversed(document.traffic))):
        result = run_document(attrs.evolve(document, traffic=order), duration_s=60)
        for flow in result.flows:
            # within serialisation and processing times (a missing leg is 0.25 ms)
            assert flow.latency_ms()["mean"] == pytest.approx(expected[flow.name], abs=0.05)


def _gateway_caps_run(gateways: str, flows: str):
    """Two saturating flows in the three-gateway estate of tests/data/vpn_gateway_caps.yaml,
    with the gateway lines and the traffic replaced."""
    from fabric.sim.runs import run_document

    text = (Path(__file__).parent / "data" / "vpn_gateway_caps.yaml").read_text()
    text = text.replace("  - {name: a-gw, vnet: a, sku: Basic, generation: Generation1}", gateways)
    text = text[: text.index("traffic:")] + flows
    document = load_native(load_yaml(text), "caps.yaml")
    return run_document(document, duration_s=0.2)


SATURATING = """traffic:
  - {name: f1, src: SRC1, dst: DST1, protocol: Udp, rate_mbps: 1000, packet_bytes: 1400,
     duration_s: 0.2}
  - {name: f2, src: SRC2, dst: DST2, protocol: Udp, rate_mbps: 1000, packet_bytes: 1400,
     duration_s: 0.2}
simulation: {seed: 3}
"""


@pytest.mark.parametrize(
    ("gateway", "cap_mbps"),
    [
        ("  - {name: a-gw, vnet: a, sku: Basic, generation: Generation1}", 100),
        ("  - {name: a-gw, vnet: a, sku: VpnGw1, generation: Generation1}", 650),
    ],
)
def test_3_3_the_receiving_gateway_shares_its_aggregate_among_its_tunnels(gateway, cap_mbps):
    """§3.3: all tunnels share the gateway's bandwidth, the receiving one's too: two VpnGw5
    gateways sending into a Basic (or VpnGw1) gateway get its aggregate between them, in
    about equal shares."""
    flows = SATURATING.replace("SRC1", "b1").replace("DST1", "a2")
    flows = flows.replace("SRC2", "c1").replace("DST2", "a3")
    result = _gateway_caps_run(gateway, flows)
    rates = [flow.steady_mbps for flow in result.flows]
    assert sum(rates) <= cap_mbps * 1.02
    assert min(rates) > 0.35 * cap_mbps  # shared, not one flow starved


@pytest.mark.parametrize("active_active", [False, True])
def test_3_4_one_gateway_carries_its_aggregate_whatever_its_instances(active_active):
    """§3.4: per-gateway cap = aggregate benchmark: two tunnels of one VpnGw1 (active-standby
    or active-active) carry 650 Mbps together, shared about equally."""
    gateway = "  - {name: a-gw, vnet: a, sku: VpnGw1, generation: Generation1%s}" % (
        ", active_active: true" if active_active else ""
    )
    flows = SATURATING.replace("SRC1", "a2").replace("DST1", "b1")
    flows = flows.replace("SRC2", "a3").replace("DST2", "c1")
    result = _gateway_caps_run(gateway, flows)
    rates = [flow.steady_mbps for flow in result.flows]
    assert sum(rates) <= 650 * 1.02
    assert min(rates) > 0.35 * 650


HUB_FIREWALL_VPN = """
vnets:
  - name: hub
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets:
      - {name: GatewaySubnet, address_prefix: 10.0.255.0/27, route_table: gw-rt}
      - {name: AzureFirewallSubnet, address_prefix: 10.0.1.0/26}
  - name: spoke1
    region: westeurope
    address_prefixes: [10.1.0.0/16]
    subnets: [{name: app, address_prefix: 10.1.0.0/24, route_table: spoke-rt}]
    hosts: [{name: s1vm, subnet: app, ip: 10.1.0.4}]
peerings:
  - {name: h-s1, from: hub, to: spoke1, allow_gateway_transit: true, allow_forwarded_traffic: true}
  - {name: s1-h, from: spoke1, to: hub, use_remote_gateways: true, allow_forwarded_traffic: true}
gateways:
  - {name: hub-gw, vnet: hub, sku: VpnGw1}
local_network_gateways:
  - {name: onprem, gateway_ip_address: 203.0.113.10, address_prefixes: [192.168.0.0/16]}
connections:
  - {name: s2s, connection_type: IPsec, from: hub-gw, to: onprem, shared_key: k}
firewalls:
  - {name: hub-fw, vnet: hub, network_rule_collections: [{name: c, priority: 100, action: Allow,
     rules: [{name: all}]}]}
route_tables:
  - name: spoke-rt
    disable_bgp_route_propagation: true
    routes: [{name: default-fw, address_prefix: 0.0.0.0/0, next_hop_type: VirtualAppliance,
              next_hop_ip_address: 10.0.1.4}]
  - name: gw-rt
    routes: [{name: spoke1-fw, address_prefix: 10.1.0.0/16, next_hop_type: VirtualAppliance,
              next_hop_ip_address: 10.0.1.4}]
"""


def test_n11_6_the_textbook_hub_firewall_vpn_design_is_symmetric_and_clean():
    """Spoke 0.0.0.0/0 -> firewall, GatewaySubnet spoke prefix -> firewall (N11.6 item 1):
    on-premises is reached through the firewall both ways, and validate warns of nothing."""
    fabric = fabric_of(HUB_FIREWALL_VPN)
    trace = connectivity(ControlPlane(fabric), "10.1.0.4", "192.168.1.10", port=443)
    assert trace.reachable
    assert "AsymmetricRoutingThroughFirewall" not in codes(fabric)


@pytest.mark.parametrize(
    ("change", "replacement"),
    [
        # no GatewaySubnet route: the reply from on premises goes around the firewall
        (
            "      - {name: GatewaySubnet, address_prefix: 10.0.255.0/27, route_table: gw-rt}",
            "      - {name: GatewaySubnet, address_prefix: 10.0.255.0/27}",
        ),
        # propagation on: the request goes straight to the gateway, the reply meets the firewall
        ("    disable_bgp_route_propagation: true\n", ""),
    ],
)
def test_n11_6_replies_from_on_premises_must_pass_the_firewall_the_request_did(change, replacement):
    fabric = fabric_of(HUB_FIREWALL_VPN.replace(change, replacement))
    trace = connectivity(ControlPlane(fabric), "10.1.0.4", "192.168.1.10", port=443)
    assert trace.code == "AsymmetricRoutingThroughFirewall"


def test_4_3_a_route_to_an_unreachable_appliance_is_invalid_and_next_hop_says_dropped():
    from fabric.cli import main

    text = HUB_FIREWALL_VPN.replace(
        "  - {name: s1-h, from: spoke1, to: hub, use_remote_gateways: true, "
        "allow_forwarded_traffic: true}\n",
        "",
    )
    fabric = fabric_of(text)
    plane = ControlPlane(fabric)
    route = next(r for r in plane.routes("spoke1", "app").routes if r.name == "default-fw")
    assert route.state == "Invalid"
    assert connectivity(plane, "10.1.0.4", "8.8.8.8").code == "RouteInvalid"
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(text)
    arguments = ["next-hop", handle.name, "--src", "10.1.0.4", "--dst", "8.8.8.8", "--json"]
    assert main(arguments) == 1
