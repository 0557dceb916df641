"""Queueing elements the network model reuses: rate server, fixed delay, token-bucket shaper.

Each element takes ``put(item, nbytes)`` and hands finished items to ``on_depart(item)``.
Dropped items go to ``on_drop(item, reason)``. Counters: arrivals, departures, drops by reason.
The queue discipline is FIFO; a subclass may change it by overriding ``_enqueue``/``_dequeue``.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from simulator.engine import Simulation
from simulator.units import NS_PER_S, UnitError

Departure = Callable[[Any], Any]
Drop = Callable[[Any, str], Any]

DROP_BUFFER_BYTES = "BufferFullBytes"
DROP_BUFFER_PACKETS = "BufferFullPackets"


def _ignore_drop(item: Any, reason: str) -> None:
    """Default drop sink: drops are still counted by the element."""


class RateServer:
    """A FIFO link/server: serialisation time = bytes * 8 / bit rate, finite buffer, tail drop.

    Args:
        sim: the simulation.
        rate_bps: service rate in bits per second (> 0).
        on_depart: called with each item when its last bit leaves.
        on_drop: called with ``(item, reason)`` for each tail-dropped item.
        buffer_bytes: waiting room in bytes, excluding the item in service (None: unlimited).
        buffer_packets: waiting room in packets, excluding the item in service (None: unlimited).
        name: label for errors and statistics.
        min_service_ns: a floor on each item's service time (a packets-per-second limit:
            1e9 / pps); 0 means the bit rate alone decides.
    """

    __slots__ = (
        "_busy",
        "_busy_until",
        "_finish_callback",
        "_half_rate",
        "_ns_per_byte_x2",
        "_queue",
        "_queued_bytes",
        "_rate_x2",
        "_schedule",
        "arrivals",
        "buffer_bytes",
        "buffer_packets",
        "busy_ns",
        "departures",
        "drops",
        "flushed",
        "min_service_ns",
        "name",
        "on_depart",
        "on_drop",
        "peak_queue_packets",
        "rate_bps",
        "sim",
    )

    def __init__(
        self,
        sim: Simulation,
        rate_bps: int,
        on_depart: Departure,
        on_drop: Drop = _ignore_drop,
        *,
        buffer_bytes: int | None = None,
        buffer_packets: int | None = None,
        name: str = "server",
        min_service_ns: int = 0,
    ) -> None:
        if isinstance(rate_bps, bool) or not isinstance(rate_bps, int) or rate_bps <= 0:
            raise UnitError(f"{name}: rate must be a positive integer bits/s, got {rate_bps!r}")
        for label, value in (("buffer_bytes", buffer_bytes), ("buffer_packets", buffer_packets)):
            if value is not None and value < 0:
                raise UnitError(f"{name}: {label} must be >= 0, got {value!r}")
        self.sim = sim
        self.rate_bps = rate_bps
        self.on_depart = on_depart
        self.on_drop = on_drop
        self.buffer_bytes = buffer_bytes
        self.buffer_packets = buffer_packets
        self.name = name
        self.min_service_ns = min_service_ns
        self._schedule = sim.schedule
        # serialisation_ns() inlined as (nbytes * a + b) // c: it runs once per packet.
        self._ns_per_byte_x2 = 16 * NS_PER_S
        self._half_rate = rate_bps
        self._rate_x2 = 2 * rate_bps
        self._finish_callback = self._finish  # one bound method, not one per packet
        self._queue: deque[tuple[Any, int]] = deque()
        self._queued_bytes = 0
        self._busy = False
        self._busy_until = -1
        self.arrivals = 0
        self.departures = 0
        self.drops: Counter[str] = Counter()
        self.busy_ns = 0
        self.peak_queue_packets = 0
        self.flushed = 0  # lost by flush(): arrivals = departures + drops + flushed + in system

    @property
    def queue_packets(self) -> int:
        """Packets waiting (not counting the one in service)."""
        return len(self._queue)

    @property
    def queue_bytes(self) -> int:
        """Bytes waiting (not counting the packet in service)."""
        return self._queued_bytes

    @property
    def in_system(self) -> int:
        """Packets waiting plus the one in service."""
        return len(self._queue) + self._busy

    def put(self, item: Any, nbytes: int) -> None:
        """Offer ``item`` of ``nbytes`` bytes: serve it, queue it, or tail-drop it."""
        self.arrivals += 1
        if not self._busy:
            self._busy = True
            service = (nbytes * self._ns_per_byte_x2 + self._half_rate) // self._rate_x2
            if service < self.min_service_ns:
                service = self.min_service_ns
            self.busy_ns += service
            self._busy_until = self.sim.now + service
            self._schedule(service, self._finish_callback, item)
            return
        queue = self._queue
        waiting = len(queue)
        queued = self._queued_bytes
        if self._busy_until == self.sim.now:
            # Tie rule: the packet whose service ends at this very instant has left (its finish
            # event may not have run yet) and the next one has started. This makes the buffer
            # decision independent of event order, and equal to simulator.batch's.
            if not queue:
                queue.append((item, nbytes))
                self._queued_bytes += nbytes
                return
            waiting -= 1
            queued -= queue[0][1]
        if self.buffer_packets is not None and waiting >= self.buffer_packets:
            self.drops[DROP_BUFFER_PACKETS] += 1
            self.on_drop(item, DROP_BUFFER_PACKETS)
            return
        if self.buffer_bytes is not None and queued + nbytes > self.buffer_bytes:
            self.drops[DROP_BUFFER_BYTES] += 1
            self.on_drop(item, DROP_BUFFER_BYTES)
            return
        queue.append((item, nbytes))
        self._queued_bytes += nbytes
        if waiting >= self.peak_queue_packets:
            self.peak_queue_packets = waiting + 1

    def flush(self) -> list[Any]:
        """Empty the server as an element that fails: the item in service and every waiting
        item, in order, are returned and will never depart (the caller drops them). The
        server is idle afterwards and serves what arrives later as usual."""
        lost = self.sim.withdraw(self._finish_callback) if self._busy else []
        if self._busy:
            self.busy_ns -= max(0, self._busy_until - self.sim.now)  # the unfinished service
        lost += [item for item, _ in self._queue]
        self._queue.clear()
        self._queued_bytes = 0
        self._busy = False
        self._busy_until = -1
        self.flushed += len(lost)
        return lost

    def _finish(self, item: Any) -> None:
        self.departures += 1
        queue = self._queue
        if queue:
            next_item, nbytes = queue.popleft()
            self._queued_bytes -= nbytes
            service = (nbytes * self._ns_per_byte_x2 + self._half_rate) // self._rate_x2
            if service < self.min_service_ns:
                service = self.min_service_ns
            self.busy_ns += service
            self._busy_until = self.sim.now + service
            self._schedule(service, self._finish_callback, next_item)
        else:
            self._busy = False
        self.on_depart(item)


class Delay:
    """A fixed (propagation) delay: every item leaves exactly ``delay_ns`` after it arrives.

    Items leave in arrival order, so the element keeps them in its own FIFO and has at most one
    event on the engine's heap at a time: the heap stays small however many items are in flight
    (a 10 ms leg at a million packets per second holds ten thousand of them).
    """

    __slots__ = (
        "_armed",
        "_finish_callback",
        "_pending",
        "arrivals",
        "delay_ns",
        "departures",
        "flushed",
        "name",
        "on_depart",
        "sim",
    )

    def __init__(
        self, sim: Simulation, delay_ns: int, on_depart: Departure, *, name: str = "delay"
    ) -> None:
        if isinstance(delay_ns, bool) or not isinstance(delay_ns, int) or delay_ns < 0:
            raise UnitError(f"{name}: delay must be a non-negative integer ns, got {delay_ns!r}")
        self.sim = sim
        self.delay_ns = delay_ns
        self.on_depart = on_depart
        self.name = name
        self.arrivals = 0
        self.departures = 0
        self.flushed = 0
        self._pending: deque[tuple[int, Any]] = deque()
        self._armed = False
        self._finish_callback = self._finish  # one bound method, not one per wake-up

    def put(self, item: Any, nbytes: int = 0) -> None:
        """Send ``item`` on its way; it departs after the fixed delay."""
        self.arrivals += 1
        self._pending.append((self.sim.now + self.delay_ns, item))
        if not self._armed:  # wake up when the oldest item is due
            self._armed = True
            self.sim.schedule_at(self._pending[0][0], self._finish_callback, None)

    def _finish(self, _: Any) -> None:
        pending = self._pending
        now = self.sim.now
        self._armed = False
        # Everything due now leaves, in arrival order; then wait for the next one.
        while pending and pending[0][0] == now:
            item = pending.popleft()[1]
            self.departures += 1
            self.on_depart(item)
        if pending and not self._armed:
            self._armed = True
            self.sim.schedule_at(pending[0][0], self._finish_callback, None)

    def flush(self) -> list[Any]:
        """Take every item still on its way, in arrival order; they will never depart (the
        caller drops them). A pending wake-up finds nothing due and re-arms as needed."""
        lost = [item for _, item in self._pending]
        self._pending.clear()
        self.flushed += len(lost)
        return lost

    @property
    def in_flight(self) -> int:
        """Items that have entered and not yet left (nor been flushed)."""
        return self.arrivals - self.departures - self.flushed


class TokenBucket:
    """A shaper: long-run rate ``rate_bps`` with bursts up to ``burst_bytes``; FIFO, tail drop.

    Token arithmetic is in integer bit-nanoseconds so that release times are exact.
    An item larger than the burst can never conform and is dropped with ``ExceedsBurst``.
    """

    __slots__ = (
        "_last_ns",
        "_queue",
        "_queued_bytes",
        "_timer",
        "_tokens",
        "arrivals",
        "buffer_bytes",
        "buffer_packets",
        "burst_bytes",
        "capacity",
        "departures",
        "drops",
        "name",
        "on_depart",
        "on_drop",
        "rate_bps",
        "sim",
    )

    def __init__(
        self,
        sim: Simulation,
        rate_bps: int,
        burst_bytes: int,
        on_depart: Departure,
        on_drop: Drop = _ignore_drop,
        *,
        buffer_bytes: int | None = None,
        buffer_packets: int | None = None,
        name: str = "shaper",
    ) -> None:
        if isinstance(rate_bps, bool) or not isinstance(rate_bps, int) or rate_bps <= 0:
            raise UnitError(f"{name}: rate must be a positive integer bits/s, got {rate_bps!r}")
        if not isinstance(burst_bytes, int) or burst_bytes <= 0:
            raise UnitError(f"{name}: burst must be a positive byte count, got {burst_bytes!r}")
        self.sim = sim
        self.rate_bps = rate_bps
        self.burst_bytes = burst_bytes
        self.on_depart = on_depart
        self.on_drop = on_drop
        self.buffer_bytes = buffer_bytes
        self.buffer_packets = buffer_packets
        self.name = name
        self.capacity = burst_bytes * 8 * 1_000_000_000  # bit-ns
        self._tokens = self.capacity
        self._last_ns = sim.now
        self._queue: deque[tuple[Any, int]] = deque()
        self._queued_bytes = 0
        self._timer = False
        self.arrivals = 0
        self.departures = 0
        self.drops: Counter[str] = Counter()

    def _refill(self) -> None:
        now = self.sim.now
        self._tokens = min(self.capacity, self._tokens + (now - self._last_ns) * self.rate_bps)
        self._last_ns = now

    def put(self, item: Any, nbytes: int) -> None:
        """Release ``item`` now if tokens allow and nothing waits, else queue or drop it."""
        self.arrivals += 1
        if nbytes > self.burst_bytes:
            self.drops["ExceedsBurst"] += 1
            self.on_drop(item, "ExceedsBurst")
            return
        if self._queue or self._timer:
            if self.buffer_packets is not None and len(self._queue) >= self.buffer_packets:
                self.drops[DROP_BUFFER_PACKETS] += 1
                self.on_drop(item, DROP_BUFFER_PACKETS)
                return
            if self.buffer_bytes is not None and self._queued_bytes + nbytes > self.buffer_bytes:
                self.drops[DROP_BUFFER_BYTES] += 1
                self.on_drop(item, DROP_BUFFER_BYTES)
                return
            self._queue.append((item, nbytes))
            self._queued_bytes += nbytes
            return
        self._refill()
        need = nbytes * 8 * 1_000_000_000
        if self._tokens >= need:
            self._tokens -= need
            self.departures += 1
            self.on_depart(item)
            return
        self._queue.append((item, nbytes))
        self._queued_bytes += nbytes
        self._arm(need)

    def _arm(self, need: int) -> None:
        # Ceiling division: never release before the bucket holds enough tokens.
        wait = -(-(need - self._tokens) // self.rate_bps)
        self._timer = True
        self.sim.schedule(wait, self._release, None)

    def _release(self, _: Any) -> None:
        self._timer = False
        self._refill()
        queue = self._queue
        while queue:
            item, nbytes = queue[0]
            need = nbytes * 8 * 1_000_000_000
            if self._tokens < need:
                self._arm(need)
                return
            queue.popleft()
            self._queued_bytes -= nbytes
            self._tokens -= need
            self.departures += 1
            self.on_depart(item)

    @property
    def queue_packets(self) -> int:
        """Items waiting for tokens."""
        return len(self._queue)
