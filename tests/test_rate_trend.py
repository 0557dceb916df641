"""The steady delivery rate (``RateTrend``): the least-squares slope of delivered payload over
time, exact whatever the blocking, never above a serialising cap, and at window ÷ RTT for a
window-limited flow whose deliveries come in bursts (§7.3), where a first-to-last span
overshoots by one window."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabric.sim.results import span_mbps, trend_mbps
from simulator.stats import RateTrend, exact_dot

deliveries = st.lists(
    st.tuples(st.integers(0, 10**9), st.integers(1, 9_000)), min_size=2, max_size=300
)


def oracle_mbps(at: list[int], payload: list[int]) -> float:
    """The least-squares slope in exact rationals."""
    cumulative, total = [], 0
    for size in payload:
        total += size
        cumulative.append(total)
    n = len(at)
    mean_x = Fraction(sum(at), n)
    mean_y = Fraction(sum(cumulative), n)
    rise = sum((x - mean_x) * (y - mean_y) for x, y in zip(at, cumulative, strict=True))
    spread = sum((x - mean_x) ** 2 for x in at)
    return 0.0 if spread == 0 else round(float(rise / spread * 8_000), 6)


@settings(max_examples=200)
@given(deliveries, st.lists(st.integers(1, 300), max_size=6))
def test_the_slope_is_exact_and_the_same_for_every_blocking(steps, cuts):
    at = np.cumsum([gap for gap, _ in steps], dtype=np.int64)
    payload = np.array([size for _, size in steps], dtype=np.int64)
    expected = oracle_mbps(at.tolist(), payload.tolist())
    assert trend_mbps(at, payload) == expected
    trend, start = RateTrend(), 0
    for cut in [*sorted(cuts), len(at)]:
        trend.add(at[start:cut], payload[start:cut])
        start = max(start, cut)
    assert trend.mbps() == expected


@settings(max_examples=200)
@given(
    st.lists(st.tuples(st.integers(0, 10**7), st.integers(40, 9_000)), min_size=2, max_size=300),
    st.sampled_from([10, 650, 1_000, 12_500, 100_000]),
)
def test_never_above_the_rate_of_the_link_that_serialises_the_deliveries(steps, cap_mbps):
    """Each delivery comes at least its own serialisation time after the one before (plus
    idle gaps): every pair of deliveries is at most at the cap, so the slope is too."""
    at, now = [], 0
    for idle, size in steps:
        now += idle + -(-size * 8_000 // cap_mbps)  # ns to serialise, rounded up
        at.append(now)
    payload = np.array([size for _, size in steps], dtype=np.int64)
    assert trend_mbps(np.array(at, dtype=np.int64), payload) <= cap_mbps


@pytest.mark.parametrize("round_trips", [3, 5, 10, 30])
def test_a_window_limited_flow_reads_window_over_rtt(round_trips):
    """§7.3: one window per round trip, delivered as a burst at the bottleneck's rate."""
    rtt_ns, window, segment, line_mbps = 30_000_000, 65_700, 1_460, 1_000
    at = [
        trip * rtt_ns + (i + 1) * (segment * 8_000 // line_mbps)
        for trip in range(round_trips)
        for i in range(window // segment)
    ]
    at_ns = np.array(at, dtype=np.int64)
    payload = np.full(at_ns.size, segment, dtype=np.int64)
    ceiling = window * 8 / rtt_ns * 1e3
    assert trend_mbps(at_ns, payload) == pytest.approx(ceiling, rel=0.003)
    # The span of the same deliveries holds one window too many: k/(k-1) at worst.
    assert span_mbps(at_ns, payload) > ceiling * 1.005


@given(
    st.lists(st.integers(-(2**61), 2**61), min_size=1, max_size=50),
    st.integers(0, 2**40),
)
def test_exact_dot_equals_python_integers(values, scale):
    u = np.array(values, dtype=np.int64)
    v = (np.arange(u.size, dtype=np.int64) * 7919 + scale) % (2**62)
    assert exact_dot(u, v) == sum(a * int(b) for a, b in zip(values, v.tolist(), strict=True))


def test_a_flow_cut_off_before_its_sender_stops_is_not_read_at_its_early_rate():
    """Deliveries at 100 Mbps for the first half of the steady window, then none while the
    sender still sends: the steady rate is over the whole window (about 50), not the slope
    of the deliveries alone (100)."""
    spacing = 112_000  # 1,400 bytes at 100 Mbps
    at = np.arange(1, 5_001, dtype=np.int64) * spacing
    payload = np.full(at.size, 1_400, dtype=np.int64)
    trend = RateTrend()
    trend.add(at, payload)
    assert trend.mbps() == pytest.approx(100, rel=1e-3)
    until = int(at[-1]) * 2
    assert trend.capped_mbps(0, until) == pytest.approx(50, rel=1e-3)
    # a flow delivered to its end reads its rate either way
    assert trend.capped_mbps(0, int(at[-1])) == pytest.approx(100, rel=1e-3)


def test_a_vm_that_stops_mid_run_halves_its_flow_steady_rate():
    from fabric.io import load_topology
    from fabric.sim.runs import run_document

    text = """
vnets:
  - name: a
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets: [{name: s, address_prefix: 10.0.1.0/24}]
    hosts:
      - {name: src, subnet: s, ip: 10.0.1.4}
      - {name: dst, subnet: s, ip: 10.0.1.5}
traffic:
  - {name: f, src: src, dst: dst, protocol: Udp, rate_mbps: 100, pattern: cbr, duration_s: 1.0}
events:
  - {at_s: 0.55, action: vm_down, target: dst}
"""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cut.yaml"
        path.write_text(text)
        flow = run_document(load_topology(path), duration_s=1.0).flow("f")
    # steady from 0.1 s: delivered until 0.55 s of a window to ~1.0 s
    assert flow.steady_mbps == pytest.approx(100 * 0.45 / 0.9, rel=0.03)


def _run(name: str):
    from pathlib import Path

    from fabric.io import load_topology
    from fabric.sim.runs import run_document

    return run_document(load_topology(Path(__file__).parent / "data" / name))


def test_a_short_run_on_a_long_path_reads_window_over_rtt_not_a_burst():
    """§7.3: window / RTT. West Europe -> East US (89.5 ms round trip, §7.2), 45 x 1,460 B:
    5.87 Mbps; a run leaves one or two round trips after slow start, whose bursts alone would
    read the NIC's line rate."""
    flow = _run("tcp_long_path_short_run.yaml").flows[0]
    ceiling = 45 * 1460 * 8 / 0.0895 / 1e6
    assert flow.steady_mbps == pytest.approx(ceiling, rel=0.1)


def test_a_saturated_cap_is_never_exceeded_by_rounding():
    """Serialisation times round up: 650 Mbps (§3.4, VpnGw1 GCMAES256) reads at most 650."""
    flow = _run("vpngw1_saturated.yaml").flows[0]
    assert flow.throughput_mbps <= 650
    assert flow.steady_mbps <= 650
    assert flow.steady_mbps == pytest.approx(650, rel=0.01)


@pytest.mark.parametrize("seed", [6, 7])
def test_an_on_off_flow_reads_no_more_than_it_delivered_over_its_steady_window(seed):
    """An on-off flow's slope depends on where its busy stretches fall; the steady rate is at
    most its payload over the steady window."""
    from pathlib import Path

    from fabric.io import load_topology
    from fabric.sim.runs import run_document

    document = load_topology(Path(__file__).parent / "data" / "onoff_flow.yaml")
    flow = run_document(document, seed=seed).flows[0]
    steady_from = round(0.1 * 0.3 * 1e9)
    at, payload = flow.delivered_at_ns, flow.delivered_bytes
    kept = at >= steady_from
    assert flow.dropped == 0  # so the last packet sent is the last delivered one's
    last_sent = int((at - flow.latency_ns).max())
    window = max(int(at.max()), last_sent) - int(at[kept].min())
    assert flow.steady_mbps <= int(payload[kept].sum()) * 8_000 / window + 1e-6
