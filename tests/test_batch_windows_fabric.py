"""The batch dataplane solves in windows of send time (fabric.sim.batchplane): whatever the
window, its results are the event engine's and those of one window over the whole trace, also
when flows with different fixed delays from their sources merge at a shared server (where a
window on send time does not bound arrival time: each server solves only up to its safe bound).
"""

from __future__ import annotations

import json
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.model.container import Fabric
from fabric.sim import batchplane
from fabric.sim.flows import Column
from fabric.sim.runs import simulate
from tests.test_batchplane import open_loop_scenarios

WINDOWS = st.sampled_from([1, 2, 3, 7, 64, 1 << 15])  # packets per window, all flows together
SOURCES = ("hub-vm", "spoke0-vm", "spoke1-vm", "spoke2-vm")


def hub_to_site() -> Fabric:
    """A hub whose VPN gateway carries every flow to a site: one VM in the hub, spokes in three
    regions peered to it with gateway transit, so that flows reach the hub's tunnel and gateway
    instance after different fixed delays (none, and each region pair's peering latency)."""
    fabric = Fabric()
    for name, octet in (("hub", 0), ("site", 9)):
        fabric.vnet(name, "eastus", f"10.{octet}.0.0/16")
        fabric.subnet(name, "GatewaySubnet", f"10.{octet}.255.0/27")
        fabric.subnet(name, "app", f"10.{octet}.1.0/24")
        fabric.host(name, f"{name}-vm", "app", f"10.{octet}.1.4")
        fabric.gateway(f"{name}-gw", name, "VpnGw1")
    fabric.connect("hub-gw", "site-gw", shared_key="abc123")
    for i, region in enumerate(("eastus", "westeurope", "australiaeast")):
        spoke = f"spoke{i}"
        fabric.vnet(spoke, region, f"10.{i + 1}.0.0/16")
        fabric.subnet(spoke, "app", f"10.{i + 1}.1.0/24")
        fabric.host(spoke, f"{spoke}-vm", "app", f"10.{i + 1}.1.4")
        fabric.peer("hub", spoke, a_allows_gateway_transit=True, b_uses_remote_gateways=True)
    return fabric


@st.composite
def merging_flows(draw):
    """2-4 open-loop flows from the hub and the spokes to the site (a source may send twice:
    its NIC is shared too), rates around the gateway's cap so that the buffers fill, and the
    region pairs' round trips (scenario parameters) drawn so that the delays differ."""
    rtt = st.sampled_from([0.001, 0.05, 0.4, 3.0, 7.3])
    parameters = {
        "region_rtt_ms": {"eastus/westeurope": draw(rtt), "australiaeast/eastus": draw(rtt)}
    }
    flows = []
    for i in range(draw(st.integers(2, 4))):
        flow = {
            "name": f"f{i}",
            "src": draw(st.sampled_from(SOURCES)),
            "dst": "site-vm",
            "protocol": draw(st.sampled_from(["Udp", "Tcp"])),
            "pattern": draw(st.sampled_from(["cbr", "poisson", "onoff"])),
            "rate_mbps": draw(st.sampled_from([20, 300, 900, 2500])),
            "packet_bytes": draw(st.sampled_from([300, 700, 1400])),
            "duration_s": draw(st.sampled_from([0.0005, 0.0015])),
            "start_s": draw(st.sampled_from([0.0, 0.0002, 0.0007])),
        }
        if draw(st.booleans()):
            flow["size_mix"] = "imix"
        flows.append(flow)
    return flows, parameters


def _same(a, b) -> None:
    assert json.dumps(a.to_json()) == json.dumps(b.to_json())
    for x, y in zip(a.flows, b.flows, strict=True):
        np.testing.assert_array_equal(x.latency_ns, y.latency_ns)
        np.testing.assert_array_equal(x.delivered_at_ns, y.delivered_at_ns)
        np.testing.assert_array_equal(x.delivered_bytes, y.delivered_bytes)


def _batch(fabric, flows, window, **options):
    with mock.patch.object(batchplane, "WINDOW_PACKETS", window):
        return simulate(fabric, flows, engine="batch", **options)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(merging_flows(), WINDOWS, st.integers(0, 1000))
def test_flows_of_different_delays_merging_at_a_gateway_give_the_same_results_in_any_window(
    scenario, window, seed
):
    flows, parameters = scenario
    options = {"seed": seed, "parameters": parameters}
    events = simulate(hub_to_site(), flows, engine="events", **options)
    whole = _batch(hub_to_site(), flows, 10**12, **options)
    windowed = _batch(hub_to_site(), flows, window, **options)
    _same(events, whole)
    _same(events, windowed)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(open_loop_scenarios(), WINDOWS, st.integers(0, 1000))
def test_random_fabrics_give_the_event_engines_results_in_any_window(scenario, window, seed):
    fabric, flows = scenario
    # at most ~300 windows: the fast flows of these scenarios send ~10^5 packets
    packets = sum(f["rate_mbps"] * 1e6 * f["duration_s"] / (8 * f["packet_bytes"]) for f in flows)
    window = max(window, int(packets) // 300)
    events = simulate(fabric, flows, seed=seed, engine="events")
    _same(events, _batch(fabric, flows, window, seed=seed))


def test_a_shared_server_holds_back_arrivals_past_its_safe_bound():
    """Not vacuous: with small windows, the gateway's tunnel meets arrivals from a nearer and a
    farther flow and holds the later ones back for the next window."""
    flows = [
        {"name": name, "src": src, "dst": "site-vm", "protocol": "Udp", "pattern": "cbr"}
        | {"rate_mbps": 300, "packet_bytes": 1400, "duration_s": 0.002}
        for name, src in (("near", "hub-vm"), ("far", "spoke1-vm"))
    ]
    parameters = {"region_rtt_ms": {"eastus/westeurope": 2.0, "australiaeast/eastus": 2.0}}
    held = []
    split = batchplane._Packets.split

    def spy(packets, at):
        held.append(packets.times.size - at)
        return split(packets, at)

    with mock.patch.object(batchplane._Packets, "split", spy):
        windowed = _batch(hub_to_site(), flows, 8, parameters=parameters)
    assert sum(held) > 0
    _same(simulate(hub_to_site(), flows, engine="events", parameters=parameters), windowed)


@settings(max_examples=200)
@given(
    st.lists(st.lists(st.integers(-(2**62), 2**62), max_size=9000), max_size=6),
    st.integers(0, 20000),
)
def test_a_samples_column_holds_its_blocks_in_order(blocks, reserve):
    column = Column(reserve)
    for block in blocks:
        column.extend(np.array(block, dtype=np.int64))
    expected = np.array([v for block in blocks for v in block], dtype=np.int64)
    assert len(column) == expected.size
    got = column.array()
    np.testing.assert_array_equal(got, expected)
    assert not got.flags.writeable  # shared with the results, not copied
    assert column.array() is got  # joined once
