"""Cross-check against ns-3: a UDP chain on the engine, and a TCP CUBIC flow on a fabric.

**UDP, the engine.** Three point-to-point hops of 1 Gbps, 650 Mbps and 1 Gbps with 1 ms
propagation each and a 100-packet drop-tail queue per hop (ns-3: DropTailQueue on the device,
traffic-control queue discs removed), UDP CBR of 1400-byte IP packets at 50% and 120% of the
bottleneck. ns-3's point-to-point links add a 2-byte PPP header, so vnetsim serialises 1402
bytes per hop too. Prints both simulators' mean one-way delay and goodput, their relative
difference, and the wall-time ratio.

**TCP, the product.** One bulk TCP flow (iPerf-like) between two VMs of a tiny fabric: VNet a in
West Europe peered with VNet b in North Europe, each VM's egress capped at 1,000 Mbps
(``bandwidth_mbps``), the region pair's round trip set to 20 ms both ways (the published
West Europe -> North Europe figure, §7.2; the table's reverse direction says 19), run with
``fabric.sim.runs.simulate`` so that vnetsim's own TcpFlow (CUBIC, RFC 9438, HyStart++, SACK-like
recovery) on the dataplane is what is checked, not a second driver written for the benchmark. ns-3
gets the same chain: two nodes, one point-to-point link of 1,000 Mbps with 10 ms of delay each
way (the sender's device is the VM's egress queue, the receiver's carries the ACKs, as the
receiving VM's NIC does in vnetsim), ``ns3::TcpCubic`` with SACK, and a BulkSend application into
a PacketSink. Two cases, each a fixed receive window (``window_packets`` in vnetsim, ns-3's
RcvBufSize):

* ``window_limited``: 133 segments (194,180 B), the ~190 KiB window of Microsoft's untuned
  Windows iPerf session (azure-facts N4.1): window / RTT = 77.7 Mbps, far below the cap.
* ``cap_limited``: 2,048 segments (2.99 MB, 1.2 x the 2.5 MB bandwidth-delay product): the
  1,000 Mbps egress cap binds, 1,000 x 1460 / 1500 = 973.3 Mbps of payload.

Goodput is payload delivered to the receiver in the same window, from ``--tcp-warmup`` to the end
of the flow, in both (vnetsim: the flow's delivery records; ns-3: the PacketSink's byte count,
read by stopping the run at both ends). ``steady_mbps`` is vnetsim's own figure, for reference.

What is aligned, and why:

* Segments: MSS 1460 and no TCP timestamps in ns-3 (its default is on and takes 12 bytes of
  option), so a full segment is a 1500-byte IP packet in both, as vnetsim's TcpFlow sends.
* ACKs: one per segment in both (ns-3 ``DelAckCount`` 1): vnetsim's TcpFlow acknowledges every
  segment. With ns-3's default of 2 the window-limited case moves 132 segments per round trip
  instead of 133 (77.09 Mbps, -0.75%): the window's odd last segment is acknowledged only with the
  next round's first one. The cap-limited figure does not change.
* Initial window 10 segments (both), retransmission-timer floor 200 ms (Linux's, vnetsim's
  RtoParams; ns-3's default is 1 s). No segment is lost or timed out in either case, so these and
  the loss response (ns-3's PRR recovery and CUBIC state vs vnetsim's) do not enter the figures.
* Queues: vnetsim models Linux's TCP small queues (``fabric.sim.flows.TSQ_*``): the socket keeps
  at most ~1 ms of data in the VM's egress queue and holds the rest, so a flow never drops at its
  own NIC. ns-3 has no TCP small queues, so its sender's device queue is sized to hold twice the
  window, and it never drops either (``congestion_events`` counts ns-3's entries into recovery:
  0). The excess of the window over the bandwidth-delay product (~0.5 MB) then waits in ns-3's
  device queue (~4 ms more RTT) but in vnetsim's socket; goodput is the same, the link is busy
  in both. With ns-3's device queue at vnetsim's 1 MB NIC buffer instead, ns-3's sender
  overflows its own queue at the end of slow start, two congestion events take its window from
  2,048 to 1,005 segments (below the 1,712-segment bandwidth-delay product), and CUBIC's
  concave regrowth towards W_max takes seconds: 670 Mbps from 1 s to 5 s. That is a mechanism
  ns-3 lacks (TCP small queues), not a disagreement about CUBIC.
* Start-up (HyStart++ in vnetsim, the original HyStart in ns-3's TcpCubic; vnetsim's
  receive-window autotuning is off with a fixed window) is outside the measured window.

What still differs: ns-3's point-to-point link adds a 2-byte PPP header, so its data packets are
1502 bytes on the wire and the cap-limited goodput is 1,000 x 1460 / 1502 = 972.0 Mbps
(-0.13%). vnetsim has no PPP framing: its VM egress caps meter IP bytes. In the window-limited
case each round trip's 133 segments arrive as one burst, 20.012 ms apart in both (propagation
plus a segment's and an ACK's serialisation), so the 4 s window holds 200 bursts in both and
both read 77.672 Mbps; the long-run rate is 77.62. The wall ratio counts ns-3 acknowledging
every segment as vnetsim does; with its default delayed ACKs it handles half the ACKs.

Not covered: neither case loses a segment, so the two controllers' loss responses are not
compared. Tried while building this (not a case here): tail drop mid-path (vnetsim: an NVA
whose 1,000 Mbps egress queue holds 1 MB; ns-3: a router with the same queue; senders at
10 Gbps; window 2,048 segments). Both overshoot at the end of slow start; vnetsim reduces once
(from the 2,048 segments in flight to 1,434) and ns-3 twice (2,049 -> 1,434 -> 1,005, the second
about 2.5 round trips later, after it left recovery), and both then follow RFC 9438's curve
from there, so over 0.5-3 s ns-3 delivers 30-32% less (vnetsim 880-973 Mbps, ns-3 600-660
Mbps) until CUBIC's regrowth (seconds at this window) evens it out.

Needs the optional ns-3 wheel: pip install -e '.[peers]' (about 70 MB; not used by CI). Without
it the script says so and exits 0 with a "skipped" JSON line.
Run: python benchmarks/vs_ns3.py [--json] [--quick] [--only udp|tcp] [--seconds S]
     [--tcp-seconds S] [--tcp-warmup S]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from fabric.model.container import Fabric
from fabric.sim.runs import simulate
from simulator import Delay, RateServer, Simulation

RATES_BPS = (1_000_000_000, 650_000_000, 1_000_000_000)
RATE_NAMES = ("1Gbps", "650Mbps", "1Gbps")
PROPAGATION_NS = 1_000_000
QUEUE_PACKETS = 100
IP_BYTES = 1400
PPP_BYTES = 2
UDP_PAYLOAD = IP_BYTES - 28

TCP_RATE_MBPS = 1000  # both VMs' egress cap, and ns-3's link rate
TCP_RTT_MS = 20.0  # West Europe <-> North Europe (§7.2), both directions
TCP_MSS = 1460  # LatencyModel.tcp_mss_bytes: MTU 1500 - 40 (§3.8)
TCP_HEADERS = 40  # IPv4 + TCP without options (fabric.sim.flows, HEADER_BYTES["Tcp"])
TCP_INITIAL_WINDOW = 10  # segments: CubicParams.initial_window (RFC 6928)
TCP_MIN_RTO_MS = 200  # RtoParams.min_ns (Linux's TCP_RTO_MIN)
TCP_CASES = {"window_limited": 133, "cap_limited": 2048}  # receive window, segments


def interval_ns(load: float) -> int:
    return round(IP_BYTES * 8 / (load * RATES_BPS[1]) * 1e9)


def vnetsim_chain(load: float, seconds: float) -> dict:
    """The chain on vnetsim's engine: three RateServers and three Delays."""
    sim = Simulation()
    gap = interval_ns(load)
    count = int(seconds * 1e9 // gap) + 1
    received: list[tuple[int, int]] = []  # (sent, received)
    stage = lambda sent: received.append((sent, sim.now))  # noqa: E731 - the sink
    for rate in reversed(RATES_BPS):
        wire = Delay(sim, PROPAGATION_NS, stage)
        # ns-3's device queue holds 100 waiting packets; the one on the wire has left it.
        server = RateServer(sim, rate, wire.put, buffer_packets=QUEUE_PACKETS)
        stage = lambda sent, s=server: s.put(sent, IP_BYTES + PPP_BYTES)  # noqa: E731
    first = stage

    def emit(i: int) -> None:
        first(sim.now)
        if i + 1 < count:
            sim.schedule(gap, emit, i + 1)

    sim.schedule(0, emit, 0)
    start = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - start
    sent_at = np.array([s for s, _ in received])
    got_at = np.array([r for _, r in received])
    span = (got_at.max() - got_at.min()) / 1e9
    return {
        "sent": count,
        "received": len(received),
        "mean_delay_ms": float((got_at - sent_at).mean() / 1e6),
        "goodput_mbps": len(received) * IP_BYTES * 8 / span / 1e6,
        "wall_s": wall,
    }


def ns3_chain(load: float, seconds: float) -> dict:
    """The same chain in ns-3 (point-to-point, drop-tail device queues, FlowMonitor)."""
    from ns import ns

    nodes = ns.NodeContainer()
    nodes.Create(4)
    p2p = ns.PointToPointHelper()
    devices = []
    for i, rate in enumerate(RATE_NAMES):
        p2p.SetDeviceAttribute("DataRate", ns.StringValue(rate))
        p2p.SetChannelAttribute("Delay", ns.StringValue("1ms"))
        p2p.SetQueue("ns3::DropTailQueue", "MaxSize", ns.StringValue(f"{QUEUE_PACKETS}p"))
        devices.append(p2p.Install(nodes.Get(i), nodes.Get(i + 1)))
    ns.InternetStackHelper().Install(nodes)
    addresses = ns.Ipv4AddressHelper()
    interfaces = []
    for i, pair in enumerate(devices):
        addresses.SetBase(ns.Ipv4Address(f"10.1.{i + 1}.0"), ns.Ipv4Mask("255.255.255.0"))
        interfaces.append(addresses.Assign(pair))
    control = ns.TrafficControlHelper()
    for pair in devices:  # plain drop-tail: no queue disc above the device queue
        control.Uninstall(pair)
    ns.Ipv4GlobalRoutingHelper.PopulateRoutingTables()
    port = 9
    any_address = ns.InetSocketAddress(ns.Ipv4Address.GetAny(), port).ConvertTo()
    sink = ns.PacketSinkHelper("ns3::UdpSocketFactory", any_address).Install(nodes.Get(3))
    sink.Start(ns.Seconds(0))
    client = ns.UdpClientHelper(interfaces[2].GetAddress(1).ConvertTo(), port)
    count = int(seconds * 1e9 // interval_ns(load)) + 1
    client.SetAttribute("MaxPackets", ns.UintegerValue(count))
    client.SetAttribute("Interval", ns.TimeValue(ns.NanoSeconds(interval_ns(load))))
    client.SetAttribute("PacketSize", ns.UintegerValue(UDP_PAYLOAD))
    apps = client.Install(nodes.Get(0))
    apps.Start(ns.Seconds(0))
    monitor_helper = ns.FlowMonitorHelper()
    monitor = monitor_helper.InstallAll()
    ns.Simulator.Stop(ns.Seconds(seconds + 1))
    start = time.perf_counter()
    ns.Simulator.Run()
    wall = time.perf_counter() - start
    monitor.CheckForLostPackets()
    flow = next(iter(monitor.GetFlowStats())).second
    span = (flow.timeLastRxPacket.GetNanoSeconds() - flow.timeFirstRxPacket.GetNanoSeconds()) / 1e9
    report = {
        "sent": int(flow.txPackets),
        "received": int(flow.rxPackets),
        "mean_delay_ms": flow.delaySum.GetNanoSeconds() / max(1, flow.rxPackets) / 1e6,
        "goodput_mbps": int(flow.rxPackets) * IP_BYTES * 8 / span / 1e6,
        "wall_s": wall,
    }
    ns.Simulator.Destroy()
    return report


def tcp_bound_mbps(window_segments: int) -> dict:
    """What should bind: the cap on payload, and the window over the base round trip."""
    cap = TCP_RATE_MBPS * TCP_MSS / (TCP_MSS + TCP_HEADERS)
    window = window_segments * TCP_MSS * 8 / (TCP_RTT_MS * 1e3)
    return {"cap_mbps": cap, "window_over_rtt_mbps": window, "bound_mbps": min(cap, window)}


def tcp_fabric() -> Fabric:
    """Two VMs in two peered VNets (West Europe, North Europe), egress capped at the rate."""
    fabric = Fabric()
    for name, region, octet in (("a", "westeurope", 10), ("b", "northeurope", 20)):
        fabric.vnet(name, region, f"10.{octet}.0.0/16")
        fabric.subnet(name, "app", f"10.{octet}.1.0/24")
    fabric.host("a", "sender", "app", "10.10.1.4", bandwidth_mbps=TCP_RATE_MBPS)
    fabric.host("b", "receiver", "app", "10.20.1.4", bandwidth_mbps=TCP_RATE_MBPS)
    fabric.peer("a", "b")
    return fabric


def vnetsim_tcp(window_segments: int, seconds: float, warmup: float) -> dict:
    """One bulk CUBIC flow through ``simulate``: goodput from ``warmup`` to the flow's end."""
    rtt = {"westeurope/northeurope": TCP_RTT_MS, "northeurope/westeurope": TCP_RTT_MS}
    flow = {
        "name": "bulk",
        "src": "sender",
        "dst": "receiver",
        "protocol": "Tcp",
        "pattern": "tcp",
        "destination_port": 5201,
        "duration_s": seconds,
        "congestion_control": "cubic",
        "window_packets": window_segments,
    }
    result = simulate(tcp_fabric(), [flow], parameters={"region_rtt_ms": rtt}, engine="events")
    stats = result.flow("bulk")
    at, payload = stats.delivered_at_ns, stats.delivered_bytes
    inside = (at >= round(warmup * 1e9)) & (at < round(seconds * 1e9))
    return {
        "goodput_mbps": int(payload[inside].sum()) * 8 / (seconds - warmup) / 1e6,
        "steady_mbps": stats.steady_mbps,
        "sent": stats.sent,
        "dropped": stats.dropped,
        "wall_s": result.wall_s,
    }


def ns3_tcp(window_segments: int, seconds: float, warmup: float) -> dict:
    """The same flow in ns-3: TcpCubic over one point-to-point link (see the module note)."""
    from ns import ns

    window = window_segments * TCP_MSS
    defaults = {
        "ns3::TcpL4Protocol::SocketType": ns.StringValue("ns3::TcpCubic"),
        "ns3::TcpSocket::SegmentSize": ns.UintegerValue(TCP_MSS),
        "ns3::TcpSocket::InitialCwnd": ns.UintegerValue(TCP_INITIAL_WINDOW),
        "ns3::TcpSocket::DelAckCount": ns.UintegerValue(1),
        "ns3::TcpSocket::RcvBufSize": ns.UintegerValue(window),
        "ns3::TcpSocket::SndBufSize": ns.UintegerValue(4 * window),
        "ns3::TcpSocketBase::Sack": ns.BooleanValue(True),
        "ns3::TcpSocketBase::Timestamp": ns.BooleanValue(False),
        "ns3::TcpSocketBase::MinRto": ns.TimeValue(ns.MilliSeconds(TCP_MIN_RTO_MS)),
    }
    for name, value in defaults.items():
        ns.Config.SetDefault(name, value)
    ns.Ipv4AddressGenerator.Reset()
    nodes = ns.NodeContainer()
    nodes.Create(2)
    p2p = ns.PointToPointHelper()
    p2p.SetDeviceAttribute("DataRate", ns.StringValue(f"{TCP_RATE_MBPS}Mbps"))
    p2p.SetChannelAttribute("Delay", ns.StringValue(f"{TCP_RTT_MS / 2}ms"))
    # No TCP small queues in ns-3: a device queue that holds the window never drops.
    p2p.SetQueue("ns3::DropTailQueue", "MaxSize", ns.StringValue(f"{2 * window}B"))
    devices = p2p.Install(nodes)
    ns.InternetStackHelper().Install(nodes)
    addresses = ns.Ipv4AddressHelper()
    addresses.SetBase(ns.Ipv4Address("10.2.1.0"), ns.Ipv4Mask("255.255.255.0"))
    interfaces = addresses.Assign(devices)
    ns.TrafficControlHelper().Uninstall(devices)  # the device queue is the VM's egress queue
    port = 5201
    any_address = ns.InetSocketAddress(ns.Ipv4Address.GetAny(), port).ConvertTo()
    sinks = ns.PacketSinkHelper("ns3::TcpSocketFactory", any_address).Install(nodes.Get(1))
    sinks.Start(ns.Seconds(0))
    target = ns.InetSocketAddress(interfaces.GetAddress(1), port).ConvertTo()
    bulk = ns.BulkSendHelper("ns3::TcpSocketFactory", target)
    bulk.SetAttribute("MaxBytes", ns.UintegerValue(0))
    senders = bulk.Install(nodes.Get(0))
    senders.Start(ns.Seconds(0))
    senders.Stop(ns.Seconds(seconds))
    sink = sinks.Get(0).GetObject[ns.PacketSink]()
    probe = congestion_probe(ns)
    ns.Simulator.Schedule(ns.MilliSeconds(1), probe.Hook)  # once the socket exists
    wall = 0.0
    received = []
    for until in (warmup, seconds):  # stop at both ends of the window and read the sink
        ns.Simulator.Stop(ns.Seconds(until) - ns.Simulator.Now())
        start = time.perf_counter()
        ns.Simulator.Run()
        wall += time.perf_counter() - start
        received.append(int(sink.GetTotalRx()))
    report = {
        "goodput_mbps": (received[1] - received[0]) * 8 / (seconds - warmup) / 1e6,
        "congestion_events": int(probe.events),
        "wall_s": wall,
    }
    ns.Simulator.Destroy()
    return report


def congestion_probe(ns):
    """A counter of the sender's entries into fast recovery or loss (RTO), from ns-3's
    CongState trace: 0 means ns-3's flow never saw a loss. (Queue drop counters cannot say
    it: with the queue discs removed, a packet offered to a stopped device queue is discarded
    by the traffic-control layer without a trace.)"""
    if not hasattr(ns.cppyy.gbl, "vnetsim_probe"):
        ns.cppyy.cppdef(
            """
            namespace vnetsim_probe {
            int events = 0;
            using State = ns3::TcpSocketState;
            void Changed(State::TcpCongState_t, State::TcpCongState_t to) {
                if (to == State::CA_RECOVERY || to == State::CA_LOSS) {
                    ++events;
                }
            }
            void Hook() {
                events = 0;
                ns3::Config::ConnectWithoutContext(
                    "/NodeList/0/$ns3::TcpL4Protocol/SocketList/0/CongState",
                    ns3::MakeCallback(&Changed));
            }
            }
            """
        )
    return ns.cppyy.gbl.vnetsim_probe


def tcp_cases(seconds: float, warmup: float) -> dict:
    report = {}
    for case, window_segments in TCP_CASES.items():
        ours = vnetsim_tcp(window_segments, seconds, warmup)
        theirs = ns3_tcp(window_segments, seconds, warmup)
        report[case] = {
            "window_segments": window_segments,
            **tcp_bound_mbps(window_segments),
            "vnetsim": ours,
            "ns3": theirs,
            "goodput_rel_diff": ours["goodput_mbps"] / theirs["goodput_mbps"] - 1,
            "wall_ratio_ns3_over_vnetsim": theirs["wall_s"] / ours["wall_s"],
        }
    return report


def udp_cases(seconds: float) -> dict:
    report = {}
    for load in (0.5, 1.2):
        ours, theirs = vnetsim_chain(load, seconds), ns3_chain(load, seconds)
        report[f"load_{load}"] = {
            "vnetsim": ours,
            "ns3": theirs,
            "delay_rel_diff": ours["mean_delay_ms"] / theirs["mean_delay_ms"] - 1,
            "goodput_rel_diff": ours["goodput_mbps"] / theirs["goodput_mbps"] - 1,
            "wall_ratio_ns3_over_vnetsim": theirs["wall_s"] / ours["wall_s"],
        }
    return report


def print_udp(report: dict) -> None:
    print(
        f"{'load':>6}{'':>4}{'delay ms (vnetsim/ns-3)':>28}"
        f"{'goodput Mbps (vnetsim/ns-3)':>32}{'wall ratio':>12}"
    )
    for load in (0.5, 1.2):
        r = report[f"load_{load}"]
        print(
            f"{load:>6.0%}{'':>4}{r['vnetsim']['mean_delay_ms']:>13.4f} / "
            f"{r['ns3']['mean_delay_ms']:<10.4f}"
            f"{r['vnetsim']['goodput_mbps']:>15.1f} / {r['ns3']['goodput_mbps']:<12.1f}"
            f"{r['wall_ratio_ns3_over_vnetsim']:>10.1f}x"
        )
        print(
            f"{'':>10}relative difference: delay {r['delay_rel_diff']:+.3%}, goodput "
            f"{r['goodput_rel_diff']:+.3%}"
        )


def print_tcp(report: dict, seconds: float, warmup: float) -> None:
    print(
        f"TCP CUBIC, {TCP_RATE_MBPS} Mbps, {TCP_RTT_MS:g} ms RTT, goodput from {warmup:g} s "
        f"to {seconds:g} s"
    )
    print(
        f"{'case':<16}{'window':>8}{'bound Mbps':>12}{'goodput Mbps (vnetsim/ns-3)':>32}"
        f"{'difference':>12}{'wall ratio':>12}"
    )
    for case, r in report.items():
        print(
            f"{case:<16}{r['window_segments']:>8}{r['bound_mbps']:>12.2f}"
            f"{r['vnetsim']['goodput_mbps']:>15.2f} / {r['ns3']['goodput_mbps']:<12.2f}"
            f"{r['goodput_rel_diff']:>+12.3%}{r['wall_ratio_ns3_over_vnetsim']:>10.1f}x"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument("--only", choices=("udp", "tcp"), help="run one part")
    parser.add_argument("--seconds", type=float, help="seconds of UDP traffic (default 1)")
    parser.add_argument("--tcp-seconds", type=float, help="length of each TCP flow (default 5)")
    parser.add_argument("--tcp-warmup", type=float, help="TCP goodput from here (default 1)")
    args = parser.parse_args(argv)
    udp_seconds = args.seconds or (0.2 if args.quick else 1.0)
    tcp_seconds = args.tcp_seconds or (1.0 if args.quick else 5.0)
    tcp_warmup = args.tcp_warmup if args.tcp_warmup is not None else 0.5 if args.quick else 1.0
    if not 0 <= tcp_warmup < tcp_seconds:
        parser.error("need 0 <= --tcp-warmup < --tcp-seconds")
    try:
        import ns  # noqa: F401
    except ImportError:
        message = "ns-3 is not installed (pip install -e '.[peers]'): skipping the cross-check"
        print(message, file=sys.stderr)
        print(json.dumps({"skipped": message}))
        return 0
    report = {}
    if args.only != "tcp":
        report["udp"] = udp_cases(udp_seconds)
        if not args.json:
            print_udp(report["udp"])
    if args.only != "udp":
        report["tcp"] = tcp_cases(tcp_seconds, tcp_warmup)
        if not args.json:
            print_tcp(report["tcp"], tcp_seconds, tcp_warmup)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
