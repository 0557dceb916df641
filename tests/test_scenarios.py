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
