"""Azure Virtual Network Manager connectivity configurations, from N8's documented behaviour:
a mesh is a connected group (ConnectedGroup routes, no peering objects), hub-and-spoke creates
real peerings, overlaps are removed from the mesh (or refused), the N8.2 limits, and the
cross-tenant scope of N7."""

from __future__ import annotations

import ipaddress

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabric.checks import validate
from fabric.control.forwarding import Crossing, GroupCrossing, resolve
from fabric.control.plane import ControlPlane
from fabric.io import InputError, load_topology, to_yaml
from fabric.model import Fabric, FabricError, GroupItem, NetworkManager, ScopeConnection
from fabric.sim.runs import simulate
from fabric.study.generate import hub_spoke, mesh
from fabric.watcher import connectivity


def codes(fabric: Fabric) -> list[str]:
    return [f.code for f in validate(fabric)]


def only(fabric: Fabric, code: str):
    """The one finding of ``code``."""
    found = [f for f in validate(fabric) if f.code == code]
    assert len(found) == 1, found
    return found[0]


def hop_types(plane: ControlPlane, vnet: str, subnet: str = "app") -> dict[str, str]:
    """Active system routes of a subnet: prefix -> next hop type."""
    return {
        str(r.prefix): r.next_hop_type
        for r in plane.routes(vnet, subnet).routes
        if r.state == "Active" and r.source == "Default"
    }


def landed(plane: ControlPlane, src: str, dst: str) -> str | None:
    """The VNet a packet from ``src`` to ``dst`` is delivered in (None: dropped)."""
    path = resolve(plane, src, dst, "Tcp", 443)
    return path.outcome.location.vnet.name if path.reachable else None


def vnet(fabric: Fabric, name: str, prefix: str, region: str = "westeurope", **where) -> None:
    """A VNet that is one subnet ``app`` (the whole prefix) with a VM at .4."""
    fabric.vnet(name, region, prefix, **where)
    fabric.subnet(name, "app", prefix)
    fabric.host(name, f"{name}-vm", "app", str(ipaddress.ip_network(prefix).network_address + 4))


# -- Mesh: a connected group (N8.1) -----------------------------------------------------------


def three_vnet_mesh(**options) -> Fabric:
    net = Fabric()
    for i, name in enumerate(("a", "b", "c")):
        vnet(net, name, f"10.{i}.0.0/16")
    net.network_group("all", ["a", "b", "c"])
    net.connectivity_configuration("mesh", "Mesh", "all", **options)
    return net


def test_mesh_routes_are_connected_group_and_create_no_peering_objects():
    net = three_vnet_mesh()
    plane = ControlPlane(net)
    routes = hop_types(plane, "a")
    assert routes["10.1.0.0/16"] == "ConnectedGroup"
    assert routes["10.2.0.0/16"] == "ConnectedGroup"
    assert net.peerings == {}
    assert plane.peerings.links == []
    assert codes(net) == []


def test_a_trace_through_a_connected_group_says_so():
    plane = ControlPlane(three_vnet_mesh())
    path = resolve(plane, "10.0.0.4", "10.2.0.4", "Tcp", 443)
    assert path.reachable
    crossings = [s for s in path.steps if isinstance(s, GroupCrossing)]
    assert [c.kind for c in crossings] == ["ConnectedGroup"]
    assert not any(isinstance(s, Crossing) for s in path.steps)
    trace = connectivity(plane, "10.0.0.4", "10.2.0.4")
    assert trace.connection_status == "Reachable"
    assert [h.type for h in trace.hops] == ["Source", "ConnectedGroup", "Destination"]
    assert "connected group" in trace.hops[1].detail


def test_the_virtual_network_tag_covers_the_connected_group():
    plane = ControlPlane(three_vnet_mesh())
    nets = {str(n) for n in plane.tag_scope("a").virtual_network}
    assert {"10.1.0.0/16", "10.2.0.0/16"} <= nets


def test_a_mesh_is_regional_unless_global():
    net = Fabric()
    vnet(net, "we", "10.0.0.0/16", "westeurope")
    vnet(net, "we2", "10.1.0.0/16", "westeurope")
    vnet(net, "ne", "10.2.0.0/16", "northeurope")
    net.network_group("all", ["we", "we2", "ne"])
    net.connectivity_configuration("mesh", "Mesh", "all")
    plane = ControlPlane(net)
    assert hop_types(plane, "we")["10.1.0.0/16"] == "ConnectedGroup"
    assert "10.2.0.0/16" not in hop_types(plane, "we")
    assert connectivity(plane, "10.0.0.4", "10.2.0.4").code == "ConnectedGroupNotGlobal"
    config = net.connectivity_configurations["mesh"]
    net.connectivity_configurations["mesh"] = attrs.evolve(config, is_global=True)
    plane = ControlPlane(net)
    assert hop_types(plane, "we")["10.2.0.0/16"] == "ConnectedGroup"
    path = resolve(plane, "10.0.0.4", "10.2.0.4", "Tcp", 443)
    assert path.reachable
    assert path.latency_ms > 1  # a cross-region leg (§7.2), not an in-region one


def test_traffic_over_a_connected_group_is_delivered_in_the_dataplane():
    flows = [{"name": "f", "src": "a-vm", "dst": "c-vm", "protocol": "Udp", "rate_mbps": 50}]
    flow = simulate(three_vnet_mesh(), flows, duration_s=0.01, seed=1).flow("f")
    assert flow.sent > 0
    assert flow.delivered == flow.sent


# -- Hub and spoke: real peerings (N8.1) -------------------------------------------------------


def avnm_hub_and_spoke(*, gateway: bool = True, delete_existing_peering: bool = False, **item):
    net = Fabric()
    net.vnet("hub", "westeurope", "10.0.0.0/16")
    net.subnet("hub", "app", "10.0.0.0/24")
    net.host("hub", "hub-vm", "app", "10.0.0.4")
    for i in (1, 2):
        vnet(net, f"spoke{i}", f"10.{i}.0.0/16")
    if gateway:
        net.subnet("hub", "GatewaySubnet", "10.0.255.0/27")
        net.gateway("hub-gw", "hub", "VpnGw2", generation="Generation2")
    net.network_group("spokes", ["spoke1", "spoke2"])
    net.connectivity_configuration(
        "hs",
        "HubAndSpoke",
        GroupItem("spokes", **item),
        hubs="hub",
        delete_existing_peering=delete_existing_peering,
    )
    return net


def test_hub_and_spoke_creates_connected_peerings_both_ways():
    net = avnm_hub_and_spoke()
    plane = ControlPlane(net)
    links = {(link.vnet, link.remote_vnet): link for link in plane.peerings.links}
    assert set(links) == {
        ("hub", "spoke1"),
        ("spoke1", "hub"),
        ("hub", "spoke2"),
        ("spoke2", "hub"),
    }
    assert {plane.peerings.state(link) for link in links.values()} == {"Connected"}
    assert {plane.peerings.created_by(link) for link in links.values()} == {"hs"}
    assert hop_types(plane, "spoke1")["10.0.0.0/16"] == "VNetPeering"
    assert hop_types(plane, "hub")["10.2.0.0/16"] == "VNetPeering"
    # spokes are not connected to each other without direct connectivity (§2.5)
    assert connectivity(plane, "10.1.0.4", "10.2.0.4").code == "PeeringNotTransitive"
    assert codes(net) == []


def test_hub_and_spoke_across_regions_shows_global_peering():
    net = avnm_hub_and_spoke(gateway=False)
    net.set_vnet(attrs.evolve(net.vnets["spoke2"], region="northeurope"))
    assert hop_types(ControlPlane(net), "spoke2")["10.0.0.0/16"] == "VNetGlobalPeering"


def test_direct_connectivity_adds_a_connected_group_among_the_spokes():
    plane = ControlPlane(avnm_hub_and_spoke(group_connectivity="DirectlyConnected"))
    assert hop_types(plane, "spoke1")["10.2.0.0/16"] == "ConnectedGroup"
    assert hop_types(plane, "spoke1")["10.0.0.0/16"] == "VNetPeering"  # the hub: a peering
    assert hop_types(plane, "hub")["10.1.0.0/16"] == "VNetPeering"  # not in the group
    assert landed(plane, "10.1.0.4", "10.2.0.4") == "spoke2"


def test_use_hub_gateway_gives_the_spokes_gateway_transit():
    net = avnm_hub_and_spoke(use_hub_gateway=True)
    net.vnet("dr", "northeurope", "10.50.0.0/16")
    net.subnet("dr", "GatewaySubnet", "10.50.255.0/27")
    net.subnet("dr", "app", "10.50.1.0/24")
    net.host("dr", "dr-vm", "app", "10.50.1.4")
    net.gateway("dr-gw", "dr", "VpnGw2", generation="Generation2")
    net.connect("hub-gw", "dr-gw", shared_key="abc123")
    plane = ControlPlane(net)
    spoke_link = next(
        link for link in plane.peerings.links if (link.vnet, link.remote_vnet) == ("spoke1", "hub")
    )
    assert spoke_link.use_remote_gateways
    assert plane.peerings.counterpart(spoke_link).allow_gateway_transit
    routes = {str(r.prefix): r.next_hop_type for r in plane.routes("spoke1", "app").routes}
    assert routes["10.50.0.0/16"] == "VirtualNetworkGateway"  # TC-PR-4, through AVNM
    assert landed(plane, "10.1.0.4", "10.50.1.4") == "dr"
    assert [f for f in validate(net) if f.severity == "Error"] == []


def test_use_hub_gateway_without_a_hub_gateway_fails_the_spoke_links():
    net = avnm_hub_and_spoke(gateway=False, use_hub_gateway=True)
    plane = ControlPlane(net)
    links = {(link.vnet, link.remote_vnet) for link in plane.peerings.links}
    assert links == {("hub", "spoke1"), ("hub", "spoke2")}  # N8.1: only hub->spoke exists
    assert {plane.peerings.state(link) for link in plane.peerings.links} == {"Initiated"}
    assert "10.0.0.0/16" not in hop_types(plane, "spoke1")
    finding = only(net, "RemoteVnetHasNoGateways")
    assert "spoke1" in finding.message
    assert finding.severity == "Error"
    assert "PeeringNotConnected" not in codes(net)  # said once, above


def test_delete_existing_peering_removes_the_spokes_other_peerings():
    kept = avnm_hub_and_spoke(gateway=False)
    kept.peer("spoke1", "spoke2")
    assert hop_types(ControlPlane(kept), "spoke1")["10.2.0.0/16"] == "VNetPeering"
    net = avnm_hub_and_spoke(gateway=False, delete_existing_peering=True)
    net.peer("spoke1", "spoke2")
    plane = ControlPlane(net)
    assert "10.2.0.0/16" not in hop_types(plane, "spoke1")
    assert hop_types(plane, "spoke1")["10.0.0.0/16"] == "VNetPeering"
    manual = net.peerings[("spoke1", "spoke1-to-spoke2")]
    assert plane.peerings.state(manual) == "Absent"
    assert "delete_existing_peering" in plane.peerings.absent(manual)
    assert connectivity(plane, "10.1.0.4", "10.2.0.4").code == "PeeringDeletedByNetworkManager"


def test_a_manual_peering_coexists_and_avnm_adds_none_beside_it():
    net = avnm_hub_and_spoke(gateway=False)
    net.peer("hub", "spoke1", allow_forwarded_traffic=True)
    pairs = [(link.vnet, link.remote_vnet) for link in ControlPlane(net).peerings.links]
    assert pairs.count(("hub", "spoke1")) == 1
    assert pairs.count(("spoke1", "hub")) == 1
    assert "DuplicatePeering" not in codes(net)


def test_peering_enforcement_refuses_edits_outside_the_network_manager():
    net = avnm_hub_and_spoke(gateway=False)
    net.peer("hub", "spoke1")
    config = net.connectivity_configurations["hs"]
    net.connectivity_configurations["hs"] = attrs.evolve(config, peering_enforcement="Enforced")
    with pytest.raises(FabricError, match="peering_enforcement Enforced"):
        net.unpeer("hub", "hub-to-spoke1")
    with pytest.raises(FabricError, match="Enforced"):
        net.update_peering("hub", "hub-to-spoke1", allow_forwarded_traffic=True)
    net.sync_peering("hub", "hub-to-spoke1")  # a sync is not a modification


# -- Overlaps in a connected group (N8.1) ------------------------------------------------------


def overlapping_mesh(mode: str = "Allowed") -> Fabric:
    net = Fabric()
    net.vnet("a", "westeurope", "10.0.0.0/16")
    net.subnet("a", "app", "10.0.0.0/24")
    net.subnet("a", "other", "10.0.5.0/24")
    net.host("a", "a-other", "other", "10.0.5.4")
    vnet(net, "b", "10.0.1.0/24")  # inside a's space
    vnet(net, "c", "10.2.0.0/16")
    net.network_group("all", ["a", "b", "c"])
    net.connectivity_configuration("mesh", "Mesh", "all", connected_group_address_overlap=mode)
    return net


def test_an_overlapping_prefix_is_removed_from_the_mesh_and_traffic_to_it_dropped():
    net = overlapping_mesh()
    plane = ControlPlane(net)
    routes = hop_types(plane, "c")
    assert routes["10.0.0.0/16"] == "ConnectedGroup"  # the rest of a's space stays
    assert routes["10.0.1.0/24"] == "None"  # the overlap: removed, its traffic dropped
    drop = resolve(plane, "10.2.0.4", "10.0.1.4", "Tcp", 443).drop
    assert drop.code == "ConnectedGroupAddressOverlap"
    assert landed(plane, "10.2.0.4", "10.0.5.4") == "a"
    finding = only(net, "ConnectedGroupPrefixRemoved")
    assert "10.0.1.0/24" in finding.message
    assert finding.severity == "Warning"


def test_disallowed_overlap_is_refused_and_the_member_left_out():
    net = overlapping_mesh("Disallowed")
    plane = ControlPlane(net)
    assert "10.0.1.0/24" not in hop_types(plane, "c")  # b was refused: nothing to remove
    assert hop_types(plane, "c")["10.0.0.0/16"] == "ConnectedGroup"
    assert "10.2.0.0/16" not in hop_types(plane, "b")
    finding = only(net, "ConnectedGroupAddressOverlap")
    assert finding.severity == "Error"
    assert "vnet/b" in finding.resources


def test_a_member_peered_to_an_overlapping_outside_vnet_reaches_it_and_others_drop():
    net = Fabric()
    vnet(net, "m", "10.0.0.0/16")
    vnet(net, "n", "10.1.0.0/16")
    vnet(net, "o", "10.2.0.0/16")
    vnet(net, "x", "10.1.0.0/24")  # outside the group, overlaps member n
    net.peer("m", "x")
    net.network_group("all", ["m", "n", "o"])
    net.connectivity_configuration("mesh", "Mesh", "all")
    plane = ControlPlane(net)
    assert landed(plane, "10.0.0.4", "10.1.0.4") == "x"
    drop = resolve(plane, "10.2.0.4", "10.1.0.4", "Tcp", 443).drop
    assert drop.code == "ConnectedGroupAddressOverlap"
    assert landed(plane, "10.2.0.4", "10.1.5.4") == "n"  # n's space outside x's
    assert "ConnectedGroupPrefixRemoved" in codes(net)


POOL = ("10.0.0.0/16", "10.0.1.0/24", "10.0.1.0/24", "10.1.0.0/16", "10.1.128.0/17", "10.2.0.0/24")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(POOL), min_size=2, max_size=5))
def test_connected_group_delivery_agrees_with_an_address_level_oracle(prefixes):
    """For every member and every address of another member: delivered to the one member that
    holds it; dropped as an overlap when several do (N8.1)."""
    net = Fabric()
    names = [f"v{i}" for i in range(len(prefixes))]
    for name, prefix in zip(names, prefixes, strict=True):
        net.vnet(name, "westeurope", prefix)
        net.subnet(name, "app", prefix)
    net.network_group("all", names)
    net.connectivity_configuration("mesh", "Mesh", "all")
    plane = ControlPlane(net)
    spaces = {n: ipaddress.ip_network(p) for n, p in zip(names, prefixes, strict=True)}
    offsets = (4, 5, 300, 40000)
    targets = {
        s.network_address + k for s in spaces.values() for k in offsets if k < s.num_addresses
    }

    def holders_of(ip) -> list[str]:
        return [n for n, space in spaces.items() if ip in space]

    for source in names:
        own = [ip for ip in sorted(targets) if holders_of(ip) == [source]]
        if not own:
            continue  # no address only this member holds: a question from it is ambiguous
        src = str(own[0])
        for ip in sorted(targets):
            holders = holders_of(ip)
            if source in holders or not holders:
                continue
            path = resolve(plane, src, str(ip), "Tcp", 443)
            if len(holders) == 1:
                assert landed(plane, src, str(ip)) == holders[0], (source, ip, path.drop)
            else:
                assert path.drop.code == "ConnectedGroupAddressOverlap", (source, ip)


# -- Limits (N8.2) -----------------------------------------------------------------------------


def test_a_connected_group_of_more_than_250_vnets_is_refused_unless_high_scale():
    net = mesh(251, hosts=False)
    finding = only(net, "ConnectedGroupVnetLimitExceeded")
    assert "251 VNets; the limit is 250" in finding.message
    assert "ConnectedGroupVnetLimitExceeded" not in codes(mesh(250, hosts=False))
    net.network_manager(NetworkManager("nm", allow_high_scale_connected_group=True))
    assert "ConnectedGroupVnetLimitExceeded" not in codes(net)


def test_a_vnet_in_more_than_two_connected_groups_is_refused():
    net = Fabric()
    for i in range(4):
        vnet(net, f"v{i}", f"10.{i}.0.0/16")
    for k in range(3):
        net.network_group(f"g{k}", ["v0", f"v{k + 1}"])
        net.connectivity_configuration(f"m{k}", "Mesh", f"g{k}")
    assert "VNet v0 is in 3 connected groups" in only(net, "TooManyConnectedGroups").message
    del net.connectivity_configurations["m2"]
    assert "TooManyConnectedGroups" not in codes(net)


def test_a_hub_with_more_than_1000_spokes_is_refused():
    net = hub_spoke(1001, use_hub_gateway=False, gateway_sku=None, hosts=False)
    message = only(net, "TooManySpokesPerHub").message
    assert "1001 spokes" in message
    assert "the limit is 1000" in message
    fine = hub_spoke(1000, use_hub_gateway=False, gateway_sku=None, hosts=False)
    assert [f for f in validate(fine) if f.severity == "Error"] == []


# -- Cross-tenant scope (N7) -------------------------------------------------------------------


def cross_tenant(*, request: bool, consent: bool) -> Fabric:
    net = Fabric()
    vnet(net, "home", "10.0.0.0/16", tenant="contoso", subscription="sub-c")
    vnet(net, "away", "10.1.0.0/16", tenant="fabrikam", subscription="sub-f")
    scopes = (ScopeConnection("to-fabrikam", "fabrikam", "sub-f"),) if request else ()
    net.network_manager(NetworkManager("nm", "contoso", "sub-c", scope_connections=scopes))
    if consent:
        net.network_manager_connection("from-fabrikam", "sub-f", "nm", tenant="fabrikam")
    net.network_group("all", ["home", "away"])
    net.connectivity_configuration("mesh", "Mesh", "all")
    return net


@pytest.mark.parametrize(("asked", "consented"), [(True, False), (False, True), (False, False)])
def test_a_cross_tenant_member_needs_both_connections(asked, consented):
    net = cross_tenant(request=asked, consent=consented)
    assert "10.1.0.0/16" not in hop_types(ControlPlane(net), "home")
    assert "Pending" in only(net, "CrossTenantScopeNotConnected").message


def test_a_cross_tenant_member_joins_when_both_sides_are_connected():
    net = cross_tenant(request=True, consent=True)
    assert hop_types(ControlPlane(net), "home")["10.1.0.0/16"] == "ConnectedGroup"
    assert "CrossTenantScopeNotConnected" not in codes(net)


def test_a_scope_held_by_another_manager_is_a_conflict_and_revoked_is_honoured():
    net = cross_tenant(request=True, consent=True)
    first = NetworkManager(
        "earlier", "contoso", scope_connections=(ScopeConnection("s", "fabrikam", "sub-f"),)
    )
    net.network_managers = {"earlier": first, **net.network_managers}
    net.network_manager_connection("to-earlier", "sub-f", "earlier")
    net.network_groups["all"] = attrs.evolve(net.network_groups["all"], network_manager="nm")
    net.connectivity_configurations["mesh"] = attrs.evolve(
        net.connectivity_configurations["mesh"], network_manager="nm"
    )
    assert "Conflict" in only(net, "CrossTenantScopeNotConnected").message
    revoked = cross_tenant(request=True, consent=True)
    connection = revoked.network_manager_connections["from-fabrikam"]
    revoked.network_manager_connections["from-fabrikam"] = attrs.evolve(
        connection, connection_state="Revoked"
    )
    assert "Revoked" in only(revoked, "CrossTenantScopeNotConnected").message


# -- The native format -------------------------------------------------------------------------

DESIGN_EXAMPLE = """
vnets:
  - {name: spoke1, region: westeurope, address_prefixes: [10.1.0.0/16],
     subnets: [{name: app, address_prefix: 10.1.0.0/24}]}
  - {name: spoke2, region: westeurope, address_prefixes: [10.2.0.0/16],
     subnets: [{name: app, address_prefix: 10.2.0.0/24}]}
network_groups:                             # Azure Virtual Network Manager (static members)
  - {name: spokes, members: [spoke1, spoke2]}
connectivity_configurations:
  - {name: spokes-mesh, connectivity_topology: Mesh, applies_to_groups: [{network_group: spokes}],
     is_global: false, delete_existing_peering: false}
"""


def test_the_design_example_loads_and_round_trips(tmp_path):
    path = tmp_path / "mesh.yaml"
    path.write_text(DESIGN_EXAMPLE)
    document = load_topology(str(path))
    assert hop_types(ControlPlane(document.fabric), "spoke1")["10.2.0.0/16"] == "ConnectedGroup"
    again = tmp_path / "again.yaml"
    again.write_text(to_yaml(document))
    assert load_topology(str(again)).fabric == document.fabric


@pytest.mark.parametrize(
    ("edit", "replacement", "expected"),
    [
        (
            "network_group: spokes}",
            "network_group: spoke}",
            "network group 'spoke' is not declared",
        ),
        ("members: [spoke1, spoke2]", "members: [spoke1, spoke9]", "VNet 'spoke9'"),
        ("connectivity_topology: Mesh", "connectivity_topology: Meshh", "did you mean 'Mesh'"),
        ("is_global: false,", "is_globl: false,", "did you mean 'is_global'"),
    ],
)
def test_bad_configurations_are_located_errors(tmp_path, edit, replacement, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(DESIGN_EXAMPLE.replace(edit, replacement))
    with pytest.raises(InputError) as caught:
        load_topology(str(path))
    assert expected in str(caught.value)
    assert any(problem.line for problem in caught.value.problems)


def test_capabilities_may_be_nested_as_arm_nests_them(tmp_path):
    text = DESIGN_EXAMPLE.replace(
        "delete_existing_peering: false}",
        "delete_existing_peering: false,\n"
        "     connectivity_capabilities: {connected_group_address_overlap: Disallowed,\n"
        "                                 peering_enforcement: Enforced}}",
    )
    path = tmp_path / "nested.yaml"
    path.write_text(text)
    config = load_topology(str(path)).fabric.connectivity_configurations["spokes-mesh"]
    assert config.connected_group_address_overlap == "Disallowed"
    assert config.peering_enforcement == "Enforced"
    path.write_text(text.replace("is_global: false,", "connected_group_address_overlap: Allowed,"))
    with pytest.raises(InputError, match="given twice"):
        load_topology(str(path))
    path.write_text(text.replace("peering_enforcement: Enforced", "peering_enforcement: Strict"))
    with pytest.raises(InputError, match="Strict"):
        load_topology(str(path))
