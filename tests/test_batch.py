"""The vectorised FIFO equals the event engine's RateServer, packet for packet (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import RateServer, Simulation
from simulator.batch import fifo, fifo_with_buffer, service_times
from tests.helpers import feed


def event_engine(arrivals, sizes, rate, buffer_bytes=None, buffer_packets=None, floor=0):
    sim = Simulation()
    departures = np.full(len(arrivals), -1, dtype=np.int64)
    reasons = np.zeros(len(arrivals), dtype=np.int8)
    codes = {"BufferFullPackets": 1, "BufferFullBytes": 2}

    def depart(i):
        departures[i] = sim.now

    def drop(i, why):
        reasons[i] = codes[why]

    server = RateServer(
        sim,
        rate,
        depart,
        drop,
        buffer_bytes=buffer_bytes,
        buffer_packets=buffer_packets,
        min_service_ns=floor,
    )
    feed(sim, server, arrivals, sizes)
    sim.run()
    return departures, reasons, server.peak_queue_packets


traces = st.lists(
    st.tuples(st.integers(0, 20_000), st.integers(40, 1500)), min_size=1, max_size=300
)


@settings(max_examples=200)
@given(
    traces,
    st.integers(10_000_000, 10_000_000_000),
    st.one_of(st.none(), st.integers(0, 30)),
    st.one_of(st.none(), st.integers(0, 40_000)),
    st.integers(0, 20_000),
)
def test_batch_fifo_equals_the_event_engine(trace, rate, packets, nbytes, floor):
    # Strictly increasing arrivals: ties between arrivals are ordered by the caller.
    arrivals = np.cumsum([gap + 1 for gap, _ in trace]).astype(np.int64)
    sizes = np.array([size for _, size in trace], dtype=np.int64)
    service = service_times(sizes, rate, floor)
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


def test_fifo_recurrence_on_a_known_case():
    arrivals = np.array([0, 1, 2, 10, 10], dtype=np.int64)
    service = np.array([3, 3, 3, 1, 1], dtype=np.int64)
    assert fifo(arrivals, service).tolist() == [3, 6, 9, 11, 12]
