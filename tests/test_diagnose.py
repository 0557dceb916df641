"""Connectivity traces: hub-and-spoke, transit, appliances, and the documented failure cases."""

from __future__ import annotations

import json

import pytest

from fabric.cli import main
from fabric.control.forwarding import resolve
from fabric.control.plane import ControlPlane
from fabric.io import NativeDocument, to_yaml
from fabric.model.container import Fabric
from fabric.model.records import Route, SecurityRule
from fabric.watcher import QuestionError, connectivity
from tests.fabrics import hub_and_spokes, routing_example


def trace(fabric: Fabric, src: str, dst: str, protocol: str = "Tcp", port: int = 443, **options):
    return connectivity(ControlPlane(fabric, **options), src, dst, protocol=protocol, port=port)


def test_same_vnet_is_reachable_with_the_in_region_latency():
    fabric = hub_and_spokes(remote=False)
    fabric.subnet("spoke1", "db", "10.1.1.0/24")
    fabric.host("spoke1", "db-vm", "db", "10.1.1.4")
    result = trace(fabric, "10.1.0.4", "10.1.1.4")
    assert result.reachable
    assert [h.type for h in result.hops] == ["Source", "Destination"]
    assert result.latency_ms == pytest.approx(0.25)


def test_TC_PR_2_spoke_to_spoke_is_not_transitive_then_direct_peering_works():
    fabric = hub_and_spokes(remote=False, transit=False)
    result = trace(fabric, "10.1.0.4", "10.2.0.4")
    assert not result.reachable
    assert result.code == "PeeringNotTransitive"
    assert "hub" in result.reason
    fabric.peer("spoke1", "spoke2")
    assert trace(fabric, "10.1.0.4", "10.2.0.4").reachable


def hub_nva(forwarded: bool, ip_forwarding: bool = True) -> Fabric:
    """TC-PR-8: spoke-to-spoke through an NVA in the hub with UDRs in each spoke."""
    fabric = hub_and_spokes(remote=False, transit=False)
    fabric.route_table(
        "to-spoke2", [Route("via-nva", "10.2.0.0/16", "VirtualAppliance", "10.0.2.4")]
    )
    fabric.route_table(
        "to-spoke1", [Route("via-nva", "10.1.0.0/16", "VirtualAppliance", "10.0.2.4")]
    )
    for spoke, table in (("spoke1", "to-spoke2"), ("spoke2", "to-spoke1")):
        vnet = fabric.vnets[spoke]
        subnet = vnet.subnets[0]
        fabric.set_vnet(
            vnet.__class__(
                vnet.name,
                vnet.region,
                vnet.address_prefixes,
                (subnet.__class__(subnet.name, subnet.address_prefix, None, table),),
                vnet.hosts,
            )
        )
        fabric.update_peering(spoke, f"{spoke}-to-hub", allow_forwarded_traffic=forwarded)
    if not ip_forwarding:
        hub = fabric.vnets["hub"]
        nva = hub.hosts[0]
        fabric.set_vnet(
            hub.__class__(
                hub.name,
                hub.region,
                hub.address_prefixes,
                hub.subnets,
                (nva.__class__(nva.name, nva.subnet, nva.ip),),
            )
        )
    return fabric


def test_TC_PR_8_hub_nva_transit_with_forwarded_traffic_allowed():
    result = trace(hub_nva(forwarded=True), "10.1.0.4", "10.2.0.4")
    assert result.reachable, result
    assert [h.type for h in result.hops] == [
        "Source",
        "VNetPeering",
        "VirtualAppliance",
        "VNetPeering",
        "Destination",
    ]
    # two in-region legs and one appliance traversal, per the latency model's assumptions
    assert result.latency_ms == pytest.approx(0.25 * 2 + 0.1)


def test_TC_PR_8_forwarded_packets_are_dropped_without_allow_forwarded_traffic():
    result = trace(hub_nva(forwarded=False), "10.1.0.4", "10.2.0.4")
    assert not result.reachable
    assert result.code == "ForwardedTrafficNotAllowed"
    assert result.reason.startswith("ForwardedTrafficNotAllowed: spoke2/spoke2-to-hub")


def test_appliance_without_ip_forwarding_drops_the_packets():
    result = trace(hub_nva(forwarded=True, ip_forwarding=False), "10.1.0.4", "10.2.0.4")
    assert result.code == "IpForwardingDisabled"


def test_TC_PR_4_spokes_reach_the_remote_vnet_through_the_hub_gateway():
    fabric = hub_and_spokes(transit=True)
    plane = ControlPlane(fabric)
    route = plane.routes("spoke1", "app").lookup("10.50.1.4")
    assert (route.source, route.next_hop_type) == ("VirtualNetworkGateway", "VirtualNetworkGateway")
    result = connectivity(plane, "10.1.0.4", "10.50.1.4", protocol="Tcp", port=443)
    assert result.reachable, result
    assert [h.type for h in result.hops] == [
        "Source",
        "VirtualNetworkGateway",
        "VirtualNetworkGateway",
        "Destination",
    ]
    # West Europe -> North Europe (RTT 20 ms / 2 = 10 ms, §7.2, end to end: the in-region
    # legs to and from the gateways are inside it) and two gateway traversals.
    assert result.latency_ms == pytest.approx(10 + 2 * 0.3)
    back = connectivity(plane, "10.50.1.4", "10.1.0.4", protocol="Tcp", port=443)
    assert back.reachable, back


@pytest.mark.parametrize(("hub_flag", "spoke_flag"), [(True, False), (False, True), (False, False)])
def test_gateway_transit_needs_both_sides(hub_flag, spoke_flag):
    fabric = hub_and_spokes(transit=False)
    fabric.update_peering("hub", "hub-to-spoke1", allow_gateway_transit=hub_flag)
    fabric.update_peering("spoke1", "spoke1-to-hub", use_remote_gateways=spoke_flag)
    result = trace(fabric, "10.1.0.4", "10.50.1.4")
    assert not result.reachable
    assert result.code == "GatewayTransitNotConfigured"


def test_one_sided_peering_is_unreachable_with_the_state_in_the_reason():
    fabric = Fabric()
    fabric.vnet("a", "eastus", "10.0.0.0/16")
    fabric.subnet("a", "s", "10.0.0.0/24")
    fabric.vnet("b", "eastus", "10.1.0.0/16")
    fabric.subnet("b", "s", "10.1.0.0/24")
    fabric.peer_one_side("a", "b")
    result = trace(fabric, "10.0.0.4", "10.1.0.4")
    assert result.code == "PeeringNotConnected"
    assert "Initiated" in result.reason


def test_TC_PR_7_peering_wins_over_a_parallel_vpn_connection():
    fabric = hub_and_spokes(transit=False)
    fabric.peer("hub", "dr")
    result = trace(fabric, "10.0.2.4", "10.50.1.4")
    assert [h.type for h in result.hops] == ["Source", "VNetGlobalPeering", "Destination"]


def test_vpn_connection_with_mismatched_keys_explains_itself():
    fabric = hub_and_spokes()
    del fabric.connections["dr-gw-to-hub-gw"]
    fabric.connect_one_side("dr-gw-to-hub-gw", "dr-gw", "hub-gw", shared_key="typo")
    result = trace(fabric, "10.0.2.4", "10.50.1.4")
    assert result.reason == "VpnConnectionNotConnected: hub-gw-to-dr-gw (SharedKeyMismatch)"


def test_TC_CT_1_outbound_rule_blocks_and_the_hop_carries_the_issue():
    fabric = hub_and_spokes(remote=False)
    fabric.nsg(
        "vm-nsg",
        [
            SecurityRule(
                "UserRule_Port80", 100, "Outbound", "Deny", "Tcp", destination_port_ranges="80"
            )
        ],
    )
    vnet = fabric.vnets["spoke1"]
    host = vnet.hosts[0]
    fabric.set_vnet(
        vnet.__class__(
            vnet.name,
            vnet.region,
            vnet.address_prefixes,
            vnet.subnets,
            (host.__class__(host.name, host.subnet, host.ip, "vm-nsg"),),
        )
    )
    result = trace(fabric, "10.1.0.4", "10.0.2.4", port=80)
    assert result.connection_status == "Unreachable"
    assert result.latency_ms is None
    assert result.reason == "DeniedByNsg: vm-nsg/UserRule_Port80"
    issue = result.to_json()["hops"][0]["issues"][0]
    assert issue["origin"] == "Outbound"
    assert issue["type"] == "NetworkSecurityRule"
    assert issue["context"]["RuleName"] == "UserRule_Port80"
    assert trace(fabric, "10.1.0.4", "10.0.2.4", port=443).reachable


def test_inbound_nsg_at_the_destination_decides():
    fabric = hub_and_spokes(remote=False)
    fabric.nsg(
        "lock",
        [SecurityRule("no-ssh", 100, "Inbound", "Deny", "Tcp", destination_port_ranges="22")],
    )
    vnet = fabric.vnets["hub"]
    fabric.set_vnet(
        vnet.__class__(
            vnet.name,
            vnet.region,
            vnet.address_prefixes,
            tuple(
                s.__class__(s.name, s.address_prefix, "lock" if s.name == "fw" else None)
                for s in vnet.subnets
            ),
            vnet.hosts,
        )
    )
    result = trace(fabric, "10.1.0.4", "10.0.2.4", port=22)
    assert result.reason == "DeniedByNsg: lock/no-ssh"
    assert result.hops[-1].issues[0].origin == "Inbound"


def test_routing_loop_between_two_appliances_is_detected():
    fabric = Fabric()
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    fabric.route_table("to-b", [Route("r", "10.9.0.0/16", "VirtualAppliance", "10.0.2.4")])
    fabric.route_table("to-a", [Route("r", "10.9.0.0/16", "VirtualAppliance", "10.0.1.4")])
    fabric.subnet("v", "a", "10.0.1.0/24", route_table="to-b")
    fabric.subnet("v", "b", "10.0.2.0/24", route_table="to-a")
    fabric.host("v", "nva-a", "a", "10.0.1.4", enable_ip_forwarding=True)
    fabric.host("v", "nva-b", "b", "10.0.2.4", enable_ip_forwarding=True)
    result = trace(fabric, "10.0.1.9", "10.9.0.1")
    assert result.code == "RoutingLoop"
    # The guard sees the packet come back to a place it left (not the hop limit running out),
    # and the walk stops within one round of the loop.
    assert "returned to" in result.reason, result.reason
    path = resolve(ControlPlane(fabric), "10.0.1.9", "10.9.0.1")
    assert len(path.steps) < 10, path.steps


def test_routing_example_drops_and_internet_egress_through_the_nva():
    plane = ControlPlane(routing_example())
    dropped = connectivity(plane, "10.0.0.4", "10.1.0.4", protocol="Tcp", port=443)
    assert dropped.code == "NextHopNone"
    assert dropped.hops[0].issues[0].context["Route"] == "ToVNet2-1-Drop"
    out = connectivity(plane, "10.0.0.4", "8.8.8.8", protocol="Tcp", port=443)
    assert out.reachable
    assert [h.type for h in out.hops] == ["Source", "VirtualAppliance", "Internet"]


def test_questions_that_cannot_be_asked_are_clear_errors():
    plane = ControlPlane(hub_and_spokes())
    with pytest.raises(QuestionError, match="in no subnet"):
        connectivity(plane, "10.99.0.4", "10.1.0.4")
    with pytest.raises(QuestionError, match="did you mean 'Tcp'"):
        connectivity(plane, "10.1.0.4", "10.2.0.4", protocol="tcpp", port=80)


def test_allow_virtual_network_access_switch_blocks_the_peering_outright():
    fabric = hub_and_spokes(remote=False)
    fabric.update_peering("hub", "hub-to-spoke1", allow_virtual_network_access=False)
    assert trace(fabric, "10.1.0.4", "10.0.2.4").reachable  # documented: only the tag changes
    blocked = trace(fabric, "10.1.0.4", "10.0.2.4", block_peering_without_vnet_access=True)
    assert blocked.code == "PeeringAccessBlocked"


def test_cli_diagnostics_shapes_and_exit_codes(tmp_path, capsys):
    path = tmp_path / "hub.yaml"
    path.write_text(to_yaml(NativeDocument(hub_and_spokes(transit=False))))
    assert (
        main(["connectivity", str(path), "--src", "10.1.0.4", "--dst", "10.2.0.4", "--json"]) == 1
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"connection_status", "hops", "reason", "latency_ms"}
    assert out["connection_status"] == "Unreachable"
    assert {"type", "name", "address", "issues"} <= set(out["hops"][0])  # + "encryption"

    assert main(["next-hop", str(path), "--src", "10.1.0.4", "--dst", "10.0.2.4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "next_hop_type": "VNetPeering",
        "next_hop_ip_address": None,
        "route_table": "System Route",
        "address_prefix": "10.0.0.0/16",
    }

    args = [
        "ip-flow",
        str(path),
        "--src",
        "10.1.0.4",
        "--dst",
        "10.2.0.4",
        "--protocol",
        "Tcp",
        "--port",
        "80",
        "--direction",
        "Outbound",
        "--json",
    ]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == {
        "access": "Allow",
        "rule_name": None,
        "nsg": None,
    }

    assert main(["routes", str(path), "--vnet", "spoke1", "--subnet", "app", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"source", "state", "address_prefixes", "next_hop_type", "next_hop_ip_address"} <= set(
        rows[0]
    )

    assert main(["routes", str(path), "--vnet", "spoke9", "--subnet", "app"]) == 2
    assert "did you mean 'spoke" in capsys.readouterr().err
    assert main(["connectivity", str(path), "--src", "10.77.0.1", "--dst", "10.2.0.4"]) == 2
    assert "in no subnet" in capsys.readouterr().err


def test_a_trace_says_why_its_latency_is_unknown():
    """No published round trip between two regions (§7.2): the latency stays unknown (null in
    JSON), and the text says which pair and how to supply it; a path to the internet leaves
    the model."""
    fabric = Fabric()
    fabric.vnet("a", "brazilsouth", "10.1.0.0/16")
    fabric.subnet("a", "s", "10.1.1.0/24")
    fabric.vnet("b", "uaenorth", "10.2.0.0/16")
    fabric.subnet("b", "s", "10.2.1.0/24")
    fabric.peer("a", "b")
    result = trace(fabric, "10.1.1.4", "10.2.1.4")
    assert result.reachable
    assert result.latency_ms is None
    assert "between brazilsouth and uaenorth" in str(result)
    assert "region_rtt_ms" in str(result)
    out = trace(fabric, "10.1.1.4", "8.8.8.8")
    assert out.reachable
    assert "outside the model" in str(out)
    known = trace(hub_and_spokes(remote=False), "10.1.0.4", "10.0.2.4")
    assert known.reachable
    assert known.latency_ms is not None
    assert known.path.latency_gap is None
    assert "latency unknown" not in str(known)
