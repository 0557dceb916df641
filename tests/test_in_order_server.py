"""``RateServer.depart_in_order`` (departures known on arrival, no events) against the oracle
of the same server driven by events through ``put``: for arrivals in time and tie order, every
item leaves at the same time or is refused for the same reason, and the counters agree."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import RateServer, Simulation

arrivals = st.lists(
    st.tuples(st.integers(0, 3), st.integers(1, 1_500)),  # (gap ns x 1000 or 0, bytes)
    min_size=1,
    max_size=120,
)


def _server(sim, on_depart, refused, buffer_bytes, buffer_packets, rate, floor) -> RateServer:
    return RateServer(
        sim,
        rate,
        on_depart,
        lambda item, reason: refused.__setitem__(item, reason),
        buffer_bytes=buffer_bytes,
        buffer_packets=buffer_packets,
        min_service_ns=floor,
        tie_order=lambda item: item,
    )


def _by_events(trace, *setting):
    sim = Simulation()
    left: dict[int, int] = {}
    refused: dict[int, str] = {}
    server = _server(sim, lambda item: left.__setitem__(item, sim.now), refused, *setting)
    for index, (at, size) in enumerate(trace):
        sim.schedule_at(at, lambda i, size=size: server.put(i, size), index)
    sim.run()
    return left, refused, server


def _in_order(trace, *setting):
    sim = Simulation()
    left: dict[int, int] = {}
    refused: dict[int, str] = {}
    server = _server(sim, lambda item: None, refused, *setting)

    def arrive(index: int) -> None:
        departure = server.depart_in_order(index, trace[index][1])
        if departure >= 0:
            left[index] = departure

    for index, (at, _) in enumerate(trace):
        sim.schedule_at(at, arrive, index)
    sim.run()
    return left, refused, server


@settings(max_examples=300)
@given(
    arrivals,
    st.sampled_from([1_000_000_000, 8_000_000_000, 100_000_000]),
    st.sampled_from([None, 0, 1_500, 6_000]),
    st.sampled_from([None, 0, 1, 3]),
    st.sampled_from([1, 500, 2_000]),
)
def test_departures_known_on_arrival_equal_the_event_driven_server(
    steps, rate, buffer_bytes, buffer_packets, floor
):
    trace, now = [], 0
    for gap, size in steps:  # gaps of 0 make same-instant bursts, in tie (index) order
        now += gap * 1_000
        trace.append((now, size))
    setting = (buffer_bytes, buffer_packets, rate, floor)
    oracle = _by_events(trace, *setting)
    ours = _in_order(trace, *setting)
    assert ours[0] == oracle[0]  # the same items leave, at the same times
    assert ours[1] == oracle[1]  # the same refused, for the same reasons
    for name in ("arrivals", "departures", "busy_ns", "peak_queue_packets", "drops"):
        assert getattr(ours[2], name) == getattr(oracle[2], name), name
