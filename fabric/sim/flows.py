"""Traffic sources and sinks on the dataplane: open-loop flows and a window-based TCP flow.

Each flow keeps its own counters; ``sent == delivered + dropped`` holds for every flow once
the run has drained (every packet ends delivered or dropped with a reason).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter

import numpy as np

from fabric.control.forwarding import Drop
from fabric.model.traffic import FlowSpec
from fabric.sim.dataplane import Dataplane, Packet
from fabric.sim.traffic import open_loop_trace
from simulator import Simulation
from simulator.units import NS_PER_S

ACK_BYTES = 40
TCP_IP_HEADERS = 40  # MSS = MTU - 40 (§3.8)


class FlowStats:
    """Counters and per-packet samples of one flow (numpy-backed once the run ends). Drops are
    counted by code; the detail of each code is kept once."""

    __slots__ = (
        "delivered",
        "delivered_at",
        "delivered_bytes",
        "details",
        "drops",
        "latency",
        "name",
        "sent",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent = 0
        self.delivered = 0
        self.drops: Counter[str] = Counter()
        self.details: dict[str, str] = {}
        self.latency = array("q")
        self.delivered_at = array("q")
        self.delivered_bytes = array("q")

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    def drop(self, drop: Drop, count: int = 1) -> None:
        """Count ``count`` packets dropped for ``drop``'s reason."""
        self.drops[drop.code] += count
        if drop.code not in self.details:
            self.details[drop.code] = drop.detail


class OpenLoopFlow:
    """cbr / poisson / onoff traffic: packets leave at pre-generated times, whatever happens."""

    def __init__(self, spec: FlowSpec, dataplane: Dataplane, sim: Simulation, horizon_s: float):
        self.spec = spec
        self.stats = FlowStats(spec.name)
        self.sim = sim
        self.dataplane = dataplane
        _, src_host = dataplane.plane.fabric.find_host(spec.src)
        _, dst_host = dataplane.plane.fabric.find_host(spec.dst)
        self.path, self.forwarding = dataplane.resolve(
            src_host,
            dst_host,
            spec.protocol,
            spec.destination_port,
            spec.source_port,
            self.delivered,
        )
        sport = spec.source_port if spec.source_port is not None else 60000
        self.five_tuple = (src_host.ip, dst_host.ip, spec.protocol, sport, spec.destination_port)
        times, sizes = open_loop_trace(spec, sim.stream(f"flow/{spec.name}"), horizon_s)
        self.times = times.tolist()
        self.sizes = sizes.tolist()
        self.ttl = dataplane.params.hop_limit

    def emit(self, index: int) -> None:
        """Send packet ``index`` now (OpenLoopSchedule calls this at its send time)."""
        packet = Packet(self, index, self.sizes[index], self.sim.now, self.path, self.ttl)
        self.stats.sent += 1
        self.path[0](packet)

    def delivered(self, packet: Packet) -> None:
        stats = self.stats
        stats.delivered += 1
        now = self.sim.now
        stats.latency.append(now - packet.sent_ns)
        stats.delivered_at.append(now)
        stats.delivered_bytes.append(packet.size)

    def dropped(self, packet: Packet, drop: Drop) -> None:
        self.stats.drop(drop)


class _AckFlow:
    """The reverse direction of a TCP flow: carries ACKs back to the sender."""

    def __init__(self, tcp: TcpFlow, five_tuple: tuple) -> None:
        self.tcp = tcp
        self.lost = 0
        self.five_tuple = five_tuple

    def delivered(self, packet: Packet) -> None:
        self.tcp.on_ack(packet)

    def dropped(self, packet: Packet, drop: Drop) -> None:
        # The sender sees no ACK: after a retransmission timeout it counts the segment as lost.
        self.lost += 1
        self.tcp.sim.schedule(self.tcp.rto_ns, self.tcp.on_ack_lost, packet)


class TcpFlow:
    """A closed-loop, window-based TCP-like flow: slow start from 10 segments, additive increase
    of one segment per round trip, halving on loss (once per window), ACKs on the reverse path
    through the fabric, and a receive window of ``window_packets`` segments."""

    def __init__(self, spec: FlowSpec, dataplane: Dataplane, sim: Simulation, horizon_s: float):
        self.spec = spec
        self.sim = sim
        self.stats = FlowStats(spec.name)
        fabric = dataplane.plane.fabric
        _, src = fabric.find_host(spec.src)
        _, dst = fabric.find_host(spec.dst)
        sport = spec.source_port if spec.source_port is not None else 50000
        self.path, self.forwarding = dataplane.resolve(
            src, dst, "Tcp", spec.destination_port, sport, self.delivered
        )
        self.five_tuple = (src.ip, dst.ip, "Tcp", sport, spec.destination_port)
        self.acks = _AckFlow(self, (dst.ip, src.ip, "Tcp", spec.destination_port, sport))
        self.ack_path, self.ack_forwarding = dataplane.resolve(
            dst, src, "Tcp", sport, spec.destination_port, self.acks.delivered, established=True
        )
        params = dataplane.params
        mss = params.vpn_tcp_mss_bytes if self.forwarding.crosses_tunnel else params.tcp_mss_bytes
        self.segment_bytes = mss + TCP_IP_HEADERS
        self.ttl = params.hop_limit
        base_rtt_ms = (self.forwarding.latency_ms or 0.0) + (self.ack_forwarding.latency_ms or 0.0)
        self.loss_signal_ns = max(1, round(base_rtt_ms * 1e6))  # ~3 duplicate ACKs later
        self.rto_ns = max(200_000_000, 3 * self.loss_signal_ns)  # Linux's 200 ms minimum RTO
        self.start_ns = round(spec.start_s * NS_PER_S)
        end_s = min(spec.start_s + spec.duration_s, horizon_s)
        self.stop_ns = round(end_s * NS_PER_S)
        self.cwnd = 10.0
        self.ssthresh = math.inf
        self.inflight = 0
        self.next_seq = 0
        self.recover = -1

    def start(self) -> None:
        self.sim.schedule_at(self.start_ns, self._pump)

    def _pump(self, _: object = None) -> None:
        limit = min(int(self.cwnd), self.spec.window_packets)
        while self.inflight < limit and self.sim.now < self.stop_ns:
            packet = Packet(
                self, self.next_seq, self.segment_bytes, self.sim.now, self.path, self.ttl
            )
            self.next_seq += 1
            self.inflight += 1
            self.stats.sent += 1
            self.path[0](packet)

    def delivered(self, packet: Packet) -> None:
        stats = self.stats
        now = self.sim.now
        stats.delivered += 1
        stats.latency.append(now - packet.sent_ns)
        stats.delivered_at.append(now)
        stats.delivered_bytes.append(packet.size - TCP_IP_HEADERS)
        ack = Packet(self.acks, packet.seq, ACK_BYTES, now, self.ack_path, self.ttl)
        self.ack_path[0](ack)

    def dropped(self, packet: Packet, drop: Drop) -> None:
        self.stats.drop(drop)
        self.sim.schedule(self.loss_signal_ns, self._on_loss, packet.seq)

    def _on_loss(self, seq: int) -> None:
        self.inflight -= 1
        if seq > self.recover:  # one halving per window of data (fast recovery)
            self.ssthresh = max(self.cwnd / 2, 2.0)
            self.cwnd = self.ssthresh
            self.recover = self.next_seq - 1
        self._pump()

    def on_ack(self, packet: Packet) -> None:
        self.inflight -= 1
        if self.cwnd < self.ssthresh:
            self.cwnd += 1.0
        else:
            self.cwnd += 1.0 / self.cwnd
        self._pump()

    def on_ack_lost(self, packet: Packet) -> None:
        self.inflight -= 1
        self._pump()


def stats_arrays(stats: FlowStats) -> dict[str, np.ndarray]:
    """The per-packet samples of a flow as numpy arrays (int64 ns and bytes)."""

    def arr(buffer: array) -> np.ndarray:
        return np.frombuffer(buffer, dtype=np.int64).copy() if buffer else np.empty(0, np.int64)

    return {
        "latency_ns": arr(stats.latency),
        "delivered_at_ns": arr(stats.delivered_at),
        "delivered_bytes": arr(stats.delivered_bytes),
    }


class OpenLoopSchedule:
    """Emits the packets of every open-loop flow from one merged, time-ordered schedule.

    Packets sent at the same instant leave in flow order, then packet order: the same rule the
    vectorised path uses, so both give identical results even when flows collide in time.
    """

    def __init__(self, sim: Simulation, flows: list[OpenLoopFlow]) -> None:
        self.sim = sim
        self.flows = flows
        times = [np.asarray(f.times, dtype=np.int64) for f in flows]
        owner = np.concatenate([np.full(t.size, i) for i, t in enumerate(times)] or [np.zeros(0)])
        local = np.concatenate([np.arange(t.size) for t in times] or [np.zeros(0)])
        all_times = np.concatenate(times or [np.zeros(0, np.int64)])
        order = np.lexsort((local, owner, all_times))
        self.times = all_times[order].tolist()
        self.owner = owner[order].astype(np.int64).tolist()
        self.local = local[order].astype(np.int64).tolist()

    def start(self) -> None:
        if self.times:
            self.sim.schedule_at(self.times[0], self._emit, 0)

    def _emit(self, position: int) -> None:
        # OpenLoopFlow.emit inlined: this runs once per packet of every open-loop flow.
        flow, index = self.flows[self.owner[position]], self.local[position]
        flow.stats.sent += 1
        flow.path[0](Packet(flow, index, flow.sizes[index], self.sim.now, flow.path, flow.ttl))
        if position + 1 < len(self.times):
            self.sim.schedule_at(self.times[position + 1], self._emit, position + 1)
