"""Queueing elements the network model reuses: rate server, fixed delay, token-bucket shaper.

Each element takes ``put(item, nbytes)`` and hands finished items to ``on_depart(item)``.
Dropped items go to ``on_drop(item, reason)``. Counters: arrivals, departures, drops by reason.
The queue discipline is FIFO (``RateServer``'s tie rule and queue reads rely on it: the item at
the head of its queue is the next to start).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from simulator.engine import Simulation
from simulator.units import UnitError, serialisation_ns

Departure = Callable[[Any], Any]
Drop = Callable[[Any, str], Any]

DROP_BUFFER_BYTES = "BufferFullBytes"
DROP_BUFFER_PACKETS = "BufferFullPackets"


def _ignore_drop(item: Any, reason: str) -> None:
    """Default drop sink: drops are still counted by the element."""


class RateServer:
    """A FIFO link/server: serialisation time = bytes * 8 / bit rate, finite buffer, tail drop.

    Tie rule. Time is integer ns, so packets often meet a server in the same nanosecond; what
    happens then is part of the model, the same here and in ``simulator.batch``:

    1. a packet whose service ends at that instant has left, and the next waiting one has
       started, before any arrival of the instant is looked at;
    2. the arrivals of the instant are taken one at a time in ``tie_order`` (a key on items;
       equal keys, or no ``tie_order``, keep the order the events ran in);
    3. they are one burst for the buffer: once it refuses one of them, it refuses the rest of
       the burst as well, all for the same reason (``BufferFullPackets`` when the waiting room
       is full in packets, else ``BufferFullBytes``).

    So the outcome does not depend on which upstream event happened to run first: an arrival
    that comes, in ``tie_order``, before arrivals of its instant already seen takes its place
    among them (those admitted are taken back and offered again; one that no longer fits is
    dropped then). Rule 3 makes that safe: a refused packet is never readmitted, so an
    ``on_drop`` call is final. Only its reason can change, when such an arrival changes which
    limit the burst filled: the ``drops`` counter is corrected, the reason ``on_drop`` was
    given is not. The common path (one arrival per instant) pays one comparison.

    Args:
        sim: the simulation.
        rate_bps: service rate in bits per second (> 0). It and ``min_service_ns`` are fixed
            for the server's life (service times are remembered per size).
        on_depart: called with each item when its last bit leaves.
        on_drop: called with ``(item, reason)`` for each tail-dropped item.
        buffer_bytes: waiting room in bytes, excluding the item in service (None: unlimited).
        buffer_packets: waiting room in packets, excluding the item in service (None: unlimited).
        name: label for errors and statistics.
        min_service_ns: a floor on each item's service time (a packets-per-second limit:
            1e9 / pps); 0 means the bit rate alone decides.
        tie_order: key of an item for rule 2 (e.g. flow, then packet number). It needs
            ``min_service_ns >= 1``, so that every arrival of an instant is still in the server
            when a later one of that instant comes before it.
    """

    __slots__ = (
        "_burst",
        "_busy",
        "_busy_until",
        "_closed",
        "_finish_callback",
        "_instant",
        "_min_service_ns",
        "_peak_before",
        "_queue",
        "_queued_bytes",
        "_rate",
        "_schedule",
        "_services",
        "_serving_bytes",
        "_starts",
        "arrivals",
        "buffer_bytes",
        "buffer_packets",
        "busy_ns",
        "departures",
        "drops",
        "flushed",
        "name",
        "on_depart",
        "on_drop",
        "peak_queue_packets",
        "sim",
        "tie_order",
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
        tie_order: Callable[[Any], Any] | None = None,
    ) -> None:
        if isinstance(rate_bps, bool) or not isinstance(rate_bps, int) or rate_bps <= 0:
            raise UnitError(f"{name}: rate must be a positive integer bits/s, got {rate_bps!r}")
        for label, value in (("buffer_bytes", buffer_bytes), ("buffer_packets", buffer_packets)):
            if value is not None and value < 0:
                raise UnitError(f"{name}: {label} must be >= 0, got {value!r}")
        if tie_order is not None and min_service_ns < 1:
            raise UnitError(
                f"{name}: a tie_order needs min_service_ns >= 1 (got {min_service_ns!r}), so that "
                "no packet leaves in the instant it arrived"
            )
        self.sim = sim
        self.on_depart = on_depart
        self.on_drop = on_drop
        self.buffer_bytes = buffer_bytes
        self.buffer_packets = buffer_packets
        self.name = name
        self._min_service_ns = min_service_ns
        self.tie_order = tie_order
        self._schedule = sim.schedule
        self._rate = rate_bps
        self._services: dict[int, int] = {}  # nbytes -> service ns
        self._finish_callback = self._finish  # one bound method, not one per packet
        self._queue: deque[tuple[Any, int]] = deque()  # (item, nbytes) waiting
        self._starts: deque[tuple[int, int]] = deque()  # depart_in_order: (start ns, nbytes)
        self._queued_bytes = 0
        self._busy = False
        self._busy_until = -1
        # Size of the item in service if it arrived in the current instant (set when it starts
        # on arrival, or is queued to start the instant it arrives; _finish need not set it):
        # what _reoffer needs to take it back. The item is the argument of its finish event.
        self._serving_bytes = 0
        # The tie rule's state: the time of the last arrival (a second one then takes the slow
        # path), the last refusal (ns, item, reason, count of that instant), how many arrivals
        # of an instant the server holds (ns, count), the peak before an instant raised it.
        self._instant = -1
        self._closed: tuple = (-1, None, "", 0)
        self._burst = (-1, 0)
        self._peak_before = (-1, 0)
        self.arrivals = 0
        self.departures = 0
        self.drops: Counter[str] = Counter()
        self.busy_ns = 0
        self.peak_queue_packets = 0
        self.flushed = 0  # lost by flush(): arrivals = departures + drops + flushed + in system

    @property
    def queue_packets(self) -> int:
        """Packets waiting (not counting the one in service), by rule 1: at an instant where a
        service ends, the next packet has started, whether or not its event has run."""
        if self._starts:  # served by depart_in_order
            self._started(self.sim.now)
        elif self._queue and self._busy_until == self.sim.now:
            return len(self._queue) - 1
        return len(self._queue) + len(self._starts)

    @property
    def queue_bytes(self) -> int:
        """Bytes waiting (not counting the packet in service), by rule 1 as ``queue_packets``:
        TCP small queues read this per segment, and what they read must not depend on the
        order of the instant's events."""
        waiting = self._starts
        if waiting:  # served by depart_in_order: _started(now) inlined, as in depart_in_order
            now = self.sim.now
            while waiting and waiting[0][0] <= now:
                self._queued_bytes -= waiting.popleft()[1]
        elif self._queue and self._busy_until == self.sim.now:
            return self._queued_bytes - self._queue[0][1]
        return self._queued_bytes

    @property
    def in_system(self) -> int:
        """Packets waiting plus the one in service."""
        if self._busy or self._queue:  # served by events (put)
            return len(self._queue) + self._busy
        now = self.sim.now
        self._started(now)
        return len(self._starts) + (self._busy_until > now)

    def _started(self, now: int) -> None:
        """depart_in_order's bookkeeping: items whose service has begun by ``now`` (rule 1:
        also at ``now``) no longer wait."""
        waiting = self._starts
        while waiting and waiting[0][0] <= now:
            self._queued_bytes -= waiting.popleft()[1]

    @property
    def rate_bps(self) -> int:
        """The service rate, bits per second (fixed: service times are remembered per size)."""
        return self._rate

    @property
    def min_service_ns(self) -> int:
        """The floor on each item's service time (fixed, as the rate)."""
        return self._min_service_ns

    def put(self, item: Any, nbytes: int) -> None:
        """Offer ``item`` of ``nbytes`` bytes: serve it, queue it, or tail-drop it."""
        self.arrivals += 1
        now = self.sim.now
        # _offer() inlined: this runs once per packet and server.
        if not self._busy:  # then no arrival came before in this instant (tie_order's floor)
            self._instant = now
            self._busy = True
            service = self._services.get(nbytes)  # _service(nbytes), remembered per size
            if service is None:
                service = self._service(nbytes)
            self.busy_ns += service
            self._busy_until = now + service
            self._serving_bytes = nbytes
            self._schedule(service, self._finish_callback, item)
            return
        if now == self._instant:  # another arrival in this nanosecond: rules 2 and 3
            self._put_in_burst(item, nbytes, now)
            return
        self._instant = now
        queue = self._queue
        waiting = len(queue)
        queued = self._queued_bytes
        if self._busy_until == now:
            # Rule 1: the packet whose service ends at this very instant has left (its finish
            # event may not have run yet) and the next one has started.
            if not queue:  # it is next: _finish starts it in this instant
                queue.append((item, nbytes))
                self._queued_bytes += nbytes
                self._serving_bytes = nbytes
                return
            waiting -= 1
            queued -= queue[0][1]
        if self.buffer_packets is not None and waiting >= self.buffer_packets:
            self._refuse(item, DROP_BUFFER_PACKETS, now)
            return
        if self.buffer_bytes is not None and queued + nbytes > self.buffer_bytes:
            self._refuse(item, DROP_BUFFER_BYTES, now)
            return
        queue.append((item, nbytes))
        self._queued_bytes += nbytes
        if waiting >= self.peak_queue_packets:
            self._raise_peak(waiting + 1, now)

    def depart_in_order(self, item: Any, nbytes: int) -> int:
        """Offer ``item`` of ``nbytes`` bytes and return when its last bit will leave, or -1
        when it is tail-dropped (``on_drop`` is told at once, as by ``put``).

        For a server whose every arrival comes this way, in time order and, within an
        instant, in ``tie_order``: the departure is then known on arrival (Lindley's
        recurrence: service starts at the arrival or when the previous item leaves, whichever
        is later), so the server schedules no event and never calls ``on_depart``; the caller
        carries the item on from the time returned. The outcome, drop reasons and counters
        are those ``put`` gives the same arrivals (rule 2 never has to reorder them; the
        departures are counted on arrival). Not for a server that can be flushed.
        """
        self.arrivals += 1
        now = self.sim.now
        waiting = self._starts
        while waiting and waiting[0][0] <= now:  # _started(now) inlined: once per packet
            self._queued_bytes -= waiting.popleft()[1]
        closed = self._closed
        if closed[0] == now:  # rule 3: the buffer refused an earlier arrival of this instant
            self._refuse(item, closed[2], now)
            return -1
        start = self._busy_until
        if start > now:  # it waits behind what the server holds
            count = len(waiting)
            if self.buffer_packets is not None and count >= self.buffer_packets:
                self._refuse(item, DROP_BUFFER_PACKETS, now)
                return -1
            if self.buffer_bytes is not None and self._queued_bytes + nbytes > self.buffer_bytes:
                self._refuse(item, DROP_BUFFER_BYTES, now)
                return -1
            waiting.append((start, nbytes))
            self._queued_bytes += nbytes
            if count >= self.peak_queue_packets:
                self._raise_peak(count + 1, now)
        else:
            start = now
        service = self._services.get(nbytes)  # _service(nbytes), remembered per size
        if service is None:
            service = self._service(nbytes)
        self.busy_ns += service
        self._busy_until = departure = start + service
        self.departures += 1
        return departure

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
            service = self._services.get(nbytes)  # _service(nbytes), remembered per size
            if service is None:
                service = self._service(nbytes)
            self.busy_ns += service
            self._busy_until = self.sim.now + service
            self._schedule(service, self._finish_callback, next_item)
        else:
            self._busy = False
        self.on_depart(item)

    # -- the tie rule's slow path -----------------------------------------------------------

    def _service(self, nbytes: int) -> int:
        """The service time of ``nbytes``: its serialisation at the rate, at least
        ``min_service_ns``. Remembered per size (both are fixed at construction): the hot paths
        look it up, which costs a quarter of the arithmetic."""
        service = self._services.get(nbytes)
        if service is None:
            service = serialisation_ns(nbytes, self._rate)
            service = self._services[nbytes] = max(service, self._min_service_ns)
        return service

    def _offer(self, item: Any, nbytes: int, now: int) -> str | None:
        """Serve, queue or refuse one arrival (``put`` inlines this); returns the reason it was
        refused, or None. Counts nothing and calls no one."""
        if not self._busy:
            self._busy = True
            service = self._service(nbytes)
            self.busy_ns += service
            self._busy_until = now + service
            self._serving_bytes = nbytes
            self._schedule(service, self._finish_callback, item)
            return None
        queue = self._queue
        waiting, queued = len(queue), self._queued_bytes
        if self._busy_until == now:  # rule 1
            if not queue:  # it is next: _finish starts it in this instant
                queue.append((item, nbytes))
                self._queued_bytes += nbytes
                self._serving_bytes = nbytes
                return None
            waiting -= 1
            queued -= queue[0][1]
        if self.buffer_packets is not None and waiting >= self.buffer_packets:
            return DROP_BUFFER_PACKETS
        if self.buffer_bytes is not None and queued + nbytes > self.buffer_bytes:
            return DROP_BUFFER_BYTES
        queue.append((item, nbytes))
        self._queued_bytes += nbytes
        if waiting >= self.peak_queue_packets:
            self._raise_peak(waiting + 1, now)
        return None

    def _refuse(self, item: Any, reason: str, now: int) -> None:
        """Tail-drop ``item``: count it, note the burst is closed (rule 3), tell ``on_drop``."""
        self.drops[reason] += 1
        closed = self._closed
        count = closed[3] + 1 if closed[0] == now else 1
        self._closed = (now, item, reason, count) if count == 1 else (*closed[:3], count)
        self.on_drop(item, reason)

    def _raise_peak(self, peak: int, now: int) -> None:
        if self._peak_before[0] != now:  # remember the peak before this instant (for _reoffer)
            self._peak_before = (now, self.peak_queue_packets)
        self.peak_queue_packets = peak

    def _put_in_burst(self, item: Any, nbytes: int, now: int) -> None:
        """A second or later arrival in one nanosecond, the server busy (rules 2 and 3)."""
        key = self.tie_order
        closed_at, closer, reason, _ = self._closed
        if closed_at == now and (key is None or not key(item) < key(closer)):
            self._refuse(item, reason, now)  # after the packet that closed the burst
            return
        if key is None:
            reason = self._offer(item, nbytes, now)
            if reason is not None:
                self._refuse(item, reason, now)
            return
        held = self._burst[1] if self._burst[0] == now else int(closed_at != now)
        if closed_at != now and not (held and key(item) < key(self._last_held(held))):
            reason = self._offer(item, nbytes, now)  # after all of them: offered as usual
            if reason is None:
                self._burst = (now, held + 1)
            else:
                self._burst = (now, held)
                self._refuse(item, reason, now)
            return
        self._reoffer(item, nbytes, now, held)

    def _last_held(self, held: int) -> Any:
        """The last of the ``held`` (> 0) arrivals of this instant that the server holds; they
        are the last ones of its FIFO, the packet in service first."""
        if self._queue:
            return self._queue[-1][0]
        return self._serving()[-1]

    def _serving(self) -> tuple:
        """The finish event of the packet in service (its item is the last element)."""
        handle = self.sim.pending(self._busy_until, self._finish_callback)
        assert handle is not None, "a busy server has its finish event pending"
        return handle

    def _reoffer(self, item: Any, nbytes: int, now: int, held: int) -> None:
        """``item`` comes, in tie order, before arrivals of its instant already admitted or
        refused: take the ``held`` admitted ones back, and offer them again with ``item`` in tie
        order (rule 2). Those refused stay refused (rule 3); the reason they are counted under
        is worked out again from the new state."""
        key = self.tie_order
        queue = self._queue
        burst = [queue.pop() for _ in range(min(held, len(queue)))]
        self._queued_bytes -= sum(size for _, size in burst)
        if held > len(burst):  # the packet in service arrived now, so it also started now
            handle = self._serving()
            self.sim.cancel(handle)
            self.busy_ns -= self._service(self._serving_bytes)
            self._busy = False
            burst.append((handle[-1], self._serving_bytes))
        burst.reverse()
        closed_at, closer, old_reason, closed = self._closed
        if closed_at != now:
            closed = 0
        elif closed:  # counted again below, with the reason the new state gives
            self.drops[old_reason] -= closed
            if not self.drops[old_reason]:
                del self.drops[old_reason]
        if self._peak_before[0] == now:
            self.peak_queue_packets = self._peak_before[1]
        keys = [key(queued) for queued, _ in burst]
        burst.insert(bisect_right(keys, key(item)), (item, nbytes))
        reason, refused = None, []
        for offered, size in burst:
            if reason is None:
                reason = self._offer(offered, size, now)
            if reason is not None:
                refused.append(offered)
        self._burst = (now, len(burst) - len(refused))
        if refused:
            closer = refused[0]
        elif closed:
            reason = self._full_reason(now)
        else:
            return
        count = closed + len(refused)
        self.drops[reason] += count
        self._closed = (now, closer, reason, count)
        for dropped in refused:
            self.on_drop(dropped, reason)

    def _full_reason(self, now: int) -> str:
        """Why the buffer refuses an arrival now, given that it does (rule 3's reason)."""
        waiting = len(self._queue)
        if waiting and self._busy_until == now:
            waiting -= 1
        if self.buffer_packets is not None and waiting >= self.buffer_packets:
            return DROP_BUFFER_PACKETS
        return DROP_BUFFER_BYTES


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
