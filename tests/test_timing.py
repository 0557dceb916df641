"""The timing model against published figures and invariants: TCP as hosts run it (N4),
per-tunnel caps as measured (§3.4), honest throughput (DESIGN.md), fair shares of a FIFO."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.catalogue.skus import lookup
from fabric.catalogue.vmsizes import egress_mbps
from fabric.control.forwarding import TunnelHop, resolve
from fabric.control.ipsec import negotiate
from fabric.control.plane import ControlPlane
from fabric.model import Fabric
from fabric.model.traffic import HEADER_BYTES
from fabric.sim import tcp
from fabric.sim.runs import simulate
from tests.strategies import fabrics


def pair(region_b: str = "northeurope", vpn: bool = False, sku: str = "VpnGw1", **host) -> Fabric:
    fabric = Fabric()
    for name, region, octet in (("a", "westeurope", 10), ("b", region_b, 20)):
        fabric.vnet(name, region, f"10.{octet}.0.0/16")
        fabric.subnet(name, "s", f"10.{octet}.1.0/24")
        fabric.subnet(name, "GatewaySubnet", f"10.{octet}.255.0/27")
        fabric.host(name, f"{name}-vm", "s", f"10.{octet}.1.4", **host)
    if vpn:
        fabric.gateway("a-gw", "a", sku)
        fabric.gateway("b-gw", "b", sku)
        fabric.connect("a-gw", "b-gw", shared_key="k")
    else:
        fabric.peer("a", "b")
    return fabric


def tcp_flow(duration: float = 1.0, **options) -> dict:
    return {
        "name": "t",
        "src": "a-vm",
        "dst": "b-vm",
        "protocol": "Tcp",
        "pattern": "tcp",
        "duration_s": duration,
        **options,
    }


def test_a_default_linux_flow_across_regions_is_limited_by_its_autotuned_window():
    """N4.3: tcp_rmem max 6 MB, half as window: one flow West Europe -> North Europe (20 ms
    round trip, §7.2) reaches window / RTT, well above a fixed 1,000-segment window."""
    flow = simulate(pair(), [tcp_flow(1.5)]).flow("t")
    window_limit = tcp.LINUX.max_window_bytes * 8 / 0.020 / 1e6  # Mbps of payload
    assert flow.steady_mbps == pytest.approx(window_limit, rel=0.05)
    assert flow.throughput_mbps <= window_limit * 1.05


def test_a_windows_receiver_with_a_fixed_190_kb_window_follows_window_over_rtt():
    """N4.1's shape: one untuned Windows iPerf session behaves like a fixed ~190 KB window."""
    fabric = pair()
    window_segments = tcp.UNTUNED_WINDOWS_IPERF.max_window_bytes // 1460
    flow = simulate(fabric, [tcp_flow(1.0, window_packets=window_segments)]).flow("t")
    expected = window_segments * 1460 * 8 / 0.020 / 1e6
    assert flow.steady_mbps == pytest.approx(expected, rel=0.05)


def test_reno_is_still_available():
    flow = simulate(pair(), [tcp_flow(1.0, congestion_control="reno")]).flow("t")
    assert flow.delivered > 0


def test_tcp_through_a_tunnel_gets_the_published_per_tunnel_figure():
    flow = simulate(pair(vpn=True), [tcp_flow(1.5)]).flow("t")
    assert flow.steady_mbps == pytest.approx(650, rel=0.02)  # VpnGw1, GCMAES256 (§3.4)


def test_tcp_to_an_unreachable_host_fails_to_connect_and_sends_no_data():
    fabric = pair()
    fabric.unpeer("b", "b-to-a")
    flow = simulate(fabric, [tcp_flow(5.0)]).flow("t")
    assert flow.status == "ConnectionFailed"
    assert flow.code == "PeeringNotConnected"
    assert flow.sent == 3  # SYNs at 0, 1 and 3 s (Linux: the RTO doubles from 1 s)
    assert flow.delivered == 0


def test_a_short_tcp_flow_never_reports_more_than_its_nic():
    fabric = pair("westeurope", bandwidth_mbps=1000)
    flow = simulate(fabric, [tcp_flow(0.01)]).flow("t")
    assert 0 < flow.throughput_mbps <= 1000 * 1460 / 1500 * 1.001


def test_a_flow_cut_short_by_the_run_says_so_and_keeps_its_rate():
    fabric = pair("westeurope")
    udp = {"name": "u", "src": "a-vm", "dst": "b-vm", "rate_mbps": 300, "duration_s": 1.0}
    cut = simulate(fabric, [udp], duration_s=0.1).flow("u")
    assert cut.truncated
    assert cut.throughput_mbps == pytest.approx(300 * (1400 - 28) / 1400, rel=0.05)


def test_equal_flows_through_one_cap_get_equal_shares():
    """Three 500 Mbps CBR flows from three VMs through one VpnGw2 gateway (1,000 Mbps
    aggregate, §3.2): a FIFO gives each about a third, not 500/464/36."""
    fabric = Fabric()
    fabric.vnet("a", "westeurope", "10.10.0.0/16")
    fabric.subnet("a", "s", "10.10.1.0/24")
    fabric.subnet("a", "GatewaySubnet", "10.10.255.0/27")
    fabric.vnet("b", "westeurope", "10.20.0.0/16")
    fabric.subnet("b", "s", "10.20.1.0/24")
    fabric.subnet("b", "GatewaySubnet", "10.20.255.0/27")
    fabric.host("b", "sink", "s", "10.20.1.4")
    flows = []
    for i in range(3):
        fabric.host("a", f"vm{i}", "s", f"10.10.1.{4 + i}")
        flows.append(
            {
                "name": f"f{i}",
                "src": f"vm{i}",
                "dst": "sink",
                "rate_mbps": 500,
                "duration_s": 0.5,
                "destination_port": 5000 + i,
                "pattern": "cbr",
            }
        )
    fabric.gateway("a-gw", "a", "VpnGw2")
    fabric.gateway("b-gw", "b", "VpnGw2")
    fabric.connect("a-gw", "b-gw", shared_key="k")
    result = simulate(fabric, flows)
    shares = [f.steady_mbps for f in result.flows]
    total = sum(shares)
    for share in shares:
        assert share == pytest.approx(total / 3, rel=0.10), shares


# -- properties ---------------------------------------------------------------------------------


def narrowest_cap_mbps(fabric: Fabric, src, dst, size: int) -> float:
    """The narrowest payload cap on the path: the sender's VM (whole packets), each tunnel and
    gateway (measured payload figures), each appliance's VM."""
    path = resolve(ControlPlane(fabric), src.ip, dst.ip, "Udp", 443)
    payload_share = (size - HEADER_BYTES["Udp"]) / size
    caps = [egress_mbps(src) * payload_share]
    for step in path.steps:
        if isinstance(step, TunnelHop):
            spec = lookup(step.gateway.sku, step.gateway.generation)
            cap = spec.tunnel_cap(negotiate(step.connection.ipsec_policy).cipher_column)
            caps += [spec.aggregate_mbps, cap.mbps if cap else spec.aggregate_mbps]
        elif hasattr(step, "host") and getattr(step, "processing_ms", None) is not None:
            caps.append(egress_mbps(step.host) * payload_share)
    return min(caps)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fabrics(max_vnets=4), st.data())
def test_no_flow_exceeds_the_narrowest_cap_on_its_path(fabric, data):
    hosts = [h for v in fabric.vnets.values() for h in v.hosts]
    if len(hosts) < 2:
        return
    src, dst = data.draw(st.permutations(hosts))[:2]
    size = data.draw(st.sampled_from([200, 800, 1400]))
    rate = data.draw(st.sampled_from([50.0, 500.0, 5_000.0, 20_000.0]))
    duration = data.draw(st.sampled_from([0.002, 0.02]))
    flow = {
        "name": "f",
        "src": src.name,
        "dst": dst.name,
        "rate_mbps": rate,
        "packet_bytes": size,
        "duration_s": duration,
        "pattern": "cbr",
    }
    result = simulate(fabric, [flow]).flow("f")
    assert result.sent == result.delivered + result.dropped
    if result.delivered > 1:
        assert result.throughput_mbps <= narrowest_cap_mbps(fabric, src, dst, size) * 1.001


def test_a_parallel_flow_between_the_same_vms_never_lowers_their_combined_rate():
    fabric = pair(vpn=True)
    one = simulate(fabric, [tcp_flow(1.0)]).flow("t").steady_mbps
    two = simulate(fabric, [tcp_flow(1.0), {**tcp_flow(1.0), "name": "t2", "source_port": 50001}])
    combined = sum(f.steady_mbps for f in two.flows)
    assert combined >= one * 0.95
