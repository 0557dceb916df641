"""Peering versus VPN: one-way latency, one TCP flow's throughput and many flows' aggregate,
for regional and global peering and for a VNet-to-VNet VPN on each gateway SKU, with
replications and 95% confidence intervals.

Run: python benchmarks/peering_vs_vpn.py [--replications 3] [--quick] [--json] [--out DIR]
Writes a markdown table and a figure (PNG, SVG) to DIR (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from fabric.catalogue.skus import lookup
from fabric.model.container import Fabric
from fabric.sim.runs import simulate
from simulator import confidence_interval

REGIONS = {"regional": ("westeurope", "westeurope"), "global": ("westeurope", "northeurope")}
VPN_SKUS = [
    ("Basic", "Generation1"),
    ("VpnGw1", "Generation1"),
    ("VpnGw2", "Generation1"),
    ("VpnGw3", "Generation1"),
    ("VpnGw2", "Generation2"),
    ("VpnGw3", "Generation2"),
    ("VpnGw4", "Generation2"),
    ("VpnGw5", "Generation2"),
]
PARALLEL = 4
NIC_MBPS = 8000
BACKGROUND_SHARE = 0.1  # Poisson background at 10% of the path's cap (NIC, or the one tunnel)


def single_tunnel_cap(sku: str, generation: str) -> float:
    """What one tunnel can carry: the GCMAES256 per-tunnel figure, within the aggregate."""
    spec = lookup(sku, generation)
    cap = spec.tunnel_cap("GCMAES256")
    return min(cap.mbps, spec.aggregate_mbps) if cap else spec.aggregate_mbps


def topology(
    regions: tuple[str, str], path: str, sku: str | None, generation: str | None
) -> Fabric:
    """VNet a (PARALLEL senders) and VNet b (PARALLEL receivers), by peering or by VPN."""
    fabric = Fabric()
    for name, region, octet in (("a", regions[0], 10), ("b", regions[1], 20)):
        fabric.vnet(name, region, f"10.{octet}.0.0/16")
        fabric.subnet(name, "app", f"10.{octet}.1.0/24")
        for i in range(PARALLEL):
            fabric.host(name, f"{name}{i}", "app", f"10.{octet}.1.{4 + i}", bandwidth_mbps=NIC_MBPS)
        if path == "vpn":
            fabric.subnet(name, "GatewaySubnet", f"10.{octet}.255.0/27")
            fabric.gateway(f"{name}-gw", name, sku, generation=generation, vpn_type="RouteBased")
    if path == "vpn":
        fabric.connect("a-gw", "b-gw", shared_key="abc123")
    else:
        fabric.peer("a", "b")
    return fabric


def measure(
    fabric: Fabric, seed: int, durations: dict[str, float], background_mbps: float
) -> dict[str, float]:
    """Latency probe, then one TCP flow, then PARALLEL TCP flows, one after the other, all
    beside Poisson background traffic from the same sender (the source of run-to-run variance)."""
    probe = {
        "name": "probe",
        "src": "a0",
        "dst": "b0",
        "protocol": "Udp",
        "rate_mbps": 5,
        "packet_bytes": 1400,
        "pattern": "poisson",
        "duration_s": durations["probe"],
    }
    start = durations["probe"]
    single = {
        "name": "tcp",
        "src": "a0",
        "dst": "b0",
        "protocol": "Tcp",
        "pattern": "tcp",
        "start_s": start,
        "duration_s": durations["tcp"],
    }
    start += durations["tcp"] + 0.25  # let the gateway queue drain (Basic: 2 MB at 100 Mbps)
    many = [
        {
            "name": f"many{i}",
            "src": f"a{i}",
            "dst": f"b{i}",
            "protocol": "Tcp",
            "pattern": "tcp",
            "start_s": start,
            "duration_s": durations["many"],
        }
        for i in range(PARALLEL)
    ]
    end = start + durations["many"]
    background = {
        "name": "background",
        "src": "a0",
        "dst": f"b{PARALLEL - 1}",
        "protocol": "Udp",
        "rate_mbps": background_mbps,
        "packet_bytes": 1000,
        "pattern": "poisson",
        "duration_s": end,
    }
    result = simulate(fabric, [probe, single, *many, background], seed=seed)
    latency = result.flow("probe").latency_ns / 1e6
    tcp_start = durations["probe"]
    tcp_end = tcp_start + durations["tcp"]
    return {
        "latency_mean_ms": float(latency.mean()),
        "latency_p50_ms": float(np.percentile(latency, 50)),
        "latency_p99_ms": float(np.percentile(latency, 99)),
        "tcp_mbps": result.flow("tcp").goodput_mbps(tcp_start, tcp_end),
        "aggregate_mbps": sum(
            result.flow(f"many{i}").goodput_mbps(start, end) for i in range(PARALLEL)
        ),
    }


def run(replications: int = 3, quick: bool = False, skus=None) -> list[dict]:
    """Every scope and path; one record each with means and 95% interval half-widths."""
    durations = (
        {"probe": 0.05, "tcp": 0.1, "many": 0.05}
        if quick
        else {"probe": 0.2, "tcp": 1.0, "many": 0.3}
    )
    rows = []
    for scope, regions in REGIONS.items():
        paths = [("peering", None, None)] + [("vpn", s, g) for s, g in (skus or VPN_SKUS)]
        for path, sku, generation in paths:
            fabric = topology(regions, path, sku, generation)
            cap = NIC_MBPS if path == "peering" else single_tunnel_cap(sku, generation)
            background = BACKGROUND_SHARE * cap
            samples = [
                measure(fabric, seed, durations, background) for seed in range(1, replications + 1)
            ]
            label = "peering" if path == "peering" else f"VPN {sku} Gen{generation[-1]}"
            row = {"scope": scope, "path": label}
            for key in samples[0]:
                interval = confidence_interval([s[key] for s in samples])
                row[key] = interval.mean
                row[f"{key}_ci95"] = interval.half_width if replications > 1 else None
            rows.append(row)
    return rows


def _cell(row: dict, key: str, digits: int) -> str:
    half = row.get(f"{key}_ci95")
    text = f"{row[key]:.{digits}f}"
    return f"{text} ± {half:.{digits}f}" if half is not None and np.isfinite(half) else text


def markdown(rows: list[dict], replications: int) -> str:
    lines = [
        f"| scope | path | one-way latency mean (ms) | p50 | p99 | one TCP flow (Mbps) | "
        f"{PARALLEL} TCP flows (Mbps) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['scope']} | {r['path']} | {_cell(r, 'latency_mean_ms', 3)} | "
            f"{r['latency_p50_ms']:.3f} | {r['latency_p99_ms']:.3f} | {_cell(r, 'tcp_mbps', 0)} | "
            f"{_cell(r, 'aggregate_mbps', 0)} |"
        )
    lines.append("")
    lines.append(
        f"Means of {replications} replications with 95% Student-t intervals. Throughput is the "
        "payload delivered while the flows run; a Poisson background flow at "
        f"{BACKGROUND_SHARE:.0%} of the path's cap shares the sender's NIC and tunnel."
    )
    return "\n".join(lines)


def figure(rows: list[dict], out: Path) -> list[Path]:
    from fabric.sim import figures

    fig, axes = figures.figure(1, 3, size=(15, 5.5))
    for axis, key, label in zip(
        axes,
        ("latency_mean_ms", "tcp_mbps", "aggregate_mbps"),
        ("mean one-way latency (ms)", "one TCP flow (Mbps)", f"{PARALLEL} TCP flows (Mbps)"),
        strict=True,
    ):
        scopes = list(REGIONS)
        paths = list(dict.fromkeys(r["path"] for r in rows))
        width = 0.8 / len(scopes)
        for i, scope in enumerate(scopes):
            values = [
                next(r[key] for r in rows if r["scope"] == scope and r["path"] == p) for p in paths
            ]
            errors = [
                next(
                    r.get(f"{key}_ci95") or 0
                    for r in rows
                    if r["scope"] == scope and r["path"] == p
                )
                for p in paths
            ]
            axis.bar(
                np.arange(len(paths)) + i * width,
                values,
                width,
                yerr=errors,
                label=scope,
                capsize=2,
            )
        axis.set_xticks(
            np.arange(len(paths)) + width / 2, paths, rotation=60, ha="right", fontsize=8
        )
        axis.set_yscale("log")
        axis.set_ylabel(label)
        axis.grid(True, axis="y", which="both", alpha=0.3)
    axes[0].legend(title="VNet pair", fontsize=8)
    fig.suptitle(
        "Peering vs VNet-to-VNet VPN: West Europe to West Europe (regional) and to "
        "North Europe (global)"
    )
    return figures.save(fig, out / "peering_vs_vpn", dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    rows = run(args.replications, args.quick)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows, args.replications)
    (out / "peering_vs_vpn.md").write_text(
        "Generated by `python benchmarks/peering_vs_vpn.py"
        + (f" --replications {args.replications}" if args.replications != 3 else "")
        + (" --quick" if args.quick else "")
        + "`.\n\n"
        + table
        + "\n"
    )
    written = figure(rows, out)
    if args.json:
        print(json.dumps(rows))
    else:
        print(table)
        for path in [out / "peering_vs_vpn.md", *written]:
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
