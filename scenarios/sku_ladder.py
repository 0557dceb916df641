"""SKU ladder: offered load from 10% to 200% of each VPN gateway SKU's aggregate cap.

Delivered throughput rises with the load and plateaus at the cap (minus ESP encapsulation),
latency climbs as the gateway queue fills, and drops begin once the buffer is full. One figure
with a curve per SKU. Run: python scenarios/sku_ladder.py [--duration S] [--skus VpnGw1,...]
"""

from __future__ import annotations

import argparse
import json
import sys

import attrs
import numpy as np

from fabric.catalogue.skus import CATALOGUE, lookup
from fabric.control.ipsec import GCM
from fabric.io import load_topology
from fabric.scenarios import output_dir, path
from fabric.sim.runs import simulate

LOADS = (0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.25, 1.5, 2.0)
PACKET_BYTES = 1400
WARMUP_FRACTION = 0.2  # goodput is measured after the first 20% of the flow


def ladder(
    skus: list[tuple[str, int]] | None = None,
    loads: tuple[float, ...] = LOADS,
    duration_s: float = 0.1,
    seed: int = 1,
) -> list[dict]:
    """One record per (SKU, generation, load): offered/delivered Mbps, latency, drops."""
    document = load_topology(path("sku_ladder"))
    base = document.fabric
    flows = list(document.traffic)
    skus = skus or sorted(CATALOGUE, key=lambda k: (k[1], CATALOGUE[k].aggregate_mbps, k[0]))
    records = []
    for sku, generation in skus:
        spec = lookup(sku, generation)
        fabric = base.copy()
        fabric.gateways["hq-gw"] = attrs.evolve(
            fabric.gateways["hq-gw"], sku=sku, generation=f"Generation{generation}"
        )
        for load in loads:
            per_flow = load * spec.aggregate_mbps / len(flows)
            traffic = [{**f, "rate_mbps": per_flow, "duration_s": duration_s} for f in flows]
            result = simulate(fabric, traffic, seed=seed)
            start_s = WARMUP_FRACTION * duration_s
            delivered = sum(f.goodput_mbps(start_s, duration_s) for f in result.flows)
            latencies = [flow.latency_ns for flow in result.flows]
            latency = np.concatenate(latencies) / 1e6
            records.append(
                {
                    "sku": sku,
                    "generation": generation,
                    "cap_mbps": spec.aggregate_mbps,
                    "cap_goodput_mbps": spec.aggregate_mbps
                    * PACKET_BYTES
                    / (PACKET_BYTES + GCM.overhead(PACKET_BYTES)),
                    "load": load,
                    "offered_mbps": load * spec.aggregate_mbps,
                    "delivered_mbps": delivered,
                    "latency_mean_ms": float(latency.mean()) if latency.size else None,
                    "latency_p99_ms": float(np.percentile(latency, 99)) if latency.size else None,
                    "sent": sum(f.sent for f in result.flows),
                    "dropped": sum(f.dropped for f in result.flows),
                }
            )
    return records


def figure(records: list[dict], out) -> list:
    from matplotlib import colormaps

    from fabric.sim import figures

    fig, (top, bottom) = figures.figure(2, 1, size=(9, 9), sharex=True)
    keys = list(dict.fromkeys((r["sku"], r["generation"]) for r in records))
    colours = colormaps["viridis"](np.linspace(0, 0.95, len(keys)))
    for colour, (sku, generation) in zip(colours, keys, strict=True):
        rows = [r for r in records if (r["sku"], r["generation"]) == (sku, generation)]
        offered = [r["offered_mbps"] for r in rows]
        style = "--" if sku.endswith("AZ") else "-"
        label = f"{sku} Gen{generation}"
        top.plot(
            offered,
            [r["delivered_mbps"] for r in rows],
            style,
            marker="o",
            ms=3,
            color=colour,
            label=label,
        )
        bottom.plot(
            offered, [r["latency_mean_ms"] for r in rows], style, marker="o", ms=3, color=colour
        )
    for axis in (top, bottom):
        axis.set_xscale("log")
        axis.grid(True, which="both", alpha=0.3)
    top.set_yscale("log")
    top.set_ylabel("delivered goodput (Mbps)")
    top.set_title("VPN gateway SKU ladder: 5 tunnels, offered load 10%-200% of the aggregate cap")
    top.legend(fontsize=7, ncol=3)
    bottom.set_yscale("log")
    bottom.set_xlabel("offered load (Mbps, log scale)")
    bottom.set_ylabel("mean one-way latency (ms)")
    return figures.save(fig, out / "sku_ladder")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=0.1, help="seconds per point")
    parser.add_argument("--skus", help="comma-separated SKU names (default: every SKU)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    skus = None
    if args.skus:
        wanted = args.skus.split(",")
        skus = [key for key in CATALOGUE if key[0] in wanted]
    records = ladder(skus, duration_s=args.duration)
    if args.json:
        print(json.dumps(records))
        return 0
    print(
        f"{'SKU':<10}{'gen':>4}{'load':>6}{'offered':>10}{'delivered':>11}{'cap goodput':>13}"
        f"{'mean ms':>9}{'dropped':>9}"
    )
    for r in records:
        print(
            f"{r['sku']:<10}{r['generation']:>4}{r['load']:>6.0%}{r['offered_mbps']:>10.0f}"
            f"{r['delivered_mbps']:>11.1f}{r['cap_goodput_mbps']:>13.1f}{r['latency_mean_ms']:>9.3f}"
            f"{r['dropped']:>9}"
        )
    out = output_dir("sku_ladder")
    for written in figure(records, out):
        print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
