"""Generator-based processes on top of the callback core, for readable scenario code.

A process is a generator that yields events; it resumes with the event's value when the event
fires. The callback API in ``simulator.engine`` stays the fast path; this layer costs one extra
call per resumption.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engine imports this module; the type alone is needed here
    from simulator.engine import Simulation

_PENDING = object()


class Event:
    """Something that happens once; callbacks run when it fires, in the order they were added."""

    __slots__ = ("callbacks", "sim", "value")

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.value: Any = _PENDING
        self.callbacks: list[Callable[[Event], Any]] | None = []

    @property
    def triggered(self) -> bool:
        """True once the event has fired (or been scheduled to fire with a value)."""
        return self.value is not _PENDING

    def succeed(self, value: Any = None) -> Event:
        """Fire the event now (its callbacks run as a zero-delay event, in schedule order)."""
        if self.value is not _PENDING:
            raise RuntimeError(f"{self!r} has already been triggered")
        self.value = value
        self.sim.schedule(0, _fire, self)
        return self

    def add_callback(self, callback: Callable[[Event], Any]) -> None:
        """Run ``callback(event)`` when the event fires (at once if it already has)."""
        if self.callbacks is None:
            self.sim.schedule(0, callback, self)
        else:
            self.callbacks.append(callback)


def _fire(event: Event) -> None:
    callbacks, event.callbacks = event.callbacks, None
    for callback in callbacks or ():
        callback(event)


class Timeout(Event):
    """An event that fires ``delay`` ns after it is created."""

    __slots__ = ()

    def __init__(self, sim: Simulation, delay: int, value: Any = None) -> None:
        # Event.__init__ inlined: timeouts are the most frequent event a process creates.
        self.sim = sim
        self.callbacks = []
        self.value = value
        sim.schedule(delay, _fire, self)


class Process(Event):
    """Runs a generator; the process itself is an event that fires with the return value."""

    __slots__ = ("_generator",)

    def __init__(self, sim: Simulation, generator: Generator[Event, Any, Any]) -> None:
        if not hasattr(generator, "send"):
            raise TypeError(
                f"a process needs a generator (a function that yields), not {generator!r}"
            )
        super().__init__(sim)
        self._generator = generator
        sim.schedule(0, self._resume, None)

    def _resume(self, event: Event | None) -> None:
        send_value = None if event is None else event.value
        try:
            target = self._generator.send(send_value)
        except StopIteration as finished:
            self.succeed(finished.value)
            return
        if not isinstance(target, Event):
            self._generator.close()
            raise TypeError(f"a process may only yield events, got {target!r}")
        target.add_callback(self._resume)
