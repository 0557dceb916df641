"""Azure Route Server (azure-facts.md N15, §4.4 rule 3, §4.5): what it programs into effective
routes, where the data goes (VM -> NVA, never through Route Server), ECMP and AS paths,
gateway transit and branch-to-branch, its limits and the rules of its subnet and peers."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import attrs
import pytest

from fabric.checks import validate
from fabric.control.forwarding import BEYOND_APPLIANCE, ApplianceHop, Forward, GatewayHop, resolve
from fabric.control.plane import ControlPlane
from fabric.io import load_topology
from fabric.model.container import Fabric
from fabric.model.records import BgpPeer, Route, RouteServer, SecurityRule
from fabric.watcher import connectivity, next_hop

DATA = Path(__file__).parent / "data"
ON_PREM = "10.250.0.0/16"  # N15.1's overview example: the SD-WAN NVA's on-premises prefix
SDWAN, FIREWALL = "10.1.1.4", "10.1.1.5"


def peer(name: str, ip: str, asn: int, *prefixes: str, **options) -> BgpPeer:
    return BgpPeer(name, ip, asn, prefixes, **options)


def hub_and_spoke(*peers: BgpPeer, b2b: bool = False, transit: bool = True) -> Fabric:
    """N15.1's overview: a hub with Route Server, an SD-WAN NVA announcing on-premises and a
    firewall NVA announcing 0.0.0.0/0; a spoke that uses the hub's Route Server (N15.2)."""
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.1.0.0/16")
    fabric.subnet("hub", "RouteServerSubnet", "10.1.10.0/27")
    fabric.subnet("hub", "nva", "10.1.1.0/24")
    fabric.subnet("hub", "workload", "10.1.2.0/24")
    fabric.host("hub", "sdwan", "nva", SDWAN, enable_ip_forwarding=True)
    fabric.host("hub", "fw", "nva", FIREWALL, enable_ip_forwarding=True)
    fabric.host("hub", "hub-vm", "workload", "10.1.2.4")
    fabric.vnet("spoke", "westeurope", "10.2.0.0/16")
    fabric.subnet("spoke", "app", "10.2.0.0/24")
    fabric.host("spoke", "spoke-vm", "app", "10.2.0.4")
    fabric.peer(
        "hub",
        "spoke",
        a_allows_gateway_transit=transit,
        b_uses_remote_gateways=transit,
        allow_forwarded_traffic=True,
    )
    peers = peers or (
        peer("sdwan", SDWAN, 65001, ON_PREM),
        peer("fw", FIREWALL, 65002, "0.0.0.0/0"),
    )
    fabric.route_server(RouteServer("rs", "hub", b2b, peers))
    return fabric


def rows(plane: ControlPlane, vnet: str, subnet: str, prefix: str):
    return [r for r in plane.routes(vnet, subnet).routes if r.prefix == IPv4Network(prefix)]


def codes(fabric: Fabric) -> list[str]:
    return [f.code for f in validate(fabric)]


# -- what it programs --------------------------------------------------------------------------


def test_vms_get_both_nva_routes_as_bgp_routes_with_the_nva_as_next_hop():
    plane = ControlPlane(hub_and_spoke())
    (on_prem,) = rows(plane, "hub", "workload", ON_PREM)
    assert (on_prem.source, on_prem.state, on_prem.next_hop_type) == (
        "VirtualNetworkGateway",
        "Active",
        "VirtualNetworkGateway",
    )
    assert on_prem.next_hop_ip_address == (SDWAN,)
    default = rows(plane, "hub", "workload", "0.0.0.0/0")
    # §4.4 rule 2: the BGP default route wins over the system one of the same prefix
    assert {(r.source, r.state) for r in default} == {
        ("VirtualNetworkGateway", "Active"),
        ("Default", "Invalid"),
    }
    assert next_hop(plane, "10.1.2.4", "8.8.8.8").to_json()["next_hop_ip_address"] == FIREWALL


def test_a_spoke_using_the_hubs_route_server_gets_its_routes():
    plane = ControlPlane(hub_and_spoke())
    assert [r.next_hop_ip_address for r in rows(plane, "spoke", "app", ON_PREM)] == [(SDWAN,)]


def test_a_spoke_without_use_remote_gateways_does_not():
    plane = ControlPlane(hub_and_spoke(transit=False))
    assert rows(plane, "spoke", "app", ON_PREM) == []
    assert next_hop(plane, "10.2.0.4", "10.250.1.1").next_hop_type == "None"  # 10/8 -> None


def test_route_propagation_off_removes_route_server_routes_like_other_bgp_routes():
    fabric = hub_and_spoke()
    fabric.route_table("no-bgp", disable_bgp_route_propagation=True)
    fabric.vnets["spoke"] = attrs.evolve(
        fabric.vnets["spoke"],
        subnets=(attrs.evolve(fabric.vnets["spoke"].subnet("app"), route_table="no-bgp"),),
    )
    plane = ControlPlane(fabric)
    assert rows(plane, "spoke", "app", ON_PREM) == []  # §4.5
    assert rows(plane, "hub", "workload", ON_PREM) != []  # other subnets keep it


def test_rule_3_route_server_cannot_steer_traffic_inside_the_vnet_or_to_a_peer():
    fabric = hub_and_spoke(
        peer("sdwan", SDWAN, 65001, "10.1.2.0/24", "10.2.0.0/24", "10.0.0.0/8"),
    )
    plane = ControlPlane(fabric)
    assert [r.state for r in rows(plane, "hub", "nva", "10.1.2.0/24")] == ["Invalid"]
    assert next_hop(plane, "10.1.1.4", "10.1.2.4").next_hop_type == "VnetLocal"
    assert [r.state for r in rows(plane, "hub", "workload", "10.2.0.0/24")] == ["Invalid"]
    assert next_hop(plane, "10.1.2.4", "10.2.0.4").next_hop_type == "VNetPeering"
    # a summary still takes what no system route covers (e.g. another spoke, not peered)
    assert next_hop(plane, "10.2.0.4", "10.3.0.4").to_json()["next_hop_ip_address"] == SDWAN


# -- where the data goes ----------------------------------------------------------------------


def test_the_trace_goes_vm_to_nva_directly_and_leaves_through_it():
    plane = ControlPlane(hub_and_spoke())
    trace = connectivity(plane, "10.2.0.4", "10.250.1.1")
    assert trace.connection_status == "Reachable"
    assert [(h.type, h.name) for h in trace.hops] == [
        ("Source", "spoke-vm"),
        ("VNetPeering", "spoke/spoke-to-hub"),
        ("VirtualAppliance", "sdwan"),
        ("BeyondAppliance", "sdwan"),
    ]
    path = trace.path
    assert path.outcome == Forward(BEYOND_APPLIANCE, path.packet.destination)
    assert not any(isinstance(step, GatewayHop) for step in path.steps)


def test_the_nva_forwards_by_its_own_subnets_routes():
    fabric = hub_and_spoke()
    fabric.route_table("nva-rt", [Route("internet", "0.0.0.0/0", "Internet")])
    hub = fabric.vnets["hub"]
    subnets = tuple(
        attrs.evolve(s, route_table="nva-rt") if s.name == "nva" else s for s in hub.subnets
    )
    fabric.vnets["hub"] = attrs.evolve(hub, subnets=subnets)
    trace = connectivity(ControlPlane(fabric), "10.1.2.4", "8.8.8.8")
    assert [h.type for h in trace.hops] == ["Source", "VirtualAppliance", "Internet"]
    assert trace.hops[1].name == "fw"


def test_the_nvas_nsg_and_ip_forwarding_apply():
    fabric = hub_and_spoke()
    deny = SecurityRule("deny-in", 100, "Inbound", "Deny", "*")
    fabric.nsg("nva-nsg", [deny])
    hub = fabric.vnets["hub"]
    hosts = tuple(attrs.evolve(h, nsg="nva-nsg") if h.name == "sdwan" else h for h in hub.hosts)
    fabric.vnets["hub"] = attrs.evolve(hub, hosts=hosts)
    assert connectivity(ControlPlane(fabric), "10.2.0.4", "10.250.1.1").code == "DeniedByNsg"
    hosts = tuple(
        attrs.evolve(h, enable_ip_forwarding=False) if h.name == "sdwan" else h for h in hub.hosts
    )
    fabric.vnets["hub"] = attrs.evolve(hub, hosts=hosts)
    trace = connectivity(ControlPlane(fabric), "10.2.0.4", "10.250.1.1")
    assert trace.code == "IpForwardingDisabled"


def test_a_peer_that_is_no_nic_drops_its_traffic_and_validation_says_so():
    fabric = hub_and_spoke(peer("ghost", "10.1.1.99", 65001, ON_PREM))
    assert connectivity(ControlPlane(fabric), "10.2.0.4", "10.250.1.1").code == (
        "NextHopApplianceNotFound"
    )
    assert "RouteServerPeerNotFound" in codes(fabric)


# -- ECMP and AS paths -------------------------------------------------------------------------


def test_equal_as_paths_are_all_programmed_and_flows_spread_over_the_nvas():
    fabric = hub_and_spoke(
        peer("sdwan", SDWAN, 65001, ON_PREM), peer("fw", FIREWALL, 65002, ON_PREM)
    )
    plane = ControlPlane(fabric)
    (route,) = rows(plane, "spoke", "app", ON_PREM)
    assert route.next_hop_ip_address == (FIREWALL, SDWAN)  # by peer name
    used = set()
    for port in range(40000, 40032):
        path = resolve(plane, "10.2.0.4", "10.250.1.1", "Tcp", 443, source_port=port)
        (hop,) = [s for s in path.steps if isinstance(s, ApplianceHop)]
        again = resolve(plane, "10.2.0.4", "10.250.1.1", "Tcp", 443, source_port=port)
        assert again.steps == path.steps  # one flow, one NVA
        used.add(hop.host.name)
    assert used == {"sdwan", "fw"}


def test_a_shorter_as_path_wins_outright():
    fabric = hub_and_spoke(
        peer("sdwan", SDWAN, 65001, ON_PREM),
        peer("fw", FIREWALL, 65002, ON_PREM, as_path_prepend=2),
    )
    (route,) = rows(ControlPlane(fabric), "spoke", "app", ON_PREM)
    assert (route.next_hop_ip_address, route.as_path) == ((SDWAN,), (65001,))


# -- limits and rules (N15.1, N15.3) ------------------------------------------------------------


def many(count: int) -> tuple[str, ...]:
    return tuple(
        str(net) for net in list(IPv4Network("172.16.0.0/12").subnets(new_prefix=24))[:count]
    )


def test_above_1000_routes_the_session_is_torn_down_and_nothing_is_learned():
    at_limit = hub_and_spoke(peer("sdwan", SDWAN, 65001, *many(1000)))
    assert len(rows(ControlPlane(at_limit), "hub", "workload", "172.16.0.0/24")) == 1
    assert "RouteServerPeerRouteLimitExceeded" not in codes(at_limit)
    above = hub_and_spoke(
        peer("sdwan", SDWAN, 65001, *many(1001)), peer("fw", FIREWALL, 65002, ON_PREM)
    )
    plane = ControlPlane(above)
    assert rows(plane, "hub", "workload", "172.16.0.0/24") == []
    assert len(rows(plane, "hub", "workload", ON_PREM)) == 1  # the other peer is unaffected
    (finding,) = [f for f in validate(above) if f.code == "RouteServerPeerRouteLimitExceeded"]
    assert "4000" in finding.message.replace(",", "")


def test_at_most_eight_peers():
    peers = [
        peer(f"nva{i}", f"10.1.1.{10 + i}", 65001 + i, f"10.{200 + i}.0.0/16") for i in range(9)
    ]
    fabric = hub_and_spoke(*peers)
    plane = ControlPlane(fabric)
    assert len(rows(plane, "hub", "workload", "10.207.0.0/16")) == 1
    assert rows(plane, "hub", "workload", "10.208.0.0/16") == []  # the ninth is refused
    (finding,) = [f for f in validate(fabric) if f.code == "TooManyRouteServerPeers"]
    assert finding.severity == "Error"


@pytest.mark.parametrize("asn", [4_200_000_000, 65515, 65516, 65520, 23456, 64500])
def test_nva_asns_that_azure_refuses(asn):
    fabric = hub_and_spoke(peer("sdwan", SDWAN, asn, ON_PREM))
    assert rows(ControlPlane(fabric), "hub", "workload", ON_PREM) == []
    (finding,) = [f for f in validate(fabric) if f.code == "InvalidRouteServerPeerAsn"]
    assert finding.severity == "Error"


@pytest.mark.parametrize("asn", [64512, 65001, 65514, 65521])
def test_usable_nva_asns(asn):
    fabric = hub_and_spoke(peer("sdwan", SDWAN, asn, ON_PREM))
    assert "InvalidRouteServerPeerAsn" not in codes(fabric)
    assert len(rows(ControlPlane(fabric), "hub", "workload", ON_PREM)) == 1


def test_ipv6_prefixes_are_not_learned():
    fabric = hub_and_spoke(peer("sdwan", SDWAN, 65001, ON_PREM, "fd00::/48"))
    assert [
        str(r.prefix)
        for r in ControlPlane(fabric).routes("hub", "workload").routes
        if r.prefix.version == 6
    ] == []
    assert "RouteServerIpv6NotSupported" in codes(fabric)


def with_subnet(fabric: Fabric, prefix: str | None, **options) -> Fabric:
    hub = fabric.vnets["hub"]
    subnets = [s for s in hub.subnets if s.name != "RouteServerSubnet"]
    if prefix is not None:
        subnets.append(
            attrs.evolve(hub.subnet("RouteServerSubnet"), address_prefix=prefix, **options)
        )
    fabric.vnets["hub"] = attrs.evolve(hub, subnets=tuple(subnets))
    return fabric


def test_the_route_server_subnet_rules():
    assert not {c for c in codes(hub_and_spoke()) if c.startswith("RouteServerSubnet")}
    assert "RouteServerSubnetMissing" in codes(with_subnet(hub_and_spoke(), None))
    assert "RouteServerSubnetTooSmall" in codes(with_subnet(hub_and_spoke(), "10.1.10.0/28"))
    assert "RouteServerSubnetTooSmall" not in codes(with_subnet(hub_and_spoke(), "10.1.10.0/26"))
    fabric = hub_and_spoke()
    fabric.nsg("n")
    fabric.route_table("t")
    found = codes(with_subnet(fabric, "10.1.10.0/27", nsg="n", route_table="t"))
    assert {"RouteServerSubnetHasNsg", "RouteServerSubnetHasRouteTable"} <= set(found)


def test_one_route_server_per_vnet():
    fabric = hub_and_spoke()
    fabric.route_server(RouteServer("rs2", "hub"))
    assert "TooManyRouteServers" in codes(fabric)


def test_a_spoke_may_use_a_hub_that_has_only_a_route_server():
    found = codes(hub_and_spoke())
    assert "RemoteVnetHasNoGateways" not in found
    assert "GatewayTransitWithoutGateway" not in found


# -- branch-to-branch (N15.2) -------------------------------------------------------------------


def with_gateways(b2b: bool) -> Fabric:
    """The hub gets an active-active VPN gateway (ASN 65515) with a BGP VNet-to-VNet
    connection to a remote VNet standing in for a branch."""
    fabric = hub_and_spoke(b2b=b2b)
    fabric.subnet("hub", "GatewaySubnet", "10.1.255.0/27")
    fabric.gateway("hub-gw", "hub", "VpnGw2", active_active=True, enable_bgp=True)
    fabric.vnet("branch", "westeurope", "10.60.0.0/16")
    fabric.subnet("branch", "GatewaySubnet", "10.60.255.0/27")
    fabric.subnet("branch", "app", "10.60.1.0/24")
    fabric.host("branch", "branch-vm", "app", "10.60.1.4")
    fabric.gateway("branch-gw", "branch", "VpnGw2", bgp_asn=65100, enable_bgp=True)
    fabric.connect("hub-gw", "branch-gw", shared_key="k", enable_bgp=True)
    return fabric


def test_branch_to_branch_off_keeps_nva_routes_from_the_gateways():
    fabric = with_gateways(b2b=False)
    plane = ControlPlane(fabric)
    gateway = plane.gateway_routes(fabric.gateways["hub-gw"])
    assert all(r.route_server is None for r in gateway.routes)
    assert rows(plane, "branch", "app", ON_PREM) == []  # the branch does not learn them
    assert connectivity(plane, "10.60.1.4", "10.250.1.1").reachable is False


def test_branch_to_branch_on_exchanges_them():
    fabric = with_gateways(b2b=True)
    plane = ControlPlane(fabric)
    gateway = plane.gateway_routes(fabric.gateways["hub-gw"])
    assert [r.next_hop_ip_address for r in gateway.routes if r.prefix == IPv4Network(ON_PREM)] == [
        (SDWAN,)
    ]
    (learned,) = rows(plane, "branch", "app", ON_PREM)
    assert learned.gateway.name == "branch-gw"
    trace = connectivity(plane, "10.60.1.4", "10.250.1.1")
    assert trace.reachable
    assert [h.type for h in trace.hops][-2:] == ["VirtualAppliance", "BeyondAppliance"]


def test_a_vpn_gateway_beside_route_server_should_be_active_active_with_asn_65515():
    fabric = with_gateways(b2b=True)
    assert "RouteServerVpnGatewayRequirements" not in codes(fabric)
    fabric.gateways["hub-gw"] = attrs.evolve(fabric.gateways["hub-gw"], active_active=False)
    assert "RouteServerVpnGatewayRequirements" in codes(fabric)


# -- a template with a Route Server (ARM) -------------------------------------------------------


def test_an_arm_route_server_loads_and_says_what_it_does_not_know():
    document = load_topology(DATA / "arm_route_server.json")
    fabric = document.fabric
    server = fabric.route_servers["hub-rs"]
    assert (server.vnet, server.allow_branch_to_branch_traffic) == ("hub-vnet", False)
    assert [(p.name, p.peer_ip, p.peer_asn) for p in server.bgp_connections] == [
        ("sdwan-nva", "10.10.1.4", 65010)
    ]
    found = validate(fabric)
    assert "RouteServerRoutesNotModelled" in [f.code for f in found]
    assert not [f for f in found if f.severity == "Error"]
    plane = ControlPlane(fabric)
    assert all(r.route_server is None for r in plane.routes("spoke-vnet", "app").routes)
    # what the NVA announces is a modelling input; given it, the spoke gets the route
    announced = attrs.evolve(
        server,
        bgp_connections=(attrs.evolve(server.bgp_connections[0], advertised_prefixes=ON_PREM),),
    )
    fabric.route_servers["hub-rs"] = announced
    plane = ControlPlane(fabric)
    (route,) = rows(plane, "spoke-vnet", "app", ON_PREM)
    assert route.next_hop_ip_address == ("10.10.1.4",)
    trace = connectivity(plane, "10.20.1.4", "10.250.0.9")
    assert [h.type for h in trace.hops] == [
        "Source",
        "VNetPeering",
        "VirtualAppliance",
        "BeyondAppliance",
    ]


def test_a_terraform_route_server_with_branch_to_branch_programs_what_its_nva_announces():
    document = load_topology(DATA / "terraform" / "site-to-site")
    fabric = document.fabric
    assert "RouteServerRoutesNotModelled" in codes(fabric)
    server = fabric.route_servers["hub-ars"]
    (nva,) = server.bgp_connections
    fabric.route_servers["hub-ars"] = attrs.evolve(
        server, bgp_connections=(attrs.evolve(nva, advertised_prefixes=ON_PREM),)
    )
    plane = ControlPlane(fabric)
    assert rows(plane, "azure-vnet", "app", ON_PREM) == []  # app-rt: propagation off (§4.5)
    assert [r.next_hop_ip_address for r in rows(plane, "azure-vnet", "nva", ON_PREM)] == [
        ("10.50.4.4",)
    ]
    gateway = plane.gateway_routes(fabric.gateways["azure-gw"])  # branch-to-branch is on
    assert [r.route_server for r in gateway.routes if r.prefix == IPv4Network(ON_PREM)] == [
        fabric.route_servers["hub-ars"]
    ]
    trace = connectivity(plane, "10.50.4.10", "10.250.3.3")  # any NIC of the nva subnet
    assert [(h.type, h.name) for h in trace.hops][-2:] == [
        ("VirtualAppliance", "nva-nic"),
        ("BeyondAppliance", "nva-nic"),
    ]


def test_an_nva_default_route_joins_the_virtualnetwork_tag_like_other_bgp_routes():
    """§5.4: the tag holds the ranges reached through the VNet's gateway and "might also
    contain default routes"; Route Server routes are BGP routes too (our reading)."""
    plane = ControlPlane(hub_and_spoke())
    assert IPv4Network("0.0.0.0/0") in plane.tag_scope("spoke").virtual_network
    assert IPv4Network(ON_PREM) in plane.tag_scope("hub").virtual_network
