"""Statistics recorders and the Student-t interval."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator import LatencyRecorder, ThroughputRecorder, TimeWeighted, confidence_interval
from simulator.stats import student_t_quantile


@pytest.mark.parametrize(
    ("level", "dof", "table_value"),
    [
        (0.95, 1, 12.706),
        (0.95, 2, 4.303),
        (0.95, 9, 2.262),
        (0.95, 30, 2.042),
        (0.99, 5, 4.032),
        (0.90, 10, 1.812),
    ],
)
def test_student_t_quantiles_match_the_printed_tables(level, dof, table_value):
    assert student_t_quantile(level, dof) == pytest.approx(table_value, abs=5e-4)


def test_confidence_interval_of_replications():
    interval = confidence_interval([1.0, 2.0, 3.0, 4.0], level=0.95)
    half = 3.182446 * np.std([1, 2, 3, 4], ddof=1) / 2
    assert interval.mean == 2.5
    assert interval.half_width == pytest.approx(half, rel=1e-5)
    assert math.isinf(confidence_interval([7.0]).high)
    with pytest.raises(ValueError, match="at least one"):
        confidence_interval([])


def test_latency_recorder_summary_in_ms():
    recorder = LatencyRecorder()
    for ns in range(1_000_000, 101_000_000, 1_000_000):  # 1..100 ms
        recorder.record(ns)
    summary = recorder.summary_ms()
    assert summary["mean"] == pytest.approx(50.5)
    assert summary["p50"] == pytest.approx(50.5)
    assert summary["p99"] == pytest.approx(99.01)
    assert recorder.samples_ns.dtype == np.int64
    assert math.isnan(LatencyRecorder().mean_s())


def test_throughput_recorder_window_and_series():
    recorder = ThroughputRecorder()
    for ms in range(10):
        recorder.record(ms * 1_000_000, 125)  # 1000 bits per ms = 1 Mbps
    assert recorder.rate_bps(0, 10_000_000) == pytest.approx(1_000_000)
    starts, rates = recorder.series_bps(5_000_000, 10_000_000)
    assert starts.tolist() == [0, 5_000_000]
    np.testing.assert_allclose(rates, [1_000_000, 1_000_000])
    assert recorder.total_bytes() == 1250


def test_time_weighted_average_and_monotone_time():
    tw = TimeWeighted()
    tw.update(10, 2)
    tw.update(20, 0)
    assert tw.mean(40) == pytest.approx(20 / 40)
    assert tw.peak == 2
    with pytest.raises(ValueError, match="backwards"):
        tw.update(5, 1)
