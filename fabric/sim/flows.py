"""Traffic sources and sinks on the dataplane: open-loop flows and TCP connections.

Each flow keeps its own counters; ``sent == delivered + dropped`` holds for every flow once
the run has drained (every packet ends delivered or dropped with a code). Goodput counts
payload bytes (the packet minus its IP and transport headers).

TCP (``fabric.sim.tcp``): a three-way handshake first (a SYN that is never answered is resent
as Linux does, RTO doubling from 1 s, and the flow ends ``ConnectionFailed``); then the
sender's congestion control (CUBIC by default, or Reno) and RFC 6298 timer, the receive
window of the receiving host's OS profile (autotuned on Linux and Windows), selective
acknowledgements (a loss is learnt one round trip after it happened, provided an ACK came back
meanwhile, and reduces the window once per round trip; when nothing gets through, as in an
outage, only the retransmission timer finds it), and ACKs that travel the reverse path through
the fabric, delayed as the receiving OS delays them (``tcp.AckPolicy``: one per two segments
after a quick-ACK start on Linux).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from fabric.control.forwarding import Drop
from fabric.model import FlowSpec, Host
from fabric.model.traffic import HEADER_BYTES, Address, flow_endpoints
from fabric.sim import tcp
from fabric.sim.dataplane import Dataplane, Packet, Wire
from fabric.sim.traffic import open_loop_trace
from simulator import LatencyStats, Simulation, ThroughputSeries
from simulator.stats import RateTrend
from simulator.units import NS_PER_S

ACK_BYTES = 40  # an IPv4 + TCP header without options
# Linux TCP small queues: a socket keeps at most about 1 ms of data at its pacing rate (at least
# two segments) in the host's own queues, and never more than tcp_limit_output_bytes (1 MiB by
# default); the rest waits in the socket, so a TCP sender does not drop at its own NIC.
TSQ_MAX_BYTES = 1_048_576
TSQ_MS = 1.0
SYN_BYTES = 60  # a SYN with the usual options (MSS, window scale, SACK, timestamps)
STEADY_AFTER = 0.1  # an open-loop flow is steady after the first 10% of its duration
CONNECTION_FAILED = Drop(
    "ConnectionFailed", "no SYN-ACK came back: the connection was never established"
)


# The stated bound of the latency quantiles a flow reports (p50, p99): a log-bucket histogram
# at 0.1% relative error (simulator.stats.LogHistogram). Counts, sums, means and throughputs
# are exact; every engine records through the same structure, so they agree exactly.
QUANTILE_RELATIVE_ERROR = 1e-3


class Span:
    """What a throughput over the span of deliveries needs, exactly: the first delivery (the
    earliest time, the first recorded at that time) and its payload, the last time, the payload
    total and the count (``fabric.sim.results.span_mbps`` on the full arrays gives the same)."""

    __slots__ = ("count", "first_at", "first_bytes", "last_at", "total_bytes")

    def __init__(self) -> None:
        self.count = 0
        self.first_at = 0
        self.first_bytes = 0
        self.last_at = 0
        self.total_bytes = 0

    def add(self, at: np.ndarray, payload: np.ndarray) -> None:
        if at.size == 0:
            return
        first = int(np.argmin(at))
        earliest = int(at[first])
        if self.count == 0 or earliest < self.first_at:
            self.first_at, self.first_bytes = earliest, int(payload[first])
        latest = int(at.max())
        self.last_at = latest if self.count == 0 else max(self.last_at, latest)
        self.total_bytes += int(payload.sum())  # < 2**63: payloads of at most 64 KB each
        self.count += int(at.size)

    def mbps(self) -> float:
        """Payload bits over the span, the first packet's own bits counted out (0 with fewer
        than two deliveries)."""
        span_ns = self.last_at - self.first_at
        if self.count < 2 or span_ns <= 0:
            return 0.0
        return round((self.total_bytes - self.first_bytes) * 8 / span_ns * 1e3, 6)


class Column:
    """An int64 column that grows without copying what it holds: values go into a block with
    room to spare (reserved address space: only the pages written are resident), and a full
    block is followed by one as large as everything so far. ``array()`` joins the blocks once
    (a single block is handed out as it is) and returns them read-only."""

    __slots__ = ("blocks", "room", "used")

    _FIRST_BLOCK = 1 << 12

    def __init__(self, reserve: int = 0) -> None:
        self.blocks: list[np.ndarray] = []  # full blocks (or the joined column), in order
        self.room = np.empty(reserve, dtype=np.int64)  # the current block
        self.used = 0  # values in the current block

    def __len__(self) -> int:
        return sum(block.size for block in self.blocks) + self.used

    def extend(self, values: np.ndarray) -> None:
        count = values.size
        if self.used + count > self.room.size:
            self._seal()
            self.room = np.empty(max(count, len(self), self._FIRST_BLOCK), dtype=np.int64)
        self.room[self.used : self.used + count] = values
        self.used += count

    def _seal(self) -> None:
        if self.used:
            self.blocks.append(self.room[: self.used])
        self.room, self.used = np.empty(0, dtype=np.int64), 0

    def array(self) -> np.ndarray:
        self._seal()
        if len(self.blocks) != 1:
            joined = np.concatenate(self.blocks) if self.blocks else np.empty(0, np.int64)
            self.blocks = [joined]
        self.blocks[0].flags.writeable = False  # the results share it: no second copy
        return self.blocks[0]


class FlowStats:
    """Counters of one flow and streaming recorders of its deliveries: memory bounded however
    long the flow, unless per-packet samples are asked for (``keep_samples``: figures, CDFs,
    outage windows, goodput over arbitrary windows). Drops are counted by code; the detail of
    each code is kept once.

    Deliveries are buffered in ``latency``, ``delivered_at`` and ``delivered_bytes`` (int64
    arrays: ``deliver`` appends one, an engine may append whole blocks with ``frombytes``) and
    folded ``FOLD_EVERY`` at a time (numpy does the work) into: a ``LatencyStats`` (exact
    count, sum, mean, variance; quantiles within QUANTILE_RELATIVE_ERROR), the span of all
    deliveries and of those at or after ``steady_from_ns`` (exact throughputs), a
    ``ThroughputSeries`` (bounded bins, for a figure) and, when kept, the samples.
    """

    __slots__ = (
        "delivered",
        "delivered_at",
        "delivered_bytes",
        "details",
        "drop_codes",
        "drop_sent",
        "drops",
        "keep_samples",
        "latency",
        "latency_stats",
        "log_drops",
        "name",
        "samples",
        "sending_until_ns",
        "sent",
        "series",
        "span",
        "status",
        "steady",
        "steady_from_ns",
        "steady_rtt_ns",
    )

    FOLD_EVERY = 4096  # deliveries buffered before they are folded into the recorders

    def __init__(
        self, name: str, log_drops: bool = False, keep_samples: bool = True, reserve: int = 0
    ) -> None:
        """``reserve``: room for this many samples up front (the packets an open-loop flow
        sends), so that kept samples never move while they grow."""
        self.name = name
        # With events, each drop is logged (when its packet was sent, its code) so that the
        # results can show outage windows on a timeline.
        self.log_drops = log_drops
        self.drop_sent = array("q")
        self.drop_codes: list[str] = []
        self.sent = 0
        self.delivered = 0
        self.drops: Counter[str] = Counter()
        self.details: dict[str, str] = {}
        self.latency = array("q")  # deliveries not folded yet
        self.delivered_at = array("q")
        self.delivered_bytes = array("q")
        self.keep_samples = keep_samples
        self.samples = (  # latency, time, payload
            (Column(reserve), Column(reserve), Column(reserve)) if keep_samples else None
        )
        self.latency_stats = LatencyStats(QUANTILE_RELATIVE_ERROR)
        self.span = Span()
        self.steady = RateTrend()  # robust to window-limited bursts (see RateTrend)
        self.series = ThroughputSeries()
        # When the sender's start-up was over. Set it before the deliveries it concerns, or at
        # the time of the latest one (TCP: the moment it leaves slow start): folding holds back
        # the deliveries of the latest instant while it is unset, so that none is missed.
        self.steady_from_ns: int | None = None
        # When the sender stops (an open-loop flow's last send, a TCP flow's end): the steady
        # window lasts until then at least; and a TCP flow's round trip when start-up ended.
        self.sending_until_ns: int | None = None
        self.steady_rtt_ns: int | None = None
        self.status: Drop | None = None  # why a connection never carried data, if it did not

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    def drop(self, drop: Drop, count: int = 1) -> None:
        """Count ``count`` packets dropped for ``drop``'s reason."""
        self.drops[drop.code] += count
        if drop.code not in self.details:
            self.details[drop.code] = drop.detail

    def lose(self, packet: Packet, drop: Drop) -> None:
        """Count one packet of the flow dropped for ``drop``'s reason (logged with events)."""
        self.drop(drop)
        if self.log_drops:
            self.drop_sent.append(packet.sent_ns)
            self.drop_codes.append(drop.code)

    def deliver(self, now: int, packet: Packet) -> None:
        """Record one delivered packet (its one-way latency and payload)."""
        self.arrived(now, packet.sent_ns, packet.payload)

    def arrived(self, now: int, sent_ns: int, payload: int) -> None:
        """Record one delivery at ``now`` of a packet sent at ``sent_ns``."""
        self.delivered += 1
        self.latency.append(now - sent_ns)
        self.delivered_at.append(now)
        self.delivered_bytes.append(payload)
        if len(self.latency) >= self.FOLD_EVERY:
            self.fold()

    def fold(self, final: bool = False) -> None:
        """Fold the buffered deliveries into the recorders (all of them when ``final``)."""
        count = len(self.latency)
        if count == 0:
            return
        at = np.frombuffer(self.delivered_at, dtype=np.int64).copy()
        if self.steady_from_ns is None and not final:
            # Hold back the deliveries of the latest instant: start-up may end at it.
            latest = at[-1]
            while count and at[count - 1] == latest:
                count -= 1
            if count == 0:
                return
        at = at[:count]
        latency = np.frombuffer(self.latency, dtype=np.int64, count=count).copy()
        payload = np.frombuffer(self.delivered_bytes, dtype=np.int64, count=count).copy()
        for buffer in (self.latency, self.delivered_at, self.delivered_bytes):
            del buffer[:count]
        self._record(at, latency, payload)

    def deliver_many(self, at: np.ndarray, latency: np.ndarray, payload: np.ndarray) -> None:
        """Record a block of deliveries (int64 arrays, in delivery order, after any recorded
        before): folded at once when nothing is buffered and start-up's end is known (the
        batch engine), else buffered as ``deliver`` does."""
        self.delivered += int(at.size)
        if self.steady_from_ns is not None and not self.latency:
            self._record(at, latency, payload)
            return
        for buffer, values in (
            (self.latency, latency),
            (self.delivered_at, at),
            (self.delivered_bytes, payload),
        ):
            buffer.frombytes(np.ascontiguousarray(values, dtype=np.int64).tobytes())
        if len(self.latency) >= self.FOLD_EVERY:
            self.fold()

    def _record(self, at: np.ndarray, latency: np.ndarray, payload: np.ndarray) -> None:
        """Fold deliveries into the recorders (and the samples, when kept)."""
        self.latency_stats.record_many(latency)
        self.span.add(at, payload)
        if self.steady_from_ns is not None:
            if at.size and int(at.min()) >= self.steady_from_ns:  # all steady: no copies
                self.steady.add(at, payload)
            else:
                steady = at >= self.steady_from_ns
                self.steady.add(at[steady], payload[steady])
        self.series.record_many(at, payload)
        if self.samples is not None:
            for kept, values in zip(self.samples, (latency, at, payload), strict=True):
                kept.extend(values)

    def discard_samples(self) -> None:
        """Keep no per-packet samples from now on (bounded memory); before any is folded."""
        self.keep_samples = False
        self.samples = None

    def sample_arrays(self) -> dict[str, np.ndarray] | None:
        """Every delivery's latency, time and payload (int64, read-only), if they were kept."""
        self.fold(final=True)
        if self.samples is None:
            return None

        latency, at, payload = self.samples
        return {
            "latency_ns": latency.array(),
            "delivered_at_ns": at.array(),
            "delivered_bytes": payload.array(),
        }


def _hosts(spec: FlowSpec, dataplane: Dataplane) -> tuple[Host, Host | Address]:
    return flow_endpoints(dataplane.plane.fabric, spec)


class OpenLoopFlow:
    """cbr / poisson / onoff traffic: packets leave at pre-generated times, whatever happens."""

    def __init__(
        self,
        spec: FlowSpec,
        dataplane: Dataplane,
        sim: Simulation,
        horizon_s: float,
        *,
        rank: int = 0,
    ):
        self.spec = spec
        self.rank = rank  # place in the traffic list: the tie order (dataplane.tie_order)
        self.stats = FlowStats(spec.name, log_drops=dataplane.dynamic)
        self.sim = sim
        src_host, dst_host = _hosts(spec, dataplane)
        self.hosts = (src_host, dst_host)
        self.records: frozenset[tuple[str, str]] = frozenset()
        self.path, self.forwarding = self._resolve(dataplane)
        sport = spec.source_port if spec.source_port is not None else 60000
        self.five_tuple = (src_host.ip, dst_host.ip, spec.protocol, sport, spec.destination_port)
        jitter = dataplane.params.send_jitter_us
        times, sizes = open_loop_trace(spec, sim.stream(f"flow/{spec.name}"), horizon_s, jitter)
        self.times = times  # int64 ns, in order: OpenLoopSchedule merges them
        self.sizes = sizes.tolist()  # read per packet: Python ints
        self.header = HEADER_BYTES[spec.protocol]
        self.ttl = dataplane.params.hop_limit
        start = round(spec.start_s * NS_PER_S)
        self.stats.steady_from_ns = start + round(STEADY_AFTER * spec.duration_s * NS_PER_S)
        if times.size:
            self.stats.sending_until_ns = int(times[-1])

    def _resolve(self, dataplane: Dataplane) -> tuple[tuple, object]:
        spec = self.spec
        return dataplane.resolve(
            *self.hosts,
            spec.protocol,
            spec.destination_port,
            spec.source_port,
            self.delivered,
            records=self.records,
            record=self.stats.deliver,
        )

    def reroute(self, dataplane: Dataplane) -> None:
        """Follow the control plane's new answer (after an event). Packets sent from now on
        take the new path; a flow that has sent keeps the NSG flow records of its path so far
        (§5.3: existing flows continue where a record exists)."""
        if self.stats.sent:
            self.records = self.records | self.forwarding.records
        self.path, self.forwarding = self._resolve(dataplane)

    def packet(self, index: int) -> Packet:
        size = self.sizes[index]
        return Packet(self, index, size, self.sim.now, self.path, self.ttl, size - self.header)

    def delivered(self, packet: Packet) -> None:
        self.stats.deliver(self.sim.now, packet)

    def dropped(self, packet: Packet, drop: Drop) -> None:
        self.stats.lose(packet, drop)


class _Reverse:
    """The reverse direction of a TCP connection: SYN-ACKs and ACKs back to the sender."""

    __slots__ = ("five_tuple", "rank", "tcp")

    def __init__(self, connection: TcpFlow, five_tuple: tuple) -> None:
        self.tcp = connection
        self.five_tuple = five_tuple
        self.rank = connection.rank

    def dropped(self, packet: Packet, drop: Drop) -> None:
        self.tcp.on_reverse_lost(packet)


SYN = -1  # the sequence number the handshake's packets carry


class TcpFlow:
    """A TCP connection from ``spec.src`` to ``spec.dst`` that sends as fast as the windows
    allow until ``spec.duration_s`` is over (an iPerf-like bulk transfer)."""

    __slots__ = (
        "_delack_due",
        "_drain_at",
        "_engine_due",
        "_resume_due",
        "_rto_due",
        "_sack_due",
        "_srtt_before",
        "_window_before",
        "ack_covers",
        "ack_forwarding",
        "ack_path",
        "ack_wire",
        "acking",
        "delack_event",
        "established",
        "five_tuple",
        "forwarding",
        "hosts",
        "last_ack_ns",
        "mss",
        "next_expected",
        "next_seq",
        "nic",
        "out_of_order_until_ns",
        "outstanding",
        "path",
        "quick_acks",
        "rank",
        "receiver",
        "records",
        "reverse",
        "rto_armed_ns",
        "rto_event",
        "segment_bytes",
        "sender",
        "sim",
        "spec",
        "sport",
        "start_ns",
        "stats",
        "stop_ns",
        "tsq_bytes",
        "ttl",
        "unacked",
        "unacked_since_ns",
        "unconfirmed",
        "unnoticed",
        "waiting_for_nic",
        "wire",
    )

    def __init__(
        self,
        spec: FlowSpec,
        dataplane: Dataplane,
        sim: Simulation,
        horizon_s: float,
        *,
        rank: int = 0,
    ):
        self.spec = spec
        self.rank = rank  # place in the traffic list: the tie order (dataplane.tie_order)
        self.sim = sim
        self.stats = FlowStats(spec.name, log_drops=dataplane.dynamic)
        src, dst = _hosts(spec, dataplane)
        sport = spec.source_port if spec.source_port is not None else 50000
        self.hosts = (src, dst)
        self.sport = sport
        self.records: frozenset[tuple[str, str]] = frozenset()
        self.five_tuple = (src.ip, dst.ip, "Tcp", sport, spec.destination_port)
        self.reverse = _Reverse(self, (dst.ip, src.ip, "Tcp", spec.destination_port, sport))
        self._resolve(dataplane)
        params = dataplane.params
        mss = self.forwarding.tcp_mss(params)
        self.mss = mss
        self.segment_bytes = mss + HEADER_BYTES["Tcp"]
        self.ttl = params.hop_limit
        self.sender = tcp.TcpSender(tcp.congestion_control(spec.congestion_control), mss)
        if spec.window_packets is not None:
            profile = tcp.tuned_profile(spec.window_packets * mss)
        else:
            profile = tcp.receive_profile(dst.os_profile or "linux")
        self.receiver = tcp.ReceiveWindow(profile)
        self.acking = tcp.ack_policy(dst.os_profile or "linux")
        self.quick_acks = self.acking.quick_acks  # left at the start of the connection
        self.unacked: list[int] = []  # segments received that no ACK has covered yet
        self.unacked_since_ns = 0  # when the oldest of them arrived
        self.next_expected = 0  # the segment after the highest received: a gap shows a loss
        self.out_of_order_until_ns = -1  # after a gap every segment is ACKed at once till then
        self.delack_event: object | None = None  # the delayed-ACK timer (lazy, as the RTO's)
        # The two ends meet at an instant in either order (a segment reaches the receiver as
        # an ACK reaches the sender), so what one end reads of the other is that state as it
        # stood when the instant began: the receiver reads the sender's smoothed RTT, the
        # sender the receiver's window. Each keeps the value from before its first change in
        # the instant: (instant, value then).
        self._srtt_before: tuple[int, float | None] = (-1, None)
        self._window_before: tuple[int, int] = (-1, 0)
        # Timers run after the packets of their instant (see _timer).
        self._delack_due = self._timer(self._on_delack)
        self._rto_due = self._timer(self._on_rto)
        self._resume_due = self._timer(self._resume)
        self._sack_due = self._timer(self._sack)
        # What each ACK on its way back acknowledges, by its number (the last segment it
        # covers): the cumulative ACK and SACK blocks the real header would carry.
        self.ack_covers: dict[int, list[int]] = {}
        self.start_ns = round(spec.start_s * NS_PER_S)
        self.stop_ns = round(min(spec.start_s + spec.duration_s, horizon_s) * NS_PER_S)
        self.outstanding: dict[int, int] = {}  # sequence -> send time, of unacknowledged data
        # Segments the receiver has but whose ACK was lost on the way back: still in flight
        # for the sender, which does not know; an ACK sent after the lost one (cumulative)
        # covers them, else the retransmission timer writes them off. By the lost ACK:
        # (when it was sent, its number, the segments it covered).
        self.unconfirmed: list[tuple[int, int, list[int]]] = []
        self.next_seq = 0
        self.established = False
        self.rto_event: object | None = None
        self.rto_armed_ns: int | None = None  # when the retransmission timer was (re)armed
        self.nic = dataplane.nic(src)
        self.tsq_bytes = min(
            TSQ_MAX_BYTES,
            (self.nic.buffer_bytes or TSQ_MAX_BYTES) // 2,  # within the VM's own queue
            max(2 * self.segment_bytes, round(self.nic.rate_bps * TSQ_MS / 8_000)),
        )
        self.waiting_for_nic = False
        self.last_ack_ns = -1  # when an ACK last arrived: SACK learns of a loss only by one
        self.unnoticed: list[int] = []  # losses no ACK has revealed yet (nothing got through)
        # Alone on its NICs, the connection sends on each way on a wire (send_on) instead of
        # as packets along path and ack_path.
        self.wire: Wire | None = None
        self.ack_wire: Wire | None = None
        self._drain_at: float = math.inf  # when _drain is next due (inf: nothing on the wires)
        self._engine_due: float = math.inf  # while draining: the engine's next event (see _at)

    def _resolve(self, dataplane: Dataplane) -> None:
        src, dst = self.hosts
        port, sport = self.spec.destination_port, self.sport
        self.path, self.forwarding = dataplane.resolve(
            src, dst, "Tcp", port, sport, self.delivered, records=self.records
        )
        # The reverse direction of an allowed connection: NSGs are stateful (§5.3).
        self.ack_path, self.ack_forwarding = dataplane.resolve(
            dst, src, "Tcp", sport, port, self.on_reverse, established=True
        )

    def reroute(self, dataplane: Dataplane) -> None:
        """Follow the control plane's new answer (after an event), both ways; the connection
        keeps its NSG flow records (§5.3) and its MSS."""
        if self.stats.sent:
            self.records = self.records | self.forwarding.records
        self._resolve(dataplane)

    # -- events of one instant (docs/assumptions.md, "Events of one nanosecond")

    def _timer(self, callback: Callable[[object], None]) -> Callable[[object], None]:
        """``callback`` as a timer: when it falls due, it waits for the packets that arrive in
        the same instant (it goes to the back of the instant, once), so that what it finds
        does not depend on the order in which the instant's events were scheduled. On a path
        whose delays after the last server are fused (``Dataplane._fused_tail``), every
        packet of an instant was scheduled before the instant began (every server holds a
        packet 1 ns or more), so all of them run first. Where a path is not fused (runs with
        timed events or a capture) a leg of 0 ms passes a packet on within its instant, and
        a timer may still run before such a packet: those runs keep the engine's order."""
        sim, at = self.sim, self._at

        def due(argument: object) -> None:
            at(sim.now, callback, argument)

        return due

    def _srtt_seen(self, now: int) -> float | None:
        """The sender's smoothed RTT as it stood when the instant began (see __init__)."""
        at, before = self._srtt_before
        return before if at == now else self.sender.rto.srtt_ns

    # -- the handshake

    def start(self) -> None:
        """The SYN and its retries (RTO doubling from 1 s, as Linux), while the flow lasts."""
        schedule = tcp.syn_retry_schedule()
        send = self._timer(self._send_syn)
        for offset in schedule.send_times_ns:
            if self.start_ns + offset < max(self.stop_ns, self.start_ns + 1):
                self._at(self.start_ns + offset, send)
        self.stats.status = CONNECTION_FAILED  # until a SYN-ACK arrives

    def _send_syn(self, _: object = None) -> None:
        if self.established:
            return
        self.stats.sent += 1
        wire = self.wire
        if wire is None:
            self.path[0](Packet(self, SYN, SYN_BYTES, self.sim.now, self.path, self.ttl, 0))
        else:
            self._put_on(wire, SYN, SYN_BYTES)

    # -- sending on wires (Dataplane.in_order_sources)

    def send_on(self, wire: Wire, ack_wire: Wire) -> None:
        """Send segments on ``wire`` and ACKs on ``ack_wire`` from now on, instead of as packets
        along ``path`` and ``ack_path`` (called before the run starts)."""
        self.wire, self.ack_wire = wire, ack_wire

    def _put_on(self, wire: Wire, seq: int, nbytes: int) -> None:
        """Send the segment, ACK or handshake packet ``seq`` of ``nbytes`` on ``wire`` now
        (unless its NIC drops it)."""
        departure = wire.depart(seq, nbytes)
        if departure >= 0:
            tally = wire.tally
            tally.packets += 1
            tally.wire += nbytes
            tally.inner += nbytes
            arrival = departure + wire.delay_ns
            wire.arrivals.append((arrival, seq, self.sim.now))
            if arrival < self._drain_at:
                self._wake_at(arrival)

    def _at(self, time: int, callback: Callable[[Any], None], argument: object = None) -> tuple:
        """Schedule ``callback(argument)`` on the engine at ``time``: every event of the
        connection's is scheduled here, so that while it drains its wires it knows the
        engine's next event without asking (see _drain)."""
        if time < self._engine_due:
            self._engine_due = time
        return self.sim.schedule_at(time, callback, argument)

    def _wake_at(self, time: int) -> None:
        """Have _drain run at ``time`` (a wake-up set for later is superseded)."""
        self._drain_at = time
        self._at(time, self._drain)

    def _drain(self, _: object = None) -> None:
        """Run what the wires carry as it arrives, segments at the receiver and ACKs at the
        sender, in time order, while no event of the engine is due: one event of the engine
        for a stretch of them instead of one each. The engine goes first at a tie (this then
        wakes up at that time again, after the engine's events already scheduled for it); the
        connection's outcome does not depend on the order of its own events of one instant
        (see _timer), and nothing else reads or changes its state.

        Only the connection's own code runs meanwhile, and it schedules through _at, which
        lowers ``_engine_due``: so the engine's next event is known without asking it per
        item, and the clock moves by hand (``Simulation.advance_to`` once, on leaving). On
        leaving, an event due before the clock (scheduled meanwhile some other way) breaks
        that premise: it is refused loudly, never run out of order."""
        sim = self.sim
        now = sim.now
        if self._drain_at != now:
            return  # superseded by an earlier wake-up
        due = sim.peek()
        self._engine_due = math.inf if due is None else due
        segments, acks = self.wire.arrivals, self.ack_wire.arrivals  # type: ignore[union-attr]
        arrive, ack_arrives = self._arrive, self._ack_arrives
        while True:
            if segments and not (acks and acks[0][0] < segments[0][0]):
                arrivals, handle = segments, arrive
            elif acks:
                arrivals, handle = acks, ack_arrives
            else:
                self._drain_at = math.inf
                break
            at = arrivals[0][0]
            if at > now:
                if self._engine_due <= at:
                    self._drain_at = at
                    break
                sim.now = now = self._drain_at = at
            _, seq, sent_ns = arrivals.popleft()
            handle(seq, sent_ns)
        sim.advance_to(now)
        due = sim.peek()
        if due is not None and due < now:
            raise RuntimeError(
                f"{self.spec.name}: an event at {due} ns was scheduled while the connection ran"
                f" its wires up to {now} ns without TcpFlow._at"
            )
        if self._drain_at < math.inf:
            self._at(self._drain_at, self._drain)

    def segment_packet(self, seq: int) -> Packet:
        """The packet the segment or SYN ``seq`` sent on the wire now stands for (for its NIC,
        which drops it as it is sent)."""
        now = self.sim.now
        if seq == SYN:
            return Packet(self, SYN, SYN_BYTES, now, self.path, self.ttl, 0)
        return Packet(self, seq, self.segment_bytes, now, self.path, self.ttl, self.mss)

    def ack_packet(self, seq: int) -> Packet:
        """The packet the ACK or SYN-ACK ``seq`` sent on the ACK wire now stands for (for its
        NIC, which drops it as it is sent)."""
        size = SYN_BYTES if seq == SYN else ACK_BYTES
        return Packet(self.reverse, seq, size, self.sim.now, self.ack_path, self.ttl, 0)

    # -- data

    def _pump(self, _: object = None) -> None:
        now = self.sim.now
        # The receiver's window as it stood when the instant began (see __init__).
        at, before = self._window_before
        receive_window = before if at == now else self.receiver.window_bytes
        window = self.sender.usable_window_bytes(receive_window) // self.mss  # whole segments
        outstanding = self.outstanding
        if len(outstanding) < window and now < self.stop_ns:
            nic, tsq_bytes, stats, size = self.nic, self.tsq_bytes, self.stats, self.segment_bytes
            wire = self.wire
            if wire is None:
                path = self.path
                send, ttl, mss = path[0], self.ttl, self.mss
            else:
                depart, arrivals, delay_ns = wire.depart, wire.arrivals, wire.delay_ns
            carried = 0
            queued = nic.queue_bytes  # TCP small queues: what waits in the NIC
            while len(outstanding) < window:
                if queued >= tsq_bytes:
                    self._wait_for_nic()
                    break
                seq = self.next_seq
                self.next_seq = seq + 1
                outstanding[seq] = now
                stats.sent += 1
                if wire is None:
                    send(Packet(self, seq, size, now, path, ttl, mss))
                    queued = nic.queue_bytes
                    continue
                departure = depart(seq, size)  # on the wire: _put_on inlined, once per segment
                if departure >= 0:
                    carried += 1
                    # A segment that follows one sent in this instant waits behind it (a
                    # service lasts 1 ns or more) and adds its bytes; a first one may find
                    # the NIC idle, so an empty queue is read again.
                    queued = queued + size if queued else nic.queue_bytes
                    arrival = departure + delay_ns
                    arrivals.append((arrival, seq, now))
                    if arrival < self._drain_at:
                        self._wake_at(arrival)
            if carried:
                tally = wire.tally  # type: ignore[union-attr]
                tally.packets += carried
                tally.wire += carried * size
                tally.inner += carried * size
        if outstanding and self.rto_armed_ns is None:
            self._arm_rto()
        if self.stats.steady_from_ns is None:
            self._note_steady(now)

    def _wait_for_nic(self) -> None:
        """TCP small queues: resume sending once the NIC has sent half of its limit."""
        if self.waiting_for_nic:
            return
        self.waiting_for_nic = True
        excess = self.nic.queue_bytes - self.tsq_bytes // 2
        wait_ns = max(1, -(-excess * 8_000_000_000 // self.nic.rate_bps))
        self._at(self.sim.now + wait_ns, self._resume_due)

    def _resume(self, _: object = None) -> None:
        self.waiting_for_nic = False
        self._pump()

    def _note_steady(self, now: int) -> None:
        """Start-up is over once the sender leaves slow start or another limit than its
        congestion window binds (the receive window). Called while it is not over."""
        if not self.established:
            return
        if not self.sender.cc.in_slow_start or not self.sender.cwnd_limited:
            self.stats.steady_from_ns = now
            self.stats.sending_until_ns = max(now, self.stop_ns)
            srtt = self.sender.rto.srtt_ns
            self.stats.steady_rtt_ns = round(srtt) if srtt else None

    def delivered(self, packet: Packet) -> None:
        """A segment or the SYN reaches the receiver along ``path``."""
        self._arrive(packet.seq, packet.sent_ns)

    def _arrive(self, seq: int, sent_ns: int) -> None:
        """The segment or SYN ``seq``, sent at ``sent_ns``, reaches the receiver."""
        now = self.sim.now
        if seq == SYN:  # the receiver answers with a SYN-ACK
            self.stats.arrived(now, sent_ns, 0)
            self._send_back(SYN, SYN_BYTES, now)
            return
        mss = self.mss
        stats = self.stats  # stats.arrived(now, sent_ns, mss) inlined: once per segment
        stats.delivered += 1
        latency = stats.latency
        latency.append(now - sent_ns)
        stats.delivered_at.append(now)
        stats.delivered_bytes.append(mss)
        if len(latency) >= stats.FOLD_EVERY:
            stats.fold()
        receiver = self.receiver
        window = receiver.window_bytes
        at, srtt = self._srtt_before  # _srtt_seen(now) inlined: once per segment
        receiver.on_data(now, mss, srtt if at == now else self.sender.rto.srtt_ns)
        if receiver.window_bytes != window and self._window_before[0] != now:
            self._window_before = (now, window)
        unacked = self.unacked
        unacked.append(seq)
        waiting = len(unacked)
        expected = self.next_expected
        if seq != expected:
            # Out of order: a gap before it (a loss) or it fills one (paths changed). RFC 5681
            # §4.2: ACK at once; the model never fills a gap (lost data is not resent as
            # such), so it does so for the round trip a retransmission would take.
            self.out_of_order_until_ns = now + self._round_trip_ns()
        if seq >= expected:
            self.next_expected = seq + 1
        if self.quick_acks:
            self.quick_acks -= 1
        elif (
            waiting < self.acking.every_segments
            and now >= self.out_of_order_until_ns
            # What is unacknowledged fills less than half the window: else reading it opens
            # the window twofold, and Linux sends that window update at once (a window of one
            # or two segments never waits for the timer).
            and 2 * waiting * mss < receiver.window_bytes
        ):
            if waiting == 1:  # it waits for a companion, at most the delayed-ACK time
                self.unacked_since_ns = now
                if self.delack_event is None:
                    self.delack_event = self._at(now + self.acking.delay_ns, self._delack_due)
            return
        self._acknowledge(now)

    def _acknowledge(self, now: int) -> None:
        """Send one ACK for every segment received since the last one."""
        covered = self.unacked
        self.unacked = []
        seq = covered[-1]
        self.ack_covers[seq] = covered
        self._send_back(seq, ACK_BYTES, now)

    def _send_back(self, seq: int, nbytes: int, now: int) -> None:
        """The receiver sends the ACK (or SYN-ACK) ``seq`` of ``nbytes``."""
        wire = self.ack_wire
        if wire is None:
            path = self.ack_path
            path[0](Packet(self.reverse, seq, nbytes, now, path, self.ttl, 0))
        else:
            self._put_on(wire, seq, nbytes)

    def _on_delack(self, _: object = None) -> None:
        """The delayed-ACK timer: acknowledge a segment that waited long enough (a pending
        timer that finds a younger one waiting re-arms for it; none is ever cancelled)."""
        self.delack_event = None
        if not self.unacked:
            return
        due = self.unacked_since_ns + self.acking.delay_ns
        if due > self.sim.now:
            self.delack_event = self._at(due, self._delack_due)
            return
        self._acknowledge(self.sim.now)

    def dropped(self, packet: Packet, drop: Drop) -> None:
        self.stats.lose(packet, drop)
        if packet.seq != SYN:  # SACK tells the sender about a hole about one round trip later
            now = self.sim.now
            self._at(now + self._round_trip_ns(), self._sack_due, (packet.seq, now))

    def _round_trip_ns(self) -> int:
        srtt = self._srtt_seen(self.sim.now)
        if srtt is not None:
            return max(1, round(srtt))
        base = (self.forwarding.latency_ms or 0.0) + (self.ack_forwarding.latency_ms or 0.0)
        return max(1, round(base * 1e6))

    def _sack(self, loss: tuple[int, int]) -> None:
        """A round trip after a loss: SACK reveals it if an ACK came back since (a later
        segment got through; one in the instant of the loss counts); if none did (the path is
        down), only a later ACK or the retransmission timer will."""
        seq, lost_ns = loss
        if self.last_ack_ns < lost_ns:
            self.unnoticed.append(seq)
            return
        self._on_loss(seq)

    def _on_loss(self, seq: int) -> None:
        sent = self.outstanding.pop(seq, None)
        if sent is None:  # already written off by a timeout
            return
        inflight = (len(self.outstanding) + 1) * self.mss
        self.sender.on_loss(self.sim.now, sent, inflight)
        self._pump()

    def on_reverse(self, packet: Packet) -> None:
        """An ACK or the SYN-ACK reaches the sender along ``ack_path``."""
        self._ack_arrives(packet.seq, packet.sent_ns)

    def _ack_arrives(self, number: int, sent_ns: int) -> None:
        """The ACK or SYN-ACK ``number``, sent at ``sent_ns``, reaches the sender."""
        now = self.sim.now
        if number == SYN:
            if not self.established:
                self.established = True
                self.stats.status = None
                self._pump()
            return
        self.last_ack_ns = now
        outstanding = self.outstanding
        first_sent = last_sent = None
        acked = 0
        for seq in self.ack_covers.pop(number):
            sent = outstanding.pop(seq, None)
            if sent is not None:  # not written off by a timeout meanwhile
                acked += 1
                last_sent = sent
                if first_sent is None:
                    first_sent = sent
        if self.unconfirmed:  # a cumulative ACK also covers what lost ACKs sent before it did
            acked += self._confirm(sent_ns, number)
        if not acked:
            return
        # The timer's RTT sample runs from the earliest segment the ACK covers (RFC 7323 §4.3:
        # with delayed ACKs the echoed timestamp is the oldest one's), the congestion
        # control's from the newest (Linux's ca_rtt): see TcpSender.on_ack.
        if self._srtt_before[0] != now:
            self._srtt_before = (now, self.sender.rto.srtt_ns)
        if first_sent is None:
            self.sender.on_ack(now, acked, None)
        else:
            self.sender.on_ack(now, acked, now - first_sent, now - last_sent)
        # The timer re-armed (see below): what is left in flight is timed from now.
        self.rto_armed_ns = now if outstanding else None
        if self.unnoticed:  # this ACK's SACK blocks show the holes
            holes, self.unnoticed = self.unnoticed, []
            for seq in holes:
                self._on_loss(seq)
        self._pump()

    def _confirm(self, sent_ns: int, number: int) -> int:
        """Take off what lost ACKs sent before the ACK ``number`` (sent at ``sent_ns``) covered
        (an ACK is cumulative); the number of segments that were still outstanding."""
        confirmed = 0
        kept = []
        for lost in self.unconfirmed:
            if lost[:2] < (sent_ns, number):
                for seq in lost[2]:
                    if self.outstanding.pop(seq, None) is not None:
                        confirmed += 1
            else:
                kept.append(lost)
        self.unconfirmed = kept
        return confirmed

    def on_reverse_lost(self, packet: Packet) -> None:
        if packet.seq == SYN:
            return  # the SYN is resent on its own timer
        # A later ACK will cover them.
        self.unconfirmed.append((packet.sent_ns, packet.seq, self.ack_covers.pop(packet.seq)))

    # -- the retransmission timer (lazy: an ACK moves the time it was armed at, the one
    # pending event re-arms itself when it fires early, so no event is ever cancelled; the
    # deadline is that time plus the RTO, computed when the event fires: the RTO changes only
    # on an ACK, which re-arms, or on a timeout, which the event itself handles)

    def _arm_rto(self) -> None:
        self.rto_armed_ns = now = self.sim.now
        if self.rto_event is None:
            self.rto_event = self._at(now + self.sender.rto_ns, self._rto_due)

    def _on_rto(self, _: object = None) -> None:
        self.rto_event = None
        armed = self.rto_armed_ns
        if armed is None or not self.outstanding:
            return
        deadline = armed + self.sender.rto_ns
        if deadline > self.sim.now:  # progress since it was armed: wait for the new deadline
            self.rto_event = self._at(deadline, self._rto_due)
            return
        inflight = len(self.outstanding) * self.mss
        self.outstanding.clear()  # everything in flight is given up (go-back-N after RTO)
        self.unnoticed.clear()
        self.unconfirmed = []
        self.rto_armed_ns = None
        self.sender.on_timeout(self.sim.now, inflight)
        self._pump()


def stats_arrays(stats: FlowStats) -> dict[str, np.ndarray]:
    """The per-packet samples of a flow as numpy arrays (int64 ns and bytes); ValueError when
    the flow did not keep them."""
    arrays = stats.sample_arrays()
    if arrays is None:
        raise ValueError(f"flow {stats.name}: per-packet samples were not kept")
    return arrays


class OpenLoopSchedule:
    """Emits the packets of every open-loop flow from one merged, time-ordered schedule.

    Packets sent at the same instant leave in flow order, then packet order: the same rule the
    vectorised path uses, so both give identical results even when flows collide in time.
    """

    def __init__(self, sim: Simulation, flows: list[OpenLoopFlow]) -> None:
        self.sim = sim
        self.flows = flows
        times = [f.times for f in flows]
        owner = np.concatenate([np.full(t.size, i) for i, t in enumerate(times)] or [np.zeros(0)])
        all_times = np.concatenate(times or [np.zeros(0, np.int64)])
        # Concatenated in (flow, packet) order, each flow's times in order: a stable sort by
        # time gives (time, flow, packet) order, and a flow's packets leave in their order,
        # so the packet's number is how many the flow has sent.
        order = np.argsort(all_times, kind="stable")
        self.times = all_times[order].tolist()
        self.owner = owner[order].astype(np.int64).tolist()
        self.count = len(self.times)
        self.schedule_at = sim.schedule_at
        self.emit = self._emit  # one bound method, not one per packet

    def start(self) -> None:
        if self.times:
            self.sim.schedule_at(self.times[0], self._emit, 0)

    def _emit(self, position: int) -> None:
        # OpenLoopFlow.packet inlined: this runs once per packet of every open-loop flow.
        flow = self.flows[self.owner[position]]
        stats = flow.stats
        index = stats.sent
        stats.sent = index + 1
        size = flow.sizes[index]
        path = flow.path
        path[0](Packet(flow, index, size, self.times[position], path, flow.ttl, size - flow.header))
        position += 1
        if position < self.count:
            self.schedule_at(self.times[position], self.emit, position)
