"""The vectorised dataplane: open-loop flows solved server by server with numpy.

It builds the same plans as the event dataplane (``Dataplane.plan``), then walks the servers in
topological order of the forwarding graph: at each shared server the arrivals of every flow are
merged by time, solved with ``simulator.batch.fifo_with_buffer`` (exact tail drop), and split
again; delays, peering links and encapsulation are array arithmetic. The counters it leaves on
the dataplane's servers, links and switches are the ones the event engine would leave, so both
paths produce the same results.

Simultaneous arrivals at one server are served in flow order, then packet order; the event
engine orders such ties by scheduling history, so traffic with exactly equal arrival times at a
shared server can differ in which packet waits (never in counts or totals).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from fabric.model.container import FabricError
from fabric.model.traffic import FlowSpec, TrafficError
from fabric.sim.dataplane import Dataplane
from fabric.sim.traffic import open_loop_trace
from fabric.watcher.diagnose import connectivity
from simulator import RateServer
from simulator.batch import fifo_with_buffer, service_times

_REASON_LABELS = {1: "BufferFullPackets", 2: "BufferFullBytes"}


class BatchUnsupported(Exception):  # noqa: N818 - reads as the condition
    """The scenario needs the event engine (closed-loop TCP, packet capture, a cyclic graph)."""


class _Counted:
    """Stands in for a Delay element's counter (the event path's Delay.arrivals)."""

    __slots__ = ("arrivals",)

    def __init__(self, arrivals: int) -> None:
        self.arrivals = arrivals


class _FlowState:
    """A flow's packets in flight through the batch walk."""

    def __init__(self, flow, order: int, plan: list[tuple], times, sizes) -> None:
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
        self.switches = 0
        self.delivered_index: list[np.ndarray] = []
        self.delivered_at: list[np.ndarray] = []
        self.last_event = int(times.max()) if times.size else 0


class BatchFlow:
    """The record an open-loop flow leaves (the shape FlowResult.from_flow reads)."""

    def __init__(self, spec: FlowSpec, trace, stats) -> None:
        self.spec = spec
        self.trace = trace
        self.stats = stats


def run_batch(dataplane: Dataplane, specs: list[FlowSpec], horizon_s: float) -> tuple[list, int]:
    """Simulate open-loop ``specs`` on ``dataplane``'s nodes; returns (flows, end time in ns)."""
    from fabric.sim.flows import FlowStats

    if dataplane.capture is not None:
        raise BatchUnsupported("packet capture needs the event engine")
    if any(spec.pattern == "tcp" for spec in specs):
        raise BatchUnsupported("closed-loop TCP flows need the event engine")
    fabric = dataplane.plane.fabric
    states, records = [], []
    for order, spec in enumerate(specs):
        try:
            _, src = fabric.find_host(spec.src)
            _, dst = fabric.find_host(spec.dst)
        except FabricError as problem:
            raise TrafficError(f"traffic {spec.name}: {problem}") from None
        trace = connectivity(
            dataplane.plane, src.ip, dst.ip, spec.protocol, spec.destination_port, spec.source_port
        )
        plan = dataplane.plan(trace, src.name, src.ip)
        times, sizes = open_loop_trace(spec, dataplane.sim.stream(f"flow/{spec.name}"), horizon_s)
        stats = FlowStats(spec.name)
        stats.sent = int(times.size)
        record = BatchFlow(spec, trace, stats)
        records.append(record)
        states.append(_FlowState(record, order, plan, times, sizes))
    servers = _servers(dataplane, states)
    order = _topological(states, servers)
    for state in states:
        _advance(dataplane, state)
    for key in order:
        server = servers[key][0]
        arriving = [s for s in states if _at(s) is not None and servers[_at(s)][0] is server]
        _solve_server(dataplane, servers[key], key, arriving)
    end = max((s.last_event for s in states), default=0)
    for state in states:
        _finish(state)
    return records, end


def _server_key(step: tuple) -> tuple | None:
    return (step[0], step[1]) if step[0] in ("nic", "tunnel", "instance") else None


def _at(state: _FlowState) -> tuple | None:
    return _server_key(state.plan[state.position]) if state.position < len(state.plan) else None


def _servers(dataplane: Dataplane, states: list[_FlowState]) -> dict[tuple, tuple[RateServer, str]]:
    """Every server on some plan, with the drop reason the event path reports for it."""
    servers = {}
    for state in states:
        for step in state.plan:
            key = _server_key(step)
            if key is None or key in servers:
                continue
            if step[0] == "nic":
                server = dataplane.nic(step[1])
            else:
                tunnel = dataplane.tunnel(step[1])
                server = tunnel.server if step[0] == "tunnel" else tunnel.instance
            servers[key] = (server, dataplane.queue_labels[server.name])
    # Two connections of one gateway share an instance: solve it once, under one key.
    by_object: dict[int, tuple] = {}
    for key, (server, _) in list(servers.items()):
        first = by_object.setdefault(id(server), key)
        if first != key:
            servers[key] = servers[first]
    return servers


def _canonical(servers, key: tuple) -> int:
    return id(servers[key][0])


def _topological(states: list[_FlowState], servers) -> list[tuple]:
    """Servers in an order where every flow meets its servers in path order."""
    edges: dict[int, set[int]] = defaultdict(set)
    nodes: dict[int, tuple] = {}
    for state in states:
        previous = None
        for step in state.plan:
            key = _server_key(step)
            if key is None:
                continue
            node = _canonical(servers, key)
            nodes.setdefault(node, key)
            if previous is not None and previous != node:
                edges[previous].add(node)
            previous = node
    incoming = Counter(n for targets in edges.values() for n in targets)
    ready = sorted((n for n in nodes if incoming[n] == 0), key=lambda n: str(nodes[n]))
    order = []
    while ready:
        node = ready.pop(0)
        order.append(nodes[node])
        for target in sorted(edges[node], key=lambda n: str(nodes[n])):
            incoming[target] -= 1
            if incoming[target] == 0:
                ready.append(target)
    if len(order) != len(nodes):
        raise BatchUnsupported("the forwarding graph has a cycle between shared servers")
    return order


def _advance(dataplane: Dataplane, state: _FlowState) -> None:
    """Apply the flow's non-server steps until its next server, delivery or drop."""
    while state.position < len(state.plan):
        step = state.plan[state.position]
        kind = step[0]
        if _server_key(step) is not None:
            return
        count = state.index.size
        if kind == "switch":
            dataplane.switch(step[1]).packets += count
            state.switches += 1
            if state.switches >= dataplane.params.hop_limit:
                _drop(state, np.ones(count, bool), f"HopLimitExceeded: {step[1]}")
                return
        elif kind == "peering":
            link = dataplane.peering_link(step[1], step[2])
            link.packets += count
            link.bytes += int(state.wire.sum())
            state.times = state.times + step[2]
        elif kind == "delay":
            dataplane.delays.append(_Counted(count))
            state.times = state.times + step[1]
        elif kind == "encap":
            tunnel = dataplane.tunnel(step[1])
            esp = tunnel.cipher.esp
            pad = (-(state.sizes + 2)) % esp.block
            wire = state.sizes + 20 + 8 + esp.iv + pad + 2 + esp.icv
            state.wire = np.where(wire > tunnel.mtu, wire + 20, wire)
        elif kind == "decap":
            state.wire = state.sizes.copy()
        elif kind == "sink":
            state.delivered_index.append(state.index)
            state.delivered_at.append(state.times)
            _keep(state, np.zeros(count, bool))
            state.position = len(state.plan)
            return
        elif kind == "drop":
            _drop(state, np.ones(count, bool), step[1])
            return
        if state.times.size:
            state.last_event = max(state.last_event, int(state.times.max()))
        state.position += 1


def _keep(state: _FlowState, mask: np.ndarray) -> None:
    state.index, state.times = state.index[mask], state.times[mask]
    state.sizes, state.wire = state.sizes[mask], state.wire[mask]


def _drop(state: _FlowState, mask: np.ndarray, reason: str) -> None:
    dropped = int(mask.sum())
    if dropped:
        state.flow.stats.drops[reason] += dropped
    _keep(state, ~mask)
    if not state.index.size:
        state.position = len(state.plan)


def _solve_server(dataplane: Dataplane, entry, key: tuple, arriving: list[_FlowState]) -> None:
    server, label = entry
    if not arriving:
        return
    arriving = sorted(arriving, key=lambda s: s.order)
    sizes = [s.times.size for s in arriving]
    offsets = np.concatenate(([0], np.cumsum(sizes)))
    times = np.concatenate([s.times for s in arriving])
    wire = np.concatenate([s.wire for s in arriving])
    # Each flow's arrivals are already in time order, and the flows are concatenated in flow
    # order, so a stable sort gives (time, flow, packet) order: the tie rule of both engines.
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
    for code, name in _REASON_LABELS.items():
        count = int((reasons == code).sum())
        if count:
            server.drops[name] += count
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
        for code, name in _REASON_LABELS.items():
            count = int((why == code).sum())
            if count:
                suffix = "" if code == 2 else f" ({name})"
                state.flow.stats.drops[f"{label}{suffix}"] += count
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
        (stats.delivered_bytes, state.original_sizes[index]),
    ):
        target.frombytes(np.ascontiguousarray(values, dtype=np.int64).tobytes())
