"""Streaming recorders: exact moments, quantiles within the stated relative error of numpy's
exact ones, merges that equal one big recorder, and memory that does not grow with samples."""

from __future__ import annotations

import statistics
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.stats import LatencyStats, LogHistogram, ThroughputSeries, exact_sum_of_squares

samples = st.lists(
    st.one_of(st.integers(0, 2_000), st.integers(0, 10**12), st.sampled_from([0, 1, 7, 10**9])),
    min_size=1,
    max_size=400,
)
quantiles = st.lists(st.floats(0, 1), min_size=1, max_size=8)


@settings(max_examples=300)
@given(
    samples,
    quantiles,
    st.sampled_from([1e-3, 1e-2, 0.05]),
    st.sampled_from(["lower", "higher", "linear"]),
)
def test_every_quantile_is_within_the_relative_error_of_numpys(values, qs, error, method):
    recorder = LatencyStats(error)
    recorder.record_many(np.array(values, dtype=np.int64))
    data = np.array(values, dtype=np.int64)
    for q in [*qs, 0.0, 0.5, 0.99, 1.0]:
        exact = float(np.quantile(data, q, method=method))
        reported = recorder.quantile_ns(q, method)
        assert abs(reported - exact) <= error * exact, (q, reported, exact)


@settings(max_examples=200)
@given(samples)
def test_count_sum_min_max_mean_and_variance_are_exact(values):
    recorder = LatencyStats()
    for value in values:
        recorder.record(value)
    assert len(recorder) == len(values)
    assert recorder.total_ns == sum(values)
    assert (recorder.min_ns, recorder.max_ns) == (min(values), max(values))
    assert recorder.mean_ns() == sum(values) / len(values)  # int / int rounds once
    if len(values) > 1:
        assert recorder.variance_ns2() == float(statistics.variance(values))  # exact inside
        assert recorder.variance_ns2(ddof=0) == float(statistics.pvariance(values))


@settings(max_examples=200)
@given(samples, st.lists(st.integers(0, 400), max_size=5), st.sampled_from(["lower", "higher"]))
def test_merged_replications_equal_one_recorder(values, cuts, method):
    data = np.array(values, dtype=np.int64)
    parts = np.split(data, sorted(c % (data.size + 1) for c in cuts))
    replications = []
    for part in parts:
        recorder = LatencyStats()
        for value in part.tolist():  # scalar path in the parts, array path in the whole
            recorder.record(value)
        replications.append(recorder)
    merged = LatencyStats.merged(replications)
    whole = LatencyStats()
    whole.record_many(data)
    assert len(merged) == len(whole)
    assert (merged.total_ns, merged.min_ns, merged.max_ns) == (
        whole.total_ns,
        whole.min_ns,
        whole.max_ns,
    )
    assert merged.variance_ns2() == pytest.approx(whole.variance_ns2(), nan_ok=True, rel=0)
    for q in (0, 0.1, 0.5, 0.9, 0.99, 1):
        assert merged.quantile_ns(q, method) == whole.quantile_ns(q, method)


@given(st.lists(st.integers(-(2**62), 2**62), max_size=50))
def test_exact_sum_of_squares(values):
    assert exact_sum_of_squares(np.array(values, dtype=np.int64)) == sum(v * v for v in values)


def test_keep_samples_gives_the_arrays_and_exact_percentiles_back():
    recorder = LatencyStats(keep_samples=True)
    for ns in range(1_000_000, 101_000_000, 1_000_000):
        recorder.record(ns)
    np.testing.assert_array_equal(recorder.samples_ns, np.arange(1, 101) * 1_000_000)
    assert recorder.summary_ms()["mean"] == pytest.approx(50.5)
    assert recorder.summary_ms()["p99"] == pytest.approx(99, rel=1e-3)  # the "lower" sample
    with pytest.raises(ValueError, match="keep_samples"):
        LatencyStats().samples_ns  # noqa: B018
    with pytest.raises(ValueError, match="negative"):
        LatencyStats().record(-1)


def test_ten_million_samples_keep_the_recorder_under_a_few_hundred_kb():
    rng = np.random.default_rng(1)
    recorder = LatencyStats()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(10):
        chunk = rng.lognormal(13, 2, 1_000_000).astype(np.int64)  # ~0.4 ms, 1 ns .. seconds
        recorder.record_many(chunk)
        del chunk
    for value in range(200_000):  # the scalar path too
        recorder.record(value * 37)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(recorder) == 10_200_000
    assert recorder.nbytes < 200_000
    assert held < 300_000, held


def test_log_histogram_refuses_negative_values_and_mixed_errors():
    with pytest.raises(ValueError, match="non-negative"):
        LogHistogram().add(np.array([3, -1]))
    with pytest.raises(ValueError, match="different relative errors"):
        LogHistogram(1e-3).merge(LogHistogram(1e-2))


@settings(max_examples=200)
@given(
    st.lists(st.tuples(st.integers(0, 10**9), st.integers(1, 9_000)), min_size=1, max_size=300),
    st.sampled_from([8, 16, 64]),
)
def test_adaptive_throughput_bins_equal_a_direct_count_at_the_final_width(deliveries, max_bins):
    series = ThroughputSeries(max_bins=max_bins, initial_bin_ns=1)
    for time, size in deliveries:
        series.record(time, size)
    times = np.array([t for t, _ in deliveries])
    sizes = np.array([s for _, s in deliveries])
    width = series.bin_ns
    assert width == 1 or times.max() // width < max_bins <= times.max() // (width // 2)
    direct = np.bincount(times // width, weights=sizes, minlength=max_bins)
    _, rates = series.series_bps(max_bins * width)
    np.testing.assert_array_equal(rates, direct * 8e9 / width)
    assert series.total_bytes == sizes.sum()
    batch = ThroughputSeries(max_bins=max_bins, initial_bin_ns=1)
    batch.record_many(times, sizes)
    np.testing.assert_array_equal(batch.series_bps(max_bins * width)[1], rates)
    assert batch.nbytes == max_bins * 8


def test_throughput_series_window_fixed_width_and_merge():
    series = ThroughputSeries(1_000_000, max_bins=16)
    for ms in range(10):
        series.record(ms * 1_000_000, 125)  # 1000 bits per ms = 1 Mbps
    assert series.rate_bps(0, 10_000_000) == pytest.approx(1_000_000)
    with pytest.raises(ValueError, match="multiples"):
        series.rate_bps(1, 10_000_000)
    with pytest.raises(ValueError, match="beyond 16 bins"):
        series.record(16_000_000, 1)
    other = ThroughputSeries(max_bins=16, initial_bin_ns=1_000_000)
    other.record(40_000_000, 1000)  # widens to 4 ms bins
    series.merge(other)
    assert series.bin_ns == 4_000_000
    assert series.total_bytes == 2250
    starts, rates = series.series_bps()
    assert starts.tolist() == [0, 4e6, 8e6, 12e6, 16e6, 20e6, 24e6, 28e6, 32e6, 36e6, 40e6]
    assert rates[0] == 500 * 8e9 / 4e6
