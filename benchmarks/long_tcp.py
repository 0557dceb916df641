"""A long TCP flow: 30 s of one connection over regional VNet peering at about 8 Gbps (two VMs
whose NICs are capped at 8,000 Mbps, N3.3), on the event engine: about 20 million data packets
and their ACKs. Memory must not grow with the packets: flows keep streaming recorders (exact
counts, mean and throughput; quantiles from a log-bucket histogram within 0.1%), not
per-packet arrays, unless asked (``samples=True``).

Prints the packets, wall seconds, peak resident memory (this process, imports included) and
the rate, with the same flow simulated for ``--reference-s`` seconds first in the same process
as the floor of the memory figure (a short run's peak: what the interpreter, the model and the
engine need before the flow's length counts). Targets (issue 18): < 60 s and < 500 MB.

Run: python benchmarks/long_tcp.py [--seconds 30] [--mbps 8000] [--samples] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from fabric.model.container import Fabric
from fabric.model.traffic import FlowSpec
from fabric.sim.runs import simulate


def topology(mbps: float) -> Fabric:
    """Two peered VNets in one region, one VM in each with its NIC capped at ``mbps``."""
    fabric = Fabric()
    for i, name in enumerate(("a", "b")):
        fabric.vnet(name, "westeurope", f"10.{i}.0.0/16")
        fabric.subnet(name, "app", f"10.{i}.1.0/24")
        fabric.host(name, f"{name}-vm", "app", f"10.{i}.1.4", bandwidth_mbps=mbps)
    fabric.peer("a", "b")
    return fabric


def run(seconds: float, mbps: float, samples: bool) -> dict:
    fabric = topology(mbps)
    spec = FlowSpec("bulk", "a-vm", "b-vm", pattern="tcp", duration_s=seconds)
    start = time.perf_counter()
    cpu = time.process_time()
    result = simulate(fabric, [spec], engine="events", samples=samples)
    wall = time.perf_counter() - start
    flow = result.flow("bulk")
    return {
        "seconds_simulated": seconds,
        "packets": flow.sent,
        "delivered": flow.delivered,
        "packet_hops": result.packet_hops,
        "wall_s": wall,
        "cpu_s": time.process_time() - cpu,
        "packets_per_s": flow.sent / wall if wall else None,
        "throughput_mbps": flow.throughput_mbps,
        "latency_ms": flow.latency_ms(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--mbps", type=float, default=8000.0)
    parser.add_argument("--reference-s", type=float, default=0.2)
    parser.add_argument("--samples", action="store_true", help="keep per-packet arrays too")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    reference = run(args.reference_s, args.mbps, args.samples)  # warm-up and memory floor
    report = run(args.seconds, args.mbps, args.samples)
    report["reference"] = reference
    report["memory_over_reference_mb"] = report["peak_rss_mb"] - reference["peak_rss_mb"]
    report["bytes_per_packet_over_reference"] = (
        report["memory_over_reference_mb"] * 2**20 / report["packets"]
        if report["packets"]
        else None
    )
    report["samples"] = args.samples
    if not args.json:
        print(
            f"{args.seconds:g} s of TCP over regional peering at {args.mbps:g} Mbps: "
            f"{report['packets']:,} packets in {report['wall_s']:.1f} s "
            f"({report['packets_per_s']:,.0f} packets/s, {report['cpu_s']:.1f} s CPU), "
            f"{report['throughput_mbps']:.0f} Mbps; peak RSS {report['peak_rss_mb']:.0f} MB "
            f"({reference['peak_rss_mb']:.0f} MB after a {args.reference_s:g} s run)"
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
