"""The vectorised dataplane: open-loop flows solved server by server with numpy.

It builds the same plans as the event dataplane (``Dataplane.plan``), then walks the servers in
topological order of the forwarding graph: at each shared server the arrivals of every flow are
merged by time, solved with ``simulator.batch.fifo_window`` (exact tail drop), and split
again; delays, peering links and encapsulation are array arithmetic. The counters it leaves on
the dataplane's servers, links and switches are the ones the event engine would leave, so both
paths produce the same results.

Windows: the flows' packets are pushed in windows of send time, so that the temporaries stay
window-sized (``WINDOW_PACKETS``); each server carries its backlog from one window to the next
in a ``simulator.batch.FifoState``. After the packets sent before ``t1`` are pushed, a server
may only solve the arrivals earlier than its *safe bound*: no packet still to come (sent at
``t1`` or later, or held back upstream) can reach it earlier. The bound is ``t1`` at the
sources, and at a server the least, over the flows reaching it, of the bound of the flow's
previous server (or source) plus the fixed delays in between (serialisation only adds).
Later arrivals wait, and join the next window's. Any split gives the results of one window
over the whole trace (tests/test_batch_windows_fabric.py).

Ties are deterministic and the event engine's: packets that reach a server in the same
nanosecond are taken by flow (the order of the traffic list), then by packet, after the packet
that finishes there at that instant has left, and once the buffer refuses one of them it
refuses the rest of that instant's arrivals (``simulator.queues.RateServer``'s tie rule, with
``fabric.sim.dataplane.tie_order``; ``simulator.batch`` applies it to the sorted arrivals). A
window solves every arrival of an instant or none of them (bounds are strict), so the rule
holds across windows.

Deliveries go to each flow's ``FlowStats`` window by window, in the order the event engine
records them (by time, then packet: a flow's packets keep their order through FIFO servers
and fixed delays).
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

import numpy as np

from fabric.control.forwarding import resolve
from fabric.model import FlowSpec
from fabric.model.traffic import HEADER_BYTES, flow_endpoints
from fabric.sim.dataplane import Dataplane, DelayCount
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
from simulator.batch import FifoState, fifo_window, service_times
from simulator.units import NS_PER_S

_DROP_KINDS = {1: "BufferFullPackets", 2: "BufferFullBytes"}  # simulator.batch's reason codes

# Packets sent per window, all flows together (speed and memory only, never results): 64K
# int64 columns of a few arrays stay in cache.
WINDOW_PACKETS = 1 << 16

_NEVER = np.iinfo(np.int64).max  # the safe bound of the last window: everything is solved


class BatchUnsupported(Exception):  # noqa: N818 - reads as the condition
    """The scenario needs the event engine (closed-loop TCP, packet capture, a cyclic graph,
    timed events)."""


class _Packets:
    """Some of a flow's packets at one point of its plan (int64 arrays of equal length):
    when each was sent, its time there, its size and its bytes on the wire."""

    __slots__ = ("sent", "sizes", "times", "wire")

    def __init__(self, sent, times, sizes, wire) -> None:
        self.sent, self.times, self.sizes, self.wire = sent, times, sizes, wire

    def keep(self, mask: np.ndarray) -> _Packets:
        return _Packets(self.sent[mask], self.times[mask], self.sizes[mask], self.wire[mask])

    def split(self, at: int) -> tuple[_Packets, _Packets]:
        head = _Packets(self.sent[:at], self.times[:at], self.sizes[:at], self.wire[:at])
        tail = _Packets(self.sent[at:], self.times[at:], self.sizes[at:], self.wire[at:])
        return head, tail

    @staticmethod
    def join(parts: list[_Packets]) -> _Packets:
        if len(parts) == 1:
            return parts[0]
        columns = (np.concatenate([getattr(p, name) for p in parts]) for name in _Packets.__slots__)
        sent, sizes, times, wire = columns
        return _Packets(sent, times, sizes, wire)


class _FlowState:
    """A flow's trace, where its next window starts, and what its plan needs as it goes."""

    def __init__(
        self, flow, order: int, plan: tuple[PlanStep, ...], times, sizes, header: int
    ) -> None:
        self.flow = flow
        self.stats: FlowStats = flow.stats
        self.order = order
        self.plan = plan
        self.sent = times
        self.sizes = sizes
        self.cursor = 0  # the first packet not pushed yet
        self.header = header
        self.last_event = int(times.max()) if times.size else 0
        # switches passed up to and including each step (the hop limit)
        self.switches = np.cumsum([isinstance(step, SwitchStep) for step in plan]).tolist()
        self.delays: dict[int, DelayCount] = {}  # position -> its Delay element's counter

    def take(self, until: int) -> _Packets | None:
        """The packets sent before ``until`` not pushed yet."""
        end = int(np.searchsorted(self.sent, until, side="left")) if until < _NEVER else None
        sent = self.sent[self.cursor : end]
        self.cursor = self.sent.size if end is None else end
        if not sent.size:
            return None
        sizes = self.sizes[self.cursor - sent.size : self.cursor]
        return _Packets(sent, sent, sizes, sizes)


class _ServerState:
    """A queueing server of the batch walk: its backlog, the arrivals it holds back (by flow
    order) and where its safe bound comes from."""

    def __init__(self, server: RateServer) -> None:
        self.server = server
        self.fifo = FifoState()
        self.pending: dict[int, list[_Packets]] = {}
        self.flows: dict[int, tuple[_FlowState, int]] = {}  # order -> (flow, plan position)
        self.feeds: list[tuple[str | None, int]] = []  # (previous server or None, fixed delay)
        self.bound = 0


class BatchFlow:
    """The record an open-loop flow leaves (the shape FlowResult.from_flow reads)."""

    def __init__(self, spec: FlowSpec, forwarding, stats) -> None:
        self.spec = spec
        self.forwarding = forwarding
        self.stats = stats


def run_batch(
    dataplane: Dataplane, specs: list[FlowSpec], horizon_s: float, *, samples: bool = True
) -> tuple[list, int]:
    """Simulate open-loop ``specs`` on ``dataplane``'s nodes; returns (flows, end time in ns).
    ``samples``: the flows keep every delivered packet's latency, time and payload."""
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
        if times.size > 1 and bool((times[1:] < times[:-1]).any()):
            raise BatchUnsupported(f"flow {spec.name}'s send times are not in order")
        if spec.size_mix is None:  # one size: a view of it, not a column of copies
            sizes = np.broadcast_to(np.int64(spec.packet_bytes), times.shape)
        stats = FlowStats(spec.name, keep_samples=samples, reserve=int(times.size))
        stats.sent = int(times.size)
        record = BatchFlow(spec, path, stats)
        records.append(record)
        start = round(spec.start_s * NS_PER_S)
        stats.steady_from_ns = start + round(STEADY_AFTER * spec.duration_s * NS_PER_S)
        if times.size:
            stats.sending_until_ns = int(times[-1])  # as the event engine's open-loop flows
        states.append(_FlowState(record, order, plan, times, sizes, HEADER_BYTES[spec.protocol]))
    servers = _servers(dataplane, states)
    per_flow = max(1, WINDOW_PACKETS // max(1, len(states)))
    while True:
        until = _next_window(states, per_flow)
        sent = 0
        for state in states:
            packets = state.take(until)
            if packets is not None:
                sent += packets.times.size
                _advance(dataplane, servers, state, 0, packets)
        # A window ends where one flow has sent per_flow packets: when the others send far
        # less, let it send more, so that windows keep about WINDOW_PACKETS (speed only).
        if sent < WINDOW_PACKETS // 2:
            per_flow = min(2 * per_flow, max(1, WINDOW_PACKETS))
        elif sent > 2 * WINDOW_PACKETS:
            per_flow = max(1, per_flow // 2)
        _bounds(servers, until)
        for server in servers.values():
            _solve_server(dataplane, servers, server)
        if until == _NEVER:
            break
    end = max((s.last_event for s in states), default=0)
    return records, end


def _next_window(states: list[_FlowState], per_flow: int) -> int:
    """The send time the next window ends before: where one flow has sent ``per_flow`` more
    packets (_NEVER once every flow's rest fits in one window)."""
    until, first = _NEVER, _NEVER
    for state in states:
        if state.cursor < state.sent.size:
            first = min(first, int(state.sent[state.cursor]))
            if state.cursor + per_flow < state.sent.size:
                until = min(until, int(state.sent[state.cursor + per_flow]))
    return until if until == _NEVER else max(until, first + 1)  # each window sends something


def _server(dataplane: Dataplane, step: PlanStep) -> RateServer | None:
    return dataplane.server_of(step) if isinstance(step, SERVER_STEPS) else None


def _servers(dataplane: Dataplane, states: list[_FlowState]) -> dict[str, _ServerState]:
    """The queueing servers by name, in an order where every flow meets its servers in path
    order (two connections of one gateway share an instance: it is one node, solved once), each
    with the flows that reach it and the fixed delay from their previous server (or source)."""
    servers: dict[str, _ServerState] = {}
    graph: dict[str, set[str]] = {}
    for state in states:
        previous, delay = None, 0
        for position, step in enumerate(state.plan):
            if isinstance(step, LinkStep):
                dataplane.peering_link(step)  # listed, as the event engine lists it, if unused
            if isinstance(step, LinkStep | DelayStep):
                delay += step.delay_ns
            server = _server(dataplane, step)
            if server is None:
                continue
            known = servers.setdefault(server.name, _ServerState(server))
            if known.server is not server:  # solved by name: two servers must never share one
                raise AssertionError(f"two queueing servers are both named {server.name!r}")
            if state.order in known.flows:
                raise BatchUnsupported(f"a flow passes {server.name} twice")
            known.flows[state.order] = (state, position)
            known.feeds.append((previous, delay))
            graph.setdefault(server.name, set())
            if previous is not None:
                graph[server.name].add(previous)
            previous, delay = server.name, 0
    sorter = TopologicalSorter({name: sorted(before) for name, before in sorted(graph.items())})
    try:
        order = list(sorter.static_order())
    except CycleError:
        raise BatchUnsupported("the forwarding graph has a cycle between shared servers") from None
    return {name: servers[name] for name in order}


def _bounds(servers: dict[str, _ServerState], until: int) -> None:
    """Each server's safe bound once the packets sent before ``until`` are pushed (servers in
    topological order, so a previous server's bound is known)."""
    for server in servers.values():
        if until == _NEVER:
            server.bound = _NEVER
            continue
        server.bound = min(
            (until if previous is None else servers[previous].bound) + delay
            for previous, delay in server.feeds
        )


def _advance(
    dataplane: Dataplane,
    servers: dict[str, _ServerState],
    state: _FlowState,
    position: int,
    packets: _Packets,
) -> None:
    """Apply the flow's non-server steps from ``position`` to ``packets`` until its next server
    (where they wait to be solved), delivery or drop."""
    plan = state.plan
    while position < len(plan):
        step = plan[position]
        if isinstance(step, SERVER_STEPS):
            server = servers[dataplane.server_of(step).name]
            server.pending.setdefault(state.order, []).append(packets)
            return
        count = packets.times.size
        if isinstance(step, SwitchStep):
            switch = dataplane.switch(step.vnet)
            switch.packets += count
            if state.switches[position] >= dataplane.params.hop_limit:
                state.stats.drop(switch.drop_reason, count)
                return
        elif isinstance(step, LinkStep):
            link = dataplane.peering_link(step)
            link.packets += count
            link.bytes += int(packets.wire.sum())
            packets.times = packets.times + step.delay_ns
        elif isinstance(step, DelayStep):
            counter = state.delays.get(position)
            if counter is None:
                counter = state.delays[position] = DelayCount(step.label)
                dataplane.delays.append(counter)
            counter.arrivals += count
            packets.times = packets.times + step.delay_ns
        elif isinstance(step, EncapStep):
            tunnel = dataplane.tunnel(step.connection)
            packets.wire = tunnel.cipher.esp.wire_bytes(packets.sizes, tunnel.mtu)
        elif isinstance(step, DecapStep):
            packets.wire = packets.sizes
        elif isinstance(step, SinkStep):
            _deliver(state, packets)
            return
        elif isinstance(step, DropStep):
            state.stats.drop(step.drop, count)
            return
        elif isinstance(step, SizeLimitStep):
            over = packets.sizes > step.limit_bytes
            dropped = int(over.sum())
            if dropped:
                state.stats.drop(step.drop, dropped)
                packets = packets.keep(~over)
                if not packets.times.size:
                    return
        if packets.times.size:
            state.last_event = max(state.last_event, int(packets.times.max()))
        position += 1


def _deliver(state: _FlowState, packets: _Packets) -> None:
    """Record deliveries in the order the event engine does: by time, then packet (a flow's
    packets arrive in order)."""
    state.stats.deliver_many(
        packets.times, packets.times - packets.sent, packets.sizes - state.header
    )


def _solve_server(
    dataplane: Dataplane, servers: dict[str, _ServerState], solving: _ServerState
) -> None:
    """Solve the arrivals at ``solving`` earlier than its safe bound; hold back the rest."""
    server = solving.server
    arriving: list[tuple[_FlowState, int, _Packets]] = []
    for order in sorted(solving.pending):
        waiting = _Packets.join(solving.pending[order])
        ready = int(np.searchsorted(waiting.times, solving.bound, side="left"))
        if ready == waiting.times.size:
            del solving.pending[order]
        elif ready:
            waiting, rest = waiting.split(ready)
            solving.pending[order] = [rest]
        else:
            solving.pending[order] = [waiting]
            continue
        state, position = solving.flows[order]
        arriving.append((state, position, waiting))
    if not arriving:
        return
    sizes = [packets.times.size for _, _, packets in arriving]
    offsets = np.concatenate(([0], np.cumsum(sizes)))
    times = np.concatenate([packets.times for _, _, packets in arriving])
    # Line rates (a VM's egress cap, a circuit) meter whole packets, the gateways' measured
    # caps meter payload.
    metered = [
        packets.wire
        if isinstance(state.plan[position], NicStep | CircuitStep)
        else packets.sizes - state.header
        for state, position, packets in arriving
    ]
    wire = np.concatenate(metered) if len(metered) > 1 else metered[0]
    # Each flow's arrivals are already in time order, and the flows are concatenated in flow
    # order, so a stable sort gives (time, flow, packet) order: the tie order of both engines
    # (dataplane.tie_order; the event RateServer applies it whatever order its events ran in).
    order = None if len(arriving) == 1 else np.argsort(times, kind="stable")
    if order is not None:
        times, wire = times[order], wire[order]
    service = service_times(wire, server.rate_bps, server.min_service_ns)
    departures, accepted, reasons = fifo_window(
        solving.fifo,
        times,
        wire,
        service,
        buffer_bytes=server.buffer_bytes,
        buffer_packets=server.buffer_packets,
    )
    server.arrivals += int(times.size)
    all_kept = bool(accepted.all())
    server.departures += int(times.size) if all_kept else int(accepted.sum())
    server.busy_ns += int(service.sum()) if all_kept else int(service[accepted].sum())
    server.peak_queue_packets = max(server.peak_queue_packets, solving.fifo.peak)
    if not all_kept:
        for code, name in _DROP_KINDS.items():
            count = int((reasons == code).sum())
            if count:
                server.drops[name] += count
    drop = dataplane.queue_drops[server.name]
    if order is not None:  # back to concatenation order: each flow's slice is contiguous
        back = np.empty_like(departures)
        back[order] = departures
        departures = back
        if not all_kept:
            back = np.empty_like(accepted)
            back[order] = accepted
            accepted = back
    for i, (state, position, packets) in enumerate(arriving):
        part = slice(offsets[i], offsets[i + 1])
        packets.times = departures[part]
        if not all_kept:
            kept = accepted[part]
            lost = int(kept.size - kept.sum())
            if lost:
                state.stats.drop(drop, lost)
                packets = packets.keep(kept)
                if not packets.times.size:
                    continue
        state.last_event = max(state.last_event, int(packets.times[-1]))
        _advance(dataplane, servers, state, position + 1, packets)
