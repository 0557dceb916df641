"""Vectorised FIFO servers: a whole packet trace through a rate server at once, with numpy.

Departures follow the Lindley recurrence d_i = max(a_i, d_{i-1}) + s_i, solved without a
Python loop as d = C + maximum.accumulate(a - (C - s)) with C = cumsum(s). A finite buffer
makes the drop decision depend on the backlog: the vector pass finds the first arrival that
would overflow, and an exact scalar loop (the same rule as ``queues.RateServer``) takes over
from there. Nothing is approximated: results equal the event engine's, arrival for arrival.

Tie rule (``queues.RateServer``'s, so both engines agree packet for packet): a packet that
finishes service at the instant another arrives has left, and the next waiting packet starts at
that instant; arrivals at one instant are taken in the order given (callers sort them by time,
then by their tie order: ``fabric.sim.batchplane`` by flow, then packet), and form one burst for
the buffer: once it refuses one of them, it refuses the rest of that instant's arrivals too,
with the same reason.

Windows: ``fifo_window`` solves a trace a window at a time, carrying the server's backlog
(``FifoState``: busy-until time, the waiting packets' starts and sizes, the peak) from one
window to the next, so that temporaries stay window-sized and in cache; any split gives the
results of one call. A tandem can then stream: each window of one server's departures is the
next window of arrivals of the server after it.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from simulator.units import NS_PER_S


def service_times(sizes: np.ndarray, rate_bps: int, min_service_ns: int = 0) -> np.ndarray:
    """Serialisation times (int64 ns, rounded up, exact) with an optional per-packet floor."""
    sizes = np.asarray(sizes, dtype=np.int64)
    service = (sizes * (8 * NS_PER_S) + (rate_bps - 1)) // rate_bps
    if min_service_ns:
        np.maximum(service, min_service_ns, out=service)
    return service


def fifo(arrivals: np.ndarray, service: np.ndarray, busy_until: int = 0) -> np.ndarray:
    """Departure times of a FIFO server with unlimited buffer (arrivals sorted, int64 ns)."""
    arrivals = np.asarray(arrivals, dtype=np.int64)
    if arrivals.size == 0:
        return arrivals.copy()
    cumulative = np.cumsum(service, dtype=np.int64)
    ready = arrivals - (cumulative - service)
    ready[0] = max(ready[0], busy_until)
    return cumulative + np.maximum.accumulate(ready)


class FifoState:
    """What a FIFO server carries from one window of arrivals to the next.

    Attributes:
        busy_until: departure time of the last accepted packet (the server is busy until then).
        waiting_starts: service start times of the accepted packets that had not started by
            the last arrival seen (sorted: FIFO), int64.
        waiting_sizes: their sizes in bytes, int64.
        peak: the most packets waiting so far (as ``RateServer.peak_queue_packets``).
        closed_at: the instant of the last refused arrival: later arrivals of that instant are
            refused too (the burst rule), with reason ``closed_reason``.
    """

    __slots__ = (
        "_span",
        "busy_until",
        "closed_at",
        "closed_reason",
        "peak",
        "waiting_sizes",
        "waiting_starts",
    )

    def __init__(self) -> None:
        self.busy_until = 0
        self.waiting_starts = np.empty(0, dtype=np.int64)
        self.waiting_sizes = np.empty(0, dtype=np.int64)
        self.peak = 0
        self.closed_at = -1
        self.closed_reason = 0
        self._span = _FIRST_SPAN  # length of the next vector pass (speed only, not results)


def fifo_with_buffer(
    arrivals: np.ndarray,
    sizes: np.ndarray,
    service: np.ndarray,
    *,
    buffer_bytes: int | None = None,
    buffer_packets: int | None = None,
    window: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A FIFO server with tail drop. Returns (departures, accepted mask, drop reasons, peak).

    Departures of dropped packets are -1. Reasons are 0 (kept), 1 (BufferFullPackets),
    2 (BufferFullBytes), as ``queues.RateServer`` names them. ``peak`` is the largest number
    of packets waiting (not in service), as ``RateServer.peak_queue_packets`` counts it.
    With ``window``, the trace is solved ``window`` arrivals at a time (``fifo_window``): the
    same results, with temporaries of window size instead of trace size.
    """
    arrivals = np.asarray(arrivals, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    state = FifoState()
    step = arrivals.size if window is None else window
    if arrivals.size <= step:
        departures, accepted, reasons = fifo_window(
            state,
            arrivals,
            sizes,
            service,
            buffer_bytes=buffer_bytes,
            buffer_packets=buffer_packets,
        )
        return departures, accepted, reasons, state.peak
    departures = np.empty(arrivals.size, dtype=np.int64)
    accepted = np.empty(arrivals.size, dtype=bool)
    reasons = np.empty(arrivals.size, dtype=np.int8)
    for begin in range(0, arrivals.size, step):
        part = slice(begin, begin + step)
        departures[part], accepted[part], reasons[part] = fifo_window(
            state,
            arrivals[part],
            sizes[part],
            service[part],
            buffer_bytes=buffer_bytes,
            buffer_packets=buffer_packets,
        )
    return departures, accepted, reasons, state.peak


_FIRST_SPAN = 1 << 10  # arrivals per vector pass after a drop, doubling while none is found
_MAX_SPAN = 1 << 16  # ... up to this: 64K int64 columns stay in cache
_CALM = 1 << 9  # the scalar rule hands back to the vector pass after this many without a drop


def fifo_window(
    state: FifoState,
    arrivals: np.ndarray,
    sizes: np.ndarray,
    service: np.ndarray,
    *,
    buffer_bytes: int | None = None,
    buffer_packets: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The next window of a FIFO server's arrivals, after those ``state`` has seen; updates
    ``state``. Returns (departures, accepted mask, drop reasons) as ``fifo_with_buffer``.

    Arrivals must be sorted and not earlier than the previous window's. Splitting a trace into
    windows anywhere gives exactly the results of one call over the whole trace.

    Inside, the window is solved in spans: a vector pass up to the first packet the buffer
    refuses, then the exact scalar rule until the server is idle or 512 packets have passed
    without a drop, then vector again from the backlog. A span doubles (up to 64K) while it
    finds no drop, so the scalar loop runs only around drops, and clean stretches run in
    cache-sized passes.
    """
    arrivals = np.asarray(arrivals, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    service = np.asarray(service, dtype=np.int64)
    n = arrivals.size
    departures = np.empty(n, dtype=np.int64)
    accepted = np.ones(n, dtype=bool)
    reasons = np.zeros(n, dtype=np.int8)
    buffers = (buffer_bytes, buffer_packets)
    begin, span = 0, state._span
    while begin < n:
        part = slice(begin, min(n, begin + span))
        done = _solve(
            state,
            arrivals[part],
            sizes[part],
            service[part],
            (departures[part], accepted[part], reasons[part]),
            buffers,
        )
        span = min(2 * span, _MAX_SPAN) if begin + done == part.stop else _FIRST_SPAN
        begin += done
    state._span = span
    return departures, accepted, reasons


def _solve(state, arrivals, sizes, service, out, buffers) -> int:
    """Solve a span into the views ``out`` (departures, accepted, reasons); returns how many
    arrivals it settled (all, unless the scalar rule handed back early)."""
    departures = out[0]
    departures[:] = fifo(arrivals, service, state.busy_until)
    starts = departures - service
    # The packets still waiting from earlier spans go in front, as if they were in this one.
    carried = state.waiting_starts.size
    all_starts = np.concatenate((state.waiting_starts, starts)) if carried else starts
    all_sizes = np.concatenate((state.waiting_sizes, sizes)) if carried else sizes
    if arrivals[0] == state.closed_at:  # the burst the last span refused goes on here
        first, peak = 0, 0
    else:
        first, peak = _first_overflow(
            state, arrivals, sizes, service, starts, all_starts, all_sizes, buffers
        )
    state.peak = max(state.peak, peak)
    if first is None:
        keep = int(np.searchsorted(all_starts, arrivals[-1], side="right"))
        state.waiting_starts, state.waiting_sizes = all_starts[keep:], all_sizes[keep:]
        state.busy_until = int(departures[-1])
        return arrivals.size
    return _scalar_tail(
        state, first, arrivals, sizes, service, out, all_starts, all_sizes, carried, buffers
    )


def _first_overflow(state, arrivals, sizes, service, starts, all_starts, all_sizes, buffers):
    """Index of the first arrival the buffer would refuse (if none is dropped before it), and
    the largest number waiting just after an arrival before it.

    ``all_starts``/``all_sizes`` are the packets still waiting from earlier windows followed by
    this window's (service starts, sorted: FIFO). The exact count of packets ahead of an
    arrival needs a search, most of the cost; it is done only for the arrivals where it could
    matter. Those ahead of arrival i start after a_i and are served back to back before i, each
    for at least the shortest service s, so there are at most (wait_i - 1) // s of them: an
    arrival whose bound cannot raise the peak nor reach a buffer limit is not searched.
    """
    buffer_bytes, buffer_packets = buffers
    carried = all_starts.size - starts.size
    wait = starts - arrivals  # only those that wait (> 0) can be refused
    longest_wait = int(wait.max())
    if longest_wait <= 0:
        return None, 0
    # The carried packets are back to back, the last one leaving at busy_until.
    carried_service = np.diff(all_starts[:carried], append=state.busy_until) if carried else ()
    least = int(service.min())
    shortest = int(min(least, np.min(carried_service, initial=least)))
    if shortest > 0:
        # bound = (wait - 1) // shortest, without dividing: bound >= k <=> wait > k * shortest
        limit = state.peak if buffer_packets is None else min(state.peak, buffer_packets)
        maybe = wait > limit * shortest if longest_wait > limit * shortest else None
        largest = int(all_sizes.max()) if buffer_bytes is not None else 0
        # bound * largest + size > buffer, relaxed (bound <= (wait - 1) / shortest) to
        # (wait - 1) * largest + size * shortest > buffer * shortest: a few more searched; not
        # tested at all when even the longest wait and the largest size could not pass it
        if buffer_bytes is not None and (longest_wait - 1 + shortest) * largest > (
            buffer_bytes * shortest
        ):
            over = (wait - 1) * largest + sizes * shortest > buffer_bytes * shortest
            over &= wait > 0
            maybe = over if maybe is None else maybe | over
        if maybe is None:
            return None, 0
        busy = np.flatnonzero(maybe)
        if busy.size == 0:
            return None, 0
    else:
        busy = np.flatnonzero(wait > 0)
    # Packets before i (carried ones included) that have not started by arrivals[i].
    position = busy + carried
    started = np.searchsorted(all_starts, arrivals[busy], side="right")
    ahead = position - np.minimum(started, position)
    overflow = np.zeros(busy.size, dtype=bool)
    if buffer_packets is not None:
        overflow |= ahead >= buffer_packets
    if buffer_bytes is not None:
        cumulative = np.cumsum(all_sizes, dtype=np.int64)
        before = cumulative - all_sizes  # bytes of all packets before each one
        # bytes of the `ahead` packets just before i: before[i] - before[i - ahead]
        queued = before[position] - before[position - ahead]
        overflow |= queued + all_sizes[position] > buffer_bytes
    hits = np.flatnonzero(overflow)
    if hits.size == 0:
        return None, int(ahead.max()) + 1
    first = int(hits[0])
    return int(busy[first]), int(ahead[:first].max(initial=-1)) + 1


def _scalar_tail(
    state, first, arrivals, sizes, service, out, all_starts, all_sizes, carried, buffers
) -> int:
    """The exact rule of queues.RateServer, packet by packet, from index ``first`` until an
    arrival finds the server idle or ``_CALM`` arrivals pass without a drop (returns that index:
    the vector pass resumes there) or the span ends (returns its size); leaves the server's
    backlog in ``state``."""
    departures, accepted, reasons = out
    buffer_bytes, buffer_packets = buffers
    waiting: deque[tuple[int, int]] = deque()  # (start, size) of accepted packets not started
    queued_bytes = 0
    last = int(departures[first - 1]) if first else state.busy_until
    arrival = int(arrivals[first])
    for j in range(carried + first - 1, -1, -1):  # the waiting room as it is at arrivals[first]
        if all_starts[j] > arrival:
            waiting.appendleft((int(all_starts[j]), int(all_sizes[j])))
            queued_bytes += int(all_sizes[j])
        else:
            break
    a_list, s_list, v_list = arrivals.tolist(), sizes.tolist(), service.tolist()
    peak = state.peak
    closed_at, closed_reason = state.closed_at, state.closed_reason
    stop = arrivals.size
    calm_until = first + _CALM  # hand back to the vector pass at this index if no drop before
    for i in range(first, arrivals.size):
        arrival, size = a_list[i], s_list[i]
        # Never inside a refused burst: the server stays busy through it, each arrival a drop.
        if i > first and (last <= arrival or i >= calm_until):
            stop = i
            break
        while waiting and waiting[0][0] <= arrival:
            queued_bytes -= waiting.popleft()[1]
        if last > arrival:  # busy: the buffer decides
            if arrival == closed_at:  # the burst rule: refused like the one before
                reason = closed_reason
            elif buffer_packets is not None and len(waiting) >= buffer_packets:
                reason = 1
            elif buffer_bytes is not None and queued_bytes + size > buffer_bytes:
                reason = 2
            else:
                reason = 0
            if reason:
                accepted[i], reasons[i], departures[i] = False, reason, -1
                closed_at, closed_reason = arrival, reason
                calm_until = i + _CALM
                continue
            start = last
            waiting.append((start, size))
            queued_bytes += size
            if len(waiting) > peak:
                peak = len(waiting)
        else:
            start = arrival
        last = start + v_list[i]
        departures[i] = last
    while waiting and waiting[0][0] <= a_list[stop - 1]:
        waiting.popleft()
    state.peak = peak
    state.closed_at, state.closed_reason = closed_at, closed_reason
    state.busy_until = last
    state.waiting_starts = np.array([start for start, _ in waiting], dtype=np.int64)
    state.waiting_sizes = np.array([size for _, size in waiting], dtype=np.int64)
    return stop
