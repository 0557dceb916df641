"""Batch (vectorised) dataplane against the event engine on the same scenario, and a
10,000,000-packet SKU-ladder run with its peak memory.

The scenario is scenarios/sku_ladder.yaml on a VpnGw5 gateway at 90% of its aggregate cap:
five tunnels, 1400-byte Poisson packets. Packet-hops are traversals of queueing and delay
elements, counted the same way by both engines. The last line of stdout is JSON:
{"batch": {"packet_hops_per_s"}, "events": {"packet_hops_per_s"}, "ratio", "big_run": {...}}.

Run: python benchmarks/batch.py [--json] [--events-duration S] [--big-packets N]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import attrs

from fabric.catalogue.skus import lookup
from fabric.io import load_topology
from fabric.scenarios import path
from fabric.sim.runs import simulate

LOAD = 0.9
SKU = ("VpnGw5", "Generation2")


def scenario(duration_s: float):
    document = load_topology(path("sku_ladder"))
    fabric = document.fabric
    fabric.gateways["hq-gw"] = attrs.evolve(fabric.gateways["hq-gw"], sku=SKU[0], generation=SKU[1])
    per_flow = LOAD * lookup(*SKU).aggregate_mbps / len(document.traffic)
    flows = [{**f, "rate_mbps": per_flow, "duration_s": duration_s} for f in document.traffic]
    return fabric, flows


def run(engine: str, duration_s: float) -> dict:
    fabric, flows = scenario(duration_s)
    start = time.perf_counter()
    result = simulate(fabric, flows, engine=engine)
    wall = time.perf_counter() - start
    packets = sum(f.sent for f in result.flows)
    return {
        "packets": packets,
        "packet_hops": result.packet_hops,
        "wall_s": wall,
        "packet_hops_per_s": result.packet_hops / wall,
        "packets_per_s": packets / wall,
        "results": result.to_json(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--events-duration", type=float, default=0.05, help="seconds simulated")
    parser.add_argument("--big-packets", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    run("batch", 0.005)  # warm up
    events = run("events", args.events_duration)
    batch = run("batch", args.events_duration)
    same = json.dumps(events.pop("results")) == json.dumps(batch.pop("results"))
    # The big run: the duration that makes about --big-packets packets at this load.
    big_duration = args.big_packets * 1400 * 8 / (LOAD * lookup(*SKU).aggregate_mbps * 1e6)
    big = run("batch", big_duration)
    big.pop("results")
    big["duration_s"] = big_duration
    big["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "events": events,
        "batch": batch,
        "ratio": batch["packet_hops_per_s"] / events["packet_hops_per_s"],
        "identical_results": same,
        "big_run": big,
    }
    if not args.json:
        print(
            f"same scenario ({events['packets']:,} packets, "
            f"{events['packet_hops']:,} packet-hops), "
            f"identical results: {same}"
        )
        for name in ("events", "batch"):
            r = report[name]
            print(
                f"  {name:<7}{r['wall_s']:8.3f} s  {r['packet_hops_per_s']:>14,.0f} packet-hops/s"
            )
        print(f"  ratio batch/events: {report['ratio']:.1f}")
        print(
            f"big run: {big['packets']:,} packets ({big['packet_hops']:,} packet-hops) in "
            f"{big['wall_s']:.1f} s = {big['packet_hops_per_s']:,.0f} packet-hops/s, "
            f"peak RSS {big['peak_rss_mb']:.0f} MB"
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
