"""The vectorised dataplane: open-loop flows solved server by server with numpy.

It builds the same plans as the event dataplane (``Dataplane.plan``), then walks the servers in
topological order of the forwarding graph: at each shared server the arrivals of every flow are
merged by time, solved with ``simulator.batch.fifo_with_buffer`` (exact tail drop), and split
again; delays, peering links and encapsulation are array arithmetic. The counters it leaves on
the dataplane's servers, links and switches are the ones the event engine would leave, so both
paths produce the same results.

Ties are deterministic and the event engine's: packets that reach a server in the same
nanosecond are taken by flow (the order of the traffic list), then by packet, after the packet
that finishes there at that instant has left, and once the buffer refuses one of them it
refuses the rest of that instant's arrivals (``simulator.queues.RateServer``'s tie rule, with
``fabric.sim.dataplane.tie_order``; ``simulator.batch`` applies it to the sorted arrivals).
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

import numpy as np

from fabric.control.forwarding import Drop, resolve
from fabric.model import FlowSpec
from fabric.model.traffic import HEADER_BYTES, flow_endpoints
from fabric.sim.dataplane import Dataplane
from fabric.sim.flows import STEADY_AFTER, FlowStats
from fabric.sim.plans import (
    SERVER_STEPS,
    CircuitStep,
    DecapStep,
    DelayStep,
    DropStep,
    EncapStep,
    LinkStep,
    NicStep,
    PlanStep,
    SinkStep,
    SizeLimitStep,
    SwitchStep,
)
from fabric.sim.traffic import open_loop_trace
from simulator import RateServer
from simulator.batch import fifo_with_buffer, service_times
from simulator.units import NS_PER_S

_DROP_KINDS = {1: "BufferFullPackets", 2: "BufferFullBytes"}  # simulator.batch's reason codes


class BatchUnsupported(Exception):  # noqa: N818 - reads as the condition
    """The scenario needs the event engine (closed-loop TCP, packet capture, a cyclic graph,
    timed events)."""


class _Counted:
    """Stands in for a Delay element's counter (the event path's Delay.arrivals)."""

    __slots__ = ("arrivals",)

    def __init__(self, arrivals: int) -> None:
        self.arrivals = arrivals


class _FlowState:
    """A flow's packets in flight through the batch walk."""

    def __init__(
        self, flow, order: int, plan: tuple[PlanStep, ...], times, sizes, header: int
    ) -> None:
        self.flow = flow
        self.order = order
        self.plan = plan
        self.position = 0
        self.index = np.arange(times.size, dtype=np.int64)  # packets still travelling
        self.original_sent = times
        self.original_sizes = sizes
        self.times = times.copy()
        self.sizes = sizes
        self.wire = sizes.copy()
        self.payload = sizes - header
        self.header = header
        self.switches = 0
        self.delivered_index: list[np.ndarray] = []
        self.delivered_at: list[np.ndarray] = []
        self.last_event = int(times.max()) if times.size else 0


class BatchFlow:
    """The record an open-loop flow leaves (the shape FlowResult.from_flow reads)."""

    def __init__(self, spec: FlowSpec, forwarding, stats) -> None:
        self.spec = spec
        self.forwarding = forwarding
        self.stats = stats


def run_batch(dataplane: Dataplane, specs: list[FlowSpec], horizon_s: float) -> tuple[list, int]:
    """Simulate open-loop ``specs`` on ``dataplane``'s nodes; returns (flows, end time in ns)."""
    if dataplane.dynamic:
        raise BatchUnsupported("timed events (failures and changes) need the event engine")
    if dataplane.capture is not None:
        raise BatchUnsupported("packet capture needs the event engine")
    if any(spec.pattern == "tcp" for spec in specs):
        raise BatchUnsupported("closed-loop TCP flows need the event engine")
    fabric = dataplane.plane.fabric
    states, records = [], []
    for order, spec in enumerate(specs):
        src, dst = flow_endpoints(fabric, spec)
        path = resolve(
            dataplane.plane,
            src.ip,
            dst.ip,
            spec.protocol,
            spec.destination_port,
            source_port=spec.source_port,
        )
        plan = dataplane.plan(path, src)
        stream = dataplane.sim.stream(f"flow/{spec.name}")
        jitter = dataplane.params.send_jitter_us
        times, sizes = open_loop_trace(spec, stream, horizon_s, jitter)
        stats = FlowStats(spec.name)
        stats.sent = int(times.size)
        record = BatchFlow(spec, path, stats)
        records.append(record)
        start = round(spec.start_s * NS_PER_S)
        stats.steady_from_ns = start + round(STEADY_AFTER * spec.duration_s * NS_PER_S)
        states.append(_FlowState(record, order, plan, times, sizes, HEADER_BYTES[spec.protocol]))
    order = _topological(dataplane, states)
    for state in states:
        _advance(dataplane, state)
    for server in order:
        arriving = [s for s in states if _at(dataplane, s) is server]
        _solve_server(dataplane, server, arriving)
    end = max((s.last_event for s in states), default=0)
    for state in states:
        _finish(state)
    return records, end


def _server(dataplane: Dataplane, step: PlanStep) -> RateServer | None:
    return dataplane.server_of(step) if isinstance(step, SERVER_STEPS) else None


def _at(dataplane: Dataplane, state: _FlowState) -> RateServer | None:
    if state.position >= len(state.plan):
        return None
    return _server(dataplane, state.plan[state.position])


def _topological(dataplane: Dataplane, states: list[_FlowState]) -> list[RateServer]:
    """Servers in an order where every flow meets its servers in path order (two connections
    of one gateway share an instance: it is one node, solved once)."""
    servers: dict[str, RateServer] = {}
    graph: dict[str, set[str]] = {}
    for state in states:
        previous = None
        for step in state.plan:
            server = _server(dataplane, step)
            if server is None:
                continue
            known = servers.setdefault(server.name, server)
            if known is not server:  # solved by name: two servers must never share one
                raise AssertionError(f"two queueing servers are both named {server.name!r}")
            graph.setdefault(server.name, set())
            if previous is not None and previous != server.name:
                graph[server.name].add(previous)
            previous = server.name
    sorter = TopologicalSorter({name: sorted(before) for name, before in sorted(graph.items())})
    try:
        return [servers[name] for name in sorter.static_order()]
    except CycleError:
        raise BatchUnsupported("the forwarding graph has a cycle between shared servers") from None


def _advance(dataplane: Dataplane, state: _FlowState) -> None:
    """Apply the flow's non-server steps until its next server, delivery or drop."""
    while state.position < len(state.plan):
        step = state.plan[state.position]
        if isinstance(step, SERVER_STEPS):
            return
        count = state.index.size
        if isinstance(step, SwitchStep):
            switch = dataplane.switch(step.vnet)
            switch.packets += count
            state.switches += 1
            if state.switches >= dataplane.params.hop_limit:
                _drop(state, np.ones(count, bool), switch.drop_reason)
                return
        elif isinstance(step, LinkStep):
            link = dataplane.peering_link(step)
            link.packets += count
            link.bytes += int(state.wire.sum())
            state.times = state.times + step.delay_ns
        elif isinstance(step, DelayStep):
            dataplane.delays.append(_Counted(count))
            state.times = state.times + step.delay_ns
        elif isinstance(step, EncapStep):
            tunnel = dataplane.tunnel(step.connection)
            state.wire = tunnel.cipher.esp.wire_bytes(state.sizes, tunnel.mtu)
        elif isinstance(step, DecapStep):
            state.wire = state.sizes.copy()
        elif isinstance(step, SinkStep):
            state.delivered_index.append(state.index)
            state.delivered_at.append(state.times)
            _keep(state, np.zeros(count, bool))
            state.position = len(state.plan)
            return
        elif isinstance(step, DropStep):
            _drop(state, np.ones(count, bool), step.drop)
            return
        elif isinstance(step, SizeLimitStep):
            _drop(state, state.sizes > step.limit_bytes, step.drop)
            if not state.index.size:
                return
        if state.times.size:
            state.last_event = max(state.last_event, int(state.times.max()))
        state.position += 1


def _keep(state: _FlowState, mask: np.ndarray) -> None:
    state.index, state.times = state.index[mask], state.times[mask]
    state.sizes, state.wire = state.sizes[mask], state.wire[mask]
    state.payload = state.payload[mask]


def _drop(state: _FlowState, mask: np.ndarray, reason: Drop) -> None:
    dropped = int(mask.sum())
    if dropped:
        state.flow.stats.drop(reason, dropped)
    _keep(state, ~mask)
    if not state.index.size:
        state.position = len(state.plan)


def _solve_server(dataplane: Dataplane, server: RateServer, arriving: list[_FlowState]) -> None:
    if not arriving:
        return
    arriving = sorted(arriving, key=lambda s: s.order)
    sizes = [s.times.size for s in arriving]
    offsets = np.concatenate(([0], np.cumsum(sizes)))
    times = np.concatenate([s.times for s in arriving])
    # Line rates (a VM's egress cap, a circuit) meter whole packets, the gateways' measured
    # caps meter payload.
    metered = [
        s.wire if isinstance(s.plan[s.position], NicStep | CircuitStep) else s.payload
        for s in arriving
    ]
    wire = np.concatenate(metered)
    # Each flow's arrivals are already in time order, and the flows are concatenated in flow
    # order, so a stable sort gives (time, flow, packet) order: the tie order of both engines
    # (dataplane.tie_order; the event RateServer applies it whatever order its events ran in).
    order = None if len(arriving) == 1 else np.argsort(times, kind="stable")
    if order is not None:
        times, wire = times[order], wire[order]
    service = service_times(wire, server.rate_bps, server.min_service_ns)
    departures, accepted, reasons, peak = fifo_with_buffer(
        times, wire, service, buffer_bytes=server.buffer_bytes, buffer_packets=server.buffer_packets
    )
    server.arrivals += int(times.size)
    server.departures += int(accepted.sum())
    server.busy_ns += int(service[accepted].sum())
    server.peak_queue_packets = max(server.peak_queue_packets, peak)
    for code, name in _DROP_KINDS.items():
        count = int((reasons == code).sum())
        if count:
            server.drops[name] += count
    drop = dataplane.queue_drops[server.name]
    if order is not None:  # back to concatenation order: each flow's slice is contiguous
        departures[order], accepted[order], reasons[order] = (
            departures.copy(),
            accepted.copy(),
            reasons.copy(),
        )
    for i, state in enumerate(arriving):
        part = slice(offsets[i], offsets[i + 1])
        kept, why = accepted[part], reasons[part]
        state.times = departures[part]
        if kept.any():
            state.last_event = max(state.last_event, int(state.times[kept].max()))
        lost = int((why != 0).sum())
        if lost:
            state.flow.stats.drop(drop, lost)
        if not kept.all():
            _keep(state, kept)
        if state.index.size:
            state.position += 1
            _advance(dataplane, state)
        else:
            state.position = len(state.plan)


def _finish(state: _FlowState) -> None:
    """Deliveries in the order the event engine records them: by time, then packet."""
    stats = state.flow.stats
    if not state.delivered_index:
        return
    index = np.concatenate(state.delivered_index)
    at = np.concatenate(state.delivered_at)
    order = np.lexsort((index, at))
    index, at = index[order], at[order]
    stats.delivered = int(index.size)
    for target, values in (
        (stats.latency, at - state.original_sent[index]),
        (stats.delivered_at, at),
        (stats.delivered_bytes, state.original_sizes[index] - state.header),
    ):
        target.frombytes(np.ascontiguousarray(values, dtype=np.int64).tobytes())
