"""The packet dataplane: conservation, determinism, agreement with the control plane, physics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.catalogue.latency import LatencyModel
from fabric.catalogue.vmsizes import egress_mbps
from fabric.cli import main
from fabric.control.forwarding import ApplianceHop, GatewayHop, TunnelHop
from fabric.control.plane import ControlPlane
from fabric.model.container import Fabric
from fabric.sim.runs import simulate
from fabric.watcher import connectivity
from simulator import confidence_interval
from simulator.units import serialisation_ns
from tests.fabrics import hub_and_spokes
from tests.strategies import fabrics


def two_vnets_vpn(sku: str = "VpnGw1", generation: str = "Generation1", nic_mbps: float = 100_000):
    fabric = Fabric()
    for name, octet in (("a", 10), ("b", 20)):
        fabric.vnet(name, "westeurope", f"10.{octet}.0.0/16")
        fabric.subnet(name, "GatewaySubnet", f"10.{octet}.255.0/27")
        fabric.subnet(name, "app", f"10.{octet}.1.0/24")
        fabric.host(name, f"{name}-vm", "app", f"10.{octet}.1.4", bandwidth_mbps=nic_mbps)
        fabric.gateway(f"{name}-gw", name, sku, generation=generation)
    fabric.connect("a-gw", "b-gw", shared_key="abc123")
    return fabric


def udp(name, src, dst, rate, pattern="poisson", size=1400, duration=0.3, **extra):
    return {
        "name": name,
        "src": src,
        "dst": dst,
        "protocol": "Udp",
        "rate_mbps": rate,
        "packet_bytes": size,
        "pattern": pattern,
        "duration_s": duration,
        **extra,
    }


# -- conservation and determinism ------------------------------------------------------------


@st.composite
def scenarios(draw):
    fabric = draw(fabrics(max_vnets=4))
    hosts = [h.name for v in fabric.vnets.values() for h in v.hosts]
    flows = []
    if len(hosts) >= 1:
        for i in range(draw(st.integers(1, 4))):
            src, dst = draw(st.sampled_from(hosts)), draw(st.sampled_from(hosts))
            pattern = draw(st.sampled_from(["cbr", "poisson", "onoff", "tcp"]))
            flows.append(
                {
                    "name": f"f{i}",
                    "src": src,
                    "dst": dst,
                    "protocol": "Tcp"
                    if pattern == "tcp"
                    else draw(st.sampled_from(["Udp", "Tcp"])),
                    "rate_mbps": draw(st.sampled_from([10, 200, 3000])),
                    "pattern": pattern,
                    "packet_bytes": draw(st.sampled_from([64, 1400])),
                    "destination_port": draw(st.sampled_from([443, 22, 80])),
                    "duration_s": draw(st.sampled_from([0.005, 0.02])),
                    "start_s": draw(st.sampled_from([0.0, 0.003])),
                }
            )
    return fabric, flows


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 2**16))
def test_every_packet_sent_is_delivered_or_dropped_with_a_reason(scenario, seed):
    fabric, flows = scenario
    result = simulate(fabric, flows, seed=seed)
    for flow in result.flows:
        assert flow.sent == flow.delivered + flow.dropped
        assert all(isinstance(reason, str) and reason for reason in flow.drop_reasons)
        assert flow.latency_ns.size == flow.delivered
        assert (flow.latency_ns > 0).all()


def test_same_scenario_and_seed_give_byte_identical_results_json(tmp_path):
    args = ["run", "scenarios/peering_vs_vpn_same_region.yaml", "--duration", "0.05"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert main([*args, "--out", str(tmp_path / "two")]) == 0
    one = (tmp_path / "one" / "results.json").read_bytes()
    assert one == (tmp_path / "two" / "results.json").read_bytes()
    assert json.loads(one)["flows"][0]["sent"] > 0
    for figure in ("latency_cdf.png", "latency_cdf.svg", "throughput.png", "throughput.svg"):
        assert (tmp_path / "one" / figure).stat().st_size > 0


def test_a_different_seed_changes_poisson_traffic():
    fabric = two_vnets_vpn()
    flows = [udp("f", "a-vm", "b-vm", 100)]
    one = simulate(fabric, flows, seed=1).flow("f")
    two = simulate(fabric, flows, seed=2).flow("f")
    assert not np.array_equal(one.latency_ns, two.latency_ns)


# -- the dataplane agrees with the control plane -----------------------------------------------


def serialisation_along(
    trace, fabric: Fabric, size: int, src_host: str, params: LatencyModel
) -> int:
    """Serialisation a lone UDP packet meets on the trace's path: VM egress (whole packets),
    tunnel and gateway servers, the receiving gateway's too (payload, their caps being
    measured goodput)."""
    from fabric.catalogue.skus import lookup
    from fabric.control.ipsec import negotiate

    payload = size - 28
    total = serialisation_ns(size, round(egress_mbps(fabric.find_host(src_host)[1]) * 1e6))
    for step in trace.path.steps:
        if isinstance(step, ApplianceHop):
            total += serialisation_ns(size, round(egress_mbps(step.host) * 1e6))
        if isinstance(step, TunnelHop):
            connection = step.connection
            gateway = step.gateway
            spec = lookup(gateway.sku, gateway.generation)
            cipher = negotiate(connection.ipsec_policy)
            cap = spec.tunnel_cap(cipher.cipher_column)
            rate = round((cap.mbps if cap else spec.aggregate_mbps) * 1e6)
            tunnel = serialisation_ns(payload, rate)
            floor = -(-1_000_000_000 // cap.pps) if cap else 0
            aggregate = serialisation_ns(payload, round(spec.aggregate_mbps * 1e6))
            total += max(tunnel, floor) + aggregate
            if step.remote_gateway is not None:  # the receiving gateway's inbound aggregate
                far = lookup(step.remote_gateway.sku, step.remote_gateway.generation)
                total += serialisation_ns(payload, round(far.aggregate_mbps * 1e6))
        if isinstance(step, GatewayHop) and not any(
            isinstance(s, TunnelHop) for s in trace.path.steps
        ):
            spec = lookup(step.gateway.sku, step.gateway.generation)
            total += serialisation_ns(payload, round(spec.aggregate_mbps * 1e6))
    return total


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(fabrics(max_vnets=4), st.data())
def test_dataplane_follows_the_connectivity_trace(fabric, data):
    hosts = [(h.name, h.ip) for v in fabric.vnets.values() for h in v.hosts]
    if len(hosts) < 2:
        return
    (src, src_ip), (dst, dst_ip) = data.draw(st.permutations(hosts))[:2]
    port = data.draw(st.sampled_from([443, 22, 1500]))
    flow = udp("f", src, dst, 1, pattern="cbr", size=200, duration=0.05, destination_port=port)
    trace = connectivity(ControlPlane(fabric), src_ip, dst_ip, protocol="Udp", port=port)
    result = simulate(fabric, [flow]).flow("f")
    assert result.sent > 0
    if not trace.reachable:
        assert result.delivered == 0
        assert result.drop_reasons == {trace.code: result.sent}
        return
    assert result.delivered == result.sent
    expected = round(trace.latency_ms * 1e6) + serialisation_along(
        trace, fabric, 200, src, LatencyModel()
    )
    # A lone packet every 1.6 ms never queues: each one takes exactly the trace's path.
    assert abs(int(result.latency_ns.min()) - expected) <= len(trace.path.steps)  # ns rounding
    assert int(result.latency_ns.max()) == int(result.latency_ns.min())


# -- physics -----------------------------------------------------------------------------------


def test_vpngw1_at_half_its_cap_matches_fixed_latency_plus_md1_queueing():
    """Poisson 1400-byte packets at 50% of VpnGw1's per-tunnel cap (650 Mbps GCMAES256, §3.4,
    metered on payload): mean latency = fixed legs + serialisations + the M/D/1
    (Pollaczek-Khinchine) wait."""
    fabric = two_vnets_vpn()
    size = 1400
    payload = size - 28
    cap_bps = 650_000_000
    rate_mbps = 0.5 * cap_bps * size / payload / 1e6
    service_ns = serialisation_ns(payload, cap_bps)
    rho = 0.5
    wait_ns = rho * service_ns / (2 * (1 - rho))
    trace = connectivity(ControlPlane(fabric), "10.10.1.4", "10.20.1.4", protocol="Udp", port=443)
    fixed = round(trace.latency_ms * 1e6) + serialisation_along(
        trace, fabric, size, "a-vm", LatencyModel()
    )
    means = [
        simulate(fabric, [udp("f", "a-vm", "b-vm", rate_mbps, duration=0.4)], seed=seed)
        .flow("f")
        .latency_ns.mean()
        for seed in range(8)
    ]
    interval = confidence_interval(means, level=0.999)
    expected = fixed + wait_ns
    assert interval.low <= expected <= interval.high, (interval, expected)
    assert interval.half_width < 0.2 * wait_ns


@pytest.mark.parametrize(
    ("sku", "generation", "cap_mbps"),
    [("VpnGw1", "Generation1", 650), ("VpnGw3", "Generation2", 1500)],
)
def test_a_saturating_flow_delivers_the_published_per_tunnel_figure(sku, generation, cap_mbps):
    """§3.4's figures are measured goodput: a saturating flow through one tunnel delivers the
    published figure for its cipher, within 2%, while ESP shows on the wire."""
    fabric = two_vnets_vpn(sku, generation)
    result = simulate(fabric, [udp("f", "a-vm", "b-vm", 2 * cap_mbps, pattern="cbr", duration=0.3)])
    flow = result.flow("f")
    assert flow.steady_mbps == pytest.approx(cap_mbps, rel=0.02)
    assert flow.throughput_mbps <= cap_mbps * 1.02
    tunnel = next(e for e in result.elements if e.kind == "GatewayTunnel")
    assert tunnel.utilisation > 0.9
    assert flow.dropped > 0.4 * flow.sent
    assert set(flow.drop_reasons) <= {"TunnelQueueFull", "GatewayQueueFull"}
    assert "a-gw" in "".join(flow.drop_details.values())


def test_small_packets_hit_the_packets_per_second_cap_first():
    """VpnGw1 GCMAES256: 650 Mbps but 62,000 pps (§3.4). 200-byte packets at 300 Mbps would be
    187,500 pps, so the pps cap decides: about 62,000 packets per second get through."""
    fabric = two_vnets_vpn()
    flow = simulate(
        fabric, [udp("f", "a-vm", "b-vm", 300, pattern="cbr", size=200, duration=0.3)]
    ).flow("f")
    window = (flow.delivered_at_ns >= 50_000_000) & (flow.delivered_at_ns < 300_000_000)
    assert window.sum() / 0.25 == pytest.approx(62_000, rel=0.01)
    assert flow.throughput_mbps < 650 * 0.5  # far below the Mbps cap


def test_peering_latency_is_the_region_pair_latency_plus_serialisation():
    fabric = Fabric()
    fabric.vnet("we", "westeurope", "10.1.0.0/16")
    fabric.subnet("we", "app", "10.1.1.0/24")
    fabric.host("we", "vm-we", "app", "10.1.1.4", bandwidth_mbps=1000)
    fabric.vnet("ne", "northeurope", "10.2.0.0/16")
    fabric.subnet("ne", "app", "10.2.1.0/24")
    fabric.host("ne", "vm-ne", "app", "10.2.1.4")
    fabric.peer("we", "ne")
    flow = simulate(
        fabric, [udp("f", "vm-we", "vm-ne", 1, pattern="cbr", size=1000, duration=0.1)]
    ).flow("f")
    # §7.2: West Europe -> North Europe round trip 20 ms, so 10 ms one way; 1000 B at 1 Gbps = 8 us.
    assert int(flow.latency_ns.min()) == 10_000_000 + 8_000
    fabric.vnets["ne"] = fabric.vnets["ne"].__class__(
        "ne", "westeurope", ("10.2.0.0/16",), fabric.vnets["ne"].subnets, fabric.vnets["ne"].hosts
    )
    flow = simulate(
        fabric, [udp("f", "vm-we", "vm-ne", 1, pattern="cbr", size=1000, duration=0.1)]
    ).flow("f")
    assert int(flow.latency_ns.min()) == 250_000 + 8_000  # regional: the in-region assumption


def test_unreachable_and_initiated_peering_traffic_never_arrives():
    fabric = hub_and_spokes(transit=False, remote=False)
    result = simulate(fabric, [udp("x", "vm1", "vm2", 50)])
    flow = result.flow("x")
    assert flow.delivered == 0
    assert list(flow.drop_reasons) == [flow.code]
    assert flow.code == "PeeringNotTransitive"
    fabric = Fabric()
    fabric.vnet("a", "westeurope", "10.1.0.0/16")
    fabric.subnet("a", "s", "10.1.0.0/24")
    fabric.host("a", "va", "s", "10.1.0.4")
    fabric.vnet("b", "westeurope", "10.2.0.0/16")
    fabric.subnet("b", "s", "10.2.0.0/24")
    fabric.host("b", "vb", "s", "10.2.0.4")
    fabric.peer_one_side("a", "b")
    flow = simulate(fabric, [udp("x", "va", "vb", 50)]).flow("x")
    assert flow.delivered == 0
    assert list(flow.drop_reasons) == ["PeeringNotConnected"]


def test_tcp_over_vpn_is_slower_than_over_peering_and_bounded_by_the_cap():
    fabric = two_vnets_vpn("VpnGw1", nic_mbps=8000)
    fabric.vnet("c", "westeurope", "10.30.0.0/16")
    fabric.subnet("c", "app", "10.30.1.0/24")
    fabric.host("c", "c-vm", "app", "10.30.1.4", bandwidth_mbps=8000)
    fabric.peer("a", "c")
    flows = [
        {
            "name": "vpn",
            "src": "a-vm",
            "dst": "b-vm",
            "protocol": "Tcp",
            "pattern": "tcp",
            "duration_s": 0.5,
        },
        {
            "name": "peer",
            "src": "a-vm",
            "dst": "c-vm",
            "protocol": "Tcp",
            "pattern": "tcp",
            "start_s": 0.5,
            "duration_s": 0.5,
        },
    ]
    result = simulate(fabric, flows)
    vpn, peer = result.flow("vpn"), result.flow("peer")
    assert vpn.throughput_mbps < 650
    assert peer.throughput_mbps > 2 * vpn.throughput_mbps
    assert vpn.latency_ms()["p50"] > peer.latency_ms()["p50"]


def test_run_command_errors_are_clear(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(
        "vnets:\n  - {name: a, region: westeurope, address_prefixes: [10.0.0.0/16],\n"
        "     subnets: [{name: s, address_prefix: 10.0.0.0/24}],\n"
        "     hosts: [{name: h, subnet: s, ip: 10.0.0.4}]}\n"
        "traffic:\n  - {name: f, src: h, dst: nobody, pattern: cbr}\n"
    )
    assert main(["run", str(path)]) == 1  # invalid traffic: the findings, as validate gives them
    out = capsys.readouterr().out
    assert "traffic[0] f" in out
    assert "nobody" in out
    path.write_text(path.read_text().replace("dst: nobody, pattern: cbr", "dst: h, pattern: burst"))
    assert main(["run", str(path)]) == 1
    assert "pattern 'burst'" in capsys.readouterr().out
