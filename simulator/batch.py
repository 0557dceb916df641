"""Vectorised FIFO servers: a whole packet trace through a rate server at once, with numpy.

Departures follow the Lindley recurrence d_i = max(a_i, d_{i-1}) + s_i, solved without a
Python loop as d = C + maximum.accumulate(a - (C - s)) with C = cumsum(s). A finite buffer
makes the drop decision depend on the backlog: the vector pass finds the first arrival that
would overflow, and an exact scalar loop (the same rule as ``queues.RateServer``) takes over
from there. Nothing is approximated: results equal the event engine's, arrival for arrival.

Tie rule (shared with the event engine's usual order): a packet that finishes service at the
instant another arrives has left; the next waiting packet starts at that instant.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from simulator.units import NS_PER_S


def service_times(sizes: np.ndarray, rate_bps: int, min_service_ns: int = 0) -> np.ndarray:
    """Serialisation times (int64 ns, half up, exact) with an optional per-packet floor."""
    sizes = np.asarray(sizes, dtype=np.int64)
    service = (sizes * (16 * NS_PER_S) + rate_bps) // (2 * rate_bps)
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


def fifo_with_buffer(
    arrivals: np.ndarray,
    sizes: np.ndarray,
    service: np.ndarray,
    *,
    buffer_bytes: int | None = None,
    buffer_packets: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A FIFO server with tail drop. Returns (departures, accepted mask, drop reasons, peak).

    Departures of dropped packets are -1. Reasons are 0 (kept), 1 (BufferFullPackets),
    2 (BufferFullBytes), as ``queues.RateServer`` names them. ``peak`` is the largest number
    of packets waiting (not in service), as ``RateServer.peak_queue_packets`` counts it.
    """
    arrivals = np.asarray(arrivals, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    n = arrivals.size
    departures = fifo(arrivals, service)
    accepted = np.ones(n, dtype=bool)
    reasons = np.zeros(n, dtype=np.int8)
    if n == 0:
        return departures, accepted, reasons, 0
    first, waiting = _first_overflow(
        arrivals, sizes, service, departures, buffer_bytes, buffer_packets
    )
    if first is None:
        return departures, accepted, reasons, int(waiting.max(initial=0))
    tail_peak = _scalar_tail(
        first, arrivals, sizes, service, departures, accepted, reasons, buffer_bytes, buffer_packets
    )
    return departures, accepted, reasons, max(int(waiting[:first].max(initial=0)), tail_peak)


def _first_overflow(arrivals, sizes, service, departures, buffer_bytes, buffer_packets):
    """Index of the first arrival the buffer would refuse (if none is dropped before it), and
    the number waiting just after each arrival that joined the queue."""
    n = arrivals.size
    busy = np.empty(n, dtype=bool)
    busy[0] = False
    np.greater(departures[:-1], arrivals[1:], out=busy[1:])
    # Packets before i that have not started by arrivals[i] (starts are sorted: FIFO).
    ahead = np.arange(n, dtype=np.int64)
    ahead -= np.minimum(np.searchsorted(departures - service, arrivals, side="right"), ahead)
    overflow = np.zeros(n, dtype=bool)
    if buffer_packets is not None:
        overflow |= ahead >= buffer_packets
    if buffer_bytes is not None:
        cumulative = np.cumsum(sizes, dtype=np.int64)
        # bytes of the `ahead` packets just before i: cumulative[i-1] - cumulative[i-1-ahead]
        before = cumulative - sizes
        queued = before - np.where(ahead > 0, before[np.arange(n) - ahead], before)
        overflow |= queued + sizes > buffer_bytes
    overflow &= busy
    hits = np.flatnonzero(overflow)
    waiting = np.where(busy, ahead + 1, 0)
    return (int(hits[0]) if hits.size else None), waiting


def _scalar_tail(
    first, arrivals, sizes, service, departures, accepted, reasons, buffer_bytes, buffer_packets
) -> int:
    """The exact rule of queues.RateServer, packet by packet, from index ``first`` on; returns
    the peak number waiting over that stretch."""
    waiting: deque[tuple[int, int]] = deque()  # (start, size) of accepted packets not started
    queued_bytes = 0
    last = int(departures[first - 1]) if first else 0
    starts = departures - service
    for j in range(first - 1, -1, -1):  # rebuild the waiting room as it is at arrivals[first]
        if starts[j] > arrivals[first]:
            waiting.appendleft((int(starts[j]), int(sizes[j])))
            queued_bytes += int(sizes[j])
        else:
            break
    a_list, s_list, v_list = arrivals.tolist(), sizes.tolist(), service.tolist()
    peak = 0
    for i in range(first, arrivals.size):
        arrival, size = a_list[i], s_list[i]
        while waiting and waiting[0][0] <= arrival:
            queued_bytes -= waiting.popleft()[1]
        if last > arrival:  # busy: the buffer decides
            if buffer_packets is not None and len(waiting) >= buffer_packets:
                accepted[i], reasons[i], departures[i] = False, 1, -1
                continue
            if buffer_bytes is not None and queued_bytes + size > buffer_bytes:
                accepted[i], reasons[i], departures[i] = False, 2, -1
                continue
            start = last
            waiting.append((start, size))
            queued_bytes += size
            peak = max(peak, len(waiting))
        else:
            start = arrival
        last = start + v_list[i]
        departures[i] = last
    return peak
