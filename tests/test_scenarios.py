"""Every scenario of the library runs (shortened) and its headline conclusion holds."""

from __future__ import annotations

import json

import pytest

from fabric.cli import main
from fabric.io import load_topology
from fabric.scenarios import names, path
from fabric.sim.runs import run_document
from tests.helpers import load_script


def script(name: str):
    """Import scenarios/<name>.py as a module (the same file users run)."""
    return load_script("scenarios", name)


@pytest.mark.parametrize("name", ["peering_vs_vpn_same_region", "peering_vs_vpn_cross_region"])
def test_peering_vs_vpn_vpn_latency_is_higher_and_tcp_is_capped(name):
    result = run_document(load_topology(path(name)), duration_s=1.2)
    peering, vpn = result.flow("peering-udp"), result.flow("vpn-udp")
    assert vpn.latency_ms()["mean"] > peering.latency_ms()["mean"]
    assert peering.delivered == peering.sent
    assert vpn.delivered == vpn.sent
    # VPN adds two gateway traversals (0.3 ms each, an assumption) on top of the same legs.
    gap = vpn.latency_ms()["p50"] - peering.latency_ms()["p50"]
    assert 0.6 < gap < 2.0
    if "cross" in name:  # §7.2: West Europe -> East US round trip 90 ms, 45 ms one way
        assert peering.latency_ms()["p50"] == pytest.approx(45.0, abs=0.01)


def test_sku_ladder_plateaus_at_the_cap_minus_encapsulation():
    ladder = script("sku_ladder")
    records = ladder.ladder([("VpnGw1", 1), ("Basic", 1)], loads=(0.5, 2.0), duration_s=0.05)
    by_key = {(r["sku"], r["load"]): r for r in records}
    top = by_key[("VpnGw1", 2.0)]
    assert top["delivered_mbps"] == pytest.approx(top["cap_goodput_mbps"], rel=0.05)
    assert top["dropped"] > 0
    assert by_key[("VpnGw1", 0.5)]["dropped"] == 0
    assert top["latency_mean_ms"] > by_key[("VpnGw1", 0.5)]["latency_mean_ms"]
    assert by_key[("Basic", 2.0)]["delivered_mbps"] == pytest.approx(100 * 1400 / 1454, rel=0.05)


def test_hub_spoke_transit_matrix():
    rows = {(r["src"], r["dst"]): r for r in script("hub_spoke_transit").matrix()}
    assert rows[("vm1", "dr-vm")]["status"] == "Reachable"
    assert rows[("dr-vm", "vm2")]["status"] == "Reachable"
    assert rows[("vm1", "vm2")]["code"] == "PeeringNotTransitive"
    assert rows[("vm3", "dr-vm")]["code"] == "GatewayTransitNotConfigured"
    assert rows[("dr-vm", "vm3")]["code"] == "GatewayTransitNotConfigured"


def test_hub_spoke_firewall_allows_https_caps_one_connection_and_denies_ssh():
    result = run_document(load_topology(path("hub_spoke_firewall")), duration_s=0.3)
    https, ssh = result.flow("https-bulk"), result.flow("ssh")
    assert 1300 < https.steady_mbps <= 1500  # Standard's single-connection figure (N11.1)
    assert set(ssh.drop_reasons) == {"DeniedByFirewall"}
    assert ssh.delivered == 0


def test_hub_spoke_nva_adds_latency_and_breaks_without_forwarding():
    rows = {(r["variant"], r["flow"]): r for r in script("hub_spoke_nva").run(duration_s=0.05)}
    via_nva = rows[("as designed", "spoke1-to-spoke2")]
    direct = rows[("as designed", "spoke1-to-hub")]
    assert via_nva["delivered"] == via_nva["sent"]
    assert via_nva["latency_ms"] > direct["latency_ms"] + 0.3  # one more leg and the NVA
    assert rows[("NVA without IP forwarding", "spoke1-to-spoke2")]["delivered"] == 0
    assert rows[("NVA without IP forwarding", "spoke1-to-spoke2")]["code"] == "IpForwardingDisabled"
    blocked = rows[("spoke2 link blocks forwarded traffic", "spoke1-to-spoke2")]
    assert blocked["delivered"] == 0
    assert blocked["code"] == "ForwardedTrafficNotAllowed"


@pytest.mark.parametrize(
    ("name", "finding", "code", "detail"),
    [
        ("overlapping_spaces", "VnetAddressSpacesOverlap", "AddressSpacesOverlap", ""),
        ("one_sided_peering", "PeeringNotConnected", "PeeringNotConnected", "Initiated"),
        ("nsg_blocks_traffic", None, "DeniedByNsg", "db-nsg/deny-vnet-inbound"),
    ],
)
def test_pitfalls_explain_themselves(name, finding, code, detail):
    report = script("pitfalls").troubleshoot(name)
    assert [f.code for f in report["findings"]] == ([finding] if finding else [])
    first_flow = next(iter(report["traces"]))
    trace = report["traces"][first_flow]
    assert trace.code == code
    assert detail in trace.reason
    flow = report["result"].flow(first_flow)
    assert flow.delivered == 0
    assert list(flow.drop_reasons) == [code]


def test_nsg_pitfall_still_lets_the_allowed_port_through():
    report = script("pitfalls").troubleshoot("nsg_blocks_traffic")
    https = report["result"].flow("web-to-https")
    assert https.delivered == https.sent


def test_peering_limits_script_reports_the_501st_peering(capsys):
    assert script("peering_limits").main([]) == 0
    out = capsys.readouterr().out
    assert "hub + 500 spokes: 0 error(s)" in out
    assert "TooManyPeerings: VNet hub has 501 peerings; the limit is 500" in out


@pytest.mark.parametrize("name", [n for n in names() if n != "overlapping_spaces"])
def test_every_yaml_scenario_runs_through_the_cli(name, capsys):
    assert main(["run", str(path(name)), "--duration", "0.01", "--json"]) == 0
    flows = json.loads(capsys.readouterr().out)["flows"]
    assert all(f["sent"] == f["delivered"] + f["dropped"] for f in flows)


def test_run_refuses_an_invalid_scenario_with_its_findings(capsys):
    assert main(["run", str(path("overlapping_spaces"))]) == 1
    assert "VnetAddressSpacesOverlap" in capsys.readouterr().out


def test_avnm_mesh_vs_hub_spoke_headline():
    """N8.1: a mesh connects its members directly (ConnectedGroup, no peering), regionally
    unless global; hub-and-spoke peers the hub with each spoke, and spokes reach each other
    only with direct connectivity, as fast as the mesh."""
    document = load_topology(path("avnm_mesh_vs_hub_spoke"))
    assert document.fabric.peerings == {}  # every link is Virtual Network Manager's
    result = run_document(document, duration_s=0.05)
    flows = {
        name: result.flow(name)
        for name in (
            "mesh-to-mesh",
            "mesh-across-regions",
            "spoke-to-hub",
            "spoke-to-spoke",
            "direct-to-direct",
        )
    }
    for name in ("mesh-to-mesh", "spoke-to-hub", "direct-to-direct"):
        assert flows[name].delivered == flows[name].sent > 0
    assert list(flows["spoke-to-spoke"].drop_reasons) == ["PeeringNotTransitive"]
    assert list(flows["mesh-across-regions"].drop_reasons) == ["ConnectedGroupNotGlobal"]
    mesh_ms = flows["mesh-to-mesh"].latency_ms()["p50"]
    assert flows["direct-to-direct"].latency_ms()["p50"] == pytest.approx(mesh_ms)
    assert flows["spoke-to-hub"].latency_ms()["p50"] == pytest.approx(mesh_ms)


def test_expressroute_vs_vpn_vs_peering_the_hairpin_costs_latency_and_shows_in_the_trace():
    """N1.6: VNet-to-VNet over ExpressRoute goes to the MSEE at the peering location and back,
    through both gateways; peering goes region to region. Each path carries a TCP flow."""
    from fabric.control.plane import ControlPlane
    from fabric.sim.runs import simulate
    from fabric.watcher import connectivity

    document = load_topology(path("expressroute_vs_vpn_vs_peering"))
    flows = [dict(t) for t in document.traffic]
    for i, flow in enumerate(f for f in flows if f["pattern"] == "tcp"):  # shortened
        flow.update(start_s=0.3 + 0.4 * i, duration_s=0.4)
    result = simulate(document.fabric, flows, seed=1)
    probes = {p: result.flow(f"{p}-probe") for p in ("peering", "vpn", "er")}
    assert all(f.delivered == f.sent > 0 for f in probes.values())
    mean = {p: f.latency_ms()["mean"] for p, f in probes.items()}
    assert mean["peering"] < mean["vpn"] < mean["er"]
    plane = ControlPlane(document.fabric)
    trace = connectivity(plane, "web-vm", "db-er", port=5201)
    circuits = [h for h in trace.hops if h.type == "ExpressRouteCircuit"]
    assert [(h.name, h.address) for h in circuits] == [("er-ams", "Amsterdam")] * 2
    gateways = [h.name for h in trace.hops if h.type == "VirtualNetworkGateway"]
    assert gateways == ["app-er", "er-er"]  # the gateway is in the data path twice
    # The detour: RTT(West Europe, Amsterdam) + RTT(Amsterdam, North Europe), halved, plus two
    # gateway traversals, from the model's own parameters.
    model = plane.latency
    detour = (
        model.peering_location_round_trip_ms("Amsterdam", "westeurope")
        + model.peering_location_round_trip_ms("Amsterdam", "northeurope")
    ) / 2
    assert trace.latency_ms == pytest.approx(detour + 2 * model.express_route_gateway_processing_ms)
    for name in ("peering-tcp", "vpn-tcp", "er-tcp"):
        flow = result.flow(name)
        assert flow.delivered > 0
        assert "ExpressRoutePacketTooLarge" not in flow.drop_reasons  # MSS fits 1,400 bytes


def test_expressroute_primary_vpn_backup_expressroute_wins_then_vpn_takes_over():
    rows = {r["case"]: r for r in script("expressroute_primary_vpn_backup").cases()}
    same = rows["same prefix over both"]
    assert same["via"] == "hub-er"  # N1.7: the same prefix over ER and VPN goes over ER
    assert {r["gateway"]: r["state"] for r in same["routes"]} == {
        "hub-er": "Active",
        "hub-vpn": "Invalid",
    }
    assert "ExpressRouteCircuit er-ams" in same["path"]
    assert rows["more specific over VPN"]["via"] == "hub-vpn"  # longest prefix first
    gone = rows["circuit deprovisioned"]
    assert gone["via"] == "hub-vpn"
    assert gone["status"] == "Reachable"
    assert {r["gateway"]: r["state"] for r in gone["routes"]} == {"hub-vpn": "Active"}


def test_gateway_maintenance_active_active_loses_less_than_active_standby():
    result = run_document(load_topology(path("gateway_maintenance")))
    for kind in ("udp", "tcp"):
        assert result.flow(f"aa-{kind}").dropped < result.flow(f"as-{kind}").dropped
    interval = 500 * 8 / 0.5e6  # the UDP probes' packet interval
    failovers = [e for e in result.events if e.target == "as-gw" and e.outage_s is not None]
    outages = result.flow("as-udp").outages
    assert len(outages) == len(failovers) == 2  # one per instance: maintained one at a time
    for outage, event in zip(outages, failovers, strict=True):
        assert 10 <= event.outage_s <= 15  # N2.1
        assert outage.start_s == pytest.approx(event.at_s, abs=interval)
        assert outage.duration_s == pytest.approx(event.outage_s, abs=interval)
    (moved,) = result.flow("aa-udp").outages  # aa-gw's instance 1 carries no tunnel here
    assert moved.duration_s == pytest.approx(5.0, abs=interval)  # active_active_failover_s
    for side in ("as", "aa"):  # TCP backs off: its outage outlasts the gateway's
        tcp, udp = result.flow(f"{side}-tcp").outages[0], result.flow(f"{side}-udp").outages[0]
        assert tcp.duration_s >= udp.duration_s - interval


def test_peering_deleted_mid_run_stops_traffic_at_once_and_says_disconnected():
    result = run_document(load_topology(path("peering_deleted_mid_run")))
    interval = 500 * 8 / 0.4e6
    for flow in result.flows:
        assert flow.sent == flow.delivered + flow.dropped
        sent = (flow.delivered_at_ns - flow.latency_ns) / 1e9
        (outage,) = flow.outages
        assert 2 - interval <= sent[sent < 2].max() < 2  # delivered up to the event
        assert abs(outage.start_s - 2) < interval  # and lost from it, within one packet
        assert "is Disconnected" in flow.drop_details["PeeringNotConnected"]
        # Re-created both sides at 8 s; routes reach the NICs 5 s later (§2.7, a parameter).
        assert outage.end_s == pytest.approx(13, abs=interval)
    deleted = result.events[0].effects[0][1]
    assert "hub/hub-to-spoke is now Disconnected (§2.2)" in deleted


def test_expressroute_failover_outage_is_bfd_plus_propagation_and_the_hold_time_without_bfd():
    """N1.8: with BFD (on by default) the circuit's loss is noticed in 0.9 s, without it after
    the BGP hold time (180 s); either way the VPN carries the traffic once the withdrawal has
    reached the NICs (route_propagation_delay_s), and the circuit again after it returns."""
    from fabric.catalogue.latency import LatencyModel

    model = LatencyModel()
    result = run_document(load_topology(path("expressroute_failover")))
    interval = 1000 * 8 / 0.08e6  # the probes' packet interval
    down_s = 10
    expected = {
        "bfd": model.bfd_detection_s + model.route_propagation_delay_s,  # 5.9 s
        "hold": model.bgp_hold_time_s + model.route_propagation_delay_s,  # 185 s
    }
    for side, outage_s in expected.items():
        flow = result.flow(f"{side}-probe")
        assert flow.sent == flow.delivered + flow.dropped
        (outage,) = flow.outages  # none when the circuit returns: the VPN carried it meanwhile
        assert outage.start_s == pytest.approx(down_s, abs=interval)
        assert outage.duration_s == pytest.approx(outage_s, abs=interval)
        assert outage.drop_reasons.keys() == {"CircuitDown"}
    assert expected["bfd"] < 10  # Microsoft's lab: "a few seconds (less than 10)"
    loads = {e.name: e.packets for e in result.elements}
    back_s = 220 + model.route_propagation_delay_s
    over_vpn = (back_s - down_s - expected["bfd"]) / interval
    assert loads["tunnel/bfd-vpn-to-branch"] == pytest.approx(over_vpn, abs=1)


def test_unplanned_failover_sweep_gives_the_outage_to_plan_for(monkeypatch):
    monkeypatch.setenv("VNETSIM_QUICK", "1")
    failover = script("unplanned_failover")
    rows = {row["flow"]: row for row in failover.summarise(failover.replicate())}
    gateway, udp, tcp = rows["gateway"], rows["udp-probe"], rows["tcp-transfer"]
    assert gateway["replications"] == 4
    assert 60 <= gateway["min_outage_s"] <= gateway["max_outage_s"] <= 180  # N2.1
    assert gateway["ci95_s"][0] <= gateway["mean_outage_s"] <= gateway["ci95_s"][1]
    assert gateway["plan_for_s"] == 180  # the documented worst case, pinned in one more run
    assert udp["mean_outage_s"] == pytest.approx(gateway["mean_outage_s"], abs=0.5)
    assert tcp["plan_for_s"] > udp["plan_for_s"]  # retransmission backoff adds to the outage
    assert tcp["never_recovered"] == 0


def test_route_server_nva_programs_routes_and_the_data_goes_vm_to_nva():
    """N15.1: the spoke's VM sends to the NVA that announced the prefix (never through the
    Route Server); a summary steers spoke-to-spoke through the firewall NVA, while the peering
    route still takes spoke-to-hub (§4.4 rule 3)."""
    from fabric.checks import has_errors, validate
    from fabric.control.plane import ControlPlane
    from fabric.watcher import connectivity

    document = load_topology(path("route_server_nva"))
    assert not has_errors(validate(document.fabric))
    plane = ControlPlane(document.fabric)
    onprem = connectivity(plane, "vm1", "10.250.1.10")
    assert onprem.reachable
    assert [(h.type, h.name) for h in onprem.hops] == [
        ("Source", "vm1"),
        ("VNetPeering", "spoke1/spoke1-to-hub"),
        ("VirtualAppliance", "sdwan"),
        ("BeyondAppliance", "sdwan"),
    ]
    to_spoke2 = connectivity(plane, "vm1", "vm2")
    assert [h.name for h in to_spoke2.hops if h.type == "VirtualAppliance"] == ["fw"]
    to_hub = connectivity(plane, "vm1", "hub-vm")
    assert [h.type for h in to_hub.hops] == ["Source", "VNetPeering", "Destination"]
    internet = connectivity(plane, "hub-vm", "8.8.8.8")
    assert [h.type for h in internet.hops] == ["Source", "VirtualAppliance", "Internet"]
    result = run_document(document, duration_s=0.05)
    via_nva, direct = result.flow("spoke1-to-spoke2"), result.flow("spoke1-to-hub")
    assert via_nva.delivered == via_nva.sent > 0
    assert via_nva.latency_ms()["mean"] > direct.latency_ms()["mean"]  # the NVA's hops
