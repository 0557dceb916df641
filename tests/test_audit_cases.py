"""Acceptance-audit cases: rules of azure-facts.md that the §10 cases do not probe, each
asked through the questions a user asks (validation findings, traces)."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from fabric.catalogue.clouds import cloud_of
from fabric.checks import validate
from fabric.control.peering import peering_state
from fabric.control.plane import ControlPlane
from fabric.io.native import load_native
from fabric.model.container import Fabric
from fabric.model.records import BgpSettings
from fabric.watcher import connectivity


def _two_peered(region_a: str, region_b: str) -> Fabric:
    fabric = Fabric()
    fabric.vnet("A", region_a, "10.0.0.0/16")
    fabric.subnet("A", "s", "10.0.0.0/24")
    fabric.host("A", "a-vm", "s", "10.0.0.4")
    fabric.vnet("B", region_b, "10.1.0.0/16")
    fabric.subnet("B", "s", "10.1.0.0/24")
    fabric.host("B", "b-vm", "s", "10.1.0.4")
    fabric.peer("A", "B")
    return fabric


@pytest.mark.parametrize(
    ("region_b", "allowed"),
    [
        ("westeurope", True),  # global peering among public regions
        ("chinaeast2", False),  # public <-> 21Vianet: never
        ("usgovvirginia", False),  # public <-> Government: never
    ],
)
def test_peering_never_crosses_clouds(region_b, allowed):
    """§2.1: global peering works among all public regions, among China regions and among
    Government regions, never across clouds (e.g. public <-> 21Vianet)."""
    fabric = _two_peered("eastus", region_b)
    found = [f for f in validate(fabric) if f.code == "PeeringAcrossClouds"]
    trace = connectivity(ControlPlane(fabric), "10.0.0.4", "10.1.0.4")
    if allowed:
        assert not found
        assert trace.connection_status == "Reachable"
    else:
        assert [f.severity for f in found] == ["Error"]
        assert region_b in found[0].message
        link = next(p for (vnet, _), p in fabric.peerings.items() if vnet == "A")
        assert peering_state(fabric, link) != "Connected"
        assert trace.connection_status == "Unreachable"
        assert trace.reason.startswith("PeeringAcrossClouds"), trace.reason


def test_peering_within_a_sovereign_cloud_is_global_peering():
    """§2.1: China regions peer with each other, as do Government regions."""
    for a, b in (("chinaeast2", "chinanorth3"), ("usgovvirginia", "usgovarizona")):
        assert cloud_of(a) == cloud_of(b) != cloud_of("eastus")
        fabric = _two_peered(a, b)
        assert "PeeringAcrossClouds" not in [f.code for f in validate(fabric)]


APPLIANCE_REACH = """
vnets:
  - {name: a, region: westeurope, address_prefixes: [10.1.0.0/16],
     subnets: [{name: s, address_prefix: 10.1.1.0/24, route_table: rt}],
     hosts: [{name: ha, subnet: s, ip: 10.1.1.4}]}
  - {name: b, region: westeurope, address_prefixes: [10.2.0.0/16],
     subnets: [{name: s, address_prefix: 10.2.1.0/24}],
     hosts: [{name: nvb, subnet: s, ip: 10.2.1.4, enable_ip_forwarding: true}]}
PEERINGS
route_tables:
  - name: rt
    routes:
      - {name: to-b, address_prefix: 10.50.0.0/16, next_hop_type: VirtualAppliance,
         next_hop_ip_address: 10.2.1.4}
"""


@pytest.mark.parametrize("peered", [True, False])
def test_appliance_next_hop_must_be_directly_reachable(peered):
    """§4.3: a VirtualAppliance next hop must be directly reachable (in the VNet or a peered
    VNet, service chaining §2.7), otherwise the UDR is invalid. Validation says so for an NVA
    in a VNet that is not peered, as the trace does (it drops the traffic)."""
    peerings = (
        "peerings:\n  - {name: ab, from: a, to: b}\n  - {name: ba, from: b, to: a}\n"
        if peered
        else ""
    )
    text = APPLIANCE_REACH.replace("PEERINGS", peerings)
    fabric = load_native(yaml.safe_load(text), "reach.yaml").fabric
    found = [f for f in validate(fabric) if f.code == "NextHopIpNotDirectlyReachable"]
    trace = connectivity(ControlPlane(fabric), "10.1.1.4", "10.50.0.1")
    if peered:
        assert not found
        assert any(getattr(h, "name", None) == "nvb" for h in trace.hops)
    else:
        assert [f.severity for f in found] == ["Warning"]
        assert "next hop 10.2.1.4 is in VNet b," in found[0].message
        assert trace.connection_status == "Unreachable"


def test_a_gateway_advertises_no_route_overlapping_its_vnet_prefixes():
    """§3.9: a gateway advertises to its BGP peers its VNet's prefixes, its sites' prefixes and
    the routes it learned, except a default route and routes overlapping any VNet prefix. The
    hub's on-premises site announces 10.0.0.0/8 (a superset of the hub: the hub accepts it,
    TC-BGP-1) and 10.1.5.0/24 (inside the transit spoke: the hub filters it); a VNet-to-VNet
    BGP neighbour learns neither, but does learn the site's 172.16.0.0/12 and the hub's and
    spoke's spaces. Across a second BGP hop the same holds."""
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    fabric.subnet("hub", "GatewaySubnet", "10.0.255.0/27")
    fabric.subnet("hub", "s", "10.0.1.0/24")
    fabric.vnet("spoke", "westeurope", "10.1.0.0/16")
    fabric.subnet("spoke", "s", "10.1.1.0/24")
    fabric.peer("hub", "spoke", a_allows_gateway_transit=True, b_uses_remote_gateways=True)
    fabric.gateway("gw", "hub", "VpnGw1", bgp_asn=65010)
    announced = ("0.0.0.0/0", "10.0.0.0/8", "10.1.5.0/24", "172.16.0.0/12")
    fabric.local_network_gateway("branch", (), gateway_ip_address="203.0.113.10")
    site = fabric.local_network_gateways["branch"]
    bgp = BgpSettings(65050, "192.168.1.1", advertised_prefixes=announced)
    fabric.local_network_gateways["branch"] = type(site)(
        site.name, (), site.gateway_ip_address, bgp_settings=bgp
    )
    fabric.connect_site("to-branch", "gw", "branch", shared_key="k", enable_bgp=True)
    for name, space, asn in (("other", "10.2", 65020), ("far", "10.3", 65030)):
        fabric.vnet(name, "westeurope", f"{space}.0.0/16")
        fabric.subnet(name, "GatewaySubnet", f"{space}.255.0/27")
        fabric.subnet(name, "s", f"{space}.1.0/24")
        fabric.gateway(f"{name}-gw", name, "VpnGw1", bgp_asn=asn)
    fabric.connect("gw", "other-gw", shared_key="k", enable_bgp=True)
    fabric.connect("other-gw", "far-gw", shared_key="k", enable_bgp=True)
    assert [f for f in validate(fabric) if f.severity == "Error"] == []
    plane = ControlPlane(fabric)

    def learned(vnet: str) -> set[str]:
        return {
            str(r.prefix)
            for r in plane.routes(vnet, "s").routes
            if r.source == "VirtualNetworkGateway" and r.state == "Active"
        }

    assert learned("hub") == {
        "0.0.0.0/0",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "10.2.0.0/16",
        "10.3.0.0/16",
        "192.168.1.1/32",  # the site's BGP peer, routed to its tunnel (N12.4), not relayed
    }
    assert learned("other") == {"10.0.0.0/16", "10.1.0.0/16", "172.16.0.0/12", "10.3.0.0/16"}
    assert learned("far") == {"10.0.0.0/16", "10.1.0.0/16", "172.16.0.0/12", "10.2.0.0/16"}


@given(
    owned=st.lists(st.tuples(st.integers(0, 2**16 - 1), st.integers(8, 24)), max_size=12),
    asked=st.tuples(st.integers(0, 2**16 - 1), st.integers(0, 24)),
)
def test_relay_overlap_agrees_with_brute_force(owned, asked):
    """The sorted-span overlap test of the §3.9 relay filter answers as IPv4Network.overlaps."""
    from fabric.control import connections

    def net(bits: int, length: int):
        return ip_network((bits << 16, length), strict=False)

    class Plain(connections._Learning):
        def __init__(self, nets):
            self._span_cache = {}
            self._nets = tuple(nets)

        def owned(self, gateway):
            return self._nets

    nets = [net(*o) for o in owned]
    prefix = net(*asked)
    expected = any(prefix.overlaps(n) for n in nets)
    assert connections._overlaps(prefix, Plain(nets)._spans("g")) == expected


DEDICATED_SUBNETS = """
vnets:
  - name: v
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets:
      - {name: AzureBastionSubnet, address_prefix: 10.0.1.0/BASTION}
      - {name: RouteServerSubnet, address_prefix: 10.0.3.0/27}
      - {name: app, address_prefix: 10.0.4.0/24}
    hosts:
      - {name: vm, subnet: HOST_SUBNET, ip: HOST_IP}
"""


@pytest.mark.parametrize(
    ("host_subnet", "host_ip", "code"),
    [
        ("AzureBastionSubnet", "10.0.1.4", "HostInBastionSubnet"),  # N18.2: nothing else in it
        ("RouteServerSubnet", "10.0.3.10", "HostInRouteServerSubnet"),  # N15.1: dedicated
        ("app", "10.0.4.4", None),
    ],
)
def test_dedicated_subnets_hold_no_vm(host_subnet, host_ip, code):
    """N18.2: nothing but Bastion goes in AzureBastionSubnet; N15.1: Route Server lives in a
    dedicated RouteServerSubnet; as GatewaySubnet (§1.3), a VM there is an error."""
    text = DEDICATED_SUBNETS.replace("BASTION", "26").replace("HOST_SUBNET", host_subnet)
    fabric = load_native(yaml.safe_load(text.replace("HOST_IP", host_ip)), "d.yaml").fabric
    found = [f.code for f in validate(fabric) if f.code.startswith("HostIn")]
    assert found == ([code] if code else [])
    assert [f.severity for f in validate(fabric) if f.code == code] == (["Error"] if code else [])


@pytest.mark.parametrize(("length", "warned"), [(26, False), (25, False), (27, True)])
def test_bastion_subnet_is_26_or_larger(length, warned):
    """N18.2: AzureBastionSubnet must be /26 or larger for Bastion deployed on or after
    2 Nov 2021 (earlier /27 deployments keep working, hence a warning)."""
    text = DEDICATED_SUBNETS.replace("BASTION", str(length))
    text = text.replace("HOST_SUBNET", "app").replace("HOST_IP", "10.0.4.4")
    fabric = load_native(yaml.safe_load(text), "d.yaml").fabric
    found = [f for f in validate(fabric) if f.code == "BastionSubnetTooSmall"]
    assert [f.severity for f in found] == (["Warning"] if warned else [])


MANAGEMENT_SUBNET = """
vnets:
  - name: v
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets:
      - {name: AzureFirewallSubnet, address_prefix: 10.0.2.0/26}
      - {name: AzureFirewallManagementSubnet, address_prefix: 10.0.3.0/LENGTH, route_table: rt}
route_tables:
  - name: rt
    disable_bgp_route_propagation: DISABLED
    routes: ROUTES
"""


@pytest.mark.parametrize(
    ("length", "disabled", "routes", "expected"),
    [
        (26, "true", "[{name: d, address_prefix: 0.0.0.0/0, next_hop_type: Internet}]", set()),
        (26, "true", "[]", set()),
        (27, "true", "[]", {"FirewallManagementSubnetTooSmall"}),
        (26, "false", "[]", {"FirewallManagementSubnetRouteTable"}),
        (
            26,
            "true",
            "[{name: x, address_prefix: 10.9.0.0/16, next_hop_type: None}]",
            {"FirewallManagementSubnetRouteTable"},
        ),
    ],
)
def test_firewall_management_subnet_rules(length, disabled, routes, expected):
    """N11.4: AzureFirewallManagementSubnet is /26 or larger; the only route allowed on it is a
    default route to the internet, and gateway route propagation must be disabled."""
    text = MANAGEMENT_SUBNET.replace("LENGTH", str(length)).replace("DISABLED", disabled)
    fabric = load_native(yaml.safe_load(text.replace("ROUTES", routes)), "m.yaml").fabric
    found = {f.code for f in validate(fabric) if f.code.startswith("FirewallManagement")}
    assert found == expected


FORCED_TUNNEL = """
vnets:
  - name: hub
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets:
      - {name: GatewaySubnet, address_prefix: 10.0.255.0/27}
      - {name: AzureFirewallSubnet, address_prefix: 10.0.2.0/26ROUTE_TABLE}
local_network_gateways:
  - {name: branch, gateway_ip_address: 203.0.113.10,
     bgp_settings: {asn: 65050, bgp_peering_address: 192.168.1.1, advertised_prefixes: [0.0.0.0/0]}}
gateways:
  - {name: gw, vnet: hub, sku: VpnGw1, bgp_asn: 65010}
connections:
  - {name: c, connection_type: IPsec, from: gw, to: branch, shared_key: k, enable_bgp: true}
firewalls:
  - name: fw
    vnet: hub
    network_rule_collections:
      - {name: all, priority: 100, action: Allow, rules: [{name: any}]}
route_tables:
  - name: rt
    routes: [{name: internet, address_prefix: 0.0.0.0/0, next_hop_type: Internet}]
"""


@pytest.mark.parametrize("override", [False, True])
def test_firewall_subnet_needs_internet_when_a_default_route_is_learned(override):
    """N11.4: AzureFirewallSubnet needs direct internet; when it learns a default route by BGP
    (forced tunnelling over VPN or ExpressRoute) a UDR 0.0.0.0/0 -> Internet must override it."""
    text = FORCED_TUNNEL.replace("ROUTE_TABLE", ", route_table: rt" if override else "")
    fabric = load_native(yaml.safe_load(text), "f.yaml").fabric
    found = [f for f in validate(fabric) if f.code == "FirewallSubnetDefaultRouteNotInternet"]
    assert [f.severity for f in found] == ([] if override else ["Warning"])


def test_a_firewall_with_a_management_nic_may_send_its_data_on_premises():
    """N11.4: the management NIC (AzureFirewallManagementSubnet, /26, its own 0.0.0.0/0 ->
    Internet with gateway propagation off) is what forced tunnelling needs; with it the data
    subnet's default route may go on-premises, so nothing is flagged."""
    text = FORCED_TUNNEL.replace("ROUTE_TABLE", "").replace(
        "      - {name: AzureFirewallSubnet",
        "      - {name: AzureFirewallManagementSubnet, address_prefix: 10.0.3.0/26,"
        " route_table: mgmt}\n      - {name: AzureFirewallSubnet",
    )
    text += """  - name: mgmt
    disable_bgp_route_propagation: true
    routes: [{name: internet, address_prefix: 0.0.0.0/0, next_hop_type: Internet}]
"""
    fabric = load_native(yaml.safe_load(text), "f.yaml").fabric
    codes = [f.code for f in validate(fabric)]
    assert "FirewallSubnetDefaultRouteNotInternet" not in codes
    assert not [c for c in codes if c.startswith("FirewallManagementSubnet")]


def test_a_dual_stack_dedicated_subnet_is_sized_by_its_ipv4_range():
    """The /26 rules (N18.2, N11.4) are IPv4's: a dual-stack subnet whose first range is its
    IPv6 /64 is not 'too small'."""
    text = """
vnets:
  - name: v
    region: westeurope
    address_prefixes: [10.0.0.0/16, "fd00:db8::/48"]
    subnets:
      - {name: AzureBastionSubnet, address_prefix: "fd00:db8:0:1::/64",
         additional_prefixes: [10.0.1.0/26]}
      - {name: AzureFirewallManagementSubnet, address_prefix: "fd00:db8:0:2::/64",
         additional_prefixes: [10.0.2.0/26]}
"""
    fabric = load_native(yaml.safe_load(text), "d.yaml").fabric
    codes = [f.code for f in validate(fabric)]
    assert "BastionSubnetTooSmall" not in codes
    assert "FirewallManagementSubnetTooSmall" not in codes


def test_one_unreachable_appliance_route_is_one_finding_for_every_subnet_using_it():
    """A route table shared by several subnets of a VNet gives one finding per route, naming
    every subnet that uses it, not one per subnet."""
    text = APPLIANCE_REACH.replace("PEERINGS", "").replace(
        "subnets: [{name: s, address_prefix: 10.1.1.0/24, route_table: rt}],",
        "subnets: [{name: s, address_prefix: 10.1.1.0/24, route_table: rt},\n"
        "              {name: t, address_prefix: 10.1.2.0/24, route_table: rt}],",
    )
    fabric = load_native(yaml.safe_load(text), "reach.yaml").fabric
    found = [f for f in validate(fabric) if f.code == "NextHopIpNotDirectlyReachable"]
    assert len(found) == 1
    assert "used by a/s, a/t:" in found[0].message
    assert {"vnet/a/subnet/s", "vnet/a/subnet/t"} <= set(found[0].resources)
