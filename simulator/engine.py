"""The discrete-event core: an integer-nanosecond clock, one event heap and a run loop.

Heap entries are ``(time, sequence, callback, argument)`` tuples. The sequence number grows
monotonically, so events at the same time run in the order they were scheduled and the
callback is never compared. Per-event work is one heap push, one pop and one call.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from typing import Any

import numpy as np

from simulator.process import Event, Process, Timeout
from simulator.units import UnitError

Callback = Callable[[Any], Any]


class StopSimulation(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside the run loop to end ``run`` (see ``Simulation.stop``)."""


def _raise_stop(_: object) -> None:
    raise StopSimulation


class Simulation:
    """A clock, an event heap and a seeded random generator.

    Args:
        seed: root seed of every random stream of this simulation.
    """

    __slots__ = ("_cancelled", "_heap", "_next_seq", "_process_hook", "now", "rng", "seed")

    def __init__(self, seed: int = 0) -> None:
        self.now: int = 0
        self.seed = int(seed)
        self._heap: list[tuple[int, int, Callback, Any]] = []
        self._next_seq = itertools.count().__next__
        self._cancelled: set[int] = set()
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

    def schedule(self, delay: int, callback: Callback, argument: Any = None) -> int:
        """Call ``callback(argument)`` after ``delay`` ns; returns an id for ``cancel``."""
        if delay.__class__ is not int or delay < 0:
            delay = _checked_delay(delay)
        seq = self._next_seq()
        heappush(self._heap, (self.now + delay, seq, callback, argument))
        return seq

    def schedule_at(self, time: int, callback: Callback, argument: Any = None) -> int:
        """Call ``callback(argument)`` at absolute time ``time`` ns; returns an id to cancel."""
        if time.__class__ is not int:
            time = _checked_delay(time, what="time")
        if time < self.now:
            raise UnitError(f"cannot schedule at t={time} ns: the clock is already at {self.now}")
        seq = self._next_seq()
        heappush(self._heap, (time, seq, callback, argument))
        return seq

    def cancel(self, event_id: int) -> None:
        """Cancel a scheduled callback; it will not run. Cancelling twice is harmless."""
        self._cancelled.add(event_id)

    def stop(self) -> None:
        """End ``run`` once the current callback returns; later events stay queued."""
        heappush(self._heap, (self.now, -1, _raise_stop, None))

    def peek(self) -> int | None:
        """Time of the next event, or None when nothing is scheduled."""
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)

    # -- running ----------------------------------------------------------------------------

    def step(self) -> None:
        """Pop and run one event. Override this (only this) to trace or fast-forward."""
        time, seq, callback, argument = heappop(self._heap)
        if seq in self._cancelled:
            self._cancelled.discard(seq)
            return
        self.now = time
        callback(argument)

    def run(self, until: int | None = None) -> None:
        """Run events until none are left, until ``stop()``, or until time ``until`` (ns).

        Events scheduled exactly at ``until`` do not run; the clock ends at ``until``.
        """
        heap = self._heap
        if until is not None:
            if until.__class__ is not int:
                until = _checked_delay(until, what="until")
            if until < self.now:
                raise UnitError(f"run(until={until}) is in the past: the clock is at {self.now} ns")
            heappush(heap, (until, -1, _raise_stop, None))
        try:
            if type(self).step is not Simulation.step:
                while heap:
                    self.step()
                return
            cancelled = self._cancelled
            # The loop below is step() inlined: a method call per event costs ~15% of the loop.
            while heap:
                time, seq, callback, argument = heappop(heap)
                if cancelled and seq in cancelled:
                    cancelled.discard(seq)
                    continue
                self.now = time
                callback(argument)
        except StopSimulation:
            if until is not None:
                self._drop_stop_sentinels(until)
            return

    def _drop_stop_sentinels(self, until: int) -> None:
        """After stop() from a callback, remove the pending until-sentinel so a later run works."""
        heap = self._heap
        kept = [entry for entry in heap if entry[2] is not _raise_stop]
        if len(kept) != len(heap):
            heap[:] = kept
            heapify(heap)

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
