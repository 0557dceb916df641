"""Peering versus VPN versus ExpressRoute: one-way latency, one TCP flow's steady throughput
(Linux and Windows receivers) and four parallel TCP flows from one VM, for regional and global
peering, for a VNet-to-VNet VPN on each gateway SKU, and for VNet-to-VNet over a shared
ExpressRoute circuit (the hairpin through the peering location, N1.6) at a peering location
near the regions and one far away, beside Microsoft's published figures, with replications
and 95% confidence intervals.

Run: python benchmarks/peering_vs_vpn.py [--replications 3] [--quick] [--json] [--out DIR]
Writes a markdown table and a figure (PNG, SVG) to DIR (default benchmarks/results); the last
line of stdout is the rows as JSON.

What bounds each row is computed from the model's own inputs: the sender VM's egress cap
(N3.3), the per-tunnel figure for the negotiated cipher and the gateway aggregate (§3.2, §3.4),
the ExpressRoute gateway's Mbps and packets per second (N1.1) and the circuit's bandwidth
(N1.5), and the receive window over the round trip (N4.3); the row names the binding one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from fabric.catalogue.latency import LatencyModel
from fabric.catalogue.skus import express_route_sku, lookup
from fabric.catalogue.vmsizes import DEFAULT_VM_SIZE, vm_size
from fabric.control.forwarding import resolve
from fabric.control.plane import ControlPlane
from fabric.model.container import Fabric
from fabric.sim import tcp
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
# ExpressRoute rows per scope: (gateway SKU at both ends, the shared circuit's peering location).
# Amsterdam is the metro of West Europe; Washington DC (East US) is far from both regions. The
# far row exists for the regional pair only: its latency is derived from the region table
# (LatencyModel.peering_location_tail_rtt_ms), which has West Europe-East US but no North
# Europe-East US pair, so the global pair gets a second near metro (Dublin, North Europe's).
EXPRESS_ROUTE = {
    "regional": [("ErGw1AZ", "Amsterdam"), ("ErGw3AZ", "Amsterdam"), ("ErGw3AZ", "Washington DC")],
    "global": [("ErGw1AZ", "Amsterdam"), ("ErGw3AZ", "Amsterdam"), ("ErGw3AZ", "Dublin")],
}
CIRCUIT_MBPS = 10_000  # a 10 Gbps Premium circuit (it may link VNets in any region, N1.5)
LARGE_VM_SIZE = "Standard_E104is_v5"  # 100 Gbps: a peering row that is not VM-bound
PARALLEL = 4
BACKGROUND_SHARE = 0.02  # a light Poisson background at 2% of the cap: run-to-run variance
PROFILES = {"linux": "linux", "windows": "windows"}


def topology(
    regions: tuple[str, str], path: str, sku: str | None, option: str | None, size: str
) -> Fabric:
    """VNet a (one sender VM) and VNet b (one receiver VM per OS profile), by peering, VPN
    (``option``: the gateways' generation) or ExpressRoute (``option``: the circuit's peering
    location; both gateways allow remote VNet traffic, N1.6)."""
    fabric = Fabric()
    for name, region, octet in (("a", regions[0], 10), ("b", regions[1], 20)):
        fabric.vnet(name, region, f"10.{octet}.0.0/16")
        fabric.subnet(name, "app", f"10.{octet}.1.0/24")
        if path in ("vpn", "expressroute"):
            fabric.subnet(name, "GatewaySubnet", f"10.{octet}.255.0/27")
        if path == "vpn":
            fabric.gateway(f"{name}-gw", name, sku, generation=option)
        elif path == "expressroute":
            fabric.express_route_gateway(f"{name}-er", name, sku, allow_remote_vnet_traffic=True)
    fabric.host("a", "sender", "app", "10.10.1.4", vm_size=size)
    for i, profile in enumerate(PROFILES):
        fabric.host("b", profile, "app", f"10.20.1.{4 + i}", vm_size=size, os_profile=profile)
    if path == "vpn":
        fabric.connect("a-gw", "b-gw", shared_key="abc123")
    elif path == "expressroute":
        fabric.express_route_circuit("circuit", option, CIRCUIT_MBPS, sku_tier="Premium")
        fabric.connect_circuit("a-circuit", "a-er", "circuit")
        fabric.connect_circuit("b-circuit", "b-er", "circuit")
    else:
        fabric.peer("a", "b")
    return fabric


def bounds(fabric: Fabric, path: str, sku: str | None, option: str | None) -> dict:
    """The caps that could bind one TCP flow, in Mbps of payload."""
    plane = ControlPlane(fabric)
    forward = resolve(plane, "10.10.1.4", "10.20.1.4")
    back = resolve(plane, "10.20.1.4", "10.10.1.4", established=True)
    rtt_s = (forward.latency_ms + back.latency_ms) / 1e3
    params = LatencyModel()
    mss = forward.tcp_mss(params)
    size = vm_size(fabric.find_host("sender")[1].vm_size)
    caps = {"VM egress": size.max_egress_mbps * mss / (mss + 40)}
    if path == "vpn":
        spec = lookup(sku, option)
        tunnel = spec.tunnel_cap("GCMAES256")
        caps["published per tunnel"] = tunnel.mbps if tunnel else spec.aggregate_mbps
        caps["gateway aggregate"] = spec.aggregate_mbps
    elif path == "expressroute":
        spec = express_route_sku(sku)
        caps["published gateway"] = spec.mbps  # payload-metered, like the VPN figures
        caps["gateway pps"] = spec.pps * mss * 8 / 1e6  # full-size segments at the pps cap
        caps["circuit"] = CIRCUIT_MBPS * mss / (mss + 40)  # the circuit meters whole packets
    window = {
        profile: tcp.receive_profile(profile).max_window_bytes // mss * mss * 8 / rtt_s / 1e6
        for profile in PROFILES
    }
    return {"caps": caps, "window": window, "rtt_ms": rtt_s * 1e3}


def measure(fabric: Fabric, seed: int, durations: dict[str, float], background: float) -> dict:
    """A latency probe, one TCP flow to each receiver profile, then PARALLEL flows from the one
    sender VM, one after the other, beside a light Poisson background."""
    flows = [
        {
            "name": "probe",
            "src": "sender",
            "dst": "linux",
            "protocol": "Udp",
            "rate_mbps": 5,
            "pattern": "poisson",
            "duration_s": durations["probe"],
        }
    ]
    start = durations["probe"]
    for profile in PROFILES:
        flows.append(
            {
                "name": f"tcp-{profile}",
                "src": "sender",
                "dst": profile,
                "protocol": "Tcp",
                "pattern": "tcp",
                "start_s": start,
                "duration_s": durations["tcp"],
            }
        )
        start += durations["tcp"] + durations["gap"]
    for i in range(PARALLEL):
        flows.append(
            {
                "name": f"many{i}",
                "src": "sender",
                "dst": "linux",
                "protocol": "Tcp",
                "pattern": "tcp",
                "source_port": 50000 + i,
                "start_s": start,
                "duration_s": durations["tcp"],
            }
        )
    end = start + durations["tcp"]
    flows.append(
        {
            "name": "background",
            "src": "sender",
            "dst": "windows",
            "protocol": "Udp",
            "rate_mbps": background,
            "packet_bytes": 1000,
            "pattern": "poisson",
            "destination_port": 5001,
            "duration_s": end,
        }
    )
    result = simulate(fabric, flows, seed=seed)
    latency = result.flow("probe").latency_ns / 1e6
    return {
        "latency_mean_ms": float(latency.mean()),
        "latency_p50_ms": float(np.percentile(latency, 50)),
        "latency_p99_ms": float(np.percentile(latency, 99)),
        **{f"tcp_{p}_mbps": result.flow(f"tcp-{p}").steady_mbps for p in PROFILES},
        # The flows' aggregate over one common window (the second half of their run, after
        # every flow's slow start): summing each flow's own steady rate would add rates measured
        # over different windows, which can exceed the shared cap.
        "parallel_mbps": sum(
            result.flow(f"many{i}").goodput_mbps(start + durations["tcp"] / 2, end)
            for i in range(PARALLEL)
        ),
    }


def run(replications: int = 3, quick: bool = False, skus=None, express_route=None) -> list[dict]:
    """Every scope and path; one record each with means, 95% half-widths and the bounds.
    ``skus``: the VPN rows (default VPN_SKUS); ``express_route``: scope -> the ExpressRoute
    rows (default EXPRESS_ROUTE)."""
    express_route = EXPRESS_ROUTE if express_route is None else express_route
    durations = (
        {"probe": 0.05, "tcp": 0.3, "gap": 0.1} if quick else {"probe": 0.2, "tcp": 2.0, "gap": 0.3}
    )
    rows = []
    for scope, regions in REGIONS.items():
        paths = [("peering", None, None, DEFAULT_VM_SIZE)]
        if not quick:
            paths.append(("peering", None, None, LARGE_VM_SIZE))
        paths += [("vpn", s, g, DEFAULT_VM_SIZE) for s, g in (skus or VPN_SKUS)]
        paths += [
            ("expressroute", s, where, DEFAULT_VM_SIZE) for s, where in express_route.get(scope, ())
        ]
        for path, sku, option, size in paths:
            fabric = topology(regions, path, sku, option, size)
            limits = bounds(fabric, path, sku, option)
            cap = min(limits["caps"].values())
            durations = _durations(min(cap, *limits["window"].values()), quick, limits["rtt_ms"])
            samples = [
                measure(fabric, seed, durations, BACKGROUND_SHARE * cap)
                for seed in range(1, replications + 1)
            ]
            label = {
                "peering": "peering",
                "vpn": f"VPN {sku} Gen{(option or '')[-1:]}",
                "expressroute": f"ExpressRoute {sku} via {option}",
            }[path]
            row = {"scope": scope, "path": label, "vm_size": size, "rtt_ms": limits["rtt_ms"]}
            for key in samples[0]:
                interval = confidence_interval([s[key] for s in samples])
                row[key] = interval.mean
                row[f"{key}_ci95"] = interval.half_width if replications > 1 else None
            caps = limits["caps"]
            row["published_mbps"] = caps.get("published per tunnel", caps.get("published gateway"))
            for profile in PROFILES:
                candidates = {**limits["caps"], "receive window": limits["window"][profile]}
                binding = min(candidates, key=candidates.get)
                row[f"bound_{profile}"] = binding
                row[f"bound_{profile}_mbps"] = candidates[binding]
            together = {**limits["caps"], "receive window": PARALLEL * limits["window"]["linux"]}
            binding = min(together, key=together.get)
            row["bound_parallel"] = binding
            row["bound_parallel_mbps"] = together[binding]
            rows.append(row)
    return rows


PACKETS_PER_FLOW = 1_000_000  # long enough for steady state to dominate, short enough to run


STEADY_ROUND_TRIPS = 120  # a TCP flow runs at least this many round trips: slow start (and
# a Windows receiver's autotuning) take ~15-20 of them at long RTTs, and the steady part must
# span ~100 windows: a window-limited flow delivers a window per round trip in one burst, and a
# span from first to last delivery holds one burst more than its share (1 / round trips: with
# 50 round trips a far peering location's row read 2.5% over its window bound)


def _durations(rate_mbps: float, quick: bool, rtt_ms: float = 0.0) -> dict[str, float]:
    """Flow lengths: about a million packets at the expected rate, between 0.3 and 2 s, and
    never fewer than STEADY_ROUND_TRIPS round trips (a far peering location: ~190 ms)."""
    if quick:
        return {"probe": 0.05, "tcp": 0.1, "gap": 0.1}
    tcp_s = min(2.0, max(0.3, PACKETS_PER_FLOW * 1500 * 8 / (rate_mbps * 1e6)))
    tcp_s = max(tcp_s, STEADY_ROUND_TRIPS * rtt_ms / 1e3)
    return {"probe": 0.2, "tcp": tcp_s, "gap": 0.3}


def _cell(row: dict, key: str, digits: int) -> str:
    half = row.get(f"{key}_ci95")
    text = f"{row[key]:,.{digits}f}"
    return f"{text} ± {half:,.{digits}f}" if half is not None and np.isfinite(half) else text


def markdown(rows: list[dict], replications: int) -> str:
    lines = [
        "| scope | path | VM size | one-way latency mean (ms) | p99 | one TCP flow, Linux "
        "(Mbps) | bound | one TCP flow, Windows (Mbps) | bound | "
        f"{PARALLEL} TCP flows, one VM (Mbps) | bound | published per tunnel or gateway (Mbps) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        published = f"{r['published_mbps']:,.0f}" if r["published_mbps"] else "-"
        lines.append(
            f"| {r['scope']} | {r['path']} | {r['vm_size'].removeprefix('Standard_')} | "
            f"{_cell(r, 'latency_mean_ms', 3)} | {r['latency_p99_ms']:.3f} | "
            f"{_cell(r, 'tcp_linux_mbps', 0)} | {r['bound_linux']} | "
            f"{_cell(r, 'tcp_windows_mbps', 0)} | {r['bound_windows']} | "
            f"{_cell(r, 'parallel_mbps', 0)} | {r['bound_parallel']} | {published} |"
        )
    lines.append("")
    lines.append(
        f"Means of {replications} replications with 95% Student-t intervals. Throughput is "
        "`steady_mbps`: payload goodput after the sender's slow start. Receivers run the "
        "`linux` (tcp_rmem max 6 MB, half of it as window) or `windows` (AutoTuningLevel "
        f"Normal) profile; the {PARALLEL} parallel flows leave one sender VM for the Linux "
        "receiver, measured together over the second half of their run. `bound` is the "
        "smallest of the VM's egress cap (N3.3), the published per-tunnel figure and gateway "
        "aggregate (§3.2, §3.4), the ExpressRoute gateway's Mbps and packets per second (N1.1) "
        f"and the circuit's {CIRCUIT_MBPS:,} Mbps (N1.5), and the receive window over the round "
        "trip (N4.3). ExpressRoute rows are VNet-to-VNet over one shared circuit: the packets "
        "hairpin at the MSEE in the peering location, through both gateways (N1.6); the detour's "
        "latency is derived from the region table (the `peering_location_tail_rtt_ms` "
        "assumption), and TCP uses MSS 1,360 so that packets fit the gateway's 1,400 bytes "
        "(N1.1). A Poisson "
        f"background at {BACKGROUND_SHARE:.0%} of that cap runs beside the flows."
    )
    return "\n".join(lines)


def figure(rows: list[dict], out: Path) -> list[Path]:
    from fabric.sim import figures

    keys = (
        ("latency_mean_ms", "mean one-way latency (ms)"),
        ("tcp_linux_mbps", "one TCP flow, Linux receiver (Mbps)"),
        ("tcp_windows_mbps", "one TCP flow, Windows receiver (Mbps)"),
        ("parallel_mbps", f"{PARALLEL} TCP flows from one VM (Mbps)"),
    )
    fig, axes = figures.figure(1, len(keys), size=(19, 5.5))
    labels = list(dict.fromkeys(f"{r['path']} {r['vm_size'][9:]}" for r in rows))
    by_label = {(r["scope"], f"{r['path']} {r['vm_size'][9:]}"): r for r in rows}
    for axis, (key, label) in zip(axes, keys, strict=True):
        width = 0.8 / len(REGIONS)
        for i, scope in enumerate(REGIONS):
            values, errors = [], []
            for name in labels:
                row = by_label.get((scope, name))  # a far peering location: one scope only
                values.append(row[key] if row else np.nan)
                errors.append((row.get(f"{key}_ci95") or 0) if row else 0)
            axis.bar(np.arange(len(labels)) + i * width, values, width, yerr=errors, label=scope)
        axis.set_xticks(np.arange(len(labels)) + width / 2, labels, rotation=60, ha="right")
        axis.tick_params(axis="x", labelsize=7)
        axis.set_yscale("log")
        axis.set_ylabel(label)
        axis.grid(True, axis="y", which="both", alpha=0.3)
    axes[0].legend(title="VNet pair", fontsize=8)
    fig.suptitle(
        "Peering vs VNet-to-VNet VPN vs ExpressRoute: West Europe to West Europe (regional) "
        "and to North Europe (global)"
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
    command = (
        "python benchmarks/peering_vs_vpn.py"
        + (f" --replications {args.replications}" if args.replications != 3 else "")
        + (" --quick" if args.quick else "")
    )
    (out / "peering_vs_vpn.md").write_text(f"Generated by `{command}`.\n\n{table}\n")
    (out / "peering_vs_vpn.json").write_text(json.dumps(rows, indent=1) + "\n")
    written = figure(rows, out)
    if not args.json:
        print(table)
        for path in [out / "peering_vs_vpn.md", out / "peering_vs_vpn.json", *written]:
            print(f"wrote {path}")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
