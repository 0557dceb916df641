"""Flows stream their deliveries (fabric.sim.flows.FlowStats): without per-packet samples the
results are the same (counts, throughputs, means exact; p50/p99 within the stated 0.1% of
numpy's percentiles), both engines still agree exactly, and memory does not grow with packets.
"""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.cli import main
from fabric.scenarios import path
from fabric.sim.flows import QUANTILE_RELATIVE_ERROR, FlowStats
from fabric.sim.results import SamplesNotKeptError, span_mbps, trend_mbps
from fabric.sim.runs import simulate
from tests.test_batchplane import open_loop_scenarios
from tests.test_dataplane import two_vnets_vpn, udp


class _Packet:
    __slots__ = ("payload", "sent_ns")

    def __init__(self, sent_ns: int, payload: int) -> None:
        self.sent_ns = sent_ns
        self.payload = payload


deliveries = st.lists(
    st.tuples(st.integers(0, 50), st.integers(1, 5_000), st.integers(0, 1_460)),
    min_size=0,
    max_size=300,
)


@settings(max_examples=300)
@given(deliveries, st.integers(0, 320), st.sampled_from([1, 3, 4096]))
def test_streamed_throughputs_equal_the_arrays_ones(steps, steady_at, fold_every):
    """Deliveries in time order, start-up ending at the latest delivery's instant (as TCP
    marks it) after ``steady_at`` of them; folding every ``fold_every``."""
    stats = FlowStats("f", keep_samples=True)
    now, rows = 0, []
    for i, (gap, latency, payload) in enumerate(steps):
        if i == steady_at:
            stats.steady_from_ns = now
        now += gap
        stats.deliver(now, _Packet(now - latency, payload))
        rows.append((now, latency, payload))
        if len(stats.latency) >= fold_every:
            stats.fold()
    arrays = stats.sample_arrays()
    at = np.array([r[0] for r in rows], dtype=np.int64)
    payload = np.array([r[2] for r in rows], dtype=np.int64)
    np.testing.assert_array_equal(arrays["delivered_at_ns"], at)
    np.testing.assert_array_equal(arrays["latency_ns"], [r[1] for r in rows])
    assert stats.span.mbps() == span_mbps(at, payload)
    steady_from = stats.steady_from_ns
    expected = trend_mbps(at[at >= steady_from], payload[at >= steady_from]) if steady_from else 0.0
    if steady_from == 0:  # set before any delivery: every one counts
        expected = trend_mbps(at, payload)
    assert stats.steady.mbps() == expected
    assert stats.span.total_bytes == int(payload.sum())
    assert len(stats.latency_stats) == len(rows)


def _flows(result) -> list[dict]:
    return json.loads(json.dumps(result.to_json()))["flows"]


@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(open_loop_scenarios(), st.integers(0, 1000))
def test_without_samples_both_engines_give_the_same_results_json(scenario, seed):
    fabric, flows = scenario
    kept = simulate(fabric, flows, seed=seed, engine="events")
    expected = json.dumps(kept.to_json())
    for engine in ("events", "batch"):
        streamed = simulate(fabric, flows, seed=seed, engine=engine, samples=False)
        assert json.dumps(streamed.to_json()) == expected
    for flow in kept.flows:
        if flow.delivered:
            for q, key in ((50, "p50"), (99, "p99")):
                exact = float(np.percentile(flow.latency_ns, q)) / 1e6
                assert abs(flow.latency_ms()[key] - exact) <= QUANTILE_RELATIVE_ERROR * exact + 1e-6
            assert flow.latency_ms()["mean"] == round(float(flow.latency_ns.mean()) / 1e6, 6)
            assert flow.delivered_payload_bytes == int(flow.delivered_bytes.sum())


def test_a_tcp_flow_streams_the_same_numbers_it_reports_with_samples():
    fabric = two_vnets_vpn("VpnGw1")
    flow = {"name": "t", "src": "a-vm", "dst": "b-vm", "pattern": "tcp", "protocol": "Tcp"}
    flow["duration_s"] = 0.2
    kept = simulate(fabric, [flow], seed=3)
    streamed = simulate(fabric, [flow], seed=3, samples=False)
    assert _flows(streamed) == _flows(kept)
    assert streamed.flows[0].steady_mbps == kept.flows[0].steady_mbps > 0
    with pytest.raises(SamplesNotKeptError, match="samples=True"):
        _ = streamed.flows[0].latency_ns
    with pytest.raises(SamplesNotKeptError):
        streamed.flows[0].goodput_mbps(0.0, 0.1)


def test_figures_are_drawn_without_samples(tmp_path):
    fabric = two_vnets_vpn()
    result = simulate(fabric, [udp("u", "a-vm", "b-vm", 50, duration=0.05)], samples=False)
    written = result.write(tmp_path)
    assert {p.name for p in written} >= {"results.json", "latency_cdf.png", "throughput.png"}


def test_run_without_out_streams_and_reports_what_the_api_does(capsys):
    scenario = str(path("peering_vs_vpn_same_region"))
    assert main(["run", scenario, "--json", "--duration", "0.3"]) == 0
    printed = json.loads(capsys.readouterr().out)
    from fabric.io import load_topology
    from fabric.sim.runs import run_document

    result = run_document(load_topology(scenario), duration_s=0.3)
    assert printed["flows"] == _flows(result)


def test_memory_of_a_streaming_flow_does_not_grow_with_its_packets():
    def peak(deliveries: int) -> int:
        stats = FlowStats("f", keep_samples=False)
        stats.steady_from_ns = 0
        packet = _Packet(0, 1400)
        tracemalloc.start()
        for now in range(1, deliveries + 1):
            packet.sent_ns = now - 500 - now % 97
            stats.deliver(now * 1_000, packet)
        stats.fold(final=True)
        _, high = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return high

    small, large = peak(20_000), peak(200_000)
    assert large < small + 64 * 1024  # ten times the packets, not ten times the memory
    assert large < 1_000_000


def test_the_memory_estimate_counts_tcp_packets_only_when_their_samples_are_kept():
    from fabric.model.traffic import FlowSpec
    from fabric.sim.runs import BYTES_PER_PACKET, estimate_memory_bytes, estimate_packets

    fabric = two_vnets_vpn()
    tcp = FlowSpec(name="t", src="a-vm", dst="b-vm", pattern="tcp", protocol="Tcp")
    cbr = FlowSpec(name="c", src="a-vm", dst="b-vm", rate_mbps=112, packet_bytes=1400)
    assert estimate_memory_bytes(fabric, [tcp], 30.0, "events", samples=False) == 0
    assert estimate_memory_bytes(fabric, [tcp], 30.0, "events", samples=True) > 0
    for samples in (True, False):
        expected = estimate_packets(fabric, [cbr], None) * BYTES_PER_PACKET["batch"]
        assert estimate_memory_bytes(fabric, [cbr], None, "batch", samples) == expected


def test_open_loop_send_times_are_in_order_even_when_on_periods_nearly_touch():
    """On/off flows with off times far shorter than a packet gap: a period's jittered last
    packet could leave after the next period's first; the trace keeps them in time order
    (the schedule numbers each flow's packets by how many it has sent)."""
    from fabric.model import FlowSpec
    from fabric.sim.traffic import open_loop_trace

    spec = FlowSpec(
        "f", "a", "b", pattern="onoff", rate_mbps=10, packet_bytes=1000, duration_s=1.0,
        on_s=0.0005, off_s=0.000001,
    )  # fmt: skip
    times, _ = open_loop_trace(spec, np.random.default_rng(3), None, jitter_us=500.0)
    assert times.size > 100
    assert bool((times[1:] >= times[:-1]).all())
