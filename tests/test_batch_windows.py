"""The windowed FIFO (simulator.batch.fifo_window) equals one call over the whole trace, however
the trace is split (hypothesis): departures, drops, reasons and peak, and the backlog carried."""

from __future__ import annotations

import contextlib
import itertools
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import batch
from simulator.batch import FifoState, fifo_window, fifo_with_buffer, service_times
from tests.test_batch import event_engine

traces = st.lists(
    st.tuples(st.integers(0, 20_000), st.integers(40, 1500)), min_size=1, max_size=300
)
buffers = st.tuples(
    st.one_of(st.none(), st.integers(0, 30)), st.one_of(st.none(), st.integers(0, 40_000))
)


def _spans(tiny: bool):
    """Spans of 2 to 8 arrivals and hand-backs after 3 calm ones, so that short traces cross
    many span edges and switch between the vector pass and the scalar rule often."""
    if not tiny:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch.object(batch, "_FIRST_SPAN", 2))
    stack.enter_context(mock.patch.object(batch, "_MAX_SPAN", 8))
    stack.enter_context(mock.patch.object(batch, "_CALM", 3))
    return stack


def _arrays(trace, rate, floor, tie_free):
    gaps = [gap + tie_free for gap, _ in trace]
    arrivals = np.cumsum(gaps).astype(np.int64)
    sizes = np.array([size for _, size in trace], dtype=np.int64)
    return arrivals, sizes, service_times(sizes, rate, floor)


@settings(max_examples=300)
@given(
    traces,
    st.integers(10_000_000, 10_000_000_000),
    buffers,
    st.integers(0, 20_000),
    st.lists(st.integers(0, 300), max_size=8),
    st.booleans(),
)
def test_any_split_into_windows_gives_the_results_of_one_call(
    trace, rate, buffer, floor, cuts, tie_free
):
    packets, nbytes = buffer
    arrivals, sizes, service = _arrays(trace, rate, floor, int(tie_free))
    whole = fifo_with_buffer(arrivals, sizes, service, buffer_bytes=nbytes, buffer_packets=packets)
    state = FifoState()
    parts = []
    edges = [0, *sorted(c % (arrivals.size + 1) for c in cuts), arrivals.size]
    for begin, end in itertools.pairwise(edges):
        parts.append(
            fifo_window(
                state,
                arrivals[begin:end],
                sizes[begin:end],
                service[begin:end],
                buffer_bytes=nbytes,
                buffer_packets=packets,
            )
        )
    for got, expected in zip(
        (np.concatenate(column) for column in zip(*parts, strict=True)), whole[:3], strict=True
    ):
        np.testing.assert_array_equal(got, expected)
    assert state.peak == whole[3]
    kept = whole[1]
    assert state.busy_until == (int(whole[0][kept].max()) if kept.any() else 0)
    # The carried backlog is exactly the accepted packets that had not started by the end.
    starts = (whole[0] - service)[kept]
    np.testing.assert_array_equal(state.waiting_starts, starts[starts > arrivals[-1]])
    np.testing.assert_array_equal(state.waiting_sizes, sizes[kept][starts > arrivals[-1]])


@settings(max_examples=100)
@given(traces, buffers, st.integers(1, 50))
def test_the_window_argument_changes_nothing_but_memory(trace, buffer, window):
    packets, nbytes = buffer
    arrivals, sizes, service = _arrays(trace, 1_000_000_000, 0, 1)
    one = fifo_with_buffer(arrivals, sizes, service, buffer_bytes=nbytes, buffer_packets=packets)
    windowed = fifo_with_buffer(
        arrivals, sizes, service, buffer_bytes=nbytes, buffer_packets=packets, window=window
    )
    for a, b in zip(one[:3], windowed[:3], strict=True):
        np.testing.assert_array_equal(a, b)
    assert one[3] == windowed[3]


@settings(max_examples=200)
@given(traces, st.integers(10_000_000, 10_000_000_000), buffers, st.integers(0, 20_000))
def test_short_spans_still_equal_the_event_engine(trace, rate, buffer, floor):
    packets, nbytes = buffer
    arrivals, sizes, service = _arrays(trace, rate, floor, 1)
    with _spans(True):
        departures, accepted, reasons, peak = fifo_with_buffer(
            arrivals, sizes, service, buffer_bytes=nbytes, buffer_packets=packets
        )
    expected, expected_reasons, expected_peak = event_engine(
        arrivals, sizes, rate, nbytes, packets, floor
    )
    np.testing.assert_array_equal(departures, expected)
    np.testing.assert_array_equal(reasons, expected_reasons)
    assert (accepted == (expected >= 0)).all()
    assert peak == expected_peak


def test_batch_benchmark_simulator_part_runs_and_agrees_with_one_call(capsys):
    import json

    from tests.helpers import load_script

    assert (
        load_script("benchmarks", "batch").main(
            ["--json", "--skip-fabric", "--packets", "30000", "--window", "4096"]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["simulator"]
    assert report["identical_to_one_call"]
    first, second, _ = report["drops"]
    assert report["packet_hops"] == 3 * 30000 - 2 * first - second
    assert {"of_numpy_floor", "peak_rss_mb"} <= set(report)


def test_batch_benchmark_compares_both_engines_on_the_same_packets(capsys):
    import json

    from tests.helpers import load_script

    argv = ["--json", "--packets", "20000", "--compare-packets", "4000", "--big-packets", "20000"]
    assert load_script("benchmarks", "batch").main(argv) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["identical_results"]
    assert report["events"]["packet_hops"] == report["batch"]["packet_hops"]
    assert 3_000 < report["events"]["packets"] < 5_000  # about --compare-packets
    assert (
        report["ratio"]
        == report["batch"]["packet_hops_per_s"] / (report["events"]["packet_hops_per_s"])
    )
    assert {"peak_rss_mb", "of_numpy_floor"} <= set(report["big_run"])
