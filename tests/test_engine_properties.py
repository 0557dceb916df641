"""Hypothesis properties of the engine: FIFO, conservation, determinism, monotone time."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import Delay, RateServer, Simulation
from simulator.units import serialisation_ns
from tests.helpers import feed

traces = st.lists(
    st.tuples(st.integers(0, 50_000), st.integers(1, 9_000)), min_size=1, max_size=200
)
buffers = st.one_of(st.none(), st.integers(0, 20))


def _run(trace, rate, buffer_packets, stop_at=None, seed=0):
    sim = Simulation(seed=seed)
    times, departed, dropped = [], [], []

    def depart(i):
        times.append(sim.now)
        departed.append(i)

    server = RateServer(
        sim, rate, depart, lambda i, why: dropped.append((i, why)), buffer_packets=buffer_packets
    )
    arrivals, gap_total = [], 0
    for gap, _ in trace:
        gap_total += gap
        arrivals.append(gap_total)
    feed(sim, server, arrivals, [size for _, size in trace])
    sim.run(until=stop_at)
    return sim, server, times, departed, dropped


@given(traces, st.integers(1_000_000, 10_000_000_000), buffers)
def test_fifo_order_is_kept(trace, rate, buffer_packets):
    _, _, _, departed, _ = _run(trace, rate, buffer_packets)
    assert departed == sorted(departed)


@given(traces, st.integers(1_000_000, 10_000_000_000), buffers, st.integers(0, 3_000_000))
def test_nothing_is_lost(trace, rate, buffer_packets, stop_at):
    _, server, _, departed, dropped = _run(trace, rate, buffer_packets, stop_at=stop_at)
    assert server.arrivals == len(departed) + len(dropped) + server.in_system
    assert server.departures == len(departed)
    assert sum(server.drops.values()) == len(dropped)


@given(traces, st.integers(1_000_000, 10_000_000_000), buffers)
def test_time_never_goes_backwards(trace, rate, buffer_packets):
    _, _, times, _, _ = _run(trace, rate, buffer_packets)
    assert times == sorted(times)


@given(traces, buffers, st.integers(0, 2**32))
@settings(max_examples=30)
def test_same_seed_gives_byte_identical_results(trace, buffer_packets, seed):
    def result() -> bytes:
        sim = Simulation(seed=seed)
        jitter = sim.stream("jitter").integers(0, 1_000, len(trace))
        arrivals = sorted(int(t) for t in np.cumsum([gap for gap, _ in trace]) + jitter)
        log = []
        server = RateServer(
            sim,
            100_000_000,
            lambda i: log.append(("departed", i, sim.now)),
            lambda i, why: log.append(("dropped", i, why, sim.now)),
            buffer_packets=buffer_packets,
        )
        wire = Delay(sim, 1_000, lambda i: server.put(i, trace[i][1]))
        feed(sim, wire, arrivals, [size for _, size in trace])
        sim.run()
        return json.dumps(log).encode()

    assert result() == result()


@given(st.integers(0, 10**6), st.integers(1, 10**11))
def test_inlined_serialisation_in_rate_server_matches_the_units_function(nbytes, rate):
    sim = Simulation()
    done = []
    RateServer(sim, rate, lambda _: done.append(sim.now)).put(0, nbytes)
    sim.run()
    assert done == [serialisation_ns(nbytes, rate)]
