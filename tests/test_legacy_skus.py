"""The legacy VPN gateway SKUs Standard and HighPerformance (azure-facts N13): their numbers,
what they support, the retirement warning, and their cap in a run."""

from __future__ import annotations

import pytest

from fabric.catalogue.skus import lookup
from fabric.checks import validate
from fabric.model import Fabric
from fabric.sim.runs import simulate


@pytest.mark.parametrize(
    ("sku", "mbps", "tunnels", "active_active"),
    [("Standard", 100, 10, False), ("HighPerformance", 200, 30, True)],
)
def test_legacy_numbers(sku, mbps, tunnels, active_active):
    spec = lookup(sku, "Generation1")
    assert (spec.aggregate_mbps, spec.s2s_tunnels, spec.p2s_sstp) == (mbps, tunnels, 128)
    assert spec.bgp
    assert spec.legacy
    assert spec.active_active is active_active
    assert spec.tunnel_cap("GCMAES256") is None  # no per-tunnel table: the aggregate caps


def pair(sku: str, active_active: bool = False) -> Fabric:
    fabric = Fabric()
    for name, octet in (("a", 1), ("b", 2)):
        fabric.vnet(name, "westeurope", f"10.{octet}.0.0/16")
        fabric.subnet(name, "GatewaySubnet", f"10.{octet}.255.0/27")
        fabric.subnet(name, "s", f"10.{octet}.0.0/24")
        fabric.host(name, f"h{name}", "s", f"10.{octet}.0.4")
        fabric.gateway(f"g{name}", name, sku, active_active=active_active)
    fabric.connect("ga", "gb", shared_key="k")
    return fabric


def test_legacy_gateways_warn_with_their_migration_target():
    findings = validate(pair("Standard"))
    legacy = [f for f in findings if f.code == "LegacyGatewaySku"]
    assert len(legacy) == 2
    assert all(f.severity == "Warning" for f in legacy)
    assert "VpnGw1AZ" in legacy[0].message
    assert "VpnGw2AZ" in next(
        f.message for f in validate(pair("HighPerformance")) if f.code == "LegacyGatewaySku"
    )


def test_active_active_only_on_high_performance():
    codes = {f.code for f in validate(pair("Standard", active_active=True))}
    assert "ActiveActiveNotSupportedOnSku" in codes
    codes = {f.code for f in validate(pair("HighPerformance", active_active=True))}
    assert "ActiveActiveNotSupportedOnSku" not in codes


def test_a_standard_gateway_caps_a_run_at_100_mbps():
    flow = {"name": "f", "src": "ha", "dst": "hb", "rate_mbps": 300, "duration_s": 0.2}
    result = simulate(pair("Standard"), [flow], seed=1)
    assert result.flow("f").steady_mbps == pytest.approx(100, rel=0.02)
