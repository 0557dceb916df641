"""The discrete-event core: an integer-nanosecond clock, a FIFO lane beside an event heap, a loop.

Most events are scheduled at a time no earlier than the last one scheduled (a fixed delay, the
next arrival of a source, the end of a service), so they join the *lane*, a FIFO of
``(time, callback, argument)`` kept sorted by construction: no comparison and no sequence
number are needed. An event earlier than the lane's tail goes to the heap as
``(time, sequence, callback, argument)``; the sequence number makes heap ties run in
scheduling order and the callback is never compared.

Tie rule: events at the same time run in the order they were scheduled, exactly as with one
heap. Between the lane and the heap this needs no sequence number: a heap entry at time ``t``
was pushed when the lane's tail was later than ``t``, and the tail never moves back, so every
lane entry at ``t`` was scheduled before it; on equal times the lane goes first.
``tests/test_engine_lanes.py`` checks the whole engine against a plain heap with hypothesis.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import deque
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from typing import Any

import numpy as np

from simulator.process import Event, Process, Timeout
from simulator.units import UnitError

Callback = Callable[[Any], Any]
Handle = tuple  # what schedule() returns; pass it to cancel()


class StopSimulation(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside the run loop to end ``run`` (see ``Simulation.stop``)."""


def _raise_stop(_: object) -> None:
    raise StopSimulation


class Simulation:
    """A clock, an event lane and heap, and a seeded random generator.

    ``now`` is the clock in ns. A driver may move it forward by hand between runs (the batch
    path does); ``run`` takes that into account, so schedule relative to it after a run.

    Args:
        seed: root seed of every random stream of this simulation.
    """

    __slots__ = ("_heap", "_lane", "_next_seq", "_tail", "now", "rng", "seed")

    def __init__(self, seed: int = 0) -> None:
        self.now: int = 0
        self.seed = int(seed)
        self._lane: deque[tuple[int, Callback, Any]] = deque()
        # Time of the last event put in the lane. It never decreases, and the loop keeps it at
        # or after the clock, so "time >= tail" also proves "time >= now".
        self._tail = 0
        self._heap: list[tuple[int, int, Callback, Any]] = []
        self._next_seq = itertools.count().__next__
        self.rng = np.random.default_rng(np.random.SeedSequence(self.seed))

    # -- random streams ---------------------------------------------------------------------

    def stream(self, name: str) -> np.random.Generator:
        """An independent random generator for the component ``name``.

        Derived from the root seed and a stable hash of the name, so adding a component (a flow,
        a link) never changes the random numbers another component draws.
        """
        digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "little")
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(key,)))

    # -- scheduling -------------------------------------------------------------------------

    def schedule(self, delay: int, callback: Callback, argument: Any = None) -> Handle:
        """Call ``callback(argument)`` after ``delay`` ns; returns a handle for ``cancel``."""
        if delay.__class__ is not int:
            delay = _checked_delay(delay)
        time = self.now + delay
        # The tail is never behind the clock, so a negative delay always takes the heap path,
        # where it is refused: the common path saves a test (~5% of a bare event).
        if time >= self._tail:
            self._tail = time
            entry = (time, callback, argument)
            self._lane.append(entry)
            return entry
        if delay < 0:
            _checked_delay(delay)
        entry = (time, self._next_seq(), callback, argument)
        heappush(self._heap, entry)
        return entry

    def schedule_at(self, time: int, callback: Callback, argument: Any = None) -> Handle:
        """Call ``callback(argument)`` at absolute time ``time`` ns; returns a handle to cancel."""
        if time.__class__ is not int:
            time = _checked_delay(time, what="time")
        if time >= self._tail:  # not in the past: the tail is never behind the clock
            self._tail = time
            entry = (time, callback, argument)
            self._lane.append(entry)
            return entry
        if time < self.now:
            raise UnitError(f"cannot schedule at t={time} ns: the clock is already at {self.now}")
        entry = (time, self._next_seq(), callback, argument)
        heappush(self._heap, entry)
        return entry

    def cancel(self, handle: Handle) -> None:
        """Cancel a scheduled callback; it will not run. Cancelling twice, or after it ran, is
        harmless.

        The entry is found by identity and removed, so the run loop pays nothing for
        cancellation; the search costs O(pending events). It starts from the far end of the
        lane, where the timers that get cancelled usually sit.
        """
        if handle.__class__ is not tuple:
            raise TypeError(f"cancel() takes the handle that schedule() returned, not {handle!r}")
        if len(handle) == 4:  # a heap entry: its sequence number makes it unique under ==
            heap = self._heap
            try:
                index = heap.index(handle)
            except ValueError:
                return
            heap[index] = heap[-1]
            heap.pop()
            heapify(heap)
            return
        lane = self._lane
        for back, queued in enumerate(reversed(lane)):
            if queued is handle:
                del lane[len(lane) - 1 - back]
                return

    def withdraw(self, callback: Callback) -> list[Any]:
        """Remove every pending call of ``callback``; returns their arguments in the order they
        would have run. O(pending events): for rare interventions (an element that fails and
        loses what it was serving), never on a per-packet path."""
        lane, heap = self._lane, self._heap
        found = [entry for entry in lane if entry[1] == callback]  # == : equal bound methods
        if found:
            kept = [entry for entry in lane if entry[1] != callback]
            lane.clear()
            lane.extend(kept)
        taken = [entry for entry in heap if entry[2] == callback]
        if taken:
            heap[:] = [entry for entry in heap if entry[2] != callback]
            heapify(heap)
        # Lane entries at time t were scheduled before heap entries at t (see the tie rule).
        merged = [(e[0], 0, i, e[2]) for i, e in enumerate(found)]
        merged += [(e[0], 1, e[1], e[3]) for e in taken]
        return [argument for *_, argument in sorted(merged, key=lambda m: m[:3])]

    def pending(self, time: int, callback: Callback) -> Handle | None:
        """The handle of an event scheduled at ``time`` for ``callback``, or None.

        It searches the pending events (the lane from its far end, where recent ones sit, then
        the heap): for rare corrections such as ``RateServer``'s tie rule, not for every event.
        """
        for entry in reversed(self._lane):
            if entry[0] < time:
                break
            if entry[0] == time and entry[1] is callback:
                return entry
        for entry in self._heap:
            if entry[0] == time and entry[2] is callback:
                return entry
        return None

    def stop(self) -> None:
        """End ``run`` once the current callback returns; later events stay queued."""
        self._lane.appendleft((self.now, _raise_stop, None))

    def peek(self) -> int | None:
        """Time of the next event, or None when nothing is scheduled."""
        lane, heap = self._lane, self._heap
        if lane and (not heap or lane[0][0] <= heap[0][0]):
            return lane[0][0]
        return heap[0][0] if heap else None

    def advance_to(self, time: int) -> None:
        """Move the clock forward to ``time`` from within a callback, for a component that runs
        events of its own in time order between the engine's (``fabric.sim.flows.TcpFlow``
        does, for what its wires carry): ``time`` must be at or after the clock and before the
        next pending event (``peek``); at a tie the component schedules itself and lets the
        engine's earlier-scheduled events run first. Not checked: the caller knows the next
        event. Such a component may also set ``now`` by hand as it goes (its own events only,
        nothing scheduled in the past meanwhile) and call this once before it returns, which
        keeps the engine's bookkeeping of the clock."""
        self.now = time
        if time > self._tail:
            self._tail = time  # the tail is never behind the clock (see schedule)

    def __len__(self) -> int:
        return len(self._lane) + len(self._heap)

    # -- running ----------------------------------------------------------------------------

    def step(self) -> None:
        """Pop and run one event. Override this (only this) to trace or fast-forward."""
        lane, heap = self._lane, self._heap
        if lane and (not heap or lane[0][0] <= heap[0][0]):
            time, callback, argument = lane.popleft()
        else:
            time, _, callback, argument = heappop(heap)
            if time > self._tail:
                self._tail = time  # keep the tail up with the clock (see schedule)
        self.now = time
        callback(argument)

    def run(self, until: int | None = None) -> None:
        """Run events until none are left, until ``stop()``, or until time ``until`` (ns).

        Events scheduled exactly at ``until`` do not run; the clock ends at ``until``.
        """
        lane, heap = self._lane, self._heap
        if self._tail < self.now:  # the clock was moved by hand since the last run
            self._tail = self.now
        if until is not None:
            if until.__class__ is not int:
                until = _checked_delay(until, what="until")
            if until < self.now:
                raise UnitError(f"run(until={until}) is in the past: the clock is at {self.now} ns")
            self._insert_in_lane((until, _raise_stop, None))
        try:
            if type(self).step is not Simulation.step:
                while lane or heap:
                    self.step()
                return
            # step() inlined: a method call per event costs ~15% of the loop. (lane.popleft() is
            # called as a method: CPython 3.11 specialises that, not a bound method in a local.)
            while True:
                if lane:
                    if heap and heap[0][0] < lane[0][0]:
                        time, _, callback, argument = heappop(heap)
                    else:
                        time, callback, argument = lane.popleft()
                elif heap:
                    time, _, callback, argument = heappop(heap)
                    if time > self._tail:
                        self._tail = time  # keep the tail up with the clock (see schedule)
                else:
                    return
                self.now = time
                callback(argument)
        except StopSimulation:
            if until is not None:
                self._drop_stop_sentinels()
            return

    def _insert_in_lane(self, entry: tuple[int, Callback, Any]) -> None:
        """Put ``entry`` in the lane before every entry at its time or later (run's sentinel:
        nothing at ``until`` runs, whatever is scheduled there later)."""
        lane, time = self._lane, entry[0]
        if time > self._tail:
            self._tail = time
        if not lane or lane[-1][0] < time:
            lane.append(entry)
            return
        lane.insert(next(i for i, queued in enumerate(lane) if queued[0] >= time), entry)

    def _drop_stop_sentinels(self) -> None:
        """After stop() from a callback, remove the pending until-sentinel so a later run works."""
        lane = self._lane
        kept = [entry for entry in lane if entry[1] is not _raise_stop]
        if len(kept) != len(lane):
            lane.clear()
            lane.extend(kept)

    # -- processes (see simulator.process) --------------------------------------------------

    def process(self, generator: Any) -> Process:
        """Start a generator-based process; see ``simulator.process.Process``."""
        return Process(self, generator)

    def timeout(self, delay: int, value: Any = None) -> Timeout:
        """An event that fires after ``delay`` ns (for ``yield`` in processes)."""
        return Timeout(self, delay, value)

    def event(self) -> Event:
        """A bare event that a process can wait on and another component can ``succeed``."""
        return Event(self)


def _checked_delay(value: Any, what: str = "delay") -> int:
    """Validate a delay/time that is not a plain non-negative int; returns it as an int."""
    if isinstance(value, bool):
        raise UnitError(f"{what} must be an integer number of nanoseconds, got {value!r}")
    if isinstance(value, np.integer):
        value = int(value)
    elif isinstance(value, float):
        if value != value:
            raise UnitError(f"{what} is NaN; times are integer nanoseconds")
        raise UnitError(
            f"{what} must be an integer number of nanoseconds, got float {value!r}; "
            "convert with simulator.units.seconds()/milliseconds()"
        )
    elif not isinstance(value, int):
        raise UnitError(f"{what} must be an integer number of nanoseconds, got {value!r}")
    if value < 0 and what == "delay":
        raise UnitError(f"negative delay {value} ns: an event cannot be scheduled in the past")
    return value
