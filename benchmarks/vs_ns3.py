"""Cross-check against ns-3: the same three-hop chain in both simulators.

Three point-to-point hops of 1 Gbps, 650 Mbps and 1 Gbps with 1 ms propagation each and a
100-packet drop-tail queue per hop (ns-3: DropTailQueue on the device, traffic-control queue discs
removed), UDP CBR of 1400-byte IP packets at 50% and 120% of the bottleneck. ns-3's point-to-point
links add a 2-byte PPP header, so vnetsim serialises 1402 bytes per hop too. Prints both
simulators' mean one-way delay and goodput, their relative difference, and the wall-time ratio.

Needs the optional ns-3 wheel: pip install -e '.[peers]' (about 70 MB; not used by CI).
Run: python benchmarks/vs_ns3.py [--json] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from simulator import Delay, RateServer, Simulation

RATES_BPS = (1_000_000_000, 650_000_000, 1_000_000_000)
RATE_NAMES = ("1Gbps", "650Mbps", "1Gbps")
PROPAGATION_NS = 1_000_000
QUEUE_PACKETS = 100
IP_BYTES = 1400
PPP_BYTES = 2
UDP_PAYLOAD = IP_BYTES - 28


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds of traffic")
    args = parser.parse_args(argv)
    try:
        import ns  # noqa: F401
    except ImportError:
        print("ns-3 is not installed: pip install -e '.[peers]'", file=sys.stderr)
        return 2
    report = {}
    for load in (0.5, 1.2):
        ours, theirs = vnetsim_chain(load, args.seconds), ns3_chain(load, args.seconds)
        report[f"load_{load}"] = {
            "vnetsim": ours,
            "ns3": theirs,
            "delay_rel_diff": ours["mean_delay_ms"] / theirs["mean_delay_ms"] - 1,
            "goodput_rel_diff": ours["goodput_mbps"] / theirs["goodput_mbps"] - 1,
            "wall_ratio_ns3_over_vnetsim": theirs["wall_s"] / ours["wall_s"],
        }
    if not args.json:
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
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
