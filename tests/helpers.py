"""Small drivers shared by the engine tests."""

from __future__ import annotations

import heapq
import importlib.util
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from simulator import RateServer, Simulation, TimeWeighted
from simulator.engine import _raise_stop

BYTE_PER_NS_BPS = 8_000_000_000  # at this rate one byte of "size" is one nanosecond of service


def feed(sim: Simulation, element, arrivals_ns: Sequence[int], sizes: Sequence[int]) -> None:
    """Offer item i (its index) of ``sizes[i]`` bytes to ``element`` at ``arrivals_ns[i]``."""
    arrivals = [int(a) for a in arrivals_ns]
    sizes = [int(s) for s in sizes]

    def arrive(i: int) -> None:
        element.put(i, sizes[i])
        if i + 1 < len(arrivals):
            sim.schedule_at(arrivals[i + 1], arrive, i + 1)

    if arrivals:
        sim.schedule_at(arrivals[0], arrive, 0)


class _Counted:
    """Wraps a server so that the number in system is sampled after every arrival."""

    def __init__(self, server: RateServer, in_system: TimeWeighted) -> None:
        self.server = server
        self.in_system = in_system

    def put(self, item: int, nbytes: int) -> None:
        self.server.put(item, nbytes)
        self.in_system.update(self.server.sim.now, self.server.in_system)


def single_queue_run(
    arrivals_ns: np.ndarray, service_ns: np.ndarray
) -> tuple[np.ndarray, float, int]:
    """Run a FIFO server over a trace; return sojourn times, time-average number in system, end."""
    sim = Simulation()
    departures = np.zeros(len(arrivals_ns), dtype=np.int64)
    in_system = TimeWeighted()

    def depart(i: int) -> None:
        departures[i] = sim.now
        in_system.update(sim.now, server.in_system)

    server = RateServer(sim, BYTE_PER_NS_BPS, depart)
    feed(sim, _Counted(server, in_system), arrivals_ns, service_ns)
    sim.run()
    return departures - arrivals_ns, in_system.mean(sim.now), sim.now


REPO = Path(__file__).resolve().parent.parent


def load_script(folder: str, name: str):
    """Import <repo>/<folder>/<name>.py as a module: the same file users run."""
    spec = importlib.util.spec_from_file_location(f"{folder}_{name}", REPO / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class HeapSimulation:
    """The oracle for the engine's event order: one heap of (time, sequence, callback, argument),
    as simulator.engine was before it grew a FIFO lane. Same public scheduling API."""

    def __init__(self) -> None:
        self.now = 0
        self._heap: list = []
        self._seq = 0
        self._cancelled: set[int] = set()

    def _push(self, time: int, callback, argument, seq: int | None = None) -> int:
        if seq is None:
            self._seq += 1
            seq = self._seq
        heapq.heappush(self._heap, (time, seq, callback, argument))
        return seq

    def schedule(self, delay: int, callback, argument=None) -> int:
        assert delay >= 0
        return self._push(self.now + delay, callback, argument)

    def schedule_at(self, time: int, callback, argument=None) -> int:
        assert time >= self.now
        return self._push(time, callback, argument)

    def cancel(self, handle: int) -> None:
        self._cancelled.add(handle)

    def stop(self) -> None:
        self._push(self.now, _oracle_stop, None, seq=-1)

    def peek(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)

    def run(self, until: int | None = None) -> None:
        if until is not None:
            self._push(until, _oracle_stop, None, seq=-1)
        heap = self._heap
        while heap:
            time, seq, callback, argument = heapq.heappop(heap)
            if seq in self._cancelled:
                self._cancelled.discard(seq)
                continue
            self.now = time
            if callback is _oracle_stop:
                if until is not None:  # forget the other sentinels (the until one, if stopped)
                    heap[:] = [e for e in heap if e[2] is not _oracle_stop]
                    heapq.heapify(heap)
                return
            callback(argument)


def _oracle_stop(_: object) -> None:
    """Marks a stop sentinel in HeapSimulation's heap."""


class ShuffledTies(Simulation):
    """An engine that runs each instant's events in a random order: those scheduled before the
    instant began, shuffled (a run's ``until`` sentinel still first), then those scheduled
    within it, in order, as the engine does. A model whose results do not depend on the order
    of same-nanosecond events gives the same results on it as on ``Simulation``.
    ``shuffled`` counts the instants that had more than one event to shuffle."""

    def __init__(self, seed: int = 0, *, shuffle_seed: int = 0) -> None:
        super().__init__(seed)
        self.shuffler = random.Random(shuffle_seed)
        self.shuffled = 0
        self.instant = -1

    def step(self) -> None:
        time = self.peek()
        if time != self.instant:  # a new instant: put its events back first, shuffled
            self.instant = time
            lane, heap = self._lane, self._heap
            entries = []
            while (lane or heap) and self.peek() == time:
                if lane and (not heap or lane[0][0] <= heap[0][0]):
                    entries.append(lane.popleft()[1:])
                else:
                    entries.append(heapq.heappop(heap)[2:])
            stops = [entry for entry in entries if entry[0] is _raise_stop]
            others = [entry for entry in entries if entry[0] is not _raise_stop]
            self.shuffled += len(others) > 1
            self.shuffler.shuffle(others)
            for callback, argument in reversed(stops + others):
                lane.appendleft((time, callback, argument))
        super().step()


def event_driven_nics(patch) -> None:
    """With ``patch`` (a pytest MonkeyPatch), every NIC of a run stays driven by events: the
    oracle of the NICs that know their departures on arrival (``Dataplane.in_order_sources``)."""
    from fabric.sim.dataplane import Dataplane

    patch.setattr(Dataplane, "in_order_sources", lambda self, *flows: None)


def assert_same_run(ours, oracle) -> None:
    """Two simulation results are the same: their JSON, and every flow's per-packet latency
    and delivery times."""
    import json

    assert json.dumps(ours.to_json()) == json.dumps(oracle.to_json())
    for a, b in zip(ours.flows, oracle.flows, strict=True):
        np.testing.assert_array_equal(a.latency_ns, b.latency_ns)
        np.testing.assert_array_equal(a.delivered_at_ns, b.delivered_at_ns)


SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers"


def rid(kind: str, name: str) -> str:
    """The resource ID of the Microsoft.Network ``kind`` named ``name``, in resource group rg."""
    return f"{SUB}/Microsoft.Network/{kind}/{name}"


def round_trip(document):
    """load -> to_yaml -> load gives the same fabric; returns the document loaded again."""
    from fabric.io import to_yaml
    from fabric.io.native import load_native
    from fabric.io.yamlsource import load_yaml

    again = load_native(load_yaml(to_yaml(document)), "round-trip.yaml")
    assert again.fabric == document.fabric
    return again
