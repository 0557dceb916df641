"""The benchmark scripts run (tiny sizes) and print their JSON line: they cannot rot. Speed
itself is measured by running them, never asserted here."""

from __future__ import annotations

import json
import sys

import pytest

from tests.helpers import load_script


def load(name: str):
    return load_script("benchmarks", name)


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_engine_benchmark_json_shape(capsys):
    assert (
        load("engine").main(["--json", "--events", "2000", "--customers", "500", "--repeat", "1"])
        == 0
    )
    report = last_json(capsys)
    for key in ("bare_events_per_s", "mm1_customers_per_s"):
        assert set(report[key]) >= {"vnetsim", "simpy", "ratio"}


def test_dataplane_benchmark_json_shape(capsys):
    assert load("dataplane").main(["--json", "--scale", "0.002"]) == 0
    report = last_json(capsys)
    assert report["packet_hops"] == report["simpy_packet_hops"]
    assert report["dropped"] == 0
    assert report["simpy_ratio"] > 0


def test_control_plane_benchmark_json_shape(capsys):
    arguments = ["--json", "--spokes", "20", *AVNM_SMALL, "--scale-spokes", "8", "--repeat", "1"]
    assert load("control_plane").main(arguments) == 0
    report = last_json(capsys)
    assert set(report["spokes_8"]) >= {"validate_s", "compile_s", "next_hop_cli_s"}
    assert report["spokes_8"]["routes"] > 0
    assert report["validate_errors"] == 0
    assert report["subnets"] == 2 * 20 + 2
    endpoints = 2 * 20 + 1  # every subnet but the hub's GatewaySubnet
    assert report["matrix_pairs"] == endpoints * (endpoints - 1)
    assert len(report["intents"]) == 10
    assert all(row["atoms"] >= 1 for row in report["intents"])


AVNM_SMALL = ("--avnm-spokes", "12", "--mesh", "8")


def test_control_plane_benchmark_reports_the_avnm_cases(capsys):
    assert (
        load("control_plane").main(["--json", "--spokes", "5", *AVNM_SMALL, "--scale-spokes", ""])
        == 0
    )
    hub, full_mesh = last_json(capsys)["avnm"]
    assert (hub["vnets"], full_mesh["vnets"]) == (13, 8)
    assert hub["validate_errors"] == full_mesh["validate_errors"] == 0
    assert full_mesh["routes"] > 8 * 7  # every member routes to the 7 others, plus defaults
    assert hub["routes_per_s"] > 0


def test_peering_vs_vpn_benchmark_runs_quick(tmp_path):
    module = load("peering_vs_vpn")
    rows = module.run(
        replications=2, quick=True, skus=[("VpnGw1", "Generation1")], express_route={}
    )
    assert [r["path"] for r in rows] == ["peering", "VPN VpnGw1 Gen1"] * 2
    by = {(r["scope"], r["path"]): r for r in rows}
    assert (
        by[("regional", "VPN VpnGw1 Gen1")]["latency_mean_ms"]
        > by[("regional", "peering")]["latency_mean_ms"]
    )
    assert by[("regional", "VPN VpnGw1 Gen1")]["published_mbps"] == 650
    assert module.figure(rows, tmp_path)[0].stat().st_size > 0


def test_draw_benchmark_json_shape(capsys):
    assert load("draw").main(["--json", "--spokes", "30"]) == 0
    report = last_json(capsys)
    assert report["nodes"] == 30 + 3  # hub, its gateway and firewall, the spokes
    assert report["dense"] is True
    assert report["svg_bytes"] > 0
    assert report["png_bytes"] > 0


def test_peering_vs_vpn_expressroute_rows_hairpin_near_and_far(tmp_path):
    module = load("peering_vs_vpn")
    rows = module.run(
        replications=1,
        quick=True,
        skus=[("VpnGw1", "Generation1")],
        express_route={"regional": [("ErGw1AZ", "Amsterdam"), ("ErGw1AZ", "Washington DC")]},
    )
    by = {(r["scope"], r["path"]): r for r in rows}
    near = by[("regional", "ExpressRoute ErGw1AZ via Amsterdam")]
    far = by[("regional", "ExpressRoute ErGw1AZ via Washington DC")]
    peering = by[("regional", "peering")]
    # N1.6: the detour to the peering location; farther metro, longer detour.
    assert peering["latency_mean_ms"] < near["latency_mean_ms"] < far["latency_mean_ms"]
    assert near["published_mbps"] == 1000  # N1.1: ErGw1AZ
    assert near["parallel_mbps"] > 0
    assert module.figure(rows, tmp_path)[0].stat().st_size > 0
    assert "ExpressRoute" in module.markdown(rows, 1)


def test_long_tcp_benchmark_json_shape(capsys):
    assert load("long_tcp").main(["--json", "--seconds", "0.02", "--reference-s", "0.01"]) == 0
    report = last_json(capsys)
    assert set(report) >= {"packets", "wall_s", "peak_rss_mb"}
    assert report["packets"] > 0
    assert report["samples"] is False


def test_startup_benchmark_json_shape(capsys):
    assert load("startup").main(["--json", "--repeat", "1"]) == 0
    report = last_json(capsys)
    assert set(report) >= {"help_s", "next_hop_small_s", "python_floor_s", "import_fabric_cli_s"}
    assert report["next_hop_heaviest_imports_us"]


def test_vs_ns3_says_it_skips_without_ns3(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ns", None)  # ``import ns`` now raises ImportError
    assert load("vs_ns3").main(["--quick", "--json"]) == 0
    assert "ns-3 is not installed" in last_json(capsys)["skipped"]


def test_vs_ns3_vnetsim_side_meets_its_bounds():
    """Without ns-3 too: vnetsim's half of the TCP cross-check delivers window / RTT when the
    window binds and the VM's cap (payload share) when the cap binds, losing nothing."""
    module = load("vs_ns3")
    for window in module.TCP_CASES.values():
        ours = module.vnetsim_tcp(window, seconds=1.0, warmup=0.5)
        assert ours["dropped"] == 0
        assert ours["goodput_mbps"] == pytest.approx(
            module.tcp_bound_mbps(window)["bound_mbps"], rel=0.01
        )


def test_vs_ns3_tcp_cross_check_runs_quick(capsys):
    pytest.importorskip("ns")  # the optional ns-3 wheel; CI has none
    assert load("vs_ns3").main(["--quick", "--only", "tcp", "--json"]) == 0
    report = last_json(capsys)["tcp"]
    assert set(report) == {"window_limited", "cap_limited"}
    for case in report.values():
        assert abs(case["goodput_rel_diff"]) < 0.05
        assert case["vnetsim"]["dropped"] == 0
        assert case["ns3"]["congestion_events"] == 0
