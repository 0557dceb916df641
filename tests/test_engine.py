"""The event engine's contract: ordering, cancellation, stopping, errors, processes, streams."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import Delay, RateServer, Simulation, TokenBucket, UnitError, seconds
from simulator.units import milliseconds, serialisation_ns


def test_events_at_the_same_time_run_in_scheduling_order():
    sim = Simulation()
    seen = []
    for label in "abcde":
        sim.schedule(5, seen.append, label)
    sim.schedule(3, seen.append, "first")
    sim.run()
    assert seen == ["first", *"abcde"]
    assert sim.now == 5


def test_schedule_at_absolute_time_and_cancel():
    sim = Simulation()
    seen = []
    keep = sim.schedule_at(10, seen.append, "keep")
    drop = sim.schedule_at(7, seen.append, "drop")
    sim.cancel(drop)
    sim.cancel(drop)
    sim.run()
    assert seen == ["keep"]
    assert keep != drop


def test_pending_finds_a_scheduled_event_in_the_lane_or_the_heap():
    sim = Simulation()
    seen = []
    callback = seen.append  # one bound method: pending() compares callbacks by identity
    late = sim.schedule(10, callback, "late")  # the lane
    early = sim.schedule(4, callback, "early")  # before the lane's tail: the heap
    assert sim.pending(10, callback) is late
    assert sim.pending(4, callback) is early
    assert sim.pending(7, callback) is None
    assert sim.pending(10, print) is None
    sim.cancel(sim.pending(4, callback))
    sim.run()
    assert seen == ["late"]


def test_run_until_stops_before_events_at_that_time_and_resumes():
    sim = Simulation()
    seen = []
    for t in (1, 5, 10, 15):
        sim.schedule_at(t, seen.append, t)
    sim.run(until=10)
    assert seen == [1, 5]
    assert sim.now == 10
    sim.run()
    assert seen == [1, 5, 10, 15]


def test_run_until_advances_the_clock_when_nothing_is_left():
    sim = Simulation()
    sim.run(until=seconds(2))
    assert sim.now == 2_000_000_000


def test_stop_from_a_callback_ends_run_and_keeps_later_events():
    sim = Simulation()
    seen = []

    def stopper(_):
        seen.append("stop")
        sim.stop()

    sim.schedule(1, stopper)
    sim.schedule(1, seen.append, "same-time-later")
    sim.schedule(2, seen.append, "later")
    sim.run(until=100)
    assert seen == ["stop"]
    assert sim.now == 1
    sim.run()
    assert seen == ["stop", "same-time-later", "later"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (-1, "negative delay"),
        (math.nan, "NaN"),
        (1.5, "integer number of nanoseconds"),
        ("3", "integer number"),
        (True, "integer number"),
    ],
)
def test_bad_delays_get_clear_errors(bad, message):
    sim = Simulation()
    with pytest.raises(UnitError, match=message):
        sim.schedule(bad, print)


def test_scheduling_in_the_past_is_refused():
    sim = Simulation()
    sim.schedule(10, lambda _: None)
    sim.run()
    with pytest.raises(UnitError, match="already at 10"):
        sim.schedule_at(5, print)
    with pytest.raises(UnitError, match="in the past"):
        sim.run(until=3)


def test_numpy_integer_delays_are_accepted():
    sim = Simulation()
    seen = []
    sim.schedule(np.int64(4), seen.append, 1)
    sim.run()
    assert sim.now == 4


@pytest.mark.parametrize("rate", [0, -5, 1.5, None])
def test_rate_server_refuses_a_rate_that_is_not_a_positive_integer(rate):
    with pytest.raises(UnitError, match="rate must be a positive integer"):
        RateServer(Simulation(), rate, print)


def test_unit_conversions_round_half_up_and_refuse_nan():
    assert seconds(1.5) == 1_500_000_000
    assert milliseconds(0.0000005) == 1
    assert serialisation_ns(1500, 1_000_000_000) == 12_000
    assert serialisation_ns(1, 3) == 2_666_666_667
    with pytest.raises(UnitError, match="finite"):
        seconds(math.nan)


def test_processes_wait_on_timeouts_and_on_each_other():
    sim = Simulation()
    log = []

    def child():
        yield sim.timeout(5)
        log.append(("child done", sim.now))
        return 42

    def parent():
        value = yield sim.process(child())
        log.append(("parent got", value, sim.now))
        gate = sim.event()
        sim.schedule(3, lambda _: gate.succeed("open"))
        got = yield gate
        log.append((got, sim.now))

    sim.process(parent())
    sim.run()
    assert log == [("child done", 5), ("parent got", 42, 5), ("open", 8)]


def test_process_must_yield_events():
    sim = Simulation()

    def wrong():
        yield 5

    sim.process(wrong())
    with pytest.raises(TypeError, match="may only yield events"):
        sim.run()


def test_streams_are_independent_of_other_components():
    a = Simulation(seed=3).stream("flow-a").random(5)
    sim = Simulation(seed=3)
    sim.stream("flow-b").random(100)
    again = sim.stream("flow-a").random(5)
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, Simulation(seed=4).stream("flow-a").random(5))


def test_tracing_variant_overrides_only_step():
    class Tracing(Simulation):
        __slots__ = ("trace",)

        def __init__(self):
            super().__init__()
            self.trace = []

        def step(self):
            self.trace.append(self.peek())
            super().step()

    sim = Tracing()
    sim.schedule(2, lambda _: None)
    sim.schedule(1, lambda _: None)
    sim.run()
    assert sim.trace == [1, 2]


def test_token_bucket_passes_a_burst_then_shapes_to_the_rate():
    sim = Simulation()
    out = []
    shaper = TokenBucket(sim, 8_000_000, 3_000, lambda i: out.append((i, sim.now)))  # 1 byte/us
    for i in range(5):
        shaper.put(i, 1_000)
    sim.run()
    assert [t for _, t in out] == [0, 0, 0, 1_000_000, 2_000_000]
    assert [i for i, _ in out] == list(range(5))


def test_token_bucket_drops_what_can_never_conform_and_overflow():
    sim = Simulation()
    dropped = []
    shaper = TokenBucket(
        sim, 8_000_000, 1_000, print, lambda i, why: dropped.append((i, why)), buffer_packets=1
    )
    shaper.put("huge", 5_000)
    shaper.put("a", 1_000)
    shaper.put("b", 1_000)
    shaper.put("c", 1_000)
    assert dropped == [("huge", "ExceedsBurst"), ("c", "BufferFullPackets")]


def test_rate_server_tail_drops_by_bytes_and_packets():
    sim = Simulation()
    drops = []
    server = RateServer(
        sim, 1_000_000, lambda i: None, lambda i, why: drops.append((i, why)), buffer_bytes=2_000
    )
    for i in range(4):
        server.put(i, 1_000)
    assert drops == [(3, "BufferFullBytes")]
    assert server.queue_bytes == 2_000
    assert server.peak_queue_packets == 2


def test_delay_keeps_order_and_times_even_when_fed_from_its_own_departures():
    from simulator import Delay

    sim = Simulation()
    seen = []

    def depart(item):
        seen.append((item, sim.now))
        if item == "a":  # re-enter the same element while it is delivering
            delay.put("again")

    delay = Delay(sim, 10, depart)
    delay.put("a")
    sim.schedule(3, lambda _: delay.put("b"))
    sim.run()
    assert seen == [("a", 10), ("b", 13), ("again", 20)]
    assert delay.in_flight == 0


def test_withdraw_removes_every_pending_call_of_one_callback_in_run_order():
    sim = Simulation()
    seen, other = [], []
    sim.schedule_at(10, seen.append, "lane-10")
    sim.schedule_at(20, seen.append, "lane-20")
    sim.schedule_at(15, other.append, "kept")
    sim.schedule_at(5, seen.append, "heap-5")  # earlier than the lane's tail: on the heap
    sim.schedule_at(10, seen.append, "heap-10")
    assert sim.withdraw(seen.append) == ["heap-5", "lane-10", "heap-10", "lane-20"]
    assert sim.withdraw(seen.append) == []
    sim.run()
    assert seen == []
    assert other == ["kept"]


def test_a_flushed_server_loses_its_queue_and_the_item_in_service_then_serves_again():
    sim = Simulation()
    departed = []
    server = RateServer(sim, 8_000_000_000, departed.append, name="s")  # 1 byte = 1 ns
    for item in range(4):
        server.put(item, 100)
    sim.run(until=150)  # item 0 left at 100, item 1 is in service
    assert departed == [0]
    assert server.flush() == [1, 2, 3]
    assert server.in_system == 0
    server.put("late", 10)
    sim.run()
    assert departed == [0, "late"]
    assert sim.now == 160  # the flushed item's service never finished
    assert server.arrivals == server.departures + server.flushed == 5
    assert server.busy_ns == 100 + 50 + 10  # the lost item's unfinished half is not counted


def test_a_flushed_delay_loses_what_is_on_its_way_and_keeps_working():
    sim = Simulation()
    out = []
    delay = Delay(sim, 100, out.append)
    delay.put("a")
    sim.run(until=50)
    delay.put("b")
    assert delay.flush() == ["a", "b"]
    sim.run(until=120)
    delay.put("c")
    sim.run()
    assert out == ["c"]
    assert sim.now == 220
    assert delay.in_flight == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 40), max_size=12),
    st.lists(st.integers(0, 40), min_size=1, max_size=12),
)
def test_a_component_runs_its_own_events_between_the_engines(engine_times, own_times):
    """``advance_to`` as ``TcpFlow._drain`` uses it: a component holds events of its own in a
    FIFO, runs them while ``peek()`` is later, and lets the engine go first at a tie. Every
    event, the engine's and its own, runs at its time, in time order; an event the component
    schedules after moving the clock runs at the moved clock."""
    sim = Simulation()
    ran: list[tuple[int, str, int]] = []  # (time it was due, whose, the clock then)
    for time in engine_times:
        sim.schedule_at(time, lambda t: ran.append((t, "engine", sim.now)), time)
    own = deque(sorted(own_times))

    def drain(_: object) -> None:
        while own:
            time = own[0]
            if time > sim.now:
                due = sim.peek()
                if due is not None and due <= time:
                    sim.schedule_at(time, drain)
                    return
                sim.advance_to(time)
            ran.append((own.popleft(), "own", sim.now))
            sim.schedule(0, lambda t: ran.append((t, "zero-delay", sim.now)), sim.now)

    sim.schedule_at(own[0], drain)
    sim.run()
    assert all(due == clock for due, _, clock in ran)
    assert [clock for *_, clock in ran] == sorted(clock for *_, clock in ran)
    assert sorted(t for t, whose, _ in ran if whose == "engine") == sorted(engine_times)
    assert [t for t, whose, _ in ran if whose == "own"] == sorted(own_times)
    assert sum(whose == "zero-delay" for _, whose, _ in ran) == len(own_times)


def test_after_advance_to_the_past_is_still_refused():
    sim = Simulation()
    refused = []

    def component(_: object) -> None:
        sim.advance_to(50)
        with pytest.raises(UnitError):
            sim.schedule_at(49, print)
        refused.append(sim.now)

    sim.schedule_at(10, component)
    sim.run()
    assert refused == [50]
