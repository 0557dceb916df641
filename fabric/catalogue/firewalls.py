"""Azure Firewall tiers: published throughput, out-of-the-box capacity, single-flow cap.

Data, not code, from azure-facts N11.1 (AD:articles/firewall/firewall-performance.md, newest
revision B of 03/28/2026) and N11.2 (initial capacity, autoscaling). Read 2026-11-30.
"""

from __future__ import annotations

import attrs

# tier | scale ceiling Mbps | out-of-the-box Mbps | single TCP connection Mbps | autoscales
_TABLE = """
Basic       250     250   250  no
Standard  30000    3000  1500  yes
Premium  100000   18000  9000  yes
"""
# Basic: 0.25 Gbps and no autoscaling (N11.1, N11.2). Standard: 30 Gbps ceiling, "up to 3 Gbps"
# before any scale-out, fat flow "up to 1.5 Gbps". Premium (TLS inspection and IDPS off or
# alert-only): 100 Gbps ceiling, 18 Gbps out of the box, fat flow "up to 9 Gbps". Premium with
# IDPS in alert-and-deny mode (22 Gbps, 600 Mbps per flow) is not modelled: the model has no
# IDPS setting.


@attrs.frozen(slots=True)
class FirewallSpec:
    """What one Azure Firewall tier carries (N11.1, N11.2)."""

    tier: str
    ceiling_mbps: float
    initial_mbps: float
    single_flow_mbps: float
    autoscales: bool


def _parse() -> dict[str, FirewallSpec]:
    table = {}
    for line in _TABLE.strip().splitlines():
        tier, ceiling, initial, flow, scales = line.split()
        table[tier] = FirewallSpec(
            tier, float(ceiling), float(initial), float(flow), scales == "yes"
        )
    return table


FIREWALL_SPECS: dict[str, FirewallSpec] = _parse()

SCALE_OUT_MINUTES = (5, 7)  # N11.2: how long an autoscale takes to add capacity


def capacity_mbps(tier: str, override_mbps: float = 0.0) -> float:
    """The throughput a firewall of ``tier`` carries during a run: ``override_mbps`` when set
    (a prescaled or scaled-out firewall, at most the ceiling), else the out-of-the-box capacity,
    because scaling out takes longer than a simulated run (N11.2)."""
    spec = FIREWALL_SPECS[tier]
    if override_mbps > 0:
        return min(override_mbps, spec.ceiling_mbps)
    return spec.initial_mbps
