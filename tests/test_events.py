"""Timed events during a run: failures, repairs and changes, from the documented behaviour.

Facts (azure-facts.md): N2.1 (active-standby: planned maintenance restored in 10-15 s, an
unplanned failure in up to 1-3 min), N2.2 (active-active: only the instance's tunnels drop, the
Azure side switches), N1.8 (BGP hold 180 s), §2.2 (deleting one side of a peering leaves the
other Disconnected), §2.7 (new routes take a little time), §5.3 (a rule change affects only
new connections). Runs are short and slow (10 packets a second); parameters are overridden
here only where a test needs a shorter wait than the documented default.
"""

from __future__ import annotations

import json

import attrs
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import fabric
from fabric.catalogue.latency import LatencyModel
from fabric.cli import main
from fabric.control.plane import ControlPlane
from fabric.io import InputError, load_topology
from fabric.io.native import dump_native
from fabric.model import Fabric, Route, SecurityRule
from fabric.model.events import ACTIONS, Event, event_problems, without_circuit_routes
from fabric.scenarios import path as scenario_path
from fabric.sim.dataplane import CONGESTION_CODES
from fabric.sim.events import HANDLERS
from fabric.sim.plans import SimulationError
from fabric.sim.runs import simulate
from fabric.watcher import connectivity

INTERVAL_S = 0.1  # the probes below send 10 packets a second
ZONE_SKU = {"sku": "VpnGw2AZ", "generation": "Generation2"}


def vpn_pair(active_active: bool = False) -> Fabric:
    """hub and dr in West Europe, joined by a VNet-to-VNet VPN; one VM in each."""
    net = Fabric()
    for i, name in enumerate(("hub", "dr")):
        net.vnet(name, "westeurope", f"10.{i}.0.0/16")
        net.subnet(name, "GatewaySubnet", f"10.{i}.255.0/27")
        net.subnet(name, "app", f"10.{i}.1.0/24")
        net.host(name, f"{name}-vm", "app", f"10.{i}.1.4", bandwidth_mbps=10)
        net.gateway(f"{name}-gw", name, active_active=active_active, **ZONE_SKU)
    net.connect("hub-gw", "dr-gw", shared_key="k")
    return net


def peered() -> Fabric:
    """hub and spoke, peered both ways; one VM in each."""
    net = Fabric()
    for i, name in enumerate(("hub", "spoke")):
        net.vnet(name, "westeurope", f"10.{i}.0.0/16")
        net.subnet(name, "app", f"10.{i}.1.0/24")
        net.host(name, f"{name}-vm", "app", f"10.{i}.1.4")
    net.peer("hub", "spoke")
    return net


def probe(name: str, src: str, dst: str, duration_s: float, start_s: float = 0.0) -> dict:
    """A UDP probe of 10 packets of 1,000 bytes a second."""
    return {
        "name": name,
        "src": src,
        "dst": dst,
        "protocol": "Udp",
        "rate_mbps": 0.08,
        "packet_bytes": 1000,
        "start_s": start_s,
        "duration_s": duration_s,
    }


def down(target: str, at_s: float, instance: int = 0, kind: str = "planned") -> dict:
    return {
        "at_s": at_s,
        "action": "gateway_instance_down",
        "target": target,
        "instance": instance,
        "kind": kind,
    }


def conserved(result) -> None:
    """Every packet ends delivered or dropped with a code."""
    for flow in result.flows:
        assert flow.sent == flow.delivered + flow.dropped, flow.name
        assert all(code for code in flow.drop_reasons)


# -- the vocabulary and its checks ------------------------------------------------------------


def test_every_action_has_exactly_one_handler():
    assert set(HANDLERS) == set(ACTIONS)


def problems_of(events: list[dict], net: Fabric | None = None, horizon_s: float = 30.0):
    records = [Event.from_mapping(e) for e in events]
    return [(i, key, message) for i, key, message in event_problems(
        records, net or vpn_pair(), horizon_s
    )]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "key", "expected"),
    [
        ({"action": "gateway_instance_dwn", "target": "hub-gw"}, "action",
         "'gateway_instance_down'"),
        ({"action": "gateway_instance_down", "target": "hub-gwx", "instance": 0}, "target",
         "did you mean 'hub-gw'"),
        ({"action": "gateway_instance_down", "target": "hub-gw", "instance": 2}, "instance",
         "two, 0 and 1 (N2.3)"),
        ({"action": "gateway_instance_down", "target": "hub-gw"}, "instance", "needs instance"),
        ({"action": "tunnel_down", "target": "hub-gw-to-dr-gw", "instance": 1}, "instance",
         "does not apply to tunnel_down"),
        ({"action": "tunnel_down", "target": "hub-to-dr"}, "target", "connection 'hub-to-dr'"),
        ({"action": "vm_down", "target": "hub-vn"}, "target", "did you mean 'hub-vm'"),
        ({"action": "route_change", "target": "nope"}, "target", "route table 'nope'"),
    ],
)  # fmt: skip
def test_a_bad_event_is_named_with_the_nearest_valid_value(event, key, expected):
    found = problems_of([{"at_s": 1, **event}])
    assert [(k, expected in m) for _, k, m in found] == [(key, True)], found


def test_an_event_outside_the_run_is_refused():
    found = problems_of([{"at_s": 30, "action": "vm_down", "target": "hub-vm"}], horizon_s=30)
    assert found[0][1] == "at_s"
    assert "outside the run (from 0 to 30 s)" in found[0][2]
    assert problems_of([{"at_s": -1, "action": "vm_down", "target": "hub-vm"}])[0][1] == "at_s"


def test_changes_are_checked_against_the_configuration_at_their_time():
    net = peered()
    net.route_table("rt", [Route("blackhole", "10.9.0.0/16", "None")])
    events = [
        {"at_s": 1, "action": "peering_delete", "target": "spoke/spoke-to-hub"},
        {"at_s": 3, "action": "peering_delete", "target": "spoke/spoke-to-hub"},
        {"at_s": 4, "action": "peering_create", "target": "spoke/spoke-to-hub"},  # as declared
        {"at_s": 5, "action": "peering_create", "target": "spoke/other"},
        {"at_s": 2, "action": "route_change", "target": "rt", "remove": "blackhole"},
        {"at_s": 6, "action": "route_change", "target": "rt", "remove": "blackhole"},
        {"at_s": 7, "action": "route_change", "target": "rt"},
    ]
    found = {i: (key, message) for i, key, message in problems_of(events, net)}
    assert set(found) == {1, 3, 5, 6}
    assert "does not exist at 3 s" in found[1][1]
    assert "not declared in the topology" in found[3][1]
    assert "no route 'blackhole' at 6 s" in found[5][1]
    assert "either route" in found[6][1]


def test_the_native_loader_reports_every_event_problem_with_its_line(tmp_path):
    text = (tmp_path / "base.yaml").write_text(
        """
vnets:
  - {name: hub, region: westeurope, address_prefixes: [10.0.0.0/16],
     subnets: [{name: app, address_prefix: 10.0.1.0/24}],
     hosts: [{name: hub-vm, subnet: app, ip: 10.0.1.4}]}
traffic:
  - {name: f, src: hub-vm, dst: hub-vm, duration_s: 5}
events:
  - {at_s: 1, action: vm_dwn, target: hub-vm}
  - {at_s: 9, action: vm_down, target: hub-vm}
  - {at_s: 2, action: vm_down, target: hub-vn}
  - {at_s: 2, action: vm_down, target: hub-vm, instance: 0}
  - {at_s: 2, action: vm_down, target: hub-vm, colour: red}
"""
    )
    del text
    with pytest.raises(InputError) as caught:
        load_topology(tmp_path / "base.yaml")
    rendered = caught.value.render()
    for expected in (
        "base.yaml:9: events[0].action: unknown action 'vm_dwn'; did you mean 'vm_down'?",
        "base.yaml:10: events[1].at_s: at_s 9 is outside the run (from 0 to 5 s)",
        "base.yaml:11: events[2].target: VM or host 'hub-vn' is not declared (did you mean",
        "base.yaml:12: events[3].instance: instance does not apply to vm_down",
        "base.yaml:13: events[4].colour: unknown key 'colour'",
    ):
        assert expected in rendered, rendered


def test_recovery_parameters_are_named_assumptions_with_checked_ranges():
    names = {row["name"] for row in LatencyModel().assumptions()}
    assert {
        "active_standby_planned_min_s",
        "active_standby_planned_max_s",
        "active_standby_unplanned_min_s",
        "active_standby_unplanned_max_s",
        "active_active_failover_s",
        "bgp_hold_time_s",
        "bfd_detection_s",
        "route_propagation_delay_s",
    } <= names
    model = LatencyModel()
    assert (model.active_standby_planned_min_s, model.active_standby_planned_max_s) == (10, 15)
    assert (model.active_standby_unplanned_min_s, model.active_standby_unplanned_max_s) == (60, 180)
    assert (model.bgp_hold_time_s, model.bfd_detection_s) == (180, 0.9)
    assert LatencyModel.problems({"active_standby_planned_max_s": 5})[0][1].startswith(
        "active_standby_planned_min_s (10) must not exceed"
    )
    assert LatencyModel.problems({"route_propagation_delay_s": -1})


# -- gateways (N2.1, N2.2) -------------------------------------------------------------------


def test_planned_maintenance_of_the_active_instance_costs_10_to_15_seconds():
    result = simulate(
        vpn_pair(), [probe("p", "hub-vm", "dr-vm", 30)], events=[down("hub-gw", 5)], seed=4
    )
    conserved(result)
    (event,) = result.events
    assert 10 <= event.outage_s <= 15
    (outage,) = result.flow("p").outages
    assert outage.drop_reasons.keys() == {"GatewayFailover"}
    assert outage.start_s == pytest.approx(5, abs=INTERVAL_S)
    assert outage.duration_s == pytest.approx(event.outage_s, abs=INTERVAL_S)
    assert event.packets_lost == outage.packets_lost == result.flow("p").dropped


def test_the_reverse_direction_of_the_tunnel_stops_too():
    traffic = [probe("out", "hub-vm", "dr-vm", 30), probe("back", "dr-vm", "hub-vm", 30)]
    result = simulate(vpn_pair(), traffic, events=[down("hub-gw", 5)], seed=4)
    gap = [result.flow(name).outages[0].duration_s for name in ("out", "back")]
    assert gap[0] == pytest.approx(gap[1], abs=INTERVAL_S)


def test_the_standby_going_down_costs_nothing_but_then_the_gateway_waits_for_an_instance():
    events = [down("hub-gw", 2, instance=1), down("hub-gw", 4, instance=0)]
    events.append({"at_s": 20, "action": "gateway_instance_up", "target": "hub-gw", "instance": 1})
    result = simulate(vpn_pair(), [probe("p", "hub-vm", "dr-vm", 25)], events=events, seed=1)
    conserved(result)
    (outage,) = result.flow("p").outages
    assert outage.start_s == pytest.approx(4, abs=INTERVAL_S)
    assert outage.end_s == pytest.approx(20, abs=INTERVAL_S)  # not before an instance returns
    assert "no interruption" in result.events[0].effects[0][1]


def test_the_draw_of_an_outage_is_deterministic_per_seed():
    def drawn(seed: int) -> float:
        run = simulate(vpn_pair(), [probe("p", "hub-vm", "dr-vm", 2)],
                       events=[down("hub-gw", 1)], seed=seed)  # fmt: skip
        return run.events[0].outage_s

    assert drawn(7) == drawn(7)
    assert len({drawn(seed) for seed in range(5)}) == 5


def test_an_unplanned_failure_draws_from_one_to_three_minutes_and_outlasts_a_short_run():
    result = simulate(
        vpn_pair(),
        [probe("p", "hub-vm", "dr-vm", 10)],
        events=[down("hub-gw", 2, kind="unplanned")],
    )
    (event,) = result.events
    assert 60 <= event.outage_s <= 180
    assert "after the end of the run" in event.effects[-1][1]
    (outage,) = result.flow("p").outages
    assert outage.end_s is None  # never recovered within the run
    assert outage.packets_lost == pytest.approx(80, abs=1)


@pytest.mark.parametrize("failover_s", [None, 2.0])
def test_active_active_loses_only_the_detection_time(failover_s):
    parameters = {} if failover_s is None else {"active_active_failover_s": failover_s}
    result = simulate(
        vpn_pair(active_active=True),
        [probe("p", "hub-vm", "dr-vm", 20)],
        events=[down("hub-gw", 5)],
        parameters=parameters,
    )
    conserved(result)
    (outage,) = result.flow("p").outages
    expected = failover_s or LatencyModel().active_active_failover_s
    assert outage.duration_s == pytest.approx(expected, abs=INTERVAL_S)
    assert outage.drop_reasons.keys() == {"GatewayInstanceDown"}
    assert "moved to instance 1" in result.events[0].effects[-1][1]


def test_tcp_resumes_at_a_retransmission_after_the_takeover():
    traffic = [
        probe("udp", "hub-vm", "dr-vm", 40),
        {"name": "tcp", "src": "hub-vm", "dst": "dr-vm", "protocol": "Tcp", "pattern": "tcp",
         "destination_port": 5201, "duration_s": 40},
    ]  # fmt: skip
    net = vpn_pair()
    for name in ("hub", "dr"):  # a slow VM keeps the TCP run short
        vnet = net.vnets[name]
        net.set_vnet(attrs.evolve(vnet, hosts=tuple(
            attrs.evolve(h, bandwidth_mbps=0.5) for h in vnet.hosts)))  # fmt: skip
    result = simulate(net, traffic, events=[down("hub-gw", 5)], seed=2)
    conserved(result)
    takeover = 5 + result.events[0].outage_s
    (udp,) = result.flow("udp").outages
    (tcp,) = result.flow("tcp").outages
    assert udp.end_s == pytest.approx(takeover, abs=INTERVAL_S)
    assert tcp.end_s >= takeover  # the first retry after the takeover
    assert tcp.packets_lost < udp.packets_lost  # it backs off instead of sending into the void
    after = result.flow("tcp").goodput_mbps(tcp.end_s + 2, 40)
    assert after > 0.3  # and back to speed


# -- tunnels and BGP (N1.8) -------------------------------------------------------------------


def test_a_static_tunnel_down_loses_traffic_until_it_is_back():
    events = [
        {"at_s": 2, "action": "tunnel_down", "target": "hub-gw-to-dr-gw"},
        {"at_s": 6, "action": "tunnel_up", "target": "dr-gw-to-hub-gw"},
    ]
    traffic = [probe("out", "hub-vm", "dr-vm", 10), probe("back", "dr-vm", "hub-vm", 10)]
    result = simulate(vpn_pair(), traffic, events=events)
    conserved(result)
    for name in ("out", "back"):
        (outage,) = result.flow(name).outages
        assert (outage.start_s, outage.end_s) == pytest.approx((2, 6), abs=INTERVAL_S)
        assert outage.drop_reasons.keys() == {"TunnelDown"}
    assert "static routes stay" in result.events[0].effects[-1][1]


def bgp_triangle() -> Fabric:
    """hub, dr and mid with BGP on every VNet-to-VNet connection: dr is also reachable through
    mid (§3.9: transit across gateways needs BGP on every hop)."""
    net = Fabric()
    for i, name in enumerate(("hub", "dr", "mid")):
        net.vnet(name, "westeurope", f"10.{i}.0.0/16")
        net.subnet(name, "GatewaySubnet", f"10.{i}.255.0/27")
        net.subnet(name, "app", f"10.{i}.1.0/24")
        net.host(name, f"{name}-vm", "app", f"10.{i}.1.4")
        net.gateway(f"{name}-gw", name, enable_bgp=True, bgp_asn=65001 + i, **ZONE_SKU)
    for a, b in (("hub", "dr"), ("hub", "mid"), ("mid", "dr")):
        net.connect(f"{a}-gw", f"{b}-gw", shared_key="k", enable_bgp=True)
    return net


def test_bgp_withdraws_a_dead_tunnels_routes_after_the_hold_timer_and_relearns_them():
    events = [
        {"at_s": 2, "action": "tunnel_down", "target": "hub-gw-to-dr-gw"},
        {"at_s": 7, "action": "tunnel_up", "target": "hub-gw-to-dr-gw"},
    ]
    result = simulate(
        bgp_triangle(),
        [probe("p", "hub-vm", "dr-vm", 12)],
        events=events,
        parameters={"bgp_hold_time_s": 3, "route_propagation_delay_s": 1},
    )
    conserved(result)
    (outage,) = result.flow("p").outages
    assert (outage.start_s, outage.end_s) == pytest.approx((2, 5), abs=INTERVAL_S)  # via mid
    tunnels = {e.name: e.packets for e in result.elements}
    assert tunnels["tunnel/hub-gw-to-mid-gw"] == pytest.approx(30, abs=1)  # 5 s to 8 s
    assert tunnels["tunnel/hub-gw-to-dr-gw"] == pytest.approx(60, abs=1)  # before 2, after 8 s
    assert result.flow("p").reachable


def test_the_documented_hold_timer_keeps_traffic_lost_for_three_minutes():
    result = simulate(
        bgp_triangle(),
        [probe("p", "hub-vm", "dr-vm", 10)],
        events=[{"at_s": 2, "action": "tunnel_down", "target": "hub-gw-to-dr-gw"}],
    )
    assert "BGP hold timer's expiry would come at 182.000 s" in result.events[0].effects[-1][1]
    assert result.flow("p").outages[0].end_s is None


# -- ExpressRoute circuits (N1.8) --------------------------------------------------------------

ON_PREMISES = "172.20.1.10"  # in 172.20.0.0/16, which the circuit and the VPN both offer


def er_with_vpn_backup(*, vpn: bool = True, **circuit) -> Fabric:
    """scenarios/expressroute_primary_vpn_backup.yaml: a hub reaches on-premises 172.20.0.0/16
    over circuit er-ams (preferred, N1.7) and over a site-to-site VPN; the spoke uses both
    through gateway transit. ``circuit``: changes to the circuit; ``vpn=False``: no backup."""
    net = load_topology(scenario_path("expressroute_primary_vpn_backup")).fabric
    net.express_route_circuits["er-ams"] = attrs.evolve(
        net.express_route_circuits["er-ams"], **circuit
    )
    if not vpn:
        del net.connections["hub-vpn-to-branch"]
    return net


def link(action: str, at_s: float, target: str = "er-ams") -> dict:
    return {"at_s": at_s, "action": f"circuit_link_{action}", "target": target}


def test_a_circuit_failure_costs_bfd_detection_and_propagation_then_the_vpn_carries_it():
    """N1.8: BFD (on by default on private peering) detects the loss in 300 ms x 3; the
    withdrawn routes leave the NICs after the propagation delay; the VPN's route for the same
    prefix then carries the traffic ("a few seconds (less than 10)" in Microsoft's lab)."""
    model = LatencyModel()
    result = simulate(
        er_with_vpn_backup(),
        [probe("p", "spoke-vm", ON_PREMISES, 30)],
        events=[link("down", 5), link("up", 20)],
    )
    conserved(result)
    flow = result.flow("p")
    (outage,) = flow.outages
    switch_s = model.bfd_detection_s + model.route_propagation_delay_s
    assert switch_s < 10
    assert outage.start_s == pytest.approx(5, abs=INTERVAL_S)
    assert outage.duration_s == pytest.approx(switch_s, abs=INTERVAL_S)
    assert outage.drop_reasons.keys() == {"CircuitDown"}
    assert result.events[0].packets_lost == flow.dropped
    assert (
        "over VPN connection hub-vpn-to-branch (was circuit er-ams)"
        in (result.events[0].effects[-1][1])
    )
    # Back on the circuit once its routes return (20 s + propagation), without loss.
    back_s = 20 + model.route_propagation_delay_s
    assert "p now over circuit er-ams" in result.events[1].effects[-1][1]
    loads = {e.name: e.packets for e in result.elements}
    over_vpn = (back_s - 5 - switch_s) / INTERVAL_S
    assert loads["tunnel/hub-vpn-to-branch"] == pytest.approx(over_vpn, abs=1)
    assert loads["circuit/er-ams/out"] == pytest.approx(flow.sent - over_vpn, abs=1)


def test_after_the_withdrawal_the_trace_goes_over_the_vpn():
    net = er_with_vpn_backup()

    def gateways(fabric: Fabric) -> list[str]:
        trace = connectivity(ControlPlane(fabric), "spoke-vm", ON_PREMISES)
        assert trace.reachable
        return [h.name for h in trace.hops if h.type == "VirtualNetworkGateway"]

    assert gateways(net) == ["hub-er"]
    assert gateways(without_circuit_routes(net, "er-ams")) == ["hub-vpn"]


def test_without_bfd_only_the_bgp_hold_timer_notices():
    result = simulate(
        er_with_vpn_backup(bfd=False),
        [probe("p", "spoke-vm", ON_PREMISES, 12)],
        events=[link("down", 2)],
        parameters={"bgp_hold_time_s": 3, "route_propagation_delay_s": 1},
    )
    conserved(result)
    (outage,) = result.flow("p").outages
    assert (outage.start_s, outage.end_s) == pytest.approx((2, 6), abs=INTERVAL_S)
    assert (
        "the BGP hold timer (3 s, bgp_hold_time_s, N1.8; bfd: false)"
        in (result.events[0].effects[1][1])
    )


def test_the_documented_hold_timer_outlasts_a_short_run():
    result = simulate(
        er_with_vpn_backup(bfd=False),
        [probe("p", "spoke-vm", ON_PREMISES, 10)],
        events=[link("down", 2)],
    )
    assert "would come at 182.000 s" in result.events[0].effects[-1][1]
    assert result.flow("p").outages[0].end_s is None


def test_a_link_back_before_bfd_notices_keeps_the_routes():
    result = simulate(
        er_with_vpn_backup(),
        [probe("p", "spoke-vm", ON_PREMISES, 5)],
        events=[link("down", 2), link("up", 2.5)],
    )
    conserved(result)
    (outage,) = result.flow("p").outages
    assert (outage.start_s, outage.end_s) == pytest.approx((2, 2.5), abs=INTERVAL_S)
    assert "before its loss was detected" in result.events[1].effects[-1][1]
    assert "tunnel/hub-vpn-to-branch" not in {e.name for e in result.elements}


def test_without_a_backup_the_prefix_is_gone_and_the_loss_stays_with_the_event():
    result = simulate(
        er_with_vpn_backup(vpn=False),
        [probe("p", "spoke-vm", ON_PREMISES, 10)],
        events=[link("down", 2)],
        parameters={"route_propagation_delay_s": 1},
    )
    conserved(result)
    flow = result.flow("p")
    (outage,) = flow.outages
    assert outage.end_s is None
    assert flow.drop_reasons["CircuitDown"] == pytest.approx(19, abs=1)  # 2 s to 3.9 s
    assert set(flow.drop_reasons) == {"CircuitDown", "NextHopNone"}  # 172.16.0.0/12: None
    assert result.events[0].packets_lost == flow.dropped


def test_a_second_circuit_for_the_same_prefix_takes_over():
    net = er_with_vpn_backup(vpn=False)
    net.express_route_circuit(
        "er-fra", "Frankfurt", 1000, on_premises_prefixes=["172.20.0.0/16"], peer_asn=65050
    )
    net.connect_circuit("hub-er-to-fra", "hub-er", "er-fra")
    net.connections["hub-er-to-ams"] = attrs.evolve(
        net.connections["hub-er-to-ams"], routing_weight=100
    )  # the preferred circuit (N1.7: higher weight wins)
    result = simulate(net, [probe("p", "spoke-vm", ON_PREMISES, 10)], events=[link("down", 2)])
    conserved(result)
    (outage,) = result.flow("p").outages
    model = LatencyModel()
    expected = model.bfd_detection_s + model.route_propagation_delay_s
    assert outage.duration_s == pytest.approx(expected, abs=INTERVAL_S)
    assert "p now over circuit er-fra (was circuit er-ams)" in result.events[0].effects[-1][1]


def test_the_hairpin_between_vnets_on_the_circuit_does_not_cross_the_failed_link():
    """The MSEE relays between the VNets linked to the circuit (N1.6); the link that fails
    joins it to on-premises, so only on-premises traffic is lost."""
    net = Fabric()
    for name, octet in (("a", 10), ("b", 20)):
        net.vnet(name, "westeurope", f"10.{octet}.0.0/16")
        net.subnet(name, "GatewaySubnet", f"10.{octet}.255.0/27")
        net.subnet(name, "app", f"10.{octet}.1.0/24")
        net.host(name, f"{name}-vm", "app", f"10.{octet}.1.4")
        net.express_route_gateway(f"{name}-er", name, "ErGw1AZ", allow_remote_vnet_traffic=True)
    net.express_route_circuit("c", "Amsterdam", 1000, on_premises_prefixes=["172.20.0.0/16"])
    net.connect_circuit("a-c", "a-er", "c")
    net.connect_circuit("b-c", "b-er", "c")
    traffic = [probe("hairpin", "a-vm", "b-vm", 5), probe("out", "a-vm", ON_PREMISES, 5)]
    result = simulate(net, traffic, events=[link("down", 2, "c")])
    conserved(result)
    assert result.flow("hairpin").dropped == 0
    assert result.flow("out").outages[0].start_s == pytest.approx(2, abs=INTERVAL_S)


def test_circuit_events_are_checked_and_tunnel_down_points_to_them():
    net = er_with_vpn_backup()
    tunnel = {"at_s": 1, "action": "tunnel_down", "target": "hub-er-to-ams"}
    found = problems_of([link("down", 1, "er-amx"), tunnel], net)
    messages = {i: m for i, _, m in found}
    assert "ExpressRoute circuit 'er-amx' is not declared (did you mean 'er-ams'" in messages[0]
    assert "use circuit_link_down with target er-ams" in messages[1]
    assert problems_of([{**link("down", 1), "instance": 0}], net)[0][1] == "instance"


# -- configuration changes (§2.2, §2.7, §5.3) --------------------------------------------------


def test_a_deleted_peering_stops_traffic_both_ways_at_the_event_within_one_packet():
    traffic = [probe("there", "hub-vm", "spoke-vm", 6), probe("back", "spoke-vm", "hub-vm", 6)]
    events = [{"at_s": 3, "action": "peering_delete", "target": "spoke/spoke-to-hub"}]
    result = simulate(peered(), traffic, events=events)
    conserved(result)
    for flow in result.flows:
        sent = flow.delivered_at_ns - flow.latency_ns
        assert sent.max() / 1e9 < 3
        (outage,) = flow.outages
        assert 3 - INTERVAL_S <= outage.start_s < 3 + INTERVAL_S
        assert outage.end_s is None
        assert "is Disconnected" in flow.drop_details["PeeringNotConnected"]
    assert "hub/hub-to-spoke is now Disconnected (§2.2)" in result.events[0].effects[0][1]


def test_packets_on_a_peering_link_when_it_goes_are_lost_there():
    net = Fabric()  # across regions: 45 ms on the link, so several packets are on their way
    net.vnet("we", "westeurope", "10.0.0.0/16")
    net.subnet("we", "app", "10.0.1.0/24")
    net.host("we", "we-vm", "app", "10.0.1.4")
    net.vnet("us", "eastus", "10.1.0.0/16")
    net.subnet("us", "app", "10.1.1.0/24")
    net.host("us", "us-vm", "app", "10.1.1.4")
    net.peer("we", "us")
    traffic = [dict(probe("p", "we-vm", "us-vm", 2), rate_mbps=8)]  # 1,000 packets a second
    result = simulate(net, traffic, events=[{"at_s": 1, "action": "peering_delete",
                                            "target": "we/we-to-us"}])  # fmt: skip
    conserved(result)
    flow = result.flow("p")
    arrived = flow.delivered_at_ns.max() / 1e9
    assert arrived < 1.0 + 1e-3  # nothing in flight reached the far side after the delete
    assert result.events[0].packets_lost == flow.dropped


def test_a_route_change_takes_effect_after_the_propagation_delay():
    net = peered()
    net.route_table("hub-rt")
    net.set_vnet(attrs.evolve(net.vnets["hub"], subnets=(
        attrs.evolve(net.vnets["hub"].subnets[0], route_table="hub-rt"),)))  # fmt: skip
    events = [
        {"at_s": 2, "action": "route_change", "target": "hub-rt",
         "route": {"name": "blackhole", "address_prefix": "10.1.0.0/16", "next_hop_type": "None"}},
        {"at_s": 6, "action": "route_change", "target": "hub-rt", "remove": "blackhole"},
    ]  # fmt: skip
    result = simulate(
        net,
        [probe("p", "hub-vm", "spoke-vm", 10)],
        events=events,
        parameters={"route_propagation_delay_s": 1.5},
    )
    conserved(result)
    (outage,) = result.flow("p").outages
    assert (outage.start_s, outage.end_s) == pytest.approx((3.5, 7.5), abs=INTERVAL_S)
    assert outage.drop_reasons.keys() == {"NextHopNone"}
    assert [e.effects[-1][0] for e in result.events] == [3.5, 7.5]


def nsg_fabric() -> Fabric:
    net = peered()
    net.nsg("spoke-nsg")
    spoke = net.vnets["spoke"]
    net.set_vnet(attrs.evolve(spoke, hosts=(attrs.evolve(spoke.hosts[0], nsg="spoke-nsg"),)))
    return net


DENY_UDP = {
    "name": "deny-udp",
    "priority": 100,
    "direction": "Inbound",
    "access": "Deny",
    "protocol": "Udp",
}


def test_a_new_deny_rule_spares_existing_flows_and_stops_new_ones():
    traffic = [
        probe("existing", "hub-vm", "spoke-vm", 6),
        dict(probe("new", "hub-vm", "spoke-vm", 2, start_s=4), destination_port=444),
    ]
    events = [{"at_s": 2, "action": "nsg_rule_change", "target": "spoke-nsg", "rule": DENY_UDP}]
    result = simulate(nsg_fabric(), traffic, events=events)
    conserved(result)
    assert result.flow("existing").dropped == 0  # §5.3: existing flows continue
    assert result.flow("new").drop_reasons == {"DeniedByNsg": result.flow("new").sent}


def test_removing_a_deny_rule_lets_a_blocked_flow_through():
    net = nsg_fabric()
    net.nsgs["spoke-nsg"] = attrs.evolve(net.nsgs["spoke-nsg"], security_rules=(
        SecurityRule(**DENY_UDP),))  # fmt: skip
    events = [{"at_s": 2, "action": "nsg_rule_change", "target": "spoke-nsg", "remove": "deny-udp"}]
    result = simulate(net, [probe("p", "hub-vm", "spoke-vm", 5)], events=events)
    (outage,) = result.flow("p").outages
    assert (outage.start_s, outage.end_s) == pytest.approx((0, 2), abs=INTERVAL_S)


def test_a_route_change_through_an_appliance_meets_its_nsg_as_a_new_flow():
    """The documented decision: a flow keeps its records at NICs it already passed (§5.3);
    the appliance's NIC, new on its path, evaluates it (and here denies it)."""
    net = peered()
    net.subnet("hub", "nva", "10.0.2.0/24")
    net.nsg("nva-nsg", [SecurityRule(**DENY_UDP)])
    net.host("hub", "nva", "nva", "10.0.2.4", enable_ip_forwarding=True, nsg="nva-nsg")
    net.route_table("hub-rt")
    hub = net.vnets["hub"]
    net.set_vnet(attrs.evolve(hub, subnets=(attrs.evolve(hub.subnets[0], route_table="hub-rt"),
                                       *hub.subnets[1:])))  # fmt: skip
    route = {"name": "via-nva", "address_prefix": "10.1.0.0/16",
             "next_hop_type": "VirtualAppliance", "next_hop_ip_address": "10.0.2.4"}  # fmt: skip
    result = simulate(
        net,
        [probe("p", "hub-vm", "spoke-vm", 4)],
        events=[{"at_s": 1, "action": "route_change", "target": "hub-rt", "route": route}],
        parameters={"route_propagation_delay_s": 1},
    )
    (outage,) = result.flow("p").outages
    assert outage.start_s == pytest.approx(2, abs=INTERVAL_S)
    assert outage.drop_reasons.keys() == {"DeniedByNsg"}
    assert "nva-nsg/deny-udp" in result.flow("p").drop_details["DeniedByNsg"]


def test_a_stopped_vm_neither_receives_nor_sends_and_loses_its_queue():
    traffic = [probe("to", "hub-vm", "dr-vm", 8), probe("from", "dr-vm", "hub-vm", 8)]
    events = [
        {"at_s": 2, "action": "vm_down", "target": "dr-vm"},
        {"at_s": 5, "action": "vm_up", "target": "dr-vm"},
    ]
    result = simulate(vpn_pair(), traffic, events=events)
    conserved(result)
    for name in ("to", "from"):
        (outage,) = result.flow(name).outages
        assert (outage.start_s, outage.end_s) == pytest.approx((2, 5), abs=INTERVAL_S)
        assert outage.drop_reasons.keys() == {"VmDown"}


# -- engines, results, CLI --------------------------------------------------------------------


def test_events_need_the_event_engine_and_auto_picks_it():
    events = [{"at_s": 1, "action": "vm_down", "target": "dr-vm"}]
    traffic = [probe("p", "hub-vm", "dr-vm", 2)]
    with pytest.raises(SimulationError, match="cannot run this scenario: timed events"):
        simulate(vpn_pair(), traffic, events=events, engine="batch")
    assert simulate(vpn_pair(), traffic, events=events).engine == "events"
    assert simulate(vpn_pair(), traffic).engine == "batch"


def test_a_bad_event_through_the_python_api_is_a_clear_error():
    with pytest.raises(SimulationError, match=r"events\[0\]\.target: gateway 'hb-gw'"):
        simulate(vpn_pair(), [probe("p", "hub-vm", "dr-vm", 2)], events=[down("hb-gw", 1)])
    with pytest.raises(SimulationError, match="kind"):
        simulate(vpn_pair(), [probe("p", "hub-vm", "dr-vm", 2)],
                 events=[down("hub-gw", 1, kind="sometimes")])  # fmt: skip


def test_events_after_the_run_are_reported_as_not_reached():
    result = simulate(
        vpn_pair(), [probe("p", "hub-vm", "dr-vm", 2)], events=[down("hub-gw", 5)], duration_s=2
    )
    assert result.events[0].effects == ((5.0, "not reached: after the end of the run"),)
    assert result.flow("p").outages == ()


def test_results_json_carries_events_outages_and_timelines_only_with_events():
    traffic = [probe("p", "hub-vm", "dr-vm", 30)]
    plain = simulate(vpn_pair(), traffic, engine="events").to_json()
    assert "events" not in plain
    assert "outages" not in plain["flows"][0]
    data = simulate(vpn_pair(), traffic, events=[down("hub-gw", 5)], seed=4).to_json()
    assert set(plain) | {"events"} == set(data)  # new keys only
    assert set(plain["flows"][0]) | {"outages", "timeline"} == set(data["flows"][0])
    (event,) = data["events"]
    assert event["action"] == "gateway_instance_down"
    assert 10 <= event["outage_s"] <= 15
    flow = data["flows"][0]
    (outage,) = flow["outages"]
    assert outage["drop_reasons"] == {"GatewayFailover": outage["packets_lost"]}
    timeline = flow["timeline"]
    assert timeline["bin_s"] == 0.2
    series = timeline["throughput_mbps"]
    inside = series[round(6 / 0.2) : round(15 / 0.2)]
    assert max(inside) == 0
    assert max(series[:20]) > 0


def test_run_prints_events_and_outages_and_writes_a_deterministic_timeline(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    document = dump_native(
        vpn_pair(), ({**probe("p", "hub-vm", "dr-vm", 20)},), {"seed": 3},
        (Event.from_mapping(down("hub-gw", 5)),),
    )  # fmt: skip
    scenario.write_text(yaml.safe_dump(document))
    assert main(["run", str(scenario), "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "events:\n  gateway_instance_down hub-gw instance 0 (planned) at 5 s" in out
    assert "outages (first lost packet sent -> first packet through again sent):" in out
    assert "x GatewayFailover" in out
    assert main(["run", str(scenario), "--out", str(tmp_path / "b"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["events"][0]["target"] == "hub-gw"
    first, second = (tmp_path / d / "timeline.svg" for d in "ab")
    assert first.read_bytes() == second.read_bytes()


def test_run_refuses_a_bad_event_with_exit_2_and_its_line(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "vnets:\n"
        "  - {name: a, region: westeurope, address_prefixes: [10.0.0.0/16],\n"
        "     subnets: [{name: s, address_prefix: 10.0.1.0/24}],\n"
        "     hosts: [{name: a-vm, subnet: s, ip: 10.0.1.4},\n"
        "             {name: b-vm, subnet: s, ip: 10.0.1.5}]}\n"
        "traffic: [{name: f, src: a-vm, dst: b-vm, duration_s: 1}]\n"
        "events: [{at_s: 0.5, action: gateway_instance_down, target: gw, instance: 0}]\n"
    )  # fmt: skip
    assert main(["run", str(scenario), "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["line"] == 7
    assert "gateway 'gw' is not declared (none are declared)" in error["message"]


# -- properties --------------------------------------------------------------------------------

ACTION_TARGETS = {
    "gateway_instance_down": ["hub-gw", "dr-gw"],
    "gateway_instance_up": ["hub-gw", "dr-gw"],
    "tunnel_down": ["hub-gw-to-dr-gw", "hub-gw-to-branch"],
    "tunnel_up": ["dr-gw-to-hub-gw", "hub-gw-to-branch"],
    "circuit_link_down": ["er"],
    "circuit_link_up": ["er"],
    "vm_down": ["hub-vm", "dr-vm", "spoke-vm"],
    "vm_up": ["hub-vm", "dr-vm", "spoke-vm"],
    "peering_delete": ["hub/hub-to-spoke", "spoke/spoke-to-hub"],
    "peering_create": ["hub/hub-to-spoke", "spoke/spoke-to-hub"],
    "nsg_rule_change": ["spoke-nsg"],
    "route_change": ["hub-rt"],
}


def mixed_fabric(active_active: bool, bfd: bool = True) -> Fabric:
    """vpn_pair, a spoke peered with the hub, and on-premises 172.20.0.0/16 behind the hub
    twice: circuit ``er`` (preferred) and a site-to-site VPN from hub-gw."""
    net = vpn_pair(active_active)
    net.express_route_gateway("hub-er", "hub", "ErGw1AZ")
    net.express_route_circuit(
        "er", "Amsterdam", 1000, on_premises_prefixes=["172.20.0.0/16"], bfd=bfd
    )
    net.connect_circuit("hub-er-to-er", "hub-er", "er")
    net.local_network_gateway("branch", "172.20.0.0/16", gateway_ip_address="203.0.113.10")
    net.connect_site("hub-gw-to-branch", "hub-gw", "branch", shared_key="k")
    net.nsg("spoke-nsg")
    net.vnet("spoke", "westeurope", "10.2.0.0/16")
    net.subnet("spoke", "app", "10.2.1.0/24", nsg="spoke-nsg")
    net.host("spoke", "spoke-vm", "app", "10.2.1.4", bandwidth_mbps=10)
    net.peer("hub", "spoke")
    net.route_table("hub-rt")
    hub = net.vnets["hub"]
    subnets = tuple(
        attrs.evolve(s, route_table="hub-rt") if s.name == "app" else s for s in hub.subnets
    )
    net.set_vnet(attrs.evolve(hub, subnets=subnets))
    return net


@st.composite
def event_lists(draw):
    events = []
    for _ in range(draw(st.integers(0, 6))):
        action = draw(st.sampled_from(sorted(ACTION_TARGETS)))
        event = {
            "at_s": draw(st.floats(0, 2.9, allow_nan=False).map(lambda x: round(x, 3))),
            "action": action,
            "target": draw(st.sampled_from(ACTION_TARGETS[action])),
        }
        if action.startswith("gateway_instance"):
            event["instance"] = draw(st.integers(0, 1))
        if action == "gateway_instance_down":
            event["kind"] = draw(st.sampled_from(["planned", "unplanned"]))
        if action == "nsg_rule_change":
            event["rule"] = {**DENY_UDP, "access": draw(st.sampled_from(["Allow", "Deny"]))}
        if action == "route_change":
            hop = draw(st.sampled_from(["None", "VnetLocal", "VirtualNetworkGateway"]))
            event["route"] = {"name": "r", "address_prefix": "10.2.0.0/16", "next_hop_type": hop}
        events.append(event)
    return events


SHORT = {  # every recovery inside a 3-second run (tests only; the defaults are documented)
    "active_standby_planned_min_s": 0.2,
    "active_standby_planned_max_s": 0.5,
    "active_standby_unplanned_min_s": 0.5,
    "active_standby_unplanned_max_s": 1.0,
    "active_active_failover_s": 0.3,
    "route_propagation_delay_s": 0.2,
    "bgp_hold_time_s": 0.5,
}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    events=event_lists(),
    active_active=st.booleans(),
    bfd=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_random_event_sequences_keep_every_packet_accounted_for_and_are_deterministic(
    events, active_active, bfd, seed
):
    net = mixed_fabric(active_active, bfd)
    # Only sequences that can happen (a link is deleted once).
    assume(not event_problems([Event.from_mapping(e) for e in events], net))
    traffic = [
        dict(probe("vpn", "hub-vm", "dr-vm", 3), rate_mbps=0.8),
        dict(probe("peer", "spoke-vm", "hub-vm", 3), rate_mbps=0.8),
        dict(probe("onprem", "hub-vm", ON_PREMISES, 3), rate_mbps=0.8),
        {"name": "tcp", "src": "hub-vm", "dst": "spoke-vm", "protocol": "Tcp", "pattern": "tcp",
         "destination_port": 5201, "duration_s": 3},
        {"name": "tcp-vpn", "src": "dr-vm", "dst": "hub-vm", "protocol": "Tcp", "pattern": "tcp",
         "destination_port": 5201, "duration_s": 3, "window_packets": 4},
    ]  # fmt: skip
    first = simulate(net, traffic, events=events, seed=seed, parameters=SHORT)
    conserved(first)
    for flow in first.flows:
        lost = sum(o.packets_lost for o in flow.outages or ())
        congestion = sum(n for code, n in flow.drop_reasons.items() if code in CONGESTION_CODES)
        assert lost + congestion >= flow.dropped  # every other drop lies in an outage window
        assert lost <= flow.dropped
    assert sum(e.packets_lost for e in first.events) <= sum(f.dropped for f in first.flows)
    second = simulate(net, traffic, events=events, seed=seed, parameters=SHORT)
    assert json.dumps(first.to_json(), sort_keys=True) == json.dumps(
        second.to_json(), sort_keys=True
    )


def test_events_round_trip_through_native_yaml_and_a_sweep(tmp_path):
    net = peered()
    net.route_table("rt")
    events = tuple(
        Event.from_mapping(e)
        for e in (
            {"at_s": 1, "action": "peering_delete", "target": "spoke/spoke-to-hub"},
            {"at_s": 2, "action": "peering_create", "target": "spoke/spoke-to-hub",
             "peering": {"name": "spoke-to-hub", "from": "spoke", "to": "hub",
                         "allow_forwarded_traffic": True}},
            {"at_s": 3, "action": "route_change", "target": "rt",
             "route": {"name": "r", "address_prefix": "10.9.0.0/16", "next_hop_type": "None"}},
        )
    )  # fmt: skip
    text = yaml.safe_dump(dump_native(net, (probe("p", "hub-vm", "spoke-vm", 5),), {}, events))
    (tmp_path / "s.yaml").write_text(text)
    document = load_topology(tmp_path / "s.yaml")
    assert document.events == events
    result = fabric.sweep(document, {}, replications=2)
    assert [r["flow"] for r in result.records] == ["p", "p"]
    assert all(r["dropped"] > 0 for r in result.records)  # the events ran in the sweep too
